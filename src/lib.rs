//! strata: the pgrx glue. Algorithms live in `strata-core`; this crate only
//! converts between PostgreSQL datums and core types and maps errors to
//! SQLSTATEs. The SQL objects are declared by hand in `sql/`.

use pgrx::prelude::*;

mod am;
mod byov;
mod datum;
mod debug;
mod error;
mod sphere;
mod subscript;
mod svector;
mod types;
mod veci8;

::pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/types.sql", name = "types", bootstrap);
pgrx::extension_sql_file!("../sql/am.sql", name = "am", requires = ["types"]);
pgrx::extension_sql_file!("../sql/svector.sql", name = "svector", requires = ["am"]);
pgrx::extension_sql_file!("../sql/veci8.sql", name = "veci8", requires = ["svector"]);
pgrx::extension_sql_file!("../sql/sphere.sql", name = "sphere", requires = ["veci8"]);
pgrx::extension_sql_file!("../sql/byov.sql", name = "byov", finalize);

/// `strata.exact_search_rows`: read by `strata._search_exactly` (sql/byov.sql).
static EXACT_SEARCH_ROWS: pgrx::guc::GucSetting<i32> = pgrx::guc::GucSetting::<i32>::new(1000);

/// The version of the extension library, as built.
#[pg_extern(immutable, parallel_safe)]
fn strata_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    pgrx::GucRegistry::define_int_guc(
        c"strata.ef_search",
        c"Search width (ef) of vectors index scans.",
        c"Larger values find more of the true nearest neighbours and cost more time; a scan can still return more rows than this when the query keeps asking.",
        &am::scan::EF_SEARCH,
        1,
        10000,
        pgrx::GucContext::Userset,
        pgrx::GucFlags::default(),
    );
    pgrx::GucRegistry::define_enum_guc(
        c"strata.search_mode",
        c"How far vectors index scans go: vbase (until the query is satisfied) or basic (at most ef_search rows).",
        c"vbase keeps streaming candidates in distance order, so filtered ORDER BY ... LIMIT k queries return k rows whenever k rows match.",
        &am::scan::SEARCH_MODE,
        pgrx::GucContext::Userset,
        pgrx::GucFlags::default(),
    );
    pgrx::GucRegistry::define_enum_guc(
        c"strata.scan_order",
        c"Order of rows from vectors index scans: relaxed (approximately increasing distance) or strict (non-decreasing).",
        c"strict drops rows that the graph search finds after a farther row was returned, which lowers recall a little; strata.search uses it so that pages agree.",
        &am::scan::SCAN_ORDER,
        pgrx::GucContext::Userset,
        pgrx::GucFlags::default(),
    );
    pgrx::GucRegistry::define_int_guc(
        c"strata.code_cache",
        c"Megabytes of sealed segments' vector codes each backend keeps in memory for vectors index scans.",
        c"A scan estimates neighbours from these codes and reads only the pages of the nodes it expands; a segment whose codes do not fit is searched by reading every neighbour's page, which is several times slower. 0 turns the cache off.",
        &am::codes::CODE_CACHE_MB,
        0,
        1024 * 1024,
        pgrx::GucContext::Userset,
        pgrx::GucFlags::UNIT_MB,
    );
    pgrx::GucRegistry::define_int_guc(
        c"strata.exact_search_rows",
        c"strata.search ranks exactly, without the ANN index, when its filter is estimated to match at most this many records.",
        c"0 always uses the index when there is one.",
        &EXACT_SEARCH_ROWS,
        0,
        i32::MAX,
        pgrx::GucContext::Userset,
        pgrx::GucFlags::default(),
    );
    // After the settings exist, any other strata.* name is a typo: refuse it (and drop
    // placeholders set before the library loaded, with a WARNING) rather than accept it
    // silently. Settings made before the load are PostgreSQL's placeholders; see the README,
    // "Settings before the library loads".
    unsafe { pgrx::pg_sys::MarkGUCPrefixReserved(c"strata".as_ptr()) };
    am::options::register();
}
