//! strata: the pgrx glue. Algorithms live in `strata-core`; this crate only
//! converts between PostgreSQL datums and core types and maps errors to
//! SQLSTATEs. The SQL objects are declared by hand in `sql/`.

use pgrx::prelude::*;

mod datum;
mod error;
mod types;

::pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/types.sql", name = "types", bootstrap);
pgrx::extension_sql_file!("../sql/byov.sql", name = "byov", finalize);

/// The version of the extension library, as built.
#[pg_extern(immutable, parallel_safe)]
fn strata_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
