//! The background merge: a dynamic background worker, started on demand
//! when a writing segment becomes a growing segment (and after VACUUM leaves
//! a segment with many deletions). It needs no shared_preload_libraries: the
//! postmaster loads this library into the worker by name.
//!
//! Why a worker rather than autovacuum alone: inserts must not pay for graph
//! building, and autovacuum may not visit an insert-only table for a long
//! time; the worker starts within milliseconds of the hand-over. Only one
//! merge per table runs at a time (the worker takes the table's SHARE UPDATE
//! EXCLUSIVE lock conditionally and leaves if it is busy); a merge that could
//! not start is picked up by the next hand-over or by `strata_optimize`.
//!
//! Stopping: SIGTERM (pg_terminate_backend, server shutdown) is handled by
//! PostgreSQL's `die` and SIGINT (pg_cancel_backend) by its statement-cancel
//! handler, so both surface at CHECK_FOR_INTERRUPTS; the merge polls them
//! while the engine's threads build (see `segment::cancel_pending`) and the
//! worker exits within milliseconds, before the metapage swap, leaving the
//! segments as they were (the aborted transaction releases its locks).

use super::optimize::{merge, Scope};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::pg_sys;

/// Asks the postmaster for a worker that merges `index`'s growing segments.
/// Failing to get one (e.g. max_worker_processes reached) is not an error.
pub fn launch(index: pg_sys::Relation) {
    let (db, oid) = unsafe { (pg_sys::MyDatabaseId, (*index).rd_id) };
    let _ = BackgroundWorkerBuilder::new("strata merge")
        .set_type("strata merge")
        .set_library("strata")
        .set_function("strata_merge_worker_main")
        .set_argument(None)
        .set_extra(&format!("{} {}", u32::from(db), u32::from(oid)))
        .enable_spi_access()
        .set_restart_time(None)
        .load_dynamic();
}

unsafe extern "C-unwind" {
    /// PostgreSQL's SIGTERM handler for backends (`die`): sets ProcDiePending
    /// and the latch. Declared directly because pgrx's binding is a wrapper,
    /// not the C function a signal handler must be.
    #[link_name = "die"]
    fn postgres_die(signal: std::ffi::c_int);
}

#[pgrx::pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn strata_merge_worker_main(_arg: pg_sys::Datum) {
    unsafe {
        // Termination through the interrupt machinery, not pgrx's flag: the
        // merge notices it at its interrupt points.
        pg_sys::pqsignal(pg_sys::SIGTERM as i32, Some(postgres_die));
    }
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP);
    let mut ids = BackgroundWorker::get_extra().split_whitespace().map(|s| s.parse::<u32>().unwrap_or(0));
    let (db, index_oid) = (ids.next().unwrap_or(0), ids.next().unwrap_or(0));
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(db)), None);
    // Keep merging while hand-overs arrive faster than merges finish; wait
    // (up to a minute) while a VACUUM or another merge holds the table.
    let mut busy_waits = 0;
    loop {
        match BackgroundWorker::transaction(|| unsafe { merge_once(pg_sys::Oid::from(index_oid)) }) {
            Outcome::Merged => busy_waits = 0,
            Outcome::Busy if busy_waits < 600 => {
                busy_waits += 1;
                if !BackgroundWorker::wait_latch(Some(std::time::Duration::from_millis(100))) {
                    break;
                }
            }
            Outcome::Busy | Outcome::Nothing => break,
        }
        pg_sys::check_for_interrupts!();
    }
}

enum Outcome {
    Merged,
    Busy,
    Nothing,
}

/// One tiered merge, if the index still exists and nobody else is merging.
unsafe fn merge_once(index_oid: pg_sys::Oid) -> Outcome {
    unsafe {
        let heap_oid = pg_sys::IndexGetRelation(index_oid, true);
        if heap_oid == pg_sys::InvalidOid {
            return Outcome::Nothing;
        }
        if !pg_sys::ConditionalLockRelationOid(heap_oid, pg_sys::ShareUpdateExclusiveLock as pg_sys::LOCKMODE) {
            return Outcome::Busy;
        }
        let index = pg_sys::try_relation_open(index_oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        if index.is_null() {
            return Outcome::Nothing;
        }
        let merged = merge(index, Scope::Tiered);
        pg_sys::relation_close(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        if merged { Outcome::Merged } else { Outcome::Nothing }
    }
}
