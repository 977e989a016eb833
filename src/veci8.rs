//! SQL functions of `veci8`, the int8-quantised vector type. Quantisation
//! and distances are in `strata_core::int8`. Declarations: `sql/veci8.sql`.
//!
//! On-disk layout: the common vector header (`datum.rs`: u32 varlena
//! header, u16 dims, u16 reserved) followed by the encoded vector of
//! `strata_core::int8` (f32 scale, i32 sum of squared codes, i8 codes), which
//! is also exactly what a `vectors` index stores per node.

use crate::datum::*;
use crate::error::OrRaise;
use crate::types::{arg_cstr, ordering_datum, typmod_in};
use pgrx::pg_sys;
use strata_core::int8::{self, I8Ref};
use strata_core::vector::{self as core_vec};
use strata_core::wire;

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

/// Orders by the dequantised values, like `vector` (element by element,
/// then the shorter first), without materialising them: btree sorts call
/// this once per comparison.
fn compare(fcinfo: pg_sys::FunctionCallInfo) -> std::cmp::Ordering {
    let (a, b) = unsafe { (arg_vec(fcinfo, 0), arg_vec(fcinfo, 1)) };
    let (qa, qb) = (view(&a), view(&b));
    for (x, y) in qa.codes.iter().zip(qb.codes) {
        match (qa.scale * *x as f32).partial_cmp(&(qb.scale * *y as f32)) {
            Some(std::cmp::Ordering::Equal) | None => {}
            Some(o) => return o,
        }
    }
    qa.dims().cmp(&qb.dims())
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
    fn strata_veci8_typmod_in(fcinfo) { typmod_in(VECI8, core_vec::MAX_DIMS, fcinfo) }
    // Wire format: strata_core::wire::decode_i8.
    fn strata_veci8_recv(fcinfo) {
        let bytes = unsafe { take_recv_buffer(fcinfo) };
        let typmod = unsafe { arg_i32(fcinfo, 2) };
        let (dims, encoded) = wire::decode_i8(VECI8, bytes).or_raise();
        core_vec::check_typmod(typmod, dims).or_raise();
        new_vec_datum(dims, &encoded)
    }
    fn strata_veci8_send(fcinfo) {
        bytea_datum(&wire::encode_i8(view(&unsafe { arg_vec(fcinfo, 0) })))
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
