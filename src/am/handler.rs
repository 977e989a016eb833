//! The access method handler: what PostgreSQL is told the `vectors` index
//! can do, and which function serves each callback.

use super::{build, cost, insert, options, scan, vacuum};
use pgrx::pg_sys;
use pgrx::PgBox;

crate::datum::pg_v1! {
    fn strata_vectors_amhandler(_fcinfo) {
        let mut am = unsafe { PgBox::<pg_sys::IndexAmRoutine>::alloc_node(pg_sys::NodeTag::T_IndexAmRoutine) };
        // 1: ORDER BY distance; 2: a range condition (col <<op>> sphere(c, r)).
        am.amstrategies = 2;
        // 1: the distance function; 2: the space (see `opclass`).
        am.amsupport = 2;
        am.amoptsprocnum = 0;
        am.amcanorder = false;
        am.amcanorderbyop = true;
        am.amcanbackward = false;
        am.amcanunique = false;
        am.amcanmulticol = false;
        am.amoptionalkey = true;
        am.amsearcharray = false;
        am.amsearchnulls = false;
        am.amstorage = false;
        am.amclusterable = false;
        am.ampredlocks = false;
        am.amcanparallel = false;
        am.amcaninclude = false;
        am.amusemaintenanceworkmem = true;
        am.amparallelvacuumoptions = pg_sys::VACUUM_OPTION_PARALLEL_BULKDEL as u8;
        am.amkeytype = pg_sys::InvalidOid;
        am.ambuild = Some(build::ambuild);
        am.ambuildempty = Some(build::ambuildempty);
        am.aminsert = Some(insert::aminsert);
        am.ambulkdelete = Some(vacuum::ambulkdelete);
        am.amvacuumcleanup = Some(vacuum::amvacuumcleanup);
        am.amcostestimate = Some(cost::amcostestimate);
        am.amoptions = Some(options::amoptions);
        am.ambuildphasename = Some(ambuildphasename);
        am.amvalidate = Some(amvalidate);
        am.ambeginscan = Some(scan::ambeginscan);
        am.amrescan = Some(scan::amrescan);
        am.amgettuple = Some(scan::amgettuple);
        am.amendscan = Some(scan::amendscan);
        am.into_pg().into()
    }
}

/// The operator classes are strata's own (sql/am.sql and friends); what an
/// index needs from them is checked when an index is built (`opclass`).
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn amvalidate(_opclass: pg_sys::Oid) -> bool {
    true
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn ambuildphasename(phase: i64) -> *mut std::ffi::c_char {
    let name: &'static std::ffi::CStr = match phase {
        build::PHASE_LOADING => c"loading tuples",
        build::PHASE_BUILDING => c"building HNSW graph",
        build::PHASE_WRITING => c"writing index pages",
        _ => return std::ptr::null_mut(),
    };
    name.as_ptr() as *mut _
}
