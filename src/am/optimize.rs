//! Merging segments: `strata_optimize(index)` folds everything into one
//! sealed segment; the background merge folds growing segments, size-tiered
//! (see `strata_index::policy`).
//!
//! Concurrency: a merge holds SHARE UPDATE EXCLUSIVE on the table, which lets
//! inserts and queries run but excludes VACUUM (whose deletions must not be
//! lost by a merge that read the entries before) and other merges. It reads a
//! snapshot of the metapage; entries appended meanwhile stay in the writing
//! segment. The metapage update is one WAL record: a crash before it leaves
//! the old segments in place, after it the new one. Pages of the old segments
//! go to the free lists (sealed pages to the merges' pool, log pages to the
//! inserts' pool) tagged with the next transaction id and are reused only
//! when every running snapshot is newer, so no scan that started before the
//! swap can see them overwritten.

use super::buffer::IndexRel;
use super::pages::{read_meta, MetaForUpdate};
use super::segment::{self, Placement};
use super::standby::{corrupted, OrCorrupted};
use pgrx::pg_sys;
use strata_index::extents::segment_runs;
use strata_index::free::{add_free, trim_pools};
use strata_index::log::{log_blocks, next_block, read_log, LogEntry, ENTRY_HEADER};
use strata_index::page::PAGE_PAYLOAD;
use strata_index::policy::{nothing_to_merge, pick_sealed};
use strata_hnsw::Spill;
use strata_index::{LogRange, Segment};

pub use strata_index::policy::Scope;

/// Merges what `scope` asks for into one new sealed segment and swaps it in.
/// Returns false when there was nothing to merge.
pub fn merge(index: pg_sys::Relation, scope: Scope) -> bool {
    let rel = IndexRel(index);
    let m0 = read_meta(index);
    let picked = pick_sealed(&m0, scope);
    if nothing_to_merge(&m0, scope, &picked) {
        return false;
    }
    let take_writing = scope == Scope::Full && m0.log.entries > 0;
    let sealed: Vec<Segment> = picked.iter().map(|&i| m0.sealed[i]).collect();
    let log_entries: u64 =
        m0.growing.iter().map(|g| g.entries as u64).sum::<u64>() + if take_writing { m0.log.entries as u64 } else { 0 };
    // The entries of the growing (and maybe writing) segments.
    let mut rows = match merge_spill(&m0, &sealed, log_entries) {
        Some(spill) => segment::MergeRows::spilled(index, spill),
        None => segment::MergeRows::in_memory(),
    };
    let mut collect = |e: LogEntry<'_>| {
        if !e.deleted {
            rows.push(index, e.vector, e.tid);
        }
    };
    for g in &m0.growing {
        read_log(&rel, &m0, g, &mut collect).or_corrupted(index);
    }
    if take_writing {
        read_log(&rel, &m0, &m0.log, &mut collect).or_corrupted(index);
    }
    let params = super::build::build_params(&m0);
    let oldest_xmin: u32 = unsafe { pg_sys::GetOldestNonRemovableTransactionId(std::ptr::null_mut()) }.into();
    let mut placement = Placement::Live { free: m0.free.clone(), oldest_xmin };
    let live_sealed: u64 = sealed.iter().map(live).sum();
    let new_segment = if rows.is_empty() && live_sealed == 0 {
        None
    } else {
        Some(segment::merge_segments(index, &m0, &params, &sealed, rows, &mut placement))
    };
    let Placement::Live { mut free, .. } = placement else { unreachable!("a merge places its segment live") };

    // Pages the merged sealed segments occupy (maps read before the swap).
    let mut sealed_runs: Vec<(u32, u32)> = Vec::new();
    for seg in &sealed {
        sealed_runs.extend(segment_runs(&rel, seg).or_corrupted(index));
    }

    // The swap. Errors below are raised after the metapage is unlocked.
    let mut swap = |m: &mut MetaForUpdate| -> Result<(), String> {
        let m1 = m.meta.clone();
        // Only merges change sealed and growing-prefix state, and they are
        // serialised by the table lock; anything else means corruption.
        if m1.sealed.len() != m0.sealed.len() || m1.growing.get(..m0.growing.len()) != Some(&m0.growing[..]) {
            return Err("segments changed during a merge".into());
        }
        let m2 = &mut m.meta;
        m2.sealed = m1
            .sealed
            .iter()
            .enumerate()
            .filter(|(i, _)| !picked.contains(i))
            .map(|(_, s)| *s)
            // Deletions VACUUM recorded meanwhile would be carried; there are none, it is excluded.
            .chain(new_segment)
            .collect();
        // Log pages the swap retires (the chains are read now, before the
        // retirement id is taken, see below).
        let mut retired_log: Vec<u32> = Vec::new();
        for g in &m0.growing {
            retired_log.extend(log_blocks(&rel, g.head, g.tail, 0).map_err(|e| e.0)?);
        }
        m2.growing = m1.growing[m0.growing.len()..].to_vec();
        if take_writing {
            // The entries read are a prefix of the writing segment as it was;
            // it may have grown since, or even been handed over as a growing
            // segment. Cut the prefix off whichever range now starts there.
            let consumed = m0.log;
            let starts_there = |r: &LogRange| r.head == consumed.head && r.head_offset == consumed.head_offset;
            let holder = if starts_there(&m2.log) { Some(&mut m2.log) } else { m2.growing.iter_mut().find(|r| starts_there(r)) };
            let Some(holder) = holder else {
                return Err("the merged writing segment is no longer in the directory".into());
            };
            let remaining = holder.entries - consumed.entries;
            let (new_head, new_offset) = if remaining == 0 {
                (0, 0)
            } else if consumed.tail_used as usize + ENTRY_HEADER <= PAGE_PAYLOAD {
                (consumed.tail, consumed.tail_used)
            } else {
                (next_block(&rel, consumed.tail).map_err(|e| e.0)?, 0)
            };
            retired_log.extend(log_blocks(&rel, holder.head, holder.tail, new_head).map_err(|e| e.0)?);
            *holder = if remaining == 0 {
                LogRange::default()
            } else {
                LogRange { head: new_head, head_offset: new_offset, entries: remaining, ..*holder }
            };
            m2.growing.retain(|r| r.entries > 0);
        }
        // The retirement id: scans whose snapshot is older may still read
        // the retired pages. Taken as late as possible before the swap's WAL
        // record, since on a standby a snapshot taken before that record is
        // replayed has an xmin at most the next xid when the record was
        // written, and the reuse conflict logged with this id (see
        // `standby::log_reuse_conflict`) must cover it. An xid assigned and
        // committed by another backend in the microseconds between this read
        // and the record could leave a standby snapshot uncovered; B-tree
        // page deletion has the same window. Scans on a standby still never
        // report such a page as corruption (see `scan`).
        let retired: u32 = unsafe { pg_sys::ReadNextTransactionId() }.into();
        for &(start, pages) in &sealed_runs {
            add_free(&mut free, start, pages, retired);
        }
        // Inserts take pages from the log pool meanwhile: start from its
        // current state, not from m0's.
        let mut log_free = m1.log_free.clone();
        for &block in &retired_log {
            add_free(&mut log_free, block, 1, retired);
        }
        trim_pools(&mut free, &mut log_free);
        m2.free = std::mem::take(&mut free);
        m2.log_free = log_free;
        Ok(())
    };
    let mut meta = MetaForUpdate::lock(index);
    match swap(&mut meta) {
        Ok(()) => meta.commit(index),
        Err(what) => {
            drop(meta);
            corrupted(index, &what);
        }
    }
    true
}

