//! Subscripting handlers of vector, vecf16, bvector, svector and veci8:
//! `v[i]` is one element (`real`; `integer` 0 or 1 for bvector) and `v[a:b]`
//! a slice of the same type. Bounds and their errors: `strata_core::subscript`
//! (0-based, half-open, as pgvecto.rs). A NULL bound gives NULL, as for
//! arrays; subscripted assignment is refused.
//!
//! PostgreSQL asks a type's SUBSCRIPT function (sql/types.sql) for these
//! routines: `transform` at parse time (types the bounds as integer, picks
//! the result type), `exec_setup` once per expression, then per row
//! `check_subscripts` (reads the bounds) and `fetch`.

use crate::datum::*;
use crate::error::Report;
use crate::svector::{datum_svec, svec_datum};
use pgrx::pg_sys;
use pgrx::IntoDatum;
use strata_core::int8::{self, I8Ref};
use strata_core::subscript;
use strata_core::{SqlState, StrataError};

const VECTOR: u8 = 0;
const VECF16: u8 = 1;
const BVECTOR: u8 = 2;
const SVECTOR: u8 = 3;
const VECI8: u8 = 4;

fn type_name(kind: u8) -> &'static str {
    match kind {
        VECTOR => "vector",
        VECF16 => "vecf16",
        BVECTOR => "bvector",
        SVECTOR => "svector",
        _ => "veci8",
    }
}

/// The bounds of the current row, set by `check_subscripts` for `fetch`.
struct Workspace {
    kind: u8,
    slice: bool,
    lower: Option<i64>,
    upper: Option<i64>,
}

/// Transforms one bound to an int4 expression (NULL stays NULL: omitted).
unsafe fn bound(pstate: *mut pg_sys::ParseState, expr: *mut pg_sys::Node, kind: u8) -> *mut pg_sys::Node {
    if expr.is_null() {
        return expr;
    }
    // SAFETY: the parser's own state and an untransformed expression of the query.
    unsafe {
        let e = pg_sys::transformExpr(pstate, expr, (*pstate).p_expr_kind);
        let typed = pg_sys::coerce_to_target_type(
            pstate,
            e,
            pg_sys::exprType(e),
            pg_sys::INT4OID,
            -1,
            pg_sys::CoercionContext::COERCION_ASSIGNMENT,
            pg_sys::CoercionForm::COERCE_IMPLICIT_CAST,
            -1,
        );
        if typed.is_null() {
            Report::new(SqlState::DatatypeMismatch, format!("{} subscript must have type integer", type_name(kind))).raise();
        }
        typed
    }
}

unsafe fn transform(
    kind: u8,
    sbsref: *mut pg_sys::SubscriptingRef,
    indirection: *mut pg_sys::List,
    pstate: *mut pg_sys::ParseState,
    is_slice: bool,
    is_assignment: bool,
) {
    let name = type_name(kind);
    if is_assignment {
        Report::new(SqlState::FeatureNotSupported, format!("cannot assign to a subscript of type {name}"))
            .hint("Build the new value instead, for example from a real[] array.")
            .raise();
    }
    // SAFETY: PostgreSQL passes the SubscriptingRef being built and the
    // non-empty list of A_Indices written after the expression.
    unsafe {
        let n = (*indirection).length;
        if n != 1 {
            Report::new(SqlState::FeatureNotSupported, format!("type {name} takes one subscript, not {n}"))
                .hint("Slice once, e.g. v[2:5] rather than v[1:6][1:4].")
                .raise();
        }
        let ai = (*(*indirection).elements).ptr_value as *mut pg_sys::A_Indices;
        let upper = bound(pstate, (*ai).uidx, kind);
        (*sbsref).refupperindexpr = pg_sys::lappend(std::ptr::null_mut(), upper.cast());
        // An element subscript has no lower list: exec_setup tells the two apart by that.
        (*sbsref).reflowerindexpr = if is_slice {
            pg_sys::lappend(std::ptr::null_mut(), bound(pstate, (*ai).lidx, kind).cast())
        } else {
            std::ptr::null_mut()
        };
        (*sbsref).refrestype = match (is_slice, kind) {
            (true, _) => (*sbsref).refcontainertype,
            (false, BVECTOR) => pg_sys::INT4OID,
            (false, _) => pg_sys::FLOAT4OID,
        };
        // A slice has other dimensions than the column's typmod says.
        (*sbsref).reftypmod = -1;
    }
}

