//! The metapage and the pages of sealed segments, read and written through
//! the buffer guards.

use super::buffer::{init_page, interrupt_point, nblocks, Buffer, IndexRel, WalRecord};
use super::standby::{corrupted, OrCorrupted};
use pgrx::pg_sys;
use strata_hnsw::page::PageSource;
use strata_index::extents::{segment_extents, ExtentMap};
use strata_index::meta::META_BLOCK;
use strata_index::page::{content, content_mut, is_kind, PageKind};
use strata_index::{Meta, Segment};

/// The metapage, checked (share lock, released on return).
pub fn read_meta(index: pg_sys::Relation) -> Meta {
    if nblocks(index) == 0 {
        corrupted(index, "the index has no metapage");
    }
    let meta = {
        let buf = Buffer::share(index, META_BLOCK);
        // Counted after reading: blocks the metapage names exist by then.
        Meta::from_page(buf.page(), nblocks(index))
    };
    meta.or_corrupted(index)
}

/// The metapage under its exclusive lock, for a change: inserts, VACUUM's
/// counts and merges' swaps are serialised by it.
pub struct MetaForUpdate {
    buf: Buffer,
    pub meta: Meta,
}

impl MetaForUpdate {
    pub fn lock(index: pg_sys::Relation) -> MetaForUpdate {
        let buf = Buffer::exclusive(index, META_BLOCK);
        match Meta::from_page(buf.page(), nblocks(index)) {
            Ok(meta) => MetaForUpdate { buf, meta },
            Err(e) => {
                drop(buf);
                corrupted(index, &e.0)
            }
        }
    }

    /// Writes `self.meta` into the page as part of `record`.
    pub fn write_into(&self, record: &mut WalRecord) {
        self.meta.encode(content_mut(record.register(&self.buf, false)));
    }

    /// Writes `self.meta` as one generic WAL record, and unlocks.
    pub fn commit(self, index: pg_sys::Relation) {
        let mut record = WalRecord::start(index);
        self.write_into(&mut record);
        record.finish();
    }
}

/// Writes the metapage of a new index into `buf` (block 0, exclusively
/// locked), as a full-page image.
pub fn write_new_metapage(index: pg_sys::Relation, buf: &Buffer, meta: &Meta) {
    let mut record = WalRecord::start(index);
    let page = record.register(buf, true);
    init_page(page, PageKind::Meta);
    meta.encode(content_mut(page));
    record.finish();
}

/// Pages of a sealed segment, read through shared buffers.
pub struct SegmentPages {
    pub index: pg_sys::Relation,
    /// The segment's first block or map page, to name it in errors.
    pub start: u32,
    pub map: ExtentMap,
}

impl SegmentPages {
    /// The extents of `seg`, read from its map page if it has one.
    pub fn open(index: pg_sys::Relation, seg: &Segment) -> SegmentPages {
        let map = segment_extents(&IndexRel(index), seg).or_corrupted(index);
        SegmentPages { index, start: seg.start, map }
    }

    /// The block holding segment page `page`.
    pub fn block_of(&self, page: u32) -> u32 {
        self.map
            .block_of(page)
            .unwrap_or_else(|| corrupted(self.index, &format!("segment page {page} is past the segment's {} pages", self.map.pages())))
    }
}

/// Per backend: for each index file, the shared buffer each block was last
/// found in. `ReadRecentBuffer` pins such a buffer after checking its tag,
/// without the shared buffer-mapping lookup that dominated index scans
/// (about 30% of a GloVe query's server time). A stale hint costs one
/// failed check; hints are never trusted without it.
mod recent {
    use pgrx::pg_sys;
    use std::cell::RefCell;
    use std::collections::HashMap;

    thread_local! {
        static HINTS: RefCell<HashMap<u32, Vec<pg_sys::Buffer>>> = RefCell::new(HashMap::new());
    }

    pub fn get(relfile: u32, block: u32) -> pg_sys::Buffer {
        HINTS.with(|h| h.borrow().get(&relfile).and_then(|v| v.get(block as usize).copied()).unwrap_or(0))
    }

    pub fn set(relfile: u32, block: u32, buf: pg_sys::Buffer) {
        HINTS.with(|h| {
            let mut h = h.borrow_mut();
            // Bounded: a backend remembers at most a few index files.
            if h.len() > 64 && !h.contains_key(&relfile) {
                h.clear();
            }
            let v = h.entry(relfile).or_default();
            if v.len() <= block as usize {
                v.resize(block as usize + 1, 0);
            }
            v[block as usize] = buf;
        })
    }
}

impl PageSource for SegmentPages {
    fn with_page<R>(&self, page: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        // Every page a scan or merge reads is a point where it can be
        // cancelled (no buffer lock is held here).
        interrupt_point();
        let block = self.block_of(page);
        let rnode = unsafe { (*self.index).rd_node };
        let hint = recent::get(rnode.relNode.into(), block);
        // A hit means this backend already read (and checked) this block
        // into that very buffer, so the page-kind check, which costs a cache
        // miss on the page's last line, is skipped.
        let recent = hint != 0 && unsafe { pg_sys::ReadRecentBuffer(rnode, pg_sys::ForkNumber::MAIN_FORKNUM, block, hint) };
        let mut buf = if recent { unsafe { Buffer::adopt(hint) } } else { Buffer::pin(self.index, block) };
        buf.lock_share();
        if !recent {
            if !is_kind(buf.page(), PageKind::Sealed) {
                drop(buf);
                corrupted(self.index, &format!("block {block} is not a segment page"));
            }
            recent::set(rnode.relNode.into(), block, buf.raw());
        }
        f(content(buf.page()))
    }

    fn corrupted(&self, what: &str) -> ! {
        corrupted(self.index, &format!("sealed segment at block {}: {what}", self.start))
    }
}
