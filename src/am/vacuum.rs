//! VACUUM: `ambulkdelete` marks the entries of dead heap rows deleted in
//! every segment (a merge drops them later); `amvacuumcleanup` counts the
//! live entries and hands an idle writing segment to the background merge.

use super::buffer::{nblocks, Buffer, IndexRel, WalRecord};
use super::pages::{read_meta, MetaForUpdate, SegmentPages};
use super::segment::segment_layout;
use super::standby::OrCorrupted;
use super::values::u64_to_tid;
use super::worker;
use pgrx::pg_sys;
use pgrx::PgBox;
use strata_hnsw::page::{is_deleted, read_payload, set_deleted};
use strata_index::log::{read_all_logs, set_entry_deleted};
use strata_index::page::{content, content_mut};
use strata_index::policy::merge_wanted;
use strata_index::Meta;

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn ambulkdelete(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: pg_sys::IndexBulkDeleteCallback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: VACUUM passes its info, the stats of an earlier pass or NULL,
    // and the callback that tells dead heap TIDs.
    unsafe {
        let index = (*info).index;
        let stats = if stats.is_null() { PgBox::<pg_sys::IndexBulkDeleteResult>::alloc0().into_pg() } else { stats };
        let callback = callback.expect("ambulkdelete needs a callback");
        let meta = read_meta(index);
        let mut is_dead = |tid: u64| {
            let mut t = pg_sys::ItemPointerData::default();
            u64_to_tid(tid, &mut t);
            callback(&mut t, callback_state)
        };
        let (live, removed) = mark_deleted(index, &meta, &mut is_dead);
        (*stats).num_index_tuples = live as f64;
        (*stats).tuples_removed += removed as f64;
        if merge_wanted(&read_meta(index)) {
            worker::launch(index);
        }
        stats
    }
}

/// Marks every entry whose heap TID is dead, in every segment, and records
/// the sealed segments' new deletion counts in the metapage. Returns (live
/// entries, newly deleted entries).
fn mark_deleted(index: pg_sys::Relation, meta: &Meta, is_dead: &mut dyn FnMut(u64) -> bool) -> (u64, u64) {
    let mut live = 0u64;
    let mut removed = 0u64;
    let mut removed_per_segment = vec![0u32; meta.sealed.len()];
    // Sealed segments: node pages are visited in order and only locked
    // exclusively when something on them dies.
    for (seg_no, seg) in meta.sealed.iter().enumerate() {
        let pages = SegmentPages::open(index, seg);
        let layout = segment_layout(&pages, seg);
        for page_no in 0..layout.node_pages {
            unsafe { pg_sys::vacuum_delay_point() };
            let ids = layout.records_starting_on(page_no);
            if ids.is_empty() {
                continue;
            }
            let mut buf = Buffer::share(index, pages.block_of(layout.first_node_page + page_no));
            let mut dying = Vec::new();
            {
                let c = content(buf.page());
                for id in ids {
                    let (_, offset) = layout.node_location(id);
                    if is_deleted(c, offset) {
                        continue;
                    }
                    // A packed record's flags byte is always on the page it
                    // starts on; its payload may lie on the next one.
                    let (payload_page, payload_offset) = layout.payload_location(id);
                    let tid = if payload_page == layout.first_node_page + page_no {
                        read_payload(c, payload_offset)
                    } else {
                        let next = Buffer::share(index, pages.block_of(payload_page));
                        read_payload(content(next.page()), payload_offset)
                    };
                    if is_dead(tid) {
                        dying.push(offset);
                    } else {
                        live += 1;
                    }
                }
            }
            if dying.is_empty() {
                continue;
            }
            // Only VACUUM sets these flags, and VACUUMs of a table are
            // serialised, so what was read under the share lock still holds.
            buf.lock_exclusive();
            let mut record = WalRecord::start(index);
            let c = content_mut(record.register(&buf, false));
            for &offset in &dying {
                set_deleted(c, offset, true);
            }
            record.finish();
            removed += dying.len() as u64;
            removed_per_segment[seg_no] += dying.len() as u32;
        }
    }
    // Logs: find the dead entries, then flip their flags page by page.
    let mut dying: Vec<(u32, usize)> = Vec::new();
    read_all_logs(&IndexRel(index), meta, |e| {
        if !e.deleted {
            if is_dead(e.tid) {
                dying.push((e.block, e.offset));
            } else {
                live += 1;
            }
        }
    })
    .or_corrupted(index);
    dying.sort_unstable();
    for chunk in dying.chunk_by(|a, b| a.0 == b.0) {
        unsafe { pg_sys::vacuum_delay_point() };
        let buf = Buffer::exclusive(index, chunk[0].0);
        let mut record = WalRecord::start(index);
        let c = content_mut(record.register(&buf, false));
        for &(_, offset) in chunk {
            set_entry_deleted(c, offset);
        }
        record.finish();
        removed += chunk.len() as u64;
    }
    if removed_per_segment.iter().any(|n| *n > 0) {
        let mut m = MetaForUpdate::lock(index);
        for (seg, n) in meta.sealed.iter().zip(&removed_per_segment) {
            if let Some(s) = m.meta.sealed.iter_mut().find(|s| s.start == seg.start && s.pages == seg.pages) {
                s.deleted = (s.deleted + n).min(s.nodes);
            }
        }
        m.commit(index);
    }
    (live, removed)
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: VACUUM passes its info and the bulk-delete stats or NULL.
    unsafe {
        if (*info).analyze_only {
            return stats;
        }
        let index = (*info).index;
        let stats = if stats.is_null() {
            // No bulkdelete pass ran (nothing to delete): count the live entries.
            let stats = PgBox::<pg_sys::IndexBulkDeleteResult>::alloc0().into_pg();
            let meta = read_meta(index);
            let (live, _) = mark_deleted(index, &meta, &mut |_| false);
            (*stats).num_index_tuples = live as f64;
            stats
        } else {
            stats
        };
        (*stats).num_pages = nblocks(index);
        // A writing segment still below max_writing_size when (auto)vacuum
        // comes has gone idle: hand it to the background merge too.
        if hand_over_writing_segment(index) {
            worker::launch(index);
        }
        stats
    }
}

/// Turns a non-empty writing segment into a growing segment. Returns whether it did.
fn hand_over_writing_segment(index: pg_sys::Relation) -> bool {
    let mut meta = MetaForUpdate::lock(index);
    let handed = meta.meta.hand_over_writing();
    if handed {
        meta.commit(index);
    }
    handed
}
