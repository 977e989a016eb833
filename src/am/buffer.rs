//! Buffers of a `vectors` index behind RAII guards: a [`Buffer`] is pinned
//! (and maybe locked) until it is dropped, and a [`WalRecord`] is either
//! finished or aborted when dropped, so no path unlocks, releases or aborts
//! by hand, and an error raised while one is held (pgrx unwinds through
//! Rust frames) releases it too.
//!
//! Callers still never raise an error *while* holding a content lock when
//! they can help it: storage code returns a `Corruption`, the guard goes
//! out of scope, and the caller reports it (see `standby::corrupted`, which
//! reads the metapage itself).

use pgrx::pg_sys;
use strata_index::page::{init_special, PageKind, PAGE_SIZE, SPECIAL_SIZE};
use strata_index::Relation;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lock {
    None,
    Share,
    Exclusive,
}

/// A pinned buffer of an index relation.
pub struct Buffer {
    buf: pg_sys::Buffer,
    lock: Lock,
}

impl Buffer {
    /// Pins `block` of `index`'s main fork without locking it.
    pub fn pin(index: pg_sys::Relation, block: u32) -> Buffer {
        Buffer::pin_in_fork(index, pg_sys::ForkNumber::MAIN_FORKNUM, block)
    }

    fn pin_in_fork(index: pg_sys::Relation, fork: pg_sys::ForkNumber::Type, block: u32) -> Buffer {
        let buf = unsafe { pg_sys::ReadBufferExtended(index, fork, block, pg_sys::ReadBufferMode::RBM_NORMAL, std::ptr::null_mut()) };
        Buffer { buf, lock: Lock::None }
    }

    /// Extends `fork` (of an index being built, which nobody else extends)
    /// by one page, returned exclusively locked.
    pub fn extend_fork(index: pg_sys::Relation, fork: pg_sys::ForkNumber::Type) -> Buffer {
        let mut b = Buffer::pin_in_fork(index, fork, pg_sys::InvalidBlockNumber);
        b.lock_exclusive();
        b
    }

    /// Block `block` of `index`'s main fork, which lies within the relation
    /// but whose content nobody needs (a page CREATE INDEX is about to
    /// write, see [`extend_sparse`]): a zeroed buffer, exclusively locked,
    /// without reading the block.
    pub fn zeroed(index: pg_sys::Relation, block: u32) -> Buffer {
        let buf = unsafe {
            pg_sys::ReadBufferExtended(
                index,
                pg_sys::ForkNumber::MAIN_FORKNUM,
                block,
                pg_sys::ReadBufferMode::RBM_ZERO_AND_LOCK,
                std::ptr::null_mut(),
            )
        };
        Buffer { buf, lock: Lock::Exclusive }
    }

    /// Takes over a buffer pinned by other means (e.g. `ReadRecentBuffer`).
    /// Safety: `buf` is a valid buffer this backend holds one pin on, unlocked.
    pub unsafe fn adopt(buf: pg_sys::Buffer) -> Buffer {
        Buffer { buf, lock: Lock::None }
    }

    pub fn share(index: pg_sys::Relation, block: u32) -> Buffer {
        let mut b = Buffer::pin(index, block);
        b.lock_share();
        b
    }

    pub fn exclusive(index: pg_sys::Relation, block: u32) -> Buffer {
        let mut b = Buffer::pin(index, block);
        b.lock_exclusive();
        b
    }

    /// Extends the relation by one page, returned exclusively locked. The
    /// extension lock keeps concurrent extenders from taking the same block.
    pub fn extend(index: pg_sys::Relation) -> Buffer {
        unsafe { pg_sys::LockRelationForExtension(index, pg_sys::ExclusiveLock as i32) };
        let b = Buffer::exclusive(index, pg_sys::InvalidBlockNumber);
        unsafe { pg_sys::UnlockRelationForExtension(index, pg_sys::ExclusiveLock as i32) };
        b
    }

    pub fn raw(&self) -> pg_sys::Buffer {
        self.buf
    }

    pub fn block(&self) -> u32 {
        unsafe { pg_sys::BufferGetBlockNumber(self.buf) }
    }

    pub fn lock_share(&mut self) {
        self.set_lock(Lock::Share);
    }

    pub fn lock_exclusive(&mut self) {
        self.set_lock(Lock::Exclusive);
    }

    pub fn unlock(&mut self) {
        self.set_lock(Lock::None);
    }

    fn set_lock(&mut self, lock: Lock) {
        if self.lock == lock {
            return;
        }
        unsafe {
            if self.lock != Lock::None {
                pg_sys::LockBuffer(self.buf, pg_sys::BUFFER_LOCK_UNLOCK as i32);
                self.lock = Lock::None;
            }
            match lock {
                Lock::None => {}
                Lock::Share => pg_sys::LockBuffer(self.buf, pg_sys::BUFFER_LOCK_SHARE as i32),
                Lock::Exclusive => pg_sys::LockBuffer(self.buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32),
            }
        }
        self.lock = lock;
    }

    /// The whole page; the buffer must be locked.
    pub fn page(&self) -> &[u8] {
        assert!(self.lock != Lock::None, "reading an unlocked buffer");
        unsafe { std::slice::from_raw_parts(pg_sys::BufferGetPage(self.buf) as *const u8, PAGE_SIZE) }
    }

