//! `strata_debug_panic(place)`: raises a Rust panic on purpose, so tests can
//! check that a panic anywhere in strata becomes an ordinary ERROR (SQLSTATE
//! XX000) for that statement, and that the server keeps running. Only
//! superusers may call it (EXECUTE is also revoked from PUBLIC).
//!
//! - `'backend'` (default): a panic on the backend's own thread, as any bug
//!   in the access method or the types would be.
//! - `'thread'`: a panic on a worker thread, like the engine's build and
//!   merge threads; it crosses the `std::thread::scope` join into the
//!   backend's thread and from there becomes the same ERROR.

use crate::error::Report;
use pgrx::prelude::*;
use strata_core::SqlState;

#[pg_extern(volatile, parallel_unsafe)]
fn strata_debug_panic(place: default!(&str, "'backend'")) -> bool {
    if !unsafe { pgrx::pg_sys::superuser() } {
        Report::new(SqlState::InsufficientPrivilege, "must be superuser to call strata_debug_panic").raise();
    }
    match place {
        "backend" => panic!("strata_debug_panic: deliberate panic on the backend thread"),
        "thread" => {
            std::thread::scope(|s| {
                s.spawn(|| panic!("strata_debug_panic: deliberate panic on a worker thread"));
            });
            unreachable!("a panicking scoped thread makes the scope panic")
        }
        other => Report::new(SqlState::InvalidParameterValue, format!("strata_debug_panic: unknown place {other:?} (use 'backend' or 'thread')"))
            .raise(),
    }
}

pgrx::extension_sql!(
    r#"REVOKE EXECUTE ON FUNCTION strata_debug_panic(text) FROM PUBLIC;"#,
    name = "debug_panic_revoke",
    requires = [strata_debug_panic]
);
