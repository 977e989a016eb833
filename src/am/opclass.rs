//! What an index learns from its operator class and column: the element
//! type, metric and svector flag from the opclass's support function 2
//! (one per space, below), the dimensions from the column's typmod.

use super::options;
use crate::error::Report;
use pgrx::pg_sys;
use strata_core::SqlState;
use strata_hnsw::{ElementKind, Metric};
use strata_index::space::IndexSpace;
use strata_index::Meta;

/// Support function number that tells the index its space.
pub const SPACE_PROC: u16 = 2;

/// Declares one support function per space: `fn(internal) -> int4`, the
/// space's [`IndexSpace::code`]. Operator classes name them as FUNCTION 2
/// (sql/am.sql, sql/svector.sql, sql/veci8.sql).
macro_rules! space_functions {
    ($($name:ident => ($kind:ident, $metric:ident, $sparse:expr)),* $(,)?) => {
        crate::datum::pg_v1! {
            $(
                fn $name(_fcinfo) {
                    const CODE: i32 = IndexSpace { kind: ElementKind::$kind, metric: Metric::$metric, sparse: $sparse }.code();
                    pg_sys::Datum::from(CODE)
                }
            )*
        }
    };
}

space_functions! {
    strata_space_vector_l2 => (F32, L2, false),
    strata_space_vector_dot => (F32, Dot, false),
    strata_space_vector_cos => (F32, Cosine, false),
    strata_space_svector_l2 => (F32, L2, true),
    strata_space_svector_dot => (F32, Dot, true),
    strata_space_svector_cos => (F32, Cosine, true),
    strata_space_vecf16_l2 => (F16, L2, false),
    strata_space_vecf16_dot => (F16, Dot, false),
    strata_space_vecf16_cos => (F16, Cosine, false),
    strata_space_veci8_l2 => (I8, L2, false),
    strata_space_veci8_dot => (I8, Dot, false),
    strata_space_veci8_cos => (I8, Cosine, false),
    strata_space_bvector_hamming => (Bits, L2, false),
    strata_space_bvector_dot => (Bits, Dot, false),
    strata_space_bvector_cos => (Bits, Cosine, false),
    strata_space_bvector_jaccard => (Bits, Jaccard, false),
}

/// The space of an index, from its operator class's support function 2.
fn opclass_space(index: pg_sys::Relation) -> IndexSpace {
    // SAFETY: the index is open; index_getprocid reads its cached opclass
    // procedures, and the support function takes no real argument.
    let code = unsafe {
        let proc = pg_sys::index_getprocid(index, 1, SPACE_PROC);
        if proc == pg_sys::InvalidOid {
            space_of_0_1_0_opclass(index)
        } else {
            pg_sys::OidFunctionCall1Coll(proc, pg_sys::InvalidOid, pg_sys::Datum::from(0usize)).value() as i32
        }
    };
    IndexSpace::from_code(code).unwrap_or_else(|| {
        Report::new(SqlState::FeatureNotSupported, format!("operator class support function 2 returned {code:#x}, which is no space strata indexes"))
            .raise()
    })
}

/// The space of an operator class of strata 0.1.0, which had no support
/// function 2: a database keeps that catalog, with this library, until
/// `ALTER EXTENSION strata UPDATE` adds it. 0.1.0's classes are told apart
/// by their distance function (support function 1), which 0.1.0 itself did
/// by name too; every class made since has function 2.
///
/// Safety: `index` is an open index.
unsafe fn space_of_0_1_0_opclass(index: pg_sys::Relation) -> i32 {
    let name = unsafe {
        let name_ptr = pg_sys::get_func_name(pg_sys::index_getprocid(index, 1, 1));
        if name_ptr.is_null() { String::new() } else { std::ffi::CStr::from_ptr(name_ptr).to_string_lossy().into_owned() }
    };
    use ElementKind::*;
    use Metric::*;
    let (kind, metric) = match name.as_str() {
        "vector_l2" => (F32, L2),
        "vector_negative_dot" => (F32, Dot),
        "vector_cosine" => (F32, Cosine),
        "vecf16_l2" => (F16, L2),
        "vecf16_negative_dot" => (F16, Dot),
        "vecf16_cosine" => (F16, Cosine),
        "bvector_hamming" => (Bits, L2),
        "bvector_negative_dot" => (Bits, Dot),
        "bvector_cosine" => (Bits, Cosine),
        "bvector_jaccard" => (Bits, Jaccard),
        _ => Report::new(SqlState::FeatureNotSupported, "the operator class of this vectors index does not say what it indexes")
            .detail(format!("Its operator family has no support function 2, and its distance function {name:?} is none of strata 0.1.0's."))
            .hint("Run ALTER EXTENSION strata UPDATE.")
            .raise(),
    };
    IndexSpace { kind, metric, sparse: false }.code()
}

fn column_dims(index: pg_sys::Relation) -> u32 {
    // SAFETY: an index has a tuple descriptor with its one key column.
    let typmod = unsafe {
        let desc = (*index).rd_att;
        (*desc).attrs.as_slice(1)[0].atttypmod
    };
    if typmod < 1 {
        Report::new(SqlState::InvalidParameterValue, "column does not have dimensions")
            .hint("Declare the column with its dimensions, e.g. vector(768), to index it.")
            .raise();
    }
    typmod as u32
}

/// The metapage of a new index: its space, dimensions and options.
pub fn new_meta(index: pg_sys::Relation) -> Meta {
    let space = opclass_space(index);
    let dims = column_dims(index);
    if space.sparse && dims as usize > strata_core::vector::MAX_DIMS {
        Report::new(
            SqlState::ProgramLimitExceeded,
            format!("a vectors index on svector supports at most {} dimensions, not {dims}", strata_core::vector::MAX_DIMS),
        )
        .hint("The index stores sparse vectors densified; search such columns without an index.")
        .raise();
    }
    // SAFETY: the index is open, with its reloptions.
    let opts = unsafe { options::index_options(index) };
    Meta {
        kind: space.kind as u8 | if space.sparse { strata_index::meta::KIND_SPARSE_INPUT } else { 0 },
        metric: space.metric as u8,
        dims,
        m: opts.m as u16,
        ef_construction: opts.ef_construction as u16,
        max_writing_size: opts.max_writing_size as u32,
        ..Meta::default()
    }
}