    /// The whole page, for a change that is not WAL-logged record by record
    /// (CREATE INDEX logs the whole relation at its end); marks it dirty.
    pub fn page_mut_unlogged(&mut self) -> &mut [u8] {
        assert!(self.lock == Lock::Exclusive, "writing a buffer without its exclusive lock");
        unsafe {
            pg_sys::MarkBufferDirty(self.buf);
            std::slice::from_raw_parts_mut(pg_sys::BufferGetPage(self.buf) as *mut u8, PAGE_SIZE)
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        unsafe {
            if self.lock != Lock::None {
                pg_sys::UnlockReleaseBuffer(self.buf);
            } else {
                pg_sys::ReleaseBuffer(self.buf);
            }
        }
    }
}

/// A generic WAL record being assembled: its page images are changed
/// through [`WalRecord::register`] and applied, logged and marked dirty
/// together by [`WalRecord::finish`]. Dropped unfinished (an error, an early
/// return), it is aborted and the buffers keep their old content.
pub struct WalRecord {
    state: *mut pg_sys::GenericXLogState,
}

impl WalRecord {
    pub fn start(index: pg_sys::Relation) -> WalRecord {
        WalRecord { state: unsafe { pg_sys::GenericXLogStart(index) } }
    }

    /// The copy of `buf`'s page (exclusively locked) that this record
    /// changes. `full_image` logs the whole page (a page being initialised)
    /// instead of a delta.
    pub fn register(&mut self, buf: &Buffer, full_image: bool) -> &mut [u8] {
        assert!(buf.lock == Lock::Exclusive, "logging a buffer without its exclusive lock");
        let flags = if full_image { pg_sys::GENERIC_XLOG_FULL_IMAGE as i32 } else { 0 };
        unsafe {
            let page = pg_sys::GenericXLogRegisterBuffer(self.state, buf.buf, flags);
            std::slice::from_raw_parts_mut(page as *mut u8, PAGE_SIZE)
        }
    }

    pub fn finish(mut self) {
        unsafe { pg_sys::GenericXLogFinish(self.state) };
        self.state = std::ptr::null_mut();
    }
}

impl Drop for WalRecord {
    fn drop(&mut self) {
        if !self.state.is_null() {
            unsafe { pg_sys::GenericXLogAbort(self.state) };
        }
    }
}

/// Initialises `page` (a whole page) as an empty page of `kind` whose whole
/// content area is in use (`pd_lower` = `pd_upper`, see `strata_index::page`).
pub fn init_page(page: &mut [u8], kind: PageKind) {
    unsafe {
        let p = page.as_mut_ptr() as pg_sys::Page;
        pg_sys::PageInit(p, PAGE_SIZE, SPECIAL_SIZE);
        let header = p as *mut pg_sys::PageHeaderData;
        (*header).pd_lower = (*header).pd_upper;
    }
    init_special(page, kind);
}

/// Blocks in `index`'s main fork.
pub fn nblocks(index: pg_sys::Relation) -> u32 {
    unsafe { pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM) }
}

/// Raises an error now if a cancel or termination is pending. Only for
/// places that hold no buffer lock.
#[inline]
pub fn interrupt_point() {
    unsafe {
        if std::ptr::read_volatile(&raw const pg_sys::InterruptPending) != 0 {
            pg_sys::check_for_interrupts!();
        }
    }
}

/// An index relation as `strata_index` reads it: through shared buffers,
/// each read a point where the query can be cancelled.
#[derive(Clone, Copy)]
pub struct IndexRel(pub pg_sys::Relation);

impl Relation for IndexRel {
    fn nblocks(&self) -> u32 {
        nblocks(self.0)
    }
    fn read<R>(&self, block: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        interrupt_point();
        let buf = Buffer::share(self.0, block);
        f(buf.page())
    }
}

/// Extends the relation by `n` contiguous pages (initialised as empty sealed
/// pages, not yet WAL-logged) and returns the first block. The extension lock
/// is held throughout, so concurrent inserts cannot interleave their pages.
pub fn extend_run(index: pg_sys::Relation, n: u32) -> u32 {
    unsafe { pg_sys::LockRelationForExtension(index, pg_sys::ExclusiveLock as i32) };
    let mut first = 0;
    for i in 0..n {
        let mut buf = Buffer::exclusive(index, pg_sys::InvalidBlockNumber);
        if i == 0 {
            first = buf.block();
        }
        init_page(buf.page_mut_unlogged(), PageKind::Sealed);
    }
    unsafe { pg_sys::UnlockRelationForExtension(index, pg_sys::ExclusiveLock as i32) };
    first
}

/// Extends the main fork of `index`, an index being built that nobody else
/// sees, by `n` pages at once: one write of the last page, the others a
/// hole in the file that reads as zeroes. The caller then writes every new
/// page through [`Buffer::zeroed`], so each costs one buffer and no system
/// call (extending page by page wrote every page's zeroes to the file
/// first, one `write` each), and the buffers reach the file as any dirty
/// buffer does. Returns the first new block.
pub fn extend_sparse(index: pg_sys::Relation, n: u32) -> u32 {
    let first = nblocks(index);
    if n == 0 {
        return first;
    }
    let zero = [0u8; PAGE_SIZE];
    // SAFETY: `nblocks` opened the relation's storage (`rd_smgr`); the page
    // buffer outlives the call.
    unsafe {
        let smgr = (*index).rd_smgr;
        assert!(!smgr.is_null(), "the index's storage is open");
        pg_sys::smgrextend(smgr, pg_sys::ForkNumber::MAIN_FORKNUM, first + n - 1, zero.as_ptr() as *mut std::ffi::c_char, false);
    }
    first
}

/// Whether changes to `index` are WAL-logged (a permanent relation).
pub fn is_permanent(index: pg_sys::Relation) -> bool {
    unsafe { (*(*index).rd_rel).relpersistence == pg_sys::RELPERSISTENCE_PERMANENT as std::ffi::c_char }
}

pub fn relation_name(index: pg_sys::Relation) -> String {
    unsafe {
        let name = &(*(*index).rd_rel).relname;
        std::ffi::CStr::from_ptr(name.data.as_ptr()).to_string_lossy().into_owned()
    }
}
