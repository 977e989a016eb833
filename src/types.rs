//! SQL functions of the types `vector` (f32), `vecf16` (f16) and `bvector`
//! (bits). Parsing, formatting and distances live in strata-core; this file
//! only moves values in and out of datums. The SQL declarations are in
//! `sql/types.sql`; C symbols are prefixed `strata_` to stay clear of
//! PostgreSQL's own.

use crate::datum::*;
use crate::error::{raise, OrRaise};
use half::f16;
use pgrx::pg_sys;
use std::cmp::Ordering;
use std::ffi::CStr;
use strata_core::distance;
use strata_core::vector::{self as core_vec, MAX_DIMS};
use strata_core::wire;
use strata_core::StrataError;

const VECTOR: &str = "vector";
const VECF16: &str = "vecf16";
const BVECTOR: &str = "bvector";

pub(crate) unsafe fn arg_cstr<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a str {
    unsafe {
        let ptr = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n).cast_mut_ptr::<std::ffi::c_char>();
        let s = CStr::from_ptr(ptr);
        // PostgreSQL hands text input in the server encoding; our syntax is ASCII,
        // so anything that is not UTF-8 is malformed for us anyway.
        s.to_str().unwrap_or("\u{FFFD}")
    }
}

/// A type's typmod input: one dimension count in `1..=max`.
pub(crate) fn typmod_in(type_name: &'static str, max: usize, fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let arr = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::ArrayType>();
        let mut n = 0i32;
        let mods = pg_sys::ArrayGetIntegerTypmods(arr, &mut n);
        let dims = if n == 1 { *mods } else { 0 };
        if dims < 1 || dims as usize > max {
            raise(StrataError::InvalidTypmod { type_name, max });
        }
        int4_datum(dims)
    }
}

fn typmod_out(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let typmod = unsafe { arg_i32(fcinfo, 0) };
    if typmod < 0 {
        cstring_datum("")
    } else {
        cstring_datum(&format!("({typmod})"))
    }
}

/// The length-coercion cast PostgreSQL applies on assignment to a `(n)` column.
fn typmod_cast(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let v = unsafe { arg_vec(fcinfo, 0) };
    let typmod = unsafe { arg_i32(fcinfo, 1) };
    core_vec::check_typmod(typmod, v.dims).or_raise();
    unsafe { pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0) }
}

fn pair<'a>(fcinfo: pg_sys::FunctionCallInfo) -> (VecView<'a>, VecView<'a>) {
    let (a, b) = unsafe { (arg_vec(fcinfo, 0), arg_vec(fcinfo, 1)) };
    core_vec::check_same_dims(a.dims, b.dims).or_raise();
    (a, b)
}

pub(crate) fn ordering_datum(o: Ordering, want: fn(Ordering) -> bool) -> pg_sys::Datum {
    bool_datum(want(o))
}

fn compare_f32(fcinfo: pg_sys::FunctionCallInfo) -> Ordering {
    let (a, b) = unsafe { (arg_vec(fcinfo, 0), arg_vec(fcinfo, 1)) };
    core_vec::compare(&a.f32s(), &b.f32s())
}

fn compare_f16(fcinfo: pg_sys::FunctionCallInfo) -> Ordering {
    let (a, b) = unsafe { (arg_vec(fcinfo, 0), arg_vec(fcinfo, 1)) };
    core_vec::compare(&a.f16s(), &b.f16s())
}