/// Reads a row's bound: `Ok(None)` when omitted, `Err(())` when NULL (the result is NULL).
unsafe fn read_bound(provided: *mut bool, isnull: *mut bool, value: *mut pg_sys::Datum) -> Result<Option<i64>, ()> {
    // SAFETY: arrays of one element each, filled by the executor.
    unsafe {
        if !*provided {
            Ok(None)
        } else if *isnull {
            Err(())
        } else {
            Ok(Some((*value).value() as i32 as i64))
        }
    }
}

unsafe extern "C-unwind" fn check_subscripts(
    _state: *mut pg_sys::ExprState,
    op: *mut pg_sys::ExprEvalStep,
    _econtext: *mut pg_sys::ExprContext,
) -> bool {
    // SAFETY: the step exec_setup prepared; its state holds our workspace.
    unsafe {
        pg_sys::submodules::panic::pgrx_extern_c_guard(move || check_subscripts_inner(op))
    }
}

unsafe fn check_subscripts_inner(op: *mut pg_sys::ExprEvalStep) -> bool {
    // SAFETY: see check_subscripts.
    unsafe {
        let sbs = &mut *(*op).d.sbsref.state;
        let ws = &mut *(sbs.workspace as *mut Workspace);
        let upper = read_bound(sbs.upperprovided, sbs.upperindexnull, sbs.upperindex);
        let lower = if ws.slice { read_bound(sbs.lowerprovided, sbs.lowerindexnull, sbs.lowerindex) } else { Ok(None) };
        match (lower, upper) {
            (Ok(lower), Ok(upper)) => {
                ws.lower = lower;
                ws.upper = upper;
                true
            }
            _ => {
                *(*op).resnull = true;
                false
            }
        }
    }
}

/// Raises a bound error (2202E) with the rule as its hint.
trait OrBounds<T> {
    fn or_bounds(self) -> T;
}

impl<T> OrBounds<T> for Result<T, StrataError> {
    fn or_bounds(self) -> T {
        self.unwrap_or_else(|e| {
            Report::new(e.sqlstate(), e.to_string())
                .hint("Subscripts count from 0: v[i] needs 0 <= i < dims, v[a:b] holds elements a to b - 1 and needs 0 <= a < b <= dims.")
                .raise()
        })
    }
}

fn fetch_value(ws: &Workspace, container: pg_sys::Datum) -> pg_sys::Datum {
    // SAFETY: the container is a non-NULL value of the handler's type (fetch_strict).
    unsafe {
        if ws.kind == SVECTOR {
            let v = datum_svec(container);
            let v = v.as_ref();
            return if ws.slice {
                let range = subscript::slice(v.dims as usize, ws.lower, ws.upper).or_bounds();
                svec_datum(subscript::slice_sparse(v, range).as_ref())
            } else {
                let i = subscript::element(v.dims as usize, ws.upper.unwrap_or(-1)).or_bounds();
                subscript::sparse_element(v, i).into_datum().unwrap()
            };
        }
        let v = datum_vec(container);
        if ws.slice {
            let range = subscript::slice(v.dims, ws.lower, ws.upper).or_bounds();
            match ws.kind {
                VECTOR => f32_datum(&v.f32s()[range]),
                VECF16 => f16_datum(&v.f16s()[range]),
                BVECTOR => bits_datum(range.len(), &subscript::slice_bits(&v.words(), range)),
                _ => {
                    // The codes keep the whole vector's scale, so every element keeps its value.
                    let q = I8Ref::new(v.payload());
                    new_vec_datum(range.len(), &int8::encode(q.scale, &q.codes[range]))
                }
            }
        } else {
            let i = subscript::element(v.dims, ws.upper.unwrap_or(-1)).or_bounds();
            match ws.kind {
                VECTOR => v.f32s()[i].into_datum().unwrap(),
                VECF16 => v.f16s()[i].to_f32().into_datum().unwrap(),
                BVECTOR => (strata_core::vector::bit_at(&v.words(), i) as i32).into_datum().unwrap(),
                _ => {
                    let q = I8Ref::new(v.payload());
                    (q.scale * q.codes[i] as f32).into_datum().unwrap()
                }
            }
        }
    }
}

