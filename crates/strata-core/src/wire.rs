//! The binary wire format of the vector types (send/recv, `COPY ... (FORMAT
//! binary)`), decoded and validated without PostgreSQL so that it can be
//! tested and fuzzed on its own. The pgrx receive functions only read the
//! buffer, call these and check the column typmod.
//!
//! Format (network byte order): `u16 dims`, `u16` reserved (0), then the
//! elements: f32 or f16 bit patterns big-endian, or for bvector
//! `ceil(dims/8)` bytes with dimension `i` in bit `i % 8` of byte `i / 8`.
//! The reserved field is not checked (old senders may put anything there).
//! `veci8` follows the header with its f32 scale and one signed byte per code;
//! `svector` has a header of its own (see [`decode_sparse`]).

use crate::error::StrataError;
use crate::vector::{check_dims, words_for_bits};
use half::f16;

/// Reads and checks the header against the total length (`elem_bytes(dims)`
/// payload bytes); returns the dimensions.
pub fn check_header(type_name: &'static str, bytes: &[u8], elem_bytes: impl Fn(usize) -> usize) -> Result<usize, StrataError> {
    let bad = |reason: String| StrataError::InvalidBinary { type_name, reason };
    if bytes.len() < 4 {
        return Err(bad(format!("{} bytes is too short for the header", bytes.len())));
    }
    let dims = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
    check_dims(type_name, dims)?;
    let expected = 4 + elem_bytes(dims);
    if bytes.len() != expected {
        return Err(bad(format!("expected {expected} bytes for {dims} dimensions, got {}", bytes.len())));
    }
    Ok(dims)
}

pub fn check_finite(type_name: &'static str, v: f32) -> Result<(), StrataError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(StrataError::NotFinite { type_name })
    }
}

