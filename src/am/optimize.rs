//! Merging segments: `strata_optimize(index)` folds everything into one
//! sealed segment; the background merge folds growing segments, size-tiered.
//!
//! Concurrency: a merge holds SHARE UPDATE EXCLUSIVE on the table, which lets
//! inserts and queries run but excludes VACUUM (whose deletions must not be
//! lost by a merge that read the entries before) and other merges. It reads a
//! snapshot of the metapage; entries appended meanwhile stay in the writing
//! segment. The metapage update is one WAL record: a crash before it leaves
//! the old segments in place, after it the new one. Pages of the old segments
//! go to the free lists (sealed pages to the merges' pool, log pages to the
//! inserts' pool) tagged with the next transaction id and are reused
//! only when every running snapshot is newer, so no scan that started before
//! the swap can see them overwritten.

use super::segment::{self, Placement};
use super::storage::*;
use pgrx::pg_sys;
use strata_hnsw::page::PAGE_PAYLOAD;

/// A sealed segment whose deleted fraction passes this is rebuilt.
pub const DELETED_FRACTION_REBUILD: f64 = 0.2;

unsafe fn next_of(index: pg_sys::Relation, block: u32) -> u32 {
    unsafe {
        let buf = read_buffer(index, block);
        pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
        let page = pg_sys::BufferGetPage(buf);
        let kind = page_kind(page);
        let next = log_next(page);
        pg_sys::UnlockReleaseBuffer(buf);
        if kind != Some(KIND_LOG) {
            corrupted(index, &format!("block {block} is not a writing-segment page"));
        }
        next
    }
}

/// Pages of a log from `head` up to, not including, `stop` (or through `tail`).
/// The chain was read in full by `read_log` before; it is still bounded by
/// the relation's size, so damaged next pointers cannot make it loop.
unsafe fn log_pages(index: pg_sys::Relation, head: u32, tail: u32, stop: u32) -> Vec<u32> {
    let nblocks = unsafe { pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM) };
    let mut out = Vec::new();
    let mut block = head;
    while block != 0 && block != stop {
        if block >= nblocks || out.len() >= nblocks as usize {
            unsafe { corrupted(index, &format!("writing segment's page chain from block {head} reaches block {block} of {nblocks}")) };
        }
        out.push(block);
        if block == tail {
            break;
        }
        block = unsafe { next_of(index, block) };
    }
    out
}

fn add_free(free: &mut Vec<FreeRange>, start: u32, pages: u32, xid: u32) {
    if pages == 0 {
        return;
    }
    free.push(FreeRange { start, pages, retired_xid: xid });
    free.sort_by_key(|r| r.start);
    // Coalesce neighbours, keeping the newer retirement id.
    let mut merged: Vec<FreeRange> = Vec::with_capacity(free.len());
    for r in free.drain(..) {
        match merged.last_mut() {
            Some(last) if last.start + last.pages == r.start => {
                last.pages += r.pages;
                if xid_precedes(last.retired_xid, r.retired_xid) {
                    last.retired_xid = r.retired_xid;
                }
            }
            _ => merged.push(r),
        }
    }
    *free = merged;
}

fn too_deleted(seg: &Segment) -> bool {
    seg.deleted as f64 > DELETED_FRACTION_REBUILD * seg.nodes as f64
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// Everything into one segment, including the writing segment.
    Full,
    /// Growing segments plus the sealed segments a size-tiered policy picks
    /// (each at most twice the size of everything smaller picked so far), and
    /// any segment with too many deletions. Each vector is merged O(log n)
    /// times, so the total work stays O(n log n).
    Tiered,
}

/// Which sealed segments a merge takes, by index into `meta.sealed`.
fn pick_sealed(meta: &Meta, scope: Scope) -> Vec<usize> {
    match scope {
        Scope::Full => (0..meta.sealed.len()).collect(),
        Scope::Tiered => {
            let mut acc: u64 = meta.growing.iter().map(|g| g.entries as u64).sum();
            let mut order: Vec<usize> = (0..meta.sealed.len()).collect();
            order.sort_by_key(|&i| meta.sealed[i].nodes);
            let mut picked = Vec::new();
            for i in order {
                let seg = &meta.sealed[i];
                let live = (seg.nodes - seg.deleted.min(seg.nodes)) as u64;
                if too_deleted(seg) || live <= 2 * acc.max(1) {
                    picked.push(i);
                    acc += live;
                }
            }
            if acc == 0 || (meta.growing.is_empty() && picked.len() <= 1 && !picked.iter().any(|&i| too_deleted(&meta.sealed[i]))) {
                return Vec::new();
            }
            picked.sort();
            picked
        }
    }
}

