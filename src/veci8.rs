//! SQL functions of `veci8`, the int8-quantised vector type. Quantisation
//! and distances are in `strata_core::int8`. Declarations: `sql/veci8.sql`.
//!
//! On-disk layout: the common vector header (`datum.rs`: u32 varlena
//! header, u16 dims, u16 reserved) followed by the encoded vector of
//! `strata_core::int8` (f32 scale, i32 sum of squared codes, i8 codes), which
//! is also exactly what a `vectors` index stores per node.

use crate::datum::*;
use crate::error::{raise, OrRaise};
use crate::types::{arg_cstr, ordering_datum, send_header};
use pgrx::pg_sys;
use strata_core::int8::{self, I8Ref};
use strata_core::vector::{self as core_vec};
use strata_core::StrataError;

const VECI8: &str = "veci8";

fn view<'a>(v: &VecView<'a>) -> I8Ref<'a> {
    I8Ref::new(v.payload())
}

fn pair<'a>(fcinfo: pg_sys::FunctionCallInfo) -> (VecView<'a>, VecView<'a>) {
    let (a, b) = unsafe { (arg_vec(fcinfo, 0), arg_vec(fcinfo, 1)) };
    core_vec::check_same_dims(a.dims, b.dims).or_raise();
    (a, b)
}

fn i8_datum(v: &[f32]) -> pg_sys::Datum {
    new_vec_datum(v.len(), &int8::encode_f32(v))
}

/// Orders by the dequantised values, like `vector`.
fn compare(fcinfo: pg_sys::FunctionCallInfo) -> std::cmp::Ordering {
    let (a, b) = unsafe { (arg_vec(fcinfo, 0), arg_vec(fcinfo, 1)) };
    core_vec::compare(&view(&a).dequantize(), &view(&b).dequantize())
}

crate::types::comparisons!(fcinfo, compare: strata_veci8_cmp strata_veci8_lt strata_veci8_le
    strata_veci8_eq strata_veci8_ne strata_veci8_ge strata_veci8_gt);

pg_v1! {
    fn strata_veci8_in(fcinfo) {
        let input = unsafe { arg_cstr(fcinfo, 0) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let v = core_vec::parse_text::<f32>(input, VECI8).or_raise();
        core_vec::check_typmod(typmod, v.len()).or_raise();
        i8_datum(&v)
    }
    fn strata_veci8_out(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        cstring_datum(&core_vec::format_text(view(&v).dequantize()))
    }
    fn strata_veci8_typmod_in(fcinfo) {
        // Same limits as vector: delegate, then only the name differs.
        let arr = unsafe { pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::ArrayType>() };
        let mut n = 0i32;
        let mods = unsafe { pg_sys::ArrayGetIntegerTypmods(arr, &mut n) };
        let dims = if n == 1 { unsafe { *mods } } else { 0 };
        if dims < 1 || dims as usize > core_vec::MAX_DIMS {
            raise(StrataError::InvalidTypmod { type_name: VECI8, max: core_vec::MAX_DIMS });
        }
        int4_datum(dims)
    }
    // Wire format (network byte order): u16 dims, u16 reserved (0), f32
    // scale, then dims signed codes in -127..127 (one byte each).
    fn strata_veci8_recv(fcinfo) {
        let bytes = unsafe { take_recv_buffer(fcinfo) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let bad = |reason: String| -> ! { raise(StrataError::InvalidBinary { type_name: VECI8, reason }) };
        if bytes.len() < 8 {
            bad(format!("{} bytes is too short for the header", bytes.len()));
        }
        let dims = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
        core_vec::check_dims(VECI8, dims).or_raise();
        if bytes.len() != 8 + dims {
            bad(format!("expected {} bytes for {dims} dimensions, got {}", 8 + dims, bytes.len()));
        }
        let scale = f32::from_be_bytes(bytes[4..8].try_into().unwrap());
        let codes: Vec<i8> = bytes[8..].iter().map(|b| *b as i8).collect();
        let encoded = int8::encode(scale, &codes);
        int8::validate(&encoded).unwrap_or_else(|reason| bad(reason));
        core_vec::check_typmod(typmod, dims).or_raise();
        new_vec_datum(dims, &encoded)
    }
    fn strata_veci8_send(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        let q = view(&v);
        let mut out = send_header(v.dims, 4 + v.dims);
        out.extend_from_slice(&q.scale.to_be_bytes());
        out.extend(q.codes.iter().map(|c| *c as u8));
        bytea_datum(&out)
    }
    fn strata_veci8_l2(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(int8::l2(view(&a), view(&b)) as f64)
    }
    fn strata_veci8_negative_dot(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(-(int8::dot(view(&a), view(&b)) as f64))
    }
    fn strata_veci8_cosine(fcinfo) {
        let (a, b) = pair(fcinfo);
        float8_datum(int8::cosine(view(&a), view(&b)) as f64)
    }
    fn strata_veci8_norm(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        let q = view(&v);
        float8_datum(q.scale as f64 * (q.sum_squares as f64).sqrt())
    }
    fn strata_vector_to_veci8(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        core_vec::check_typmod(unsafe { arg_i32(fcinfo, 1) }, v.dims).or_raise();
        i8_datum(&v.f32s())
    }
    fn strata_veci8_to_vector(fcinfo) {
        let v = unsafe { arg_vec(fcinfo, 0) };
        core_vec::check_typmod(unsafe { arg_i32(fcinfo, 1) }, v.dims).or_raise();
        f32_datum(&view(&v).dequantize())
    }
}
