//! The binary wire format of the vector types (send/recv, `COPY ... (FORMAT
//! binary)`), decoded and validated without PostgreSQL so that it can be
//! tested and fuzzed on its own. The pgrx receive functions only read the
//! buffer, call these and check the column typmod.
//!
//! Format (network byte order): `u16 dims`, `u16` reserved (0), then the
//! elements: f32 or f16 bit patterns big-endian, or for bvector
//! `ceil(dims/8)` bytes with dimension `i` in bit `i % 8` of byte `i / 8`.
//! The reserved field is not checked (old senders may put anything there).

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
