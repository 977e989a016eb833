//! `strata_optimize(index)`: fold every sealed segment and the writing
//! segment into one new sealed segment, and swap it in atomically.
//!
//! Concurrency: the table is locked in SHARE UPDATE EXCLUSIVE mode, which
//! lets inserts and queries run but excludes VACUUM (whose deletions must not
//! be lost by a merge that read the entries before) and other merges. The
//! merge reads a snapshot of the metapage; entries appended while it works
//! stay in the writing segment. The metapage update is one WAL record: a
//! crash before it leaves the old segments in place, after it the new one.
//! Pages of the old segments go to the free list tagged with the next
//! transaction id, and are reused only when every running snapshot is newer,
//! so no scan that started before the swap can see them overwritten.

use super::segment::{self, Placement};
use super::storage::*;
use pgrx::pg_sys;
use strata_hnsw::page::PAGE_PAYLOAD;
use strata_hnsw::Params;

/// What a merge consumed from the writing segment.
struct Consumed {
    entries: u64,
    tail: u32,
    tail_used: u32,
}

/// Pages of the log from `head` up to, not including, `stop` (0: through the tail).
unsafe fn log_pages(index: pg_sys::Relation, head: u32, tail: u32, stop: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut block = head;
    while block != 0 && block != stop {
        out.push(block);
        if block == tail {
            break;
        }
        block = unsafe {
            let buf = read_buffer(index, block);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
            let next = log_next(pg_sys::BufferGetPage(buf));
            pg_sys::UnlockReleaseBuffer(buf);
            next
        };
    }
    out
}

unsafe fn next_of(index: pg_sys::Relation, block: u32) -> u32 {
    unsafe {
        let buf = read_buffer(index, block);
        pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
        let next = log_next(pg_sys::BufferGetPage(buf));
        pg_sys::UnlockReleaseBuffer(buf);
        next
    }
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

/// Whether the index has anything to merge: more than one segment, a
/// non-empty writing segment, or deleted nodes in its single segment.
unsafe fn needs_merge(index: pg_sys::Relation, meta: &Meta) -> bool {
    if meta.sealed.len() > 1 || meta.log_entries > 0 {
        return true;
    }
    let Some(seg) = meta.sealed.first() else { return false };
    let layout = unsafe { segment::segment_layout(index, seg) };
    let mut deleted = false;
    for page_no in 0..layout.node_pages {
        let first = page_no * layout.records_per_page;
        let last = (first + layout.records_per_page).min(layout.node_count);
        unsafe {
            let buf = read_buffer(index, seg.start + layout.first_node_page + page_no);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
            let c = content(pg_sys::BufferGetPage(buf));
            deleted |= (first..last).any(|id| c[layout.node_location(id).1] & 1 != 0);
            pg_sys::UnlockReleaseBuffer(buf);
        }
        if deleted {
            break;
        }
    }
    deleted
}

/// Merges everything into one sealed segment. Returns false when there was
/// nothing to do.
pub unsafe fn optimize(index: pg_sys::Relation) -> bool {
    unsafe {
        let m0 = read_meta(index);
        if !needs_merge(index, &m0) {
            return false;
        }
        let mut data = Vec::new();
        let mut tids = Vec::new();
        read_log(index, &m0, |e| {
            if !e.deleted {
                data.extend_from_slice(e.vector);
                tids.push(e.tid);
            }
        });
        let consumed = Consumed { entries: m0.log_entries, tail: m0.log_tail, tail_used: m0.log_tail_used };
        let params = Params { m: m0.m as usize, ef_construction: m0.ef_construction as usize, ..Params::default() };
        let oldest_xmin: u32 = pg_sys::GetOldestNonRemovableTransactionId(std::ptr::null_mut()).into();
        let mut placement = Placement::Live { free: m0.free.clone(), oldest_xmin };
        let live_sealed: u64 = m0.sealed.iter().map(|s| s.nodes as u64).sum();
        let new_segment = if tids.is_empty() && live_sealed == 0 {
            None
        } else {
            Some(segment::merge_segments(index, &m0, &params, &m0.sealed, &data, &tids, &mut placement))
        };
        drop(data);
        let Placement::Live { mut free, .. } = placement else { unreachable!() };

        // The swap.
        let meta_buf = read_buffer(index, META_BLOCK);
        pg_sys::LockBuffer(meta_buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
        let m1 = meta_of_page(index, pg_sys::BufferGetPage(meta_buf));
        if m1.sealed != m0.sealed {
            pg_sys::UnlockReleaseBuffer(meta_buf);
            pgrx::error!("strata: the segments of the index changed during the merge");
        }
        let retired: u32 = pg_sys::ReadNextTransactionId().into();
        let mut m2 = m1.clone();
        for seg in &m0.sealed {
            add_free(&mut free, seg.start, seg.pages, retired);
        }
        m2.sealed = new_segment.into_iter().collect();
        if consumed.entries > 0 {
            let remaining = m1.log_entries - consumed.entries;
            // Where the unconsumed entries start.
            let (new_head, new_offset) = if remaining == 0 {
                (0, 0)
            } else if consumed.tail_used as usize + ENTRY_HEADER <= PAGE_PAYLOAD {
                (consumed.tail, consumed.tail_used)
            } else {
                (next_of(index, consumed.tail), 0)
            };
            for block in log_pages(index, m1.log_head, m1.log_tail, new_head) {
                add_free(&mut free, block, 1, retired);
            }
            m2.log_head = new_head;
            m2.log_head_offset = new_offset;
            if remaining == 0 {
                m2.log_tail = 0;
                m2.log_tail_used = 0;
            }
            m2.log_entries = remaining;
        }
        while free.len() > MAX_FREE {
            // Forget the smallest ranges rather than fail; REINDEX reclaims them.
            let i = free.iter().enumerate().min_by_key(|(_, r)| r.pages).map(|(i, _)| i).unwrap();
            free.remove(i);
        }
        m2.free = free;
        let state = pg_sys::GenericXLogStart(index);
        let page = pg_sys::GenericXLogRegisterBuffer(state, meta_buf, 0);
        write_meta_page(page, &m2, false);
        pg_sys::GenericXLogFinish(state);
        pg_sys::UnlockReleaseBuffer(meta_buf);
        true
    }
}