fn live(s: &Segment) -> u64 {
    (s.nodes - s.deleted.min(s.nodes)) as u64
}

/// Where a merge of `sealed` and `log_entries` log entries (deleted ones
/// included) keeps its rows and graph: `None` in memory, as long as that
/// fits in maintenance_work_mem (estimated as a build of all its rows would
/// need, see `build::build_bytes_per_vector`); beyond that in temporary
/// files in base/pgsql_tmp, as a CREATE INDEX that outgrows its memory (the
/// merge then keeps a few dozen bytes per row in memory, whatever the
/// budget: unlike a build it cannot split). The background merge worker
/// runs with the server's maintenance_work_mem (64 MB unless configured, or
/// set for the database or with ALTER SYSTEM).
///
/// When temp_file_limit leaves no room for the files (the rows added to the
/// largest segment, then the merged graph's vectors, TIDs and lists), the
/// merge runs in memory as it always did: refusing would leave the
/// segments unmerged for good (the worker would retry and fail at every
/// hand-over), and splitting is no merge at all. temp_file_limit bounds
/// files, not memory, so running in memory does not break it.
fn merge_spill(meta: &strata_index::Meta, sealed: &[Segment], log_entries: u64) -> Option<Spill> {
    use super::build::{build_bytes_per_vector, spill_bytes_per_vector, temp_file_limit};
    let vb = meta.vector_bytes() as u64;
    let rows = sealed.iter().map(live).sum::<u64>() + log_entries;
    let budget = unsafe { pg_sys::maintenance_work_mem } as u64 * 1024;
    if rows.saturating_mul(build_bytes_per_vector(meta) as u64) <= budget {
        return None;
    }
    let base = sealed.iter().max_by_key(|s| s.nodes);
    let added = rows - base.map_or(0, live);
    // The merged arrays are sized for every node of the base, deleted ones included.
    let merged = added + base.map_or(0, |s| s.nodes as u64);
    let files = added * (vb + 8) + merged * spill_bytes_per_vector(meta) as u64;
    let limit = temp_file_limit();
    if limit.is_some_and(|l| files > l) {
        return None;
    }
    // The data directory is the backend's working directory; PostgreSQL
    // removes files named pgsql_tmp* there when it restarts (these are
    // unlinked at once anyway).
    let pid = unsafe { pg_sys::MyProcPid };
    Some(Spill::new("base/pgsql_tmp", format!("pgsql_tmp{pid}.strata_merge"), limit))
}
