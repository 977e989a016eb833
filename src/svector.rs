//! SQL functions of `svector`, the sparse vector type. Parsing, formatting
//! and distances are in `strata_core::sparse`; this file moves values in and
//! out of datums. Declarations: `sql/svector.sql`.
//!
//! On-disk layout (4-byte aligned):
//!
//! ```text
//! offset 0  u32  varlena header
//! offset 4  u32  dims
//! offset 8  u32  nnz
//! offset 12 u32 x nnz  indices, 0-based, strictly increasing
//!           f32 x nnz  values, finite and non-zero
//! ```

use crate::datum::*;
use crate::error::{raise, OrRaise};
use crate::types::{arg_cstr, array_as_f32s, array_as_f64s, array_elements, ordering_datum, typmod_in};
use pgrx::pg_sys;
use std::borrow::Cow;
use strata_core::sparse::{self, SparseRef, SparseVec, MAX_SPARSE_DIMS};
use strata_core::wire;
use strata_core::vector::{self as core_vec, MAX_DIMS};
use strata_core::StrataError;

const SVECTOR: &str = "svector";
const HEADER: usize = 12;

/// A detoasted svector, its arrays borrowed when aligned (they always are
/// for detoasted datums; copied otherwise).
pub struct SvecView<'a> {
    pub dims: u32,
    indices: Cow<'a, [u32]>,
    values: Cow<'a, [f32]>,
}

impl SvecView<'_> {
    pub fn as_ref(&self) -> SparseRef<'_> {
        SparseRef { dims: self.dims, indices: &self.indices, values: &self.values }
    }
}

pub unsafe fn datum_svec<'a>(datum: pg_sys::Datum) -> SvecView<'a> {
    unsafe {
        let ptr = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *const u8;
        let total = pgrx::varlena::varsize_any(ptr as *const pg_sys::varlena);
        let bytes = std::slice::from_raw_parts(ptr, total);
        let dims = u32::from_ne_bytes(bytes[4..8].try_into().unwrap());
        let nnz = u32::from_ne_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let idx_end = HEADER + 4 * nnz;
        SvecView { dims, indices: typed(&bytes[HEADER..idx_end]), values: typed(&bytes[idx_end..idx_end + 4 * nnz]) }
    }
}

unsafe fn arg_svec<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> SvecView<'a> {
    unsafe { datum_svec(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n)) }
}

pub fn svec_datum(v: SparseRef<'_>) -> pg_sys::Datum {
    let nnz = v.indices.len();
    let total = HEADER + 8 * nnz;
    unsafe {
        let ptr = pg_sys::palloc0(total) as *mut u8;
        pgrx::varlena::set_varsize_4b(ptr as *mut pg_sys::varlena, total as i32);
        std::ptr::copy_nonoverlapping(v.dims.to_ne_bytes().as_ptr(), ptr.add(4), 4);
        std::ptr::copy_nonoverlapping((nnz as u32).to_ne_bytes().as_ptr(), ptr.add(8), 4);
        std::ptr::copy_nonoverlapping(v.indices.as_ptr() as *const u8, ptr.add(HEADER), 4 * nnz);
        std::ptr::copy_nonoverlapping(v.values.as_ptr() as *const u8, ptr.add(HEADER + 4 * nnz), 4 * nnz);
        pg_sys::Datum::from(ptr)
    }
}

/// The dense f32 form (native-endian bytes), as a `vectors` index stores it;
/// written straight into one zeroed buffer because it runs per indexed row.
pub fn dense_bytes(v: &SvecView<'_>) -> Vec<u8> {
    let mut out = vec![0u8; 4 * v.dims as usize];
    for (i, x) in v.indices.iter().zip(v.values.iter()) {
        out[4 * *i as usize..][..4].copy_from_slice(&x.to_ne_bytes());
    }
    out
}

fn check_typmod(typmod: i32, dims: u32) {
    core_vec::check_typmod(typmod, dims as usize).or_raise();
}

fn pair<'a>(fcinfo: pg_sys::FunctionCallInfo) -> (SvecView<'a>, SvecView<'a>) {
    let (a, b) = unsafe { (arg_svec(fcinfo, 0), arg_svec(fcinfo, 1)) };
    core_vec::check_same_dims(a.dims as usize, b.dims as usize).or_raise();
    (a, b)
}

fn compare(fcinfo: pg_sys::FunctionCallInfo) -> std::cmp::Ordering {
    let (a, b) = unsafe { (arg_svec(fcinfo, 0), arg_svec(fcinfo, 1)) };
    sparse::compare(a.as_ref(), b.as_ref())
}

crate::types::comparisons!(fcinfo, compare: strata_svector_cmp strata_svector_lt strata_svector_le
    strata_svector_eq strata_svector_ne strata_svector_ge strata_svector_gt);

