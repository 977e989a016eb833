//! The range operators `<<->>`, `<<#>>`, `<<=>>` and `<<~>>`: `v <<op>> sphere(c, r)` is
//! `v <op> c < r` (as pgvecto.rs). The distance is the distance operator's own function, so a
//! range and an ORDER BY always agree. Declarations: sql/sphere.sql; the index side:
//! src/am/scan.rs.

use crate::datum::*;
use crate::error::Report;
use pgrx::pg_sys;
use strata_core::SqlState;

/// The center (a detoasted-on-use datum) and radius of a `sphere_*` composite value.
pub unsafe fn sphere_parts(sphere: pg_sys::Datum) -> (pg_sys::Datum, f32) {
    // SAFETY: the datum is a non-NULL value of a sphere_* composite type: (center, radius real).
    unsafe {
        let tuple = pg_sys::pg_detoast_datum(sphere.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
        let mut null = false;
        let center = pg_sys::GetAttributeByNum(tuple, 1, &mut null);
        if null {
            Report::new(SqlState::NullValueNotAllowed, "the center of a sphere must not be NULL").raise();
        }
        let radius = pg_sys::GetAttributeByNum(tuple, 2, &mut null);
        if null {
            Report::new(SqlState::NullValueNotAllowed, "the radius of a sphere must not be NULL").raise();
        }
        (center, f32::from_bits(radius.value() as u32))
    }
}

macro_rules! sphere_operators {
    ($($name:ident => $distance:path),* $(,)?) => {
        pg_v1! {
            $(
                fn $name(fcinfo) {
                    unsafe {
                        let v = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0);
                        let (center, radius) = sphere_parts(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1));
                        let d = pg_sys::DirectFunctionCall2Coll(Some($distance), pg_sys::InvalidOid, v, center);
                        bool_datum(f64::from_bits(d.value() as u64) < radius as f64)
                    }
                }
            )*
        }
    };
}

sphere_operators! {
    strata_vector_sphere_l2 => crate::types::strata_vector_l2,
    strata_vector_sphere_dot => crate::types::strata_vector_negative_dot,
    strata_vector_sphere_cos => crate::types::strata_vector_cosine,
    strata_vecf16_sphere_l2 => crate::types::strata_vecf16_l2,
    strata_vecf16_sphere_dot => crate::types::strata_vecf16_negative_dot,
    strata_vecf16_sphere_cos => crate::types::strata_vecf16_cosine,
    strata_bvector_sphere_hamming => crate::types::strata_bvector_hamming,
    strata_bvector_sphere_dot => crate::types::strata_bvector_negative_dot,
    strata_bvector_sphere_cos => crate::types::strata_bvector_cosine,
    strata_bvector_sphere_jaccard => crate::types::strata_bvector_jaccard,
    strata_svector_sphere_l2 => crate::svector::strata_svector_l2,
    strata_svector_sphere_dot => crate::svector::strata_svector_negative_dot,
    strata_svector_sphere_cos => crate::svector::strata_svector_cosine,
    strata_veci8_sphere_l2 => crate::veci8::strata_veci8_l2,
    strata_veci8_sphere_dot => crate::veci8::strata_veci8_negative_dot,
    strata_veci8_sphere_cos => crate::veci8::strata_veci8_cosine,
}
