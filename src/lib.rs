//! strata: the pgrx glue. Algorithms live in `strata-core`; this crate only
//! converts between PostgreSQL datums and core types and maps errors to
//! SQLSTATEs.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

/// The version of the extension library, as built.
#[pg_extern(immutable, parallel_safe)]
fn strata_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
