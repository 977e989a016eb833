//! Vectors and heap TIDs as the index stores them.

use crate::datum::datum_vec;
use crate::error::raise;
use pgrx::pg_sys;
use strata_core::StrataError;
use strata_hnsw::Space;
use strata_index::Meta;

/// Copies raw bytes into a vector of elements (any alignment).
pub fn elems_from_bytes<E: Copy>(bytes: &[u8]) -> Vec<E> {
    let mut v = Vec::new();
    copy_elems_into(bytes, &mut v);
    v
}

/// Like [`elems_from_bytes`], reusing `out`'s allocation (for per-row loops).
/// Only for element types where every bit pattern is valid (f32, f16, u64,
/// u8), which are all the engine's element types.
pub fn copy_elems_into<E: Copy>(bytes: &[u8], out: &mut Vec<E>) {
    let n = bytes.len() / std::mem::size_of::<E>();
    out.clear();
    out.reserve(n);
    // SAFETY: `out` has room for n elements, filled byte for byte from
    // `bytes` (which holds at least n * size_of::<E>()); every bit pattern
    // is a valid E (see above).
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr() as *mut u8, n * std::mem::size_of::<E>());
        out.set_len(n);
    }
}

pub fn elems_as_bytes<E: Copy>(v: &[E]) -> &[u8] {
    // SAFETY: the engine's element types are plain numbers without padding.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

/// The vector bytes a space stores for `raw` (normalised for f32 cosine).
pub fn prepared_bytes<S: Space>(raw: &[u8]) -> Vec<u8> {
    let mut v: Vec<S::Elem> = elems_from_bytes(raw);
    S::prepare(&mut v);
    elems_as_bytes(&v).to_vec()
}

pub fn tid_to_u64(tid: &pg_sys::ItemPointerData) -> u64 {
    let block = ((tid.ip_blkid.bi_hi as u64) << 16) | tid.ip_blkid.bi_lo as u64;
    (block << 16) | tid.ip_posid as u64
}

pub fn u64_to_tid(v: u64, tid: &mut pg_sys::ItemPointerData) {
    let block = (v >> 16) as u32;
    tid.ip_blkid.bi_hi = (block >> 16) as u16;
    tid.ip_blkid.bi_lo = (block & 0xffff) as u16;
    tid.ip_posid = (v & 0xffff) as u16;
}

/// The element bytes an index stores for a (non-NULL) column value or query:
/// the vector payload, or for an svector column its dense f32 form. Values
/// of the wrong dimension count become `mismatch(expected, actual)`.
pub fn index_vector_bytes(meta: &Meta, datum: pg_sys::Datum, mismatch: fn(usize, usize) -> StrataError) -> std::borrow::Cow<'static, [u8]> {
    let dims = meta.dims as usize;
    if meta.sparse_input() {
        // SAFETY: an index with the sparse flag is on an svector column.
        let v = unsafe { crate::svector::datum_svec(datum) };
        if v.dims as usize != dims {
            raise(mismatch(dims, v.dims as usize));
        }
        return std::borrow::Cow::Owned(crate::svector::dense_bytes(&v));
    }
    // SAFETY: every other index is on a column of a dense vector type.
    let v = unsafe { datum_vec(datum) };
    if v.dims != dims {
        raise(mismatch(dims, v.dims));
    }
    std::borrow::Cow::Borrowed(&v.payload()[..meta.vector_bytes()])
}

pub fn wrong_dimensions(expected: usize, actual: usize) -> StrataError {
    StrataError::WrongDimensions { expected, actual }
}