pg_v1! {
    fn strata_svector_in(fcinfo) {
        let input = unsafe { arg_cstr(fcinfo, 0) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let v = SparseVec::parse(input).or_raise();
        check_typmod(typmod, v.dims);
        svec_datum(v.as_ref())
    }
    fn strata_svector_out(fcinfo) {
        cstring_datum(&unsafe { arg_svec(fcinfo, 0) }.as_ref().format())
    }
    fn strata_svector_typmod_in(fcinfo) { typmod_in(SVECTOR, MAX_SPARSE_DIMS, fcinfo) }
    fn strata_svector_typmod_cast(fcinfo) {
        let v = unsafe { arg_svec(fcinfo, 0) };
        check_typmod(unsafe { arg_i32(fcinfo, 1) }, v.dims);
        unsafe { pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0) }
    }
    fn strata_svector_recv(fcinfo) {
        let bytes = unsafe { take_recv_buffer(fcinfo) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let v = wire::decode_sparse(SVECTOR, bytes).or_raise();
        check_typmod(typmod, v.dims);
        svec_datum(v.as_ref())
    }
    fn strata_svector_send(fcinfo) {
        bytea_datum(&wire::encode_sparse(unsafe { arg_svec(fcinfo, 0) }.as_ref()))
    }
    fn strata_svector_l2(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(sparse::l2(a.as_ref(), b.as_ref()) as f64)
    }
    fn strata_svector_negative_dot(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(-(sparse::dot(a.as_ref(), b.as_ref()) as f64))
    }
    fn strata_svector_cosine(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(sparse::cosine(a.as_ref(), b.as_ref()) as f64)
    }
    fn strata_svector_add(fcinfo) {
        let (a, b) = pair(fcinfo);
        svec_datum(sparse::elementwise(a.as_ref(), b.as_ref(), |x, y| x + y).or_raise().as_ref())
    }
    fn strata_svector_sub(fcinfo) {
        let (a, b) = pair(fcinfo);
        svec_datum(sparse::elementwise(a.as_ref(), b.as_ref(), |x, y| x - y).or_raise().as_ref())
    }
    fn strata_svector_mul(fcinfo) {
        let (a, b) = pair(fcinfo);
        svec_datum(sparse::elementwise(a.as_ref(), b.as_ref(), |x, y| x * y).or_raise().as_ref())
    }
    // avg(svector): a sparse float8[] state (strata_core::sparse::avg_accum).
    fn strata_svector_accum(fcinfo) {
        let state = unsafe { array_as_f64s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)) }.or_raise();
        let v = unsafe { arg_svec(fcinfo, 1) };
        pgrx::IntoDatum::into_datum(sparse::avg_accum(&state, v.as_ref()).or_raise()).unwrap()
    }
    fn strata_svector_combine(fcinfo) {
        let a = unsafe { array_as_f64s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)) }.or_raise();
        let b = unsafe { array_as_f64s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1)) }.or_raise();
        pgrx::IntoDatum::into_datum(sparse::avg_combine(&a, &b).or_raise()).unwrap()
    }
    fn strata_svector_avg(fcinfo) {
        let state = unsafe { array_as_f64s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)) }.or_raise();
        match sparse::avg_final(&state) {
            Some(v) => svec_datum(v.as_ref()),
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
        }
    }
    fn strata_svector_dims(fcinfo) {
        int4_datum(unsafe { arg_svec(fcinfo, 0) }.dims as i32)
    }
    fn strata_svector_nnz(fcinfo) {
        int4_datum(unsafe { arg_svec(fcinfo, 0) }.indices.len() as i32)
    }
    fn strata_svector_norm(fcinfo) {
        float8_datum(sparse::norm(unsafe { arg_svec(fcinfo, 0) }.as_ref()))
    }
    fn strata_vector_to_svector(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        let s = SparseVec::from_dense(&v.f32s()).or_raise();
        check_typmod(unsafe { arg_i32(fcinfo, 1) }, s.dims);
        svec_datum(s.as_ref())
    }
    fn strata_svector_to_vector(fcinfo) {
        let v = unsafe { arg_svec(fcinfo, 0) };
        if v.dims as usize > MAX_DIMS {
            raise(StrataError::TooManyDimensions { type_name: "vector", dims: v.dims as usize, max: MAX_DIMS });
        }
        check_typmod(unsafe { arg_i32(fcinfo, 1) }, v.dims);
        f32_datum(&v.as_ref().to_dense())
    }
    // to_svector(dims, indices int[], values real[]): 1-based indices, as in the text form.
    fn strata_to_svector(fcinfo) {
        let dims = unsafe { arg_i32(fcinfo, 0) };
        if dims < 1 {
            raise(StrataError::Empty { type_name: SVECTOR });
        }
        let (elemtype, n, data) = unsafe { array_elements(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1)) }.or_raise();
        if elemtype != pg_sys::INT4OID && n > 0 {
            raise(StrataError::InvalidArray { reason: "indices must be an integer array" });
        }
        let indices: Vec<i32> = data.chunks_exact(4).map(|c| i32::from_ne_bytes(c.try_into().unwrap())).collect();
        let values = unsafe { array_as_f32s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 2)) }.or_raise();
        if indices.len() != values.len() {
            raise(StrataError::InvalidArray { reason: "indices and values must have the same length" });
        }
        let shown = format!("to_svector({dims}, {} indices)", indices.len());
        let mut pairs = Vec::with_capacity(indices.len());
        for (i, v) in indices.iter().zip(values) {
            if *i < 1 {
                raise(StrataError::InvalidSyntaxDetail { type_name: SVECTOR, input: shown, detail: format!("index {i} is outside 1..{dims}; indices start at 1") });
            }
            pairs.push((*i as u64 - 1, v));
        }
        let v = SparseVec::from_pairs(dims as usize, pairs, &shown, true).or_raise();
        svec_datum(v.as_ref())
    }
}