/// The header of an encoded value, with room for `capacity` payload bytes.
pub fn encode_header(dims: usize, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + capacity);
    out.extend_from_slice(&(dims as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

/// Decodes a `vector` (f32) value.
pub fn decode_f32(type_name: &'static str, bytes: &[u8]) -> Result<Vec<f32>, StrataError> {
    check_header(type_name, bytes, |d| d * 4)?;
    let v: Vec<f32> = bytes[4..]
        .chunks_exact(4)
        .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    v.iter().try_for_each(|x| check_finite(type_name, *x))?;
    Ok(v)
}

/// Decodes a `vecf16` value.
pub fn decode_f16(type_name: &'static str, bytes: &[u8]) -> Result<Vec<f16>, StrataError> {
    check_header(type_name, bytes, |d| d * 2)?;
    let v: Vec<f16> = bytes[4..]
        .chunks_exact(2)
        .map(|c| f16::from_bits(u16::from_be_bytes([c[0], c[1]])))
        .collect();
    v.iter().try_for_each(|x| check_finite(type_name, x.to_f32()))?;
    Ok(v)
}

/// Decodes a `bvector` value into its dimensions and packed words (the
/// layout of `vector::pack_bits`: little-endian bits in u64 words).
pub fn decode_bits(type_name: &'static str, bytes: &[u8]) -> Result<(usize, Vec<u64>), StrataError> {
    let dims = check_header(type_name, bytes, |d| d.div_ceil(8))?;
    let mut words = vec![0u64; words_for_bits(dims)];
    for (i, byte) in bytes[4..].iter().enumerate() {
        words[i / 8] |= (*byte as u64) << (8 * (i % 8));
    }
    if dims % 64 != 0 && words[words.len() - 1] >> (dims % 64) != 0 {
        return Err(StrataError::InvalidBinary { type_name, reason: "bits set past the last dimension".into() });
    }
    Ok((dims, words))
}

pub fn encode_f32(v: &[f32]) -> Vec<u8> {
    let mut out = encode_header(v.len(), v.len() * 4);
    v.iter().for_each(|x| out.extend_from_slice(&x.to_be_bytes()));
    out
}

pub fn encode_f16(v: &[f16]) -> Vec<u8> {
    let mut out = encode_header(v.len(), v.len() * 2);
    v.iter().for_each(|x| out.extend_from_slice(&x.to_bits().to_be_bytes()));
    out
}

pub fn encode_bits(dims: usize, words: &[u64]) -> Vec<u8> {
    let n = dims.div_ceil(8);
    let mut out = encode_header(dims, n);
    out.extend(words.iter().flat_map(|w| w.to_le_bytes()).take(n));
    out
}

/// Decodes a `veci8` value: header, big-endian f32 scale, then one signed
/// byte per code. Returns the dimensions and the encoded form of
/// [`crate::int8`] (validated: codes in -127..127, a scale that dequantises
/// to finite values).
pub fn decode_i8(type_name: &'static str, bytes: &[u8]) -> Result<(usize, Vec<u8>), StrataError> {
    let dims = check_header(type_name, bytes, |d| 4 + d)?;
    let scale = f32::from_be_bytes(bytes[4..8].try_into().unwrap());
    let codes: Vec<i8> = bytes[8..].iter().map(|b| *b as i8).collect();
    let encoded = crate::int8::encode(scale, &codes);
    crate::int8::validate(&encoded).map_err(|reason| StrataError::InvalidBinary { type_name, reason })?;
    Ok((dims, encoded))
}

pub fn encode_i8(v: crate::int8::I8Ref<'_>) -> Vec<u8> {
    let mut out = encode_header(v.dims(), 4 + v.dims());
    out.extend_from_slice(&v.scale.to_be_bytes());
    out.extend(v.codes.iter().map(|c| *c as u8));
    out
}

/// Decodes an `svector` value: `u32 dims`, `u32 nnz`, then `nnz` pairs of
/// `u32` 0-based index (strictly increasing, below dims) and non-zero finite
/// `f32` value. The element count is checked before anything is allocated.
pub fn decode_sparse(type_name: &'static str, bytes: &[u8]) -> Result<crate::sparse::SparseVec, StrataError> {
    let bad = |reason: String| StrataError::InvalidBinary { type_name, reason };
    if bytes.len() < 8 {
        return Err(bad(format!("{} bytes is too short for the header", bytes.len())));
    }
    let dims = u32::from_be_bytes(bytes[0..4].try_into().unwrap()) as usize;
    let nnz = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
    crate::sparse::check_sparse_dims(dims)?;
    if nnz > dims {
        return Err(bad(format!("{nnz} elements do not fit {dims} dimensions")));
    }
    if bytes.len() != 8 + 8 * nnz {
        return Err(bad(format!("expected {} bytes for {nnz} elements, got {}", 8 + 8 * nnz, bytes.len())));
    }
    let mut indices: Vec<u32> = Vec::with_capacity(nnz);
    let mut values = Vec::with_capacity(nnz);
    for pair in bytes[8..].chunks_exact(8) {
        let i = u32::from_be_bytes(pair[0..4].try_into().unwrap());
        let v = f32::from_be_bytes(pair[4..8].try_into().unwrap());
        if i as usize >= dims || indices.last().is_some_and(|l| *l >= i) {
            return Err(bad(format!("index {i} is out of order or outside 0..{dims}")));
        }
        check_finite(type_name, v)?;
        if v == 0.0 {
            return Err(bad(format!("explicit zero at index {i}")));
        }
        indices.push(i);
        values.push(v);
    }
    Ok(crate::sparse::SparseVec { dims: dims as u32, indices, values })
}

pub fn encode_sparse(v: crate::sparse::SparseRef<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 8 * v.indices.len());
    out.extend_from_slice(&v.dims.to_be_bytes());
    out.extend_from_slice(&(v.indices.len() as u32).to_be_bytes());
    for (i, x) in v.indices.iter().zip(v.values) {
        out.extend_from_slice(&i.to_be_bytes());
        out.extend_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let v = [1.0f32, -2.5, 3e-40];
        assert_eq!(decode_f32("vector", &encode_f32(&v)).unwrap(), v);
        let h = [f16::from_f32(1.5), f16::from_f32(-0.0)];
        assert_eq!(decode_f16("vecf16", &encode_f16(&h)).unwrap(), h);
        let (dims, words) = crate::vector::pack_bits((0..70).map(|i| i % 3 == 0));
        assert_eq!(decode_bits("bvector", &encode_bits(dims, &words)).unwrap(), (dims, words));
        let sv = crate::sparse::SparseVec::parse("{2:1.5,9:-3}/9").unwrap();
        assert_eq!(decode_sparse("svector", &encode_sparse(sv.as_ref())).unwrap(), sv);
        let q = crate::int8::encode_f32(&[0.5, -1.0, 0.25]);
        assert_eq!(decode_i8("veci8", &encode_i8(crate::int8::I8Ref::new(&q))).unwrap(), (3, q));
    }

    #[test]
    fn errors_match_the_sql_messages() {
        let e = |r: Result<Vec<f32>, StrataError>| r.unwrap_err().to_string();
        assert_eq!(e(decode_f32("vector", &[0, 1])), "invalid binary representation of type vector: 2 bytes is too short for the header");
        assert_eq!(e(decode_f32("vector", &[0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
                   "invalid binary representation of type vector: expected 16 bytes for 3 dimensions, got 12");
        assert_eq!(e(decode_f32("vector", &[0, 0, 0, 0])), "vector must have at least 1 dimension");
        assert_eq!(e(decode_f32("vector", &[0, 1, 0, 0, 0x7f, 0xc0, 0, 0])), "NaN or Infinity is not allowed in type vector");
        assert_eq!(decode_bits("bvector", &[0, 9, 0, 0, 0xff, 0x03]).unwrap_err().to_string(),
                   "invalid binary representation of type bvector: bits set past the last dimension");
    }
}