unsafe extern "C-unwind" fn fetch(_state: *mut pg_sys::ExprState, op: *mut pg_sys::ExprEvalStep, _econtext: *mut pg_sys::ExprContext) {
    // SAFETY: as in check_subscripts; resvalue holds the container.
    unsafe {
        pg_sys::submodules::panic::pgrx_extern_c_guard(move || {
            let ws = &*((*(*op).d.sbsref.state).workspace as *const Workspace);
            let out = fetch_value(ws, *(*op).resvalue);
            *(*op).resvalue = out;
            *(*op).resnull = false;
        })
    }
}

unsafe fn exec_setup(kind: u8, sbsref: *const pg_sys::SubscriptingRef, state: *mut pg_sys::SubscriptingRefState, steps: *mut pg_sys::SubscriptExecSteps) {
    // SAFETY: called once per expression with its state, in the expression's memory context.
    unsafe {
        let ws = pg_sys::palloc(std::mem::size_of::<Workspace>()) as *mut Workspace;
        let slice = !(*sbsref).reflowerindexpr.is_null();
        std::ptr::write(ws, Workspace { kind, slice, lower: None, upper: None });
        (*state).workspace = ws.cast();
        (*steps).sbs_check_subscripts = Some(check_subscripts);
        (*steps).sbs_fetch = Some(fetch);
        (*steps).sbs_assign = None;
        (*steps).sbs_fetch_old = None;
    }
}

/// One SUBSCRIPT support function per type: the routines with that type's
/// kind compiled in (the callbacks get no other way to tell the types apart).
macro_rules! handlers {
    ($($fn_name:ident => $kind:expr),* $(,)?) => {
        $(
            paste::paste! {
                unsafe extern "C-unwind" fn [<transform_ $fn_name>](
                    sbsref: *mut pg_sys::SubscriptingRef,
                    indirection: *mut pg_sys::List,
                    pstate: *mut pg_sys::ParseState,
                    is_slice: bool,
                    is_assignment: bool,
                ) {
                    unsafe {
                        pg_sys::submodules::panic::pgrx_extern_c_guard(move || transform($kind, sbsref, indirection, pstate, is_slice, is_assignment))
                    }
                }
                unsafe extern "C-unwind" fn [<exec_setup_ $fn_name>](
                    sbsref: *const pg_sys::SubscriptingRef,
                    state: *mut pg_sys::SubscriptingRefState,
                    steps: *mut pg_sys::SubscriptExecSteps,
                ) {
                    unsafe { pg_sys::submodules::panic::pgrx_extern_c_guard(move || exec_setup($kind, sbsref, state, steps)) }
                }
                static [<ROUTINES_ $fn_name:upper>]: pg_sys::SubscriptRoutines = pg_sys::SubscriptRoutines {
                    transform: Some([<transform_ $fn_name>]),
                    exec_setup: Some([<exec_setup_ $fn_name>]),
                    // NULL vector: NULL result, without calling fetch.
                    fetch_strict: true,
                    fetch_leakproof: false,
                    store_leakproof: false,
                };
            }
        )*
        pg_v1! {
            $(
                fn $fn_name(_fcinfo) {
                    paste::paste! { pg_sys::Datum::from(&[<ROUTINES_ $fn_name:upper>] as *const pg_sys::SubscriptRoutines) }
                }
            )*
        }
    };
}

handlers! {
    strata_vector_subscript => VECTOR,
    strata_vecf16_subscript => VECF16,
    strata_bvector_subscript => BVECTOR,
    strata_svector_subscript => SVECTOR,
    strata_veci8_subscript => VECI8,
}
