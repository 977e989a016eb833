//! Corruption reports, and what keeps a hot standby from reporting a
//! healthy index as corrupted.
//!
//! The primary reuses a freed page once no snapshot *it knows of* can still
//! read it, but the page's new content arrives on a standby as generic WAL
//! and full-page images, which carry no recovery-conflict information. Two
//! measures cover that:
//! - [`log_reuse_conflict`]: before a freed page is overwritten, the primary
//!   logs a record whose replay cancels standby queries that may still read
//!   it (as B-tree page reuse does);
//! - the scan view: while recovery is in progress, a failed page check in a
//!   scan whose segments have left the metapage meanwhile raises 40001
//!   (retry) instead of XX002, and a scan that has returned nothing yet
//!   starts over (see `scan`).

use super::buffer::{is_permanent, nblocks, relation_name, Buffer};
use crate::error::Report;
use pgrx::pg_sys;
use strata_core::SqlState;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use strata_index::free::full_xid_before_next;
use strata_index::meta::META_BLOCK;
use strata_index::page::{content, is_kind, PageKind};
use strata_index::view::SegmentsView;
use strata_index::{Corruption, Meta};

/// Reports an index whose pages are not what this version wrote (XX002,
/// with a REINDEX hint). On a standby, pages replay reused under a running
/// scan are reported as 40001 instead (see the module comment). Call it
/// holding no buffer lock.
pub fn corrupted(index: pg_sys::Relation, what: &str) -> ! {
    if moved_on(index) {
        raise_changed(index, what);
    }
    let name = relation_name(index);
    Report::new(SqlState::IndexCorrupted, format!("index \"{name}\" is corrupted"))
        .detail(what)
        .hint(format!("REINDEX INDEX \"{name}\"."))
        .raise()
}

/// Unwraps a storage result or reports its corruption.
pub trait OrCorrupted<T> {
    fn or_corrupted(self, index: pg_sys::Relation) -> T;
}

impl<T> OrCorrupted<T> for Result<T, Corruption> {
    fn or_corrupted(self, index: pg_sys::Relation) -> T {
        self.unwrap_or_else(|e| corrupted(index, &e.0))
    }
}

/// What a running scan planned from: which index, and its segments.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanView {
    relfile: (u32, u32, u32),
    segments: SegmentsView,
}

thread_local! {
    static ACTIVE: RefCell<Option<Rc<ScanView>>> = const { RefCell::new(None) };
    static CHANGED_RAISED: Cell<bool> = const { Cell::new(false) };
}

fn relfile_of(index: pg_sys::Relation) -> (u32, u32, u32) {
    let n = unsafe { (*index).rd_node };
    (u32::from(n.spcNode), u32::from(n.dbNode), u32::from(n.relNode))
}

impl ScanView {
    pub fn new(index: pg_sys::Relation, meta: &Meta) -> ScanView {
        ScanView { relfile: relfile_of(index), segments: SegmentsView::of(meta) }
    }
}

/// Makes `view` the scan view of the reads `f` does, then restores the
/// previous one (also when `f` raises an error).
pub fn with_view<R>(view: &Rc<ScanView>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Rc<ScanView>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ACTIVE.with(|a| *a.borrow_mut() = previous);
        }
    }
    let _restore = Restore(ACTIVE.with(|a| a.borrow_mut().replace(Rc::clone(view))));
    f()
}

/// The metapage as it is now, or None if it cannot be read as one (without
/// raising anything: this runs while an error is being made).
fn peek_meta(index: pg_sys::Relation) -> Option<Meta> {
    if nblocks(index) == 0 {
        return None;
    }
    let buf = Buffer::share(index, META_BLOCK);
    let page = buf.page();
    if is_kind(page, PageKind::Meta) { Meta::decode(content(page)) } else { None }
}

/// Whether a failed check on `index` may come from replay reusing pages
/// under the running scan: recovery is in progress, and a segment the scan
/// planned from is no longer in the metapage.
fn moved_on(index: pg_sys::Relation) -> bool {
    let Some(view) = ACTIVE.with(|a| a.borrow().clone()) else { return false };
    if view.relfile != relfile_of(index) || !unsafe { pg_sys::RecoveryInProgress() } {
        return false;
    }
    peek_meta(index).is_some_and(|now| view.segments.retired_in(&now))
}

