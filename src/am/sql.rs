//! SQL functions on vectors indexes: `strata_optimize` and the
//! `pg_vector_index_stat` view.

use super::buffer::{nblocks, relation_name};
use super::optimize;
use super::pages::read_meta;
use crate::error::Report;
use pgrx::pg_sys;
use strata_core::SqlState;


/// Opens relation `oid` with `lock`, which must be a vectors index (else 42809).
fn open_vectors_index(oid: pg_sys::Oid, lock: pg_sys::LOCKMODE) -> pg_sys::Relation {
    // SAFETY: relation_open raises for a missing relation; the rest reads
    // the open relation's catalog entries.
    unsafe {
        let rel = pg_sys::relation_open(oid, lock);
        let am_name = pg_sys::get_am_name((*(*rel).rd_rel).relam);
        let is_ours = (*(*rel).rd_rel).relkind == pg_sys::RELKIND_INDEX as i8
            && !am_name.is_null()
            && std::ffi::CStr::from_ptr(am_name).to_bytes() == b"vectors";
        if !is_ours {
            let name = relation_name(rel);
            pg_sys::relation_close(rel, lock);
            Report::new(SqlState::WrongObjectType, format!("\"{name}\" is not a vectors index")).raise();
        }
        rel
    }
}

crate::datum::pg_v1! {
    fn strata_optimize(fcinfo) {
        unsafe {
            let oid = pg_sys::Oid::from(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).value() as u32);
            let index = open_vectors_index(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            // Excludes VACUUM and other merges on the table, not inserts or queries.
            let heap_oid = pg_sys::IndexGetRelation(oid, false);
            pg_sys::LockRelationOid(heap_oid, pg_sys::ShareUpdateExclusiveLock as pg_sys::LOCKMODE);
            let merged = optimize::merge(index, optimize::Scope::Full);
            pg_sys::relation_close(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
            crate::datum::bool_datum(merged)
        }
    }
}

/// One row of `pg_vector_index_stat` for a vectors index.
#[pgrx::pg_extern(volatile, parallel_safe)]
#[allow(clippy::type_complexity)]
fn strata_index_stat(
    index: pg_sys::Oid,
) -> pgrx::iter::TableIterator<
    'static,
    (
        pgrx::name!(idx_tuples, i64),
        pgrx::name!(idx_sealed, Vec<i64>),
        pgrx::name!(idx_sealed_deleted, Vec<i64>),
        pgrx::name!(idx_growing, Vec<i64>),
        pgrx::name!(idx_write, i64),
        pgrx::name!(idx_free_pages, i64),
        pgrx::name!(idx_size, i64),
    ),
> {
    unsafe {
        let rel = open_vectors_index(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let meta = read_meta(rel);
        let sealed: Vec<i64> = meta.sealed.iter().map(|s| s.nodes as i64).collect();
        let deleted: Vec<i64> = meta.sealed.iter().map(|s| s.deleted as i64).collect();
        let growing: Vec<i64> = meta.growing.iter().map(|g| g.entries as i64).collect();
        let live_sealed: i64 = meta.sealed.iter().map(|s| (s.nodes - s.deleted.min(s.nodes)) as i64).sum();
        let tuples = live_sealed + growing.iter().sum::<i64>() + meta.log.entries as i64;
        let free_pages: i64 = meta.free.iter().chain(&meta.log_free).map(|r| r.pages as i64).sum();
        let size = nblocks(rel) as i64 * 8192;
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        pgrx::iter::TableIterator::once((tuples, sealed, deleted, growing, meta.log.entries as i64, free_pages, size))
    }
}

pgrx::extension_sql!(
    r#"
-- Per vectors index: its table, options, segment sizes and merge activity.
-- pgvecto.rs's columns and strata's own. idx_status is always NORMAL: the
-- view lists valid indexes only. idx_options is the reloptions (text[];
-- pgvecto.rs gives its parsed options as JSON text).
-- idx_tuples counts entries not yet known deleted (VACUUM updates that);
-- idx_sealed / idx_growing give the rows of each sealed / growing segment,
-- idx_write the rows of the writing segment.
CREATE VIEW pg_vector_index_stat AS
SELECT c.oid AS tablerelid,
       i.oid AS indexrelid,
       c.relname AS tablename,
       i.relname AS indexname,
       'NORMAL'::pg_catalog.text AS idx_status,
       i.reloptions AS idx_options,
       EXISTS (SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
                WHERE l.relation = c.oid AND l.mode = 'ShareUpdateExclusiveLock' AND l.granted
                  AND (a.backend_type = 'strata merge' OR a.query ILIKE '%strata_optimize%')
                  AND a.pid <> pg_catalog.pg_backend_pid()) AS idx_indexing,
       s.idx_tuples, s.idx_sealed, s.idx_sealed_deleted, s.idx_growing, s.idx_write, s.idx_free_pages, s.idx_size
  FROM pg_catalog.pg_index x
  JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
  JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
  JOIN pg_catalog.pg_am am ON am.oid = i.relam AND am.amname = 'vectors'
  CROSS JOIN LATERAL strata_index_stat(i.oid) s
 WHERE x.indisvalid;
"#,
    name = "index_stat_view",
    requires = [strata_index_stat]
);