/// Merges what `scope` asks for into one new sealed segment and swaps it in.
/// Returns false when there was nothing to merge.
pub unsafe fn merge(index: pg_sys::Relation, scope: Scope) -> bool {
    unsafe {
        let m0 = read_meta(index);
        let picked = pick_sealed(&m0, scope);
        let take_writing = scope == Scope::Full && m0.log.entries > 0;
        let nothing = match scope {
            Scope::Full => m0.sealed.len() <= 1 && m0.growing.is_empty() && !take_writing && m0.sealed.iter().all(|s| s.deleted == 0),
            Scope::Tiered => m0.growing.is_empty() && picked.is_empty(),
        };
        if nothing {
            return false;
        }
        // The entries of the growing (and maybe writing) segments.
        let mut data = Vec::new();
        let mut tids = Vec::new();
        let mut collect = |e: LogEntry<'_>| {
            if !e.deleted {
                data.extend_from_slice(e.vector);
                tids.push(e.tid);
            }
        };
        for g in &m0.growing {
            read_log(index, &m0, g, &mut collect);
        }
        if take_writing {
            read_log(index, &m0, &m0.log, &mut collect);
        }
        let sealed: Vec<Segment> = picked.iter().map(|&i| m0.sealed[i]).collect();
        let params = super::build_params(&m0);
        let oldest_xmin: u32 = pg_sys::GetOldestNonRemovableTransactionId(std::ptr::null_mut()).into();
        let mut placement = Placement::Live { free: m0.free.clone(), oldest_xmin };
        let live_sealed: u64 = sealed.iter().map(|s| (s.nodes - s.deleted.min(s.nodes)) as u64).sum();
        let new_segment = if tids.is_empty() && live_sealed == 0 {
            None
        } else {
            Some(segment::merge_segments(index, &m0, &params, &sealed, &data, &tids, &mut placement))
        };
        drop(data);
        let Placement::Live { mut free, .. } = placement else { unreachable!() };

        // Pages the merged sealed segments occupy (maps read before the swap).
        let sealed_runs: Vec<(u32, u32)> = sealed.iter().flat_map(|seg| segment_runs(index, seg)).collect();

        // The swap.
        let meta_buf = read_buffer(index, META_BLOCK);
        pg_sys::LockBuffer(meta_buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
        let m1 = meta_of_page(index, pg_sys::BufferGetPage(meta_buf));
        // Only merges change sealed and growing-prefix state, and they are
        // serialised by the table lock; anything else means corruption.
        if m1.sealed.len() != m0.sealed.len() || m1.growing.get(..m0.growing.len()) != Some(&m0.growing[..]) {
            pg_sys::UnlockReleaseBuffer(meta_buf);
            corrupted(index, "segments changed during a merge");
        }
        let mut m2 = m1.clone();
        m2.sealed = m1
            .sealed
            .iter()
            .enumerate()
            .filter(|(i, _)| !picked.contains(i))
            .map(|(_, s)| *s)
            // Carry deletions VACUUM recorded meanwhile (none: it is excluded).
            .chain(new_segment)
            .collect();
        // Log pages the swap retires (the chains are read now, before the
        // retirement id is taken, see below).
        let mut retired_log: Vec<u32> = Vec::new();
        for g in &m0.growing {
            retired_log.extend(log_pages(index, g.head, g.tail, 0));
        }
        m2.growing = m1.growing[m0.growing.len()..].to_vec();
        if take_writing {
            // The entries read are a prefix of the writing segment as it was;
            // it may have grown since, or even been handed over as a growing
            // segment. Cut the prefix off whichever range now starts there.
            let consumed = m0.log;
            let starts_there = |r: &LogRange| r.head == consumed.head && r.head_offset == consumed.head_offset;
            let holder = if starts_there(&m2.log) {
                Some(&mut m2.log)
            } else {
                m2.growing.iter_mut().find(|r| starts_there(r))
            };
            let Some(holder) = holder else {
                pg_sys::UnlockReleaseBuffer(meta_buf);
                corrupted(index, "the merged writing segment is no longer in the directory");
            };
            let remaining = holder.entries - consumed.entries;
            let (new_head, new_offset) = if remaining == 0 {
                (0, 0)
            } else if consumed.tail_used as usize + ENTRY_HEADER <= PAGE_PAYLOAD {
                (consumed.tail, consumed.tail_used)
            } else {
                (next_of(index, consumed.tail), 0)
            };
            retired_log.extend(log_pages(index, holder.head, holder.tail, new_head));
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
        // `log_reuse_conflict`) must cover it. An xid assigned and committed
        // by another backend in the microseconds between this read and the
        // record could leave a standby snapshot uncovered; B-tree page
        // deletion has the same window. Scans on a standby still never
        // report such a page as corruption (see `scan`).
        let retired: u32 = pg_sys::ReadNextTransactionId().into();
        for &(start, pages) in &sealed_runs {
            add_free(&mut free, start, pages, retired);
        }
        // Inserts take pages from the log pool meanwhile: start from its
        // current state, not from m0's.
        let mut log_free = m1.log_free.clone();
        for block in retired_log {
            add_free(&mut log_free, block, 1, retired);
        }
        while free.len() + log_free.len() > MAX_FREE {
            // Forget the smallest ranges rather than fail; REINDEX reclaims them.
            let smallest = |pool: &Vec<FreeRange>| pool.iter().enumerate().min_by_key(|(_, r)| r.pages).map(|(i, r)| (r.pages, i));
            match (smallest(&free), smallest(&log_free)) {
                (Some((a, i)), Some((b, _))) if a <= b => free.remove(i),
                (_, Some((_, j))) => log_free.remove(j),
                (Some((_, i)), None) => free.remove(i),
                (None, None) => unreachable!(),
            };
        }
        m2.free = free;
        m2.log_free = log_free;
        log_meta_update(index, meta_buf, &m2);
        pg_sys::UnlockReleaseBuffer(meta_buf);
        true
    }
}