/// Raises 40001 (serialization_failure, as PostgreSQL's own recovery
/// conflicts do): the index is fine, the query can be retried.
fn raise_changed(index: pg_sys::Relation, what: &str) -> ! {
    let name = relation_name(index);
    CHANGED_RAISED.with(|c| c.set(true));
    Report::new(
        SqlState::SerializationFailure,
        format!("canceling statement: index \"{name}\" changed during recovery while it was being read"),
    )
    .detail(format!("Replay reused pages of segments the scan started from; the scan found: {what}."))
    .hint("The index is not corrupted. Retry the query.")
    .raise()
}

/// Clears and returns whether a 40001 for a changed index was raised since
/// the last call.
pub fn take_changed_raised() -> bool {
    CHANGED_RAISED.with(|c| c.replace(false))
}

/// PostgreSQL 15's B-tree "reuse page" WAL record (`xl_btree_reuse_page` in
/// access/nbtxlog.h, which pgrx does not bind): RelFileNode, block number,
/// then the conflict horizon as a FullTransactionId at offset 16; 24 bytes.
/// PostgreSQL 16 changed it (a RelFileLocator and an isCatalogRel flag):
/// supporting 16 means writing its layout under `cfg(feature = "pg16")`.
const XLOG_BTREE_REUSE_PAGE: u8 = 0xD0;
const BTREE_REUSE_PAGE_SIZE: usize = 24;

/// Makes a hot standby resolve recovery conflicts before it replays the
/// reuse of `block`, a freed page whose range was retired at `retired_xid`.
/// Call it before WAL-logging any new content of the page.
///
/// How: the record PostgreSQL's B-tree writes before it recycles a deleted
/// page. Its redo (btree_xlog_reuse_page) touches no page; in hot standby it
/// calls ResolveRecoveryConflictWithSnapshotFullXid(horizon, node), which
/// waits for (up to max_standby_streaming_delay), then cancels with 40001,
/// the queries of the index's database whose snapshot xmin is at or before
/// the horizon. A custom WAL resource manager would need
/// shared_preload_libraries, which strata does without.
///
/// Which horizon: `retired_xid` itself, the same value the primary tests
/// (the page is reused only when `retired_xid` precedes every snapshot's
/// xmin), as B-tree logs the page's safexid, which it also took from
/// ReadNextFullTransactionId. A standby snapshot that read the metapage
/// before the swap was taken before the swap was replayed, so its xmax, the
/// latest completed xid + 1, is at most the primary's next xid at the swap:
/// its xmin is at most `retired_xid`, and is caught (`optimize::merge` reads
/// the id right before that record and says what window remains). (Logging
/// `retired_xid - 1` would miss a snapshot taken when nothing ran, whose
/// xmin equals `retired_xid`.) The cost is that a newer snapshot with such
/// an xmin is also waited for; the primary reasons the same way.
///
/// Only with wal_level replica or above (XLogStandbyInfoActive) and for a
/// permanent index (RelationNeedsWAL): otherwise there is no standby to tell.
pub fn log_reuse_conflict(index: pg_sys::Relation, block: u32, retired_xid: u32) {
    if unsafe { pg_sys::wal_level } < pg_sys::WalLevel::WAL_LEVEL_REPLICA as i32 || !is_permanent(index) {
        return;
    }
    let horizon = full_xid_before_next(unsafe { pg_sys::ReadNextFullTransactionId() }.value, retired_xid);
    let (spc, db, rel) = relfile_of(index);
    let mut record = [0u8; BTREE_REUSE_PAGE_SIZE];
    for (i, v) in [spc, db, rel, block].into_iter().enumerate() {
        record[4 * i..4 * i + 4].copy_from_slice(&v.to_ne_bytes());
    }
    record[16..24].copy_from_slice(&horizon.to_ne_bytes());
    unsafe {
        pg_sys::XLogBeginInsert();
        pg_sys::XLogRegisterData(record.as_mut_ptr() as *mut std::ffi::c_char, BTREE_REUSE_PAGE_SIZE as i32);
        pg_sys::XLogInsert(pg_sys::RmgrIds::RM_BTREE_ID as u8, XLOG_BTREE_REUSE_PAGE);
    }
}
