//! `aminsert`: a row's vector is appended to the writing segment, with no
//! graph work; a full writing segment becomes a growing segment, which the
//! background merge (see `worker`) folds into a sealed one.

use super::buffer::{init_page, Buffer, WalRecord};
use super::pages::MetaForUpdate;
use super::standby::{corrupted, log_reuse_conflict};
use super::values::{index_vector_bytes, prepared_bytes, tid_to_u64, wrong_dimensions};
use super::{with_space, worker};
use pgrx::pg_sys;
use strata_index::free::take_reusable_page;
use strata_index::log::{encode_entry, fill_page, plan_append, wal_groups};
use strata_index::page::{is_kind, PageKind};

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn aminsert(
    index: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    heap_tid: pg_sys::ItemPointer,
    _heap: pg_sys::Relation,
    _check_unique: pg_sys::IndexUniqueCheck::Type,
    _index_unchanged: bool,
    _index_info: *mut pg_sys::IndexInfo,
) -> bool {
    // SAFETY: the executor passes one value, its null flag and the heap TID.
    let (value, isnull, tid) = unsafe { (*values, *isnull, tid_to_u64(&*heap_tid)) };
    if isnull {
        return false;
    }
    let meta = super::pages::read_meta(index);
    let raw = index_vector_bytes(&meta, value, wrong_dimensions);
    let stored = with_space!(meta.element_kind(), meta.metric(), |S| prepared_bytes::<S>(&raw));
    if append_entry(index, tid, &stored) {
        worker::launch(index);
    }
    false
}

/// Appends one entry (header + vector) to the writing segment, as
/// `strata_index::log` plans it. Appends are serialised by the metapage's
/// exclusive lock, held for the duration (a memcpy into a few pages). The
/// metapage update goes into the last WAL record, with the page holding
/// the entry's end, so a crash leaves either the whole entry or none.
/// Returns whether the writing segment became a growing segment.
pub fn append_entry(index: pg_sys::Relation, tid: u64, vector: &[u8]) -> bool {
    let mut meta = MetaForUpdate::lock(index);
    if vector.len() != meta.meta.vector_bytes() {
        drop(meta);
        corrupted(index, "vector size differs from the metapage's dimensions");
    }
    let entry = encode_entry(tid, vector, meta.meta.entry_bytes());
    let plan = plan_append(&meta.meta.log, entry.len());

    // Buffers in chain order: the current tail, then fresh pages (freed log
    // pages no snapshot can read any more, else new ones).
    let mut bufs: Vec<Buffer> = Vec::with_capacity(plan.len());
    let mut horizon = None;
    for planned in &plan {
        let buf = if planned.existing {
            let tail = meta.meta.log.tail;
            let buf = Buffer::exclusive(index, tail);
            if !is_kind(buf.page(), PageKind::Log) {
                drop((buf, bufs, meta));
                corrupted(index, &format!("block {tail} is not a writing-segment page"));
            }
            buf
        } else {
            let pool = &mut meta.meta.log_free;
            let reusable = if pool.is_empty() {
                None
            } else {
                let horizon = *horizon.get_or_insert_with(|| unsafe { pg_sys::GetOldestNonRemovableTransactionId(std::ptr::null_mut()) }.into());
                take_reusable_page(pool, horizon)
            };
            match reusable {
                Some((block, retired_xid)) => {
                    // Logged before the records below that overwrite it.
                    log_reuse_conflict(index, block, retired_xid);
                    Buffer::exclusive(index, block)
                }
                // Should this backend fail before the metapage is written,
                // the page is still listed free (or an unreferenced new block).
                None => Buffer::extend(index),
            }
        };
        bufs.push(buf);
    }
    let blocks: Vec<u32> = bufs.iter().map(Buffer::block).collect();

    let groups = wal_groups(bufs.len());
    let last_group = groups.len() - 1;
    let mut became_growing = false;
    for (g, group) in groups.into_iter().enumerate() {
        let mut record = WalRecord::start(index);
        for i in group {
            let page = record.register(&bufs[i], !plan[i].existing);
            if !plan[i].existing {
                init_page(page, PageKind::Log);
            }
            fill_page(page, &plan[i], &entry, blocks.get(i + 1).copied());
        }
        if g == last_group {
            let first = plan.iter().position(|p| p.write.is_some()).expect("an entry always has bytes");
            let head = (blocks[first], plan[first].write.as_ref().unwrap().0 as u32);
            let (at, bytes) = plan.last().and_then(|p| p.write.clone()).expect("the last page holds the entry's end");
            became_growing = meta.meta.commit_append(head, *blocks.last().unwrap(), (at + bytes.len()) as u32);
            meta.write_into(&mut record);
        }
        record.finish();
    }
    became_growing
}