/// Bits compare element by element from dimension 0; bit 0 is the low bit of
/// word 0, so reversing each word makes word order the element order.
fn compare_bits(fcinfo: pg_sys::FunctionCallInfo) -> Ordering {
    let (a, b) = unsafe { (arg_vec(fcinfo, 0), arg_vec(fcinfo, 1)) };
    let (wa, wb) = (a.words(), b.words());
    for (x, y) in wa.iter().zip(wb.iter()) {
        match x.reverse_bits().cmp(&y.reverse_bits()) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    a.dims.cmp(&b.dims)
}

/// Generates the six comparison operators and the btree support function of a type.
macro_rules! comparisons {
    ($f:ident, $compare:ident: $cmp:ident $lt:ident $le:ident $eq:ident $ne:ident $ge:ident $gt:ident) => {
        pg_v1! {
            fn $cmp($f) { int4_datum($compare($f) as i32) }
            fn $lt($f) { ordering_datum($compare($f), |o| o.is_lt()) }
            fn $le($f) { ordering_datum($compare($f), |o| o.is_le()) }
            fn $eq($f) { ordering_datum($compare($f), |o| o.is_eq()) }
            fn $ne($f) { ordering_datum($compare($f), |o| o.is_ne()) }
            fn $ge($f) { ordering_datum($compare($f), |o| o.is_ge()) }
            fn $gt($f) { ordering_datum($compare($f), |o| o.is_gt()) }
        }
    };
}
pub(crate) use comparisons;

comparisons!(fcinfo, compare_f32: strata_vector_cmp strata_vector_lt strata_vector_le strata_vector_eq
    strata_vector_ne strata_vector_ge strata_vector_gt);
comparisons!(fcinfo, compare_f16: strata_vecf16_cmp strata_vecf16_lt strata_vecf16_le strata_vecf16_eq
    strata_vecf16_ne strata_vecf16_ge strata_vecf16_gt);
comparisons!(fcinfo, compare_bits: strata_bvector_cmp strata_bvector_lt strata_bvector_le strata_bvector_eq
    strata_bvector_ne strata_bvector_ge strata_bvector_gt);

// ---------------------------------------------------------------- binary I/O
// Wire format and its validation: strata_core::wire (pgrx-free, fuzzed). The
// receive functions add the column typmod check.

pg_v1! {
    // ------------------------------------------------------------ vector
    fn strata_vector_in(fcinfo) {
        let input = unsafe { arg_cstr(fcinfo, 0) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let v = core_vec::parse_text::<f32>(input, VECTOR).or_raise();
        core_vec::check_typmod(typmod, v.len()).or_raise();
        f32_datum(&v)
    }
    fn strata_vector_out(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        cstring_datum(&core_vec::format_text(v.f32s().iter().copied()))
    }
    fn strata_vector_typmod_in(fcinfo) { typmod_in(VECTOR, MAX_DIMS, fcinfo) }
    fn strata_vector_typmod_out(fcinfo) { typmod_out(fcinfo) }
    fn strata_vector_typmod_cast(fcinfo) { typmod_cast(fcinfo) }
    fn strata_vector_recv(fcinfo) {
        let bytes = unsafe { take_recv_buffer(fcinfo) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let v = wire::decode_f32(VECTOR, bytes).or_raise();
        core_vec::check_typmod(typmod, v.len()).or_raise();
        f32_datum(&v)
    }
    fn strata_vector_send(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        bytea_datum(&wire::encode_f32(&v.f32s()))
    }
    fn strata_vector_l2(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(distance::l2_f32(&a.f32s(), &b.f32s()) as f64)
    }
    fn strata_vector_negative_dot(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(-(distance::dot_f32(&a.f32s(), &b.f32s()) as f64))
    }
    fn strata_vector_cosine(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(distance::cosine_f32(&a.f32s(), &b.f32s()) as f64)
    }
    fn strata_vector_add(fcinfo) {
        let (a, b) = pair(fcinfo);
        f32_datum(&core_vec::elementwise_f32(&a.f32s(), &b.f32s(), VECTOR, |x, y| x + y).or_raise())
    }
    fn strata_vector_sub(fcinfo) {
        let (a, b) = pair(fcinfo);
        f32_datum(&core_vec::elementwise_f32(&a.f32s(), &b.f32s(), VECTOR, |x, y| x - y).or_raise())
    }
    fn strata_vector_mul(fcinfo) {
        let (a, b) = pair(fcinfo);
        f32_datum(&core_vec::elementwise_f32(&a.f32s(), &b.f32s(), VECTOR, |x, y| x * y).or_raise())
    }
    fn strata_vector_dims(fcinfo) {
        int4_datum(unsafe { arg_vec(fcinfo, 0) }.dims as i32)
    }
    fn strata_vector_norm(fcinfo) {
        float8_datum(core_vec::norm_f32(&unsafe { arg_vec(fcinfo, 0) }.f32s()))
    }
    fn strata_vector_normalize(fcinfo) {
        f32_datum(&core_vec::normalize_f32(&unsafe { arg_vec(fcinfo, 0) }.f32s()))
    }
    fn strata_binarize(fcinfo) {
        let (dims, words) = core_vec::binarize_f32(&unsafe { arg_vec(fcinfo, 0) }.f32s());
        bits_datum(dims, &words)
    }
    fn strata_vector_to_vecf16(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        let typmod = unsafe { arg_i32(fcinfo, 1) };
        core_vec::check_typmod(typmod, v.dims).or_raise();
        let mut out = Vec::with_capacity(v.dims);
        for x in v.f32s().iter() {
            let h = f16::from_f32(*x);
            if h.is_infinite() {
                raise(StrataError::OutOfRange { type_name: VECF16, value: x.to_string() });
            }
            out.push(h);
        }
        f16_datum(&out)
    }
    fn strata_vector_to_real_array(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        pgrx::IntoDatum::into_datum(v.f32s().to_vec()).unwrap()
    }
    fn strata_array_to_vector(fcinfo) {
        let typmod = unsafe { arg_i32(fcinfo, 1) };
        let v = unsafe { array_as_f32s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)) }.or_raise();
        core_vec::check_dims(VECTOR, v.len()).or_raise();
        core_vec::check_typmod(typmod, v.len()).or_raise();
        f32_datum(&v)
    }
    // Aggregates: the state is float8[] {count, sum_1, ..., sum_n}, which
    // PostgreSQL can pass between parallel workers without serialisation code.
    fn strata_vector_accum(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 1) };
        let mut state = unsafe { array_as_f64s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)) }.or_raise();
        if state.is_empty() {
            state = vec![0.0; v.dims + 1];
        } else {
            core_vec::check_same_dims(state.len() - 1, v.dims).or_raise();
        }
        state[0] += 1.0;
        for (s, x) in state[1..].iter_mut().zip(v.f32s().iter()) {
            *s += *x as f64;
        }
        pgrx::IntoDatum::into_datum(state).unwrap()
    }
    fn strata_vector_combine(fcinfo) {
        let a = unsafe { array_as_f64s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)) }.or_raise();
        let b = unsafe { array_as_f64s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1)) }.or_raise();
        let out = if a.is_empty() {
            b
        } else if b.is_empty() {
            a
        } else {
            core_vec::check_same_dims(a.len() - 1, b.len() - 1).or_raise();
            a.iter().zip(&b).map(|(x, y)| x + y).collect()
        };
        pgrx::IntoDatum::into_datum(out).unwrap()
    }
    fn strata_vector_avg(fcinfo) {
        let state = unsafe { array_as_f64s(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)) }.or_raise();
        if state.is_empty() || state[0] == 0.0 {
            return unsafe { pgrx::fcinfo::pg_return_null(fcinfo) };
        }
        let n = state[0];
        let v: Vec<f32> = state[1..].iter().map(|s| (s / n) as f32).collect();
        f32_datum(&v)
    }

    // ------------------------------------------------------------ vecf16
    fn strata_vecf16_in(fcinfo) {
        let input = unsafe { arg_cstr(fcinfo, 0) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let v = core_vec::parse_text::<f16>(input, VECF16).or_raise();
        core_vec::check_typmod(typmod, v.len()).or_raise();
        f16_datum(&v)
    }
    fn strata_vecf16_out(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        cstring_datum(&core_vec::format_text(v.f16s().iter().copied()))
    }
    fn strata_vecf16_typmod_in(fcinfo) { typmod_in(VECF16, MAX_DIMS, fcinfo) }
    fn strata_vecf16_recv(fcinfo) {
        let bytes = unsafe { take_recv_buffer(fcinfo) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let v = wire::decode_f16(VECF16, bytes).or_raise();
        core_vec::check_typmod(typmod, v.len()).or_raise();
        f16_datum(&v)
    }
    fn strata_vecf16_send(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        bytea_datum(&wire::encode_f16(&v.f16s()))
    }
    fn strata_vecf16_l2(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(distance::l2_f16(&a.f16s(), &b.f16s()) as f64)
    }
    fn strata_vecf16_negative_dot(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(-(distance::dot_f16(&a.f16s(), &b.f16s()) as f64))
    }
    fn strata_vecf16_cosine(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(distance::cosine_f16(&a.f16s(), &b.f16s()) as f64)
    }
    fn strata_vecf16_add(fcinfo) {
        let (a, b) = pair(fcinfo);
        f16_datum(&core_vec::elementwise_f16(&a.f16s(), &b.f16s(), VECF16, |x, y| x + y).or_raise())
    }
    fn strata_vecf16_sub(fcinfo) {
        let (a, b) = pair(fcinfo);
        f16_datum(&core_vec::elementwise_f16(&a.f16s(), &b.f16s(), VECF16, |x, y| x - y).or_raise())
    }
    fn strata_vecf16_mul(fcinfo) {
        let (a, b) = pair(fcinfo);
        f16_datum(&core_vec::elementwise_f16(&a.f16s(), &b.f16s(), VECF16, |x, y| x * y).or_raise())
    }
    fn strata_vecf16_to_vector(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        let typmod = unsafe { arg_i32(fcinfo, 1) };
        core_vec::check_typmod(typmod, v.dims).or_raise();
        let out: Vec<f32> = v.f16s().iter().map(|h| h.to_f32()).collect();
        f32_datum(&out)
    }

    // ------------------------------------------------------------ bvector
    fn strata_bvector_in(fcinfo) {
        let input = unsafe { arg_cstr(fcinfo, 0) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let bits = core_vec::parse_text::<bool>(input, BVECTOR).or_raise();
        let (dims, words) = core_vec::pack_bits(bits);
        core_vec::check_typmod(typmod, dims).or_raise();
        bits_datum(dims, &words)
    }
    fn strata_bvector_out(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        let words = v.words();
        cstring_datum(&core_vec::format_text((0..v.dims).map(|i| core_vec::bit_at(&words, i))))
    }
    fn strata_bvector_typmod_in(fcinfo) { typmod_in(BVECTOR, MAX_DIMS, fcinfo) }
    fn strata_bvector_recv(fcinfo) {
        let bytes = unsafe { take_recv_buffer(fcinfo) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let (dims, words) = wire::decode_bits(BVECTOR, bytes).or_raise();
        core_vec::check_typmod(typmod, dims).or_raise();
        bits_datum(dims, &words)
    }
    fn strata_bvector_send(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        bytea_datum(&wire::encode_bits(v.dims, &v.words()))
    }
    fn strata_bvector_hamming(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(distance::hamming(&a.words(), &b.words()) as f64)
    }
    fn strata_bvector_negative_dot(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(-(distance::dot_bits(&a.words(), &b.words()) as f64))
    }
    fn strata_bvector_cosine(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(distance::cosine_bits(&a.words(), &b.words()) as f64)
    }
    fn strata_bvector_jaccard(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(distance::jaccard(&a.words(), &b.words()) as f64)
    }
}

/// The elements of a one-dimensional array without NULLs, as raw bytes and
/// element type. Empty arrays give an empty slice.
pub(crate) unsafe fn array_elements<'a>(datum: pg_sys::Datum) -> Result<(pg_sys::Oid, usize, &'a [u8]), StrataError> {
    unsafe {
        let arr = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
        let ndim = (*arr).ndim;
        if ndim == 0 {
            return Ok(((*arr).elemtype, 0, &[]));
        }
        if ndim != 1 {
            return Err(StrataError::InvalidArray { reason: "array must be 1-D" });
        }
        if (*arr).dataoffset != 0 {
            return Err(StrataError::InvalidArray { reason: "array must not contain nulls" });
        }
        let dims = (arr as *const u8).add(std::mem::size_of::<pg_sys::ArrayType>()) as *const i32;
        let n = *dims as usize;
        // ARR_OVERHEAD_NONULLS(1): header plus dims and lower bounds, MAXALIGNed.
        let overhead = (std::mem::size_of::<pg_sys::ArrayType>() + 2 * 4).next_multiple_of(8);
        let elemtype = (*arr).elemtype;
        let width = match elemtype {
            pg_sys::FLOAT4OID | pg_sys::INT4OID => 4,
            pg_sys::FLOAT8OID => 8,
            _ => return Err(StrataError::InvalidArray { reason: "unsupported array element type" }),
        };
        let data = std::slice::from_raw_parts((arr as *const u8).add(overhead), n * width);
        Ok((elemtype, n, data))
    }
}

pub(crate) unsafe fn array_as_f64s(datum: pg_sys::Datum) -> Result<Vec<f64>, StrataError> {
    let (elemtype, _, data) = unsafe { array_elements(datum)? };
    if elemtype != pg_sys::FLOAT8OID && !data.is_empty() {
        return Err(StrataError::InvalidArray { reason: "expected a double precision array" });
    }
    Ok(data.chunks_exact(8).map(|c| f64::from_ne_bytes(c.try_into().unwrap())).collect())
}

/// real[], double precision[] or integer[] as f32 elements, refusing values
/// that are not finite or do not fit in f32.
pub(crate) unsafe fn array_as_f32s(datum: pg_sys::Datum) -> Result<Vec<f32>, StrataError> {
    let (elemtype, _, data) = unsafe { array_elements(datum)? };
    let values: Vec<f32> = match elemtype {
        pg_sys::FLOAT4OID => data.chunks_exact(4).map(|c| f32::from_ne_bytes(c.try_into().unwrap())).collect(),
        pg_sys::INT4OID => data.chunks_exact(4).map(|c| i32::from_ne_bytes(c.try_into().unwrap()) as f32).collect(),
        _ => {
            let mut out = Vec::with_capacity(data.len() / 8);
            for c in data.chunks_exact(8) {
                let x = f64::from_ne_bytes(c.try_into().unwrap());
                if x.is_finite() && (x as f32).is_infinite() {
                    return Err(StrataError::OutOfRange { type_name: VECTOR, value: format!("{x:e}") });
                }
                out.push(x as f32);
            }
            out
        }
    };
    if values.iter().any(|x| !x.is_finite()) {
        return Err(StrataError::NotFinite { type_name: VECTOR });
    }
    Ok(values)
}
