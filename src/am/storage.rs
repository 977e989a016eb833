//! Pages of a `vectors` index and how they are read and written.
//!
//! Every page is a standard PostgreSQL page whose whole content area (the
//! 8152 bytes between the 24-byte header and the 16-byte special space) is
//! ours: `pd_lower` is set equal to `pd_upper`, so neither full-page images
//! nor generic WAL records drop any of it as a "hole". Every change goes
//! through the buffer manager and is WAL-logged (generic WAL records for
//! small changes, `log_newpage_range` for a freshly built segment), so the
//! index survives a crash and replays on a streaming standby.
//!
//! Special space (16 bytes): u16 page kind, u16 reserved, u32 next block (log
//! pages), u32 used bytes (log pages), u32 magic.
//!
//! Block 0 is the metapage (see [`Meta`]). The sealed segment occupies a
//! contiguous run of blocks in the format of `strata_hnsw::page`. The writing
//! segment ("log") is a linked list of pages holding an append-only byte
//! stream of entries:
//!
//! ```text
//! u64 heap TID (block << 16 | offset), u8 flags (bit 0: deleted), 7 bytes 0,
//! then the vector's bytes padded to 8
//! ```
//! An entry header never straddles pages (a page with only 8 bytes left is
//! closed); the vector bytes may continue on the next page, so vectors of any
//! size (65535-dimensional f32 is 256 KiB) are stored.

use pgrx::pg_sys;
use strata_hnsw::page::{PageSource, PAGE_PAYLOAD, PAGE_SIZE};
use strata_hnsw::extents::ExtentMap;
use strata_hnsw::{ElementKind, Metric};

pub const META_BLOCK: pg_sys::BlockNumber = 0;
pub const MAGIC: u32 = 0x5354_5241; // "STRA"
pub const FORMAT_VERSION: u16 = 1;
pub const SPECIAL_SIZE: usize = 16;
pub const CONTENT_OFFSET: usize = 24;

pub const KIND_META: u16 = 1;
pub const KIND_SEALED: u16 = 2;
pub const KIND_LOG: u16 = 3;
/// Lists the extents of a sealed segment spread over several page runs.
pub const KIND_EXTENTS: u16 = 4;

pub const ENTRY_HEADER: usize = 16;
pub const FLAG_DELETED: u8 = 1;

const _: () = assert!(CONTENT_OFFSET + PAGE_PAYLOAD + SPECIAL_SIZE == PAGE_SIZE);

/// The metapage content.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Segment {
    pub start: u32,
    pub pages: u32,
    pub nodes: u32,
    /// Nodes marked deleted by VACUUM (a merge drops them).
    pub deleted: u32,
    /// `start` is an extent-map page listing where the segment's `pages`
    /// pages are; otherwise they are the blocks from `start` on.
    pub mapped: bool,
}

/// Set in a stored sealed segment's page count when the segment is mapped.
/// Metapages written before extent maps existed never set it.
const MAPPED_BIT: u32 = 1 << 31;
/// Extents an extent-map page can list: u32 count, u32 zero, then
/// (first block, pages) pairs.
pub const MAX_EXTENTS: usize = (PAGE_PAYLOAD - 8) / 8;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FreeRange {
    pub start: u32,
    pub pages: u32,
    /// The next transaction id when the range was retired: scans whose
    /// snapshot is older may still read it.
    pub retired_xid: u32,
}

/// A run of the append-only entry log: the writing segment, or a growing
/// segment (a former writing segment, read-only, waiting to be merged).
/// `head == 0` is an empty log.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LogRange {
    pub head: u32,
    /// Byte offset of the first entry in the head page.
    pub head_offset: u32,
    pub tail: u32,
    /// Bytes used in the tail page: entries past that are not committed.
    pub tail_used: u32,
    pub entries: u32,
}

pub const MAX_SEALED: usize = 128;
pub const MAX_FREE: usize = 256;
/// Set in a stored free range's page count when it belongs to the log-page
/// pool. Metapages written before the pool existed never set it.
const LOG_POOL_BIT: u32 = 1 << 31;
pub const MAX_GROWING: usize = 64;
const SEALED_AT: usize = 96;
const FREE_AT: usize = SEALED_AT + MAX_SEALED * 16;
const GROWING_AT: usize = FREE_AT + MAX_FREE * 12;
const META_END: usize = GROWING_AT + MAX_GROWING * 20;
const _: () = assert!(META_END <= PAGE_PAYLOAD);

/// The metapage content.
///
/// ```text
/// 0  u32 magic, u16 version, u8 element kind, u8 metric
/// 8  u32 dims, u16 m, u16 ef_construction
/// 16 u32 sealed count, u32 free count, u32 growing count, u32 max_writing_size
/// 32 writing segment: u32 head, head_offset, tail, tail_used, entries
/// 96   sealed segments: (start, pages, nodes, deleted) x 128
/// 2144 free ranges: (start, pages, retired xid) x 256; the top bit of
///      pages marks a range of the log-page pool (see `Meta::log_free`)
/// 5216 growing segments: (head, head_offset, tail, tail_used, entries) x 64
/// ```
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub kind: u8,
    pub metric: u8,
    pub dims: u32,
    pub m: u16,
    pub ef_construction: u16,
    /// Entries after which the writing segment becomes a growing segment.
    pub max_writing_size: u32,
    /// Sealed segments, oldest first.
    pub sealed: Vec<Segment>,
    /// Page ranges of retired sealed segments, reusable once no scan can
    /// read them. Only merges take from or add to this pool (they are
    /// serialised), so a merge may plan on a copy of it.
    pub free: Vec<FreeRange>,
    /// Pages of retired writing and growing segments, reused one page at a
    /// time by inserts (under the metapage lock) for new log pages; merges
    /// only add to it, at their swap. Without it every inserted row would
    /// extend the relation for good.
    pub log_free: Vec<FreeRange>,
    /// Growing segments, oldest first.
    pub growing: Vec<LogRange>,
    /// The writing segment.
    pub log: LogRange,
}

fn rd<const N: usize>(b: &[u8], o: usize) -> [u8; N] {
    b[o..o + N].try_into().unwrap()
}
fn rd_u32(b: &[u8], o: usize) -> u32 {
    u32::from_ne_bytes(rd(b, o))
}
fn wr_u32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_ne_bytes());
}

fn write_log_range(c: &mut [u8], o: usize, r: &LogRange) {
    for (i, v) in [r.head, r.head_offset, r.tail, r.tail_used, r.entries].into_iter().enumerate() {
        wr_u32(c, o + 4 * i, v);
    }
}

fn read_log_range(c: &[u8], o: usize) -> LogRange {
    LogRange {
        head: rd_u32(c, o),
        head_offset: rd_u32(c, o + 4),
        tail: rd_u32(c, o + 8),
        tail_used: rd_u32(c, o + 12),
        entries: rd_u32(c, o + 16),
    }
}

/// Flag in [`Meta::kind`] above the engine's element kind: the column is an
/// `svector` whose values the index stores as dense f32.
pub const KIND_SPARSE_INPUT: u8 = 0x10;

impl Meta {
    pub fn element_kind(&self) -> ElementKind {
        ElementKind::from_u8(self.kind & !KIND_SPARSE_INPUT).expect("validated when read")
    }
    /// Whether the indexed column is an `svector`, stored densified.
    pub fn sparse_input(&self) -> bool {
        self.kind & KIND_SPARSE_INPUT != 0
    }
    pub fn metric(&self) -> Metric {
        Metric::from_u8(self.metric).expect("validated when read")
    }
    /// Elements of a stored vector: dims, or u64 words for bits.
    pub fn vector_len(&self) -> usize {
        match self.element_kind() {
            ElementKind::Bits => (self.dims as usize).div_ceil(64),
            ElementKind::I8 => strata_core::int8::HEADER + self.dims as usize,
            _ => self.dims as usize,
        }
    }
    pub fn vector_bytes(&self) -> usize {
        let elem = match self.element_kind() {
            ElementKind::F32 => 4,
            ElementKind::F16 => 2,
            ElementKind::Bits => 8,
            ElementKind::I8 => 1,
        };
        self.vector_len() * elem
    }
    pub fn entry_bytes(&self) -> usize {
        ENTRY_HEADER + self.vector_bytes().next_multiple_of(8)
    }

    /// Turns a non-empty writing segment into a growing segment (the next
    /// insert starts a new one on a new page). Returns whether it did.
    pub fn hand_over_writing(&mut self) -> bool {
        let handed = self.log.entries > 0 && self.growing.len() < MAX_GROWING;
        if handed {
            self.growing.push(self.log);
            self.log = LogRange::default();
        }
        handed
    }

    fn write(&self, c: &mut [u8]) {
        assert!(
            self.sealed.len() <= MAX_SEALED
                && self.free.len() + self.log_free.len() <= MAX_FREE
                && self.growing.len() <= MAX_GROWING,
            "segment directory overflow"
        );
        c[..META_END].fill(0);
        c[0..4].copy_from_slice(&MAGIC.to_ne_bytes());
        c[4..6].copy_from_slice(&FORMAT_VERSION.to_ne_bytes());
        c[6] = self.kind;
        c[7] = self.metric;
        wr_u32(c, 8, self.dims);
        c[12..14].copy_from_slice(&self.m.to_ne_bytes());
        c[14..16].copy_from_slice(&self.ef_construction.to_ne_bytes());
        wr_u32(c, 16, self.sealed.len() as u32);
        wr_u32(c, 20, (self.free.len() + self.log_free.len()) as u32);
        wr_u32(c, 24, self.growing.len() as u32);
        wr_u32(c, 28, self.max_writing_size);
        write_log_range(c, 32, &self.log);
        for (i, seg) in self.sealed.iter().enumerate() {
            let o = SEALED_AT + i * 16;
            let pages = seg.pages | if seg.mapped { MAPPED_BIT } else { 0 };
            for (j, v) in [seg.start, pages, seg.nodes, seg.deleted].into_iter().enumerate() {
                wr_u32(c, o + 4 * j, v);
            }
        }
        let pools = self.free.iter().map(|r| (r, 0)).chain(self.log_free.iter().map(|r| (r, LOG_POOL_BIT)));
        for (i, (r, pool)) in pools.enumerate() {
            let o = FREE_AT + i * 12;
            for (j, v) in [r.start, r.pages | pool, r.retired_xid].into_iter().enumerate() {
                wr_u32(c, o + 4 * j, v);
            }
        }
        for (i, g) in self.growing.iter().enumerate() {
            write_log_range(c, GROWING_AT + i * 20, g);
        }
    }

    fn read(c: &[u8]) -> Option<Meta> {
        if rd_u32(c, 0) != MAGIC || u16::from_ne_bytes(rd(c, 4)) != FORMAT_VERSION {
            return None;
        }
        let (n_sealed, n_free, n_growing) = (rd_u32(c, 16) as usize, rd_u32(c, 20) as usize, rd_u32(c, 24) as usize);
        if n_sealed > MAX_SEALED || n_free > MAX_FREE || n_growing > MAX_GROWING {
            return None;
        }
        let mut meta = Meta {
            kind: c[6],
            metric: c[7],
            dims: rd_u32(c, 8),
            m: u16::from_ne_bytes(rd(c, 12)),
            ef_construction: u16::from_ne_bytes(rd(c, 14)),
            max_writing_size: rd_u32(c, 28),
            log: read_log_range(c, 32),
            sealed: (0..n_sealed)
                .map(|i| {
                    let o = SEALED_AT + i * 16;
                    let pages = rd_u32(c, o + 4);
                    Segment {
                        start: rd_u32(c, o),
                        pages: pages & !MAPPED_BIT,
                        nodes: rd_u32(c, o + 8),
                        deleted: rd_u32(c, o + 12),
                        mapped: pages & MAPPED_BIT != 0,
                    }
                })
                .collect(),
            free: Vec::new(),
            log_free: Vec::new(),
            growing: (0..n_growing).map(|i| read_log_range(c, GROWING_AT + i * 20)).collect(),
        };
        for i in 0..n_free {
            let o = FREE_AT + i * 12;
            let pages = rd_u32(c, o + 4);
            let r = FreeRange { start: rd_u32(c, o), pages: pages & !LOG_POOL_BIT, retired_xid: rd_u32(c, o + 8) };
            if pages & LOG_POOL_BIT != 0 {
                meta.log_free.push(r)
            } else {
                meta.free.push(r)
            }
        }
        let ranges_ok = std::iter::once(&meta.log)
            .chain(&meta.growing)
            .all(|r| r.tail_used as usize <= PAGE_PAYLOAD && r.head_offset as usize <= PAGE_PAYLOAD);
        let params_ok = (1..=65535).contains(&meta.dims)
            && (2..=100).contains(&meta.m)
            && meta.ef_construction >= 1
            && meta.sealed.iter().all(|s| s.deleted <= s.nodes);
        // The sparse flag only goes with f32, and the pair must have a space.
        let base_kind = ElementKind::from_u8(meta.kind & !KIND_SPARSE_INPUT);
        let kind_ok = match (base_kind, Metric::from_u8(meta.metric)) {
            (Some(k), Some(m)) => {
                (meta.kind & KIND_SPARSE_INPUT == 0 || k == ElementKind::F32)
                    && strata_hnsw::with_space!(k, m, S => ()).is_some()
            }
            _ => false,
        };
        (kind_ok && ranges_ok && params_ok).then_some(meta)
    }

    /// Checks that every block the directory points to lies in the
    /// relation's first `nblocks` blocks (and never at the metapage).
    /// Returns what is wrong, if anything.
    pub fn check_blocks(&self, nblocks: u32) -> Result<(), String> {
        let run_ok = |start: u32, pages: u32| start >= 1 && pages >= 1 && start as u64 + pages as u64 <= nblocks as u64;
        for s in &self.sealed {
            // A map page's extents are checked when the map is read.
            if !run_ok(s.start, if s.mapped { 1 } else { s.pages }) {
                return Err(format!("sealed segment at blocks {}..+{} is outside the index's {nblocks} blocks", s.start, s.pages));
            }
        }
        for r in self.free.iter().chain(&self.log_free) {
            if !run_ok(r.start, r.pages) {
                return Err(format!("free range at blocks {}..+{} is outside the index's {nblocks} blocks", r.start, r.pages));
            }
        }
        for r in self.growing.iter().chain(std::iter::once(&self.log)) {
            let ok = if r.head == 0 {
                r.entries == 0
            } else {
                r.head < nblocks && r.tail >= 1 && r.tail < nblocks
            };
            if !ok {
                return Err(format!(
                    "log segment from block {} to {} ({} entries) is outside the index's {nblocks} blocks",
                    r.head, r.tail, r.entries
                ));
            }
        }
        Ok(())
    }
}

unsafe fn nblocks(index: pg_sys::Relation) -> u32 {
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

pub unsafe fn relation_name(index: pg_sys::Relation) -> String {
    unsafe {
        let name = &(*(*index).rd_rel).relname;
        std::ffi::CStr::from_ptr(name.data.as_ptr()).to_string_lossy().into_owned()
    }
}

/// Reports an index whose pages are not what this version wrote.
///
/// On a hot standby, a check can also fail on a healthy index: replay may
/// overwrite a freed page that a running scan still reads, if a reuse
/// conflict did not stop that scan first (see [`log_reuse_conflict`]). So
/// while recovery is in progress, inside a scan whose segments are no longer
/// all in the metapage (pages are only freed when their segment leaves it),
/// this raises [`scan_view::raise_changed`]'s 40001 instead of XX002.
pub unsafe fn corrupted(index: pg_sys::Relation, what: &str) -> ! {
    if unsafe { scan_view::moved_on(index) } {
        unsafe { scan_view::raise_changed(index, what) };
    }
    let name = unsafe { relation_name(index) };
    pgrx::pg_sys::panic::ErrorReport::new(
        pgrx::PgSqlErrorCode::ERRCODE_INDEX_CORRUPTED,
        format!("index \"{name}\" is corrupted"),
        "strata",
    )
    .set_detail(what.to_string())
    .set_hint(format!("REINDEX INDEX \"{name}\"."))
    .report(pgrx::pg_sys::elog::PgLogLevel::ERROR);
    unreachable!()
}

pub unsafe fn content<'a>(page: pg_sys::Page) -> &'a mut [u8] {
    unsafe { std::slice::from_raw_parts_mut((page as *mut u8).add(CONTENT_OFFSET), PAGE_PAYLOAD) }
}

fn special<'a>(page: pg_sys::Page) -> &'a mut [u8] {
    unsafe { std::slice::from_raw_parts_mut((page as *mut u8).add(PAGE_SIZE - SPECIAL_SIZE), SPECIAL_SIZE) }
}

/// Initialises `page` as an empty page of `kind` with the whole content area in use.
pub unsafe fn init_page(page: pg_sys::Page, kind: u16) {
    unsafe {
        pg_sys::PageInit(page, PAGE_SIZE, SPECIAL_SIZE);
        let header = page as *mut pg_sys::PageHeaderData;
        (*header).pd_lower = (*header).pd_upper;
    }
    let s = special(page);
    s.fill(0);
    s[0..2].copy_from_slice(&kind.to_ne_bytes());
    s[12..16].copy_from_slice(&MAGIC.to_ne_bytes());
}

pub fn page_kind(page: pg_sys::Page) -> Option<u16> {
    let s = special(page);
    (u32::from_ne_bytes(rd(s, 12)) == MAGIC).then(|| u16::from_ne_bytes(rd(s, 0)))
}

pub fn log_next(page: pg_sys::Page) -> u32 {
    u32::from_ne_bytes(rd(special(page), 4))
}
pub fn set_log_next(page: pg_sys::Page, next: u32) {
    special(page)[4..8].copy_from_slice(&next.to_ne_bytes());
}
pub fn log_used(page: pg_sys::Page) -> u32 {
    u32::from_ne_bytes(rd(special(page), 8))
}
pub fn set_log_used(page: pg_sys::Page, used: u32) {
    special(page)[8..12].copy_from_slice(&used.to_ne_bytes());
}

pub unsafe fn read_buffer(index: pg_sys::Relation, block: pg_sys::BlockNumber) -> pg_sys::Buffer {
    unsafe {
        pg_sys::ReadBufferExtended(index, pg_sys::ForkNumber::MAIN_FORKNUM, block, pg_sys::ReadBufferMode::RBM_NORMAL, std::ptr::null_mut())
    }
}

/// Extends the relation by one page, returned pinned and exclusively locked.
pub unsafe fn new_buffer(index: pg_sys::Relation) -> pg_sys::Buffer {
    unsafe {
        pg_sys::LockRelationForExtension(index, pg_sys::ExclusiveLock as i32);
        let buf = read_buffer(index, pg_sys::InvalidBlockNumber);
        pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
        pg_sys::UnlockRelationForExtension(index, pg_sys::ExclusiveLock as i32);
        buf
    }
}

pub unsafe fn read_meta(index: pg_sys::Relation) -> Meta {
    unsafe {
        if pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM) == 0 {
            corrupted(index, "the index has no metapage");
        }
        let buf = read_buffer(index, META_BLOCK);
        pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
        let page = pg_sys::BufferGetPage(buf);
        let meta = if page_kind(page) == Some(KIND_META) { Meta::read(content(page)) } else { None };
        pg_sys::UnlockReleaseBuffer(buf);
        let meta = meta.unwrap_or_else(|| corrupted(index, "the metapage has a wrong magic number, version, parameters or segment counts"));
        // Counted after reading: blocks the metapage names exist by then.
        if let Err(what) = meta.check_blocks(nblocks(index)) {
            corrupted(index, &what);
        }
        meta
    }
}

/// Reads the metapage of an exclusively locked meta buffer.
pub unsafe fn meta_of_page(index: pg_sys::Relation, page: pg_sys::Page) -> Meta {
    let meta = if page_kind(page) == Some(KIND_META) { Meta::read(unsafe { content(page) }) } else { None };
    let meta = meta.unwrap_or_else(|| unsafe { corrupted(index, "the metapage has a wrong magic number, version, parameters or segment counts") });
    if let Err(what) = meta.check_blocks(unsafe { nblocks(index) }) {
        unsafe { corrupted(index, &what) };
    }
    meta
}

/// Rewrites the metapage of an exclusively locked meta buffer as one generic
/// WAL record.
pub unsafe fn log_meta_update(index: pg_sys::Relation, meta_buf: pg_sys::Buffer, meta: &Meta) {
    unsafe {
        let state = pg_sys::GenericXLogStart(index);
        let page = pg_sys::GenericXLogRegisterBuffer(state, meta_buf, 0);
        write_meta_page(page, meta, false);
        pg_sys::GenericXLogFinish(state);
    }
}

pub unsafe fn write_meta_page(page: pg_sys::Page, meta: &Meta, init: bool) {
    unsafe {
        if init {
            init_page(page, KIND_META);
        }
        meta.write(content(page));
    }
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
    pub unsafe fn open(index: pg_sys::Relation, seg: &Segment) -> SegmentPages {
        let map = if seg.mapped {
            unsafe { read_extent_map(index, seg) }
        } else {
            ExtentMap::new(vec![(seg.start, seg.pages)])
        };
        SegmentPages { index, start: seg.start, map }
    }

    /// The block holding segment page `page`.
    pub fn block_of(&self, page: u32) -> u32 {
        self.map.block_of(page).unwrap_or_else(|| unsafe {
            corrupted(self.index, &format!("segment page {page} is past the segment's {} pages", self.map.pages()))
        })
    }
}

unsafe fn read_extent_map(index: pg_sys::Relation, seg: &Segment) -> ExtentMap {
    unsafe {
        let bad = |what: String| -> ! { corrupted(index, &format!("sealed segment at block {}: {what}", seg.start)) };
        let buf = read_buffer(index, seg.start);
        pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
        let page = pg_sys::BufferGetPage(buf);
        let kind = page_kind(page);
        let c = content(page);
        let count = rd_u32(c, 0) as usize;
        let extents: Vec<(u32, u32)> =
            (0..count.min(MAX_EXTENTS)).map(|i| (rd_u32(c, 8 + 8 * i), rd_u32(c, 12 + 8 * i))).collect();
        pg_sys::UnlockReleaseBuffer(buf);
        if kind != Some(KIND_EXTENTS) {
            bad("its first block is not an extent map".into());
        }
        let blocks = nblocks(index) as u64;
        if count == 0 || count > MAX_EXTENTS {
            bad(format!("its extent map lists {count} extents (1 to {MAX_EXTENTS} fit)"));
        }
        if let Some(&(s, n)) = extents.iter().find(|&&(s, n)| s == 0 || n == 0 || s as u64 + n as u64 > blocks) {
            bad(format!("its extent map lists blocks {s}..+{n}, outside the index's {blocks} blocks"));
        }
        let map = ExtentMap::new(extents);
        if map.pages() != seg.pages {
            bad(format!("its extents hold {} pages, the metapage says {}", map.pages(), seg.pages));
        }
        map
    }
}

/// Writes an extent-map page listing `extents` (the caller WAL-logs it).
pub unsafe fn write_extent_map(page: pg_sys::Page, extents: &[(u32, u32)]) {
    assert!(extents.len() <= MAX_EXTENTS);
    unsafe {
        init_page(page, KIND_EXTENTS);
        let c = content(page);
        wr_u32(c, 0, extents.len() as u32);
        for (i, &(s, n)) in extents.iter().enumerate() {
            wr_u32(c, 8 + 8 * i, s);
            wr_u32(c, 12 + 8 * i, n);
        }
    }
}

/// Every page run `seg` occupies, its map page included.
pub unsafe fn segment_runs(index: pg_sys::Relation, seg: &Segment) -> Vec<(u32, u32)> {
    if !seg.mapped {
        return vec![(seg.start, seg.pages)];
    }
    let map = unsafe { read_extent_map(index, seg) };
    std::iter::once((seg.start, 1)).chain(map.extents().iter().copied()).collect()
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
        unsafe {
            let block = self.block_of(page);
            let rnode = (*self.index).rd_node;
            let hint = recent::get(rnode.relNode.into(), block);
            // A hit means this backend already read (and checked) this
            // block into that very buffer, so the page-kind check, which
            // costs a cache miss on the page's last line, is skipped.
            let (buf, fresh) = if hint != 0 && pg_sys::ReadRecentBuffer(rnode, pg_sys::ForkNumber::MAIN_FORKNUM, block, hint) {
                (hint, false)
            } else {
                let b = read_buffer(self.index, block);
                (b, true)
            };
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
            let p = pg_sys::BufferGetPage(buf);
            if fresh {
                if page_kind(p) != Some(KIND_SEALED) {
                    pg_sys::UnlockReleaseBuffer(buf);
                    corrupted(self.index, &format!("block {block} is not a segment page"));
                }
                recent::set(rnode.relNode.into(), block, buf);
            }
            let r = f(content(p));
            pg_sys::UnlockReleaseBuffer(buf);
            r
        }
    }

    fn corrupted(&self, what: &str) -> ! {
        unsafe { corrupted(self.index, &format!("sealed segment at block {}: {what}", self.start)) }
    }
}

/// One entry of the writing segment, as read by [`read_log`].
pub struct LogEntry<'a> {
    pub block: u32,
    pub offset: usize,
    pub tid: u64,
    pub deleted: bool,
    pub vector: &'a [u8],
}

/// Calls `f` for every committed entry of the writing and growing segments as of `meta`.
pub unsafe fn read_all_logs(index: pg_sys::Relation, meta: &Meta, mut f: impl FnMut(LogEntry<'_>)) {
    for range in meta.growing.iter().chain(std::iter::once(&meta.log)) {
        unsafe { read_log(index, meta, range, &mut f) };
    }
}

/// Calls `f` for every committed entry of one log range.
pub unsafe fn read_log(index: pg_sys::Relation, meta: &Meta, range: &LogRange, mut f: impl FnMut(LogEntry<'_>)) {
    if range.head == 0 {
        return;
    }
    let entry = meta.entry_bytes();
    let vbytes = meta.vector_bytes();
    let mut vector = vec![0u8; vbytes];
    let mut page_copy = vec![0u8; PAGE_PAYLOAD];
    let mut block = range.head;
    // An entry whose vector continues on later pages: (header fields, bytes still to read).
    let mut pending: Option<(u32, usize, u64, bool, usize)> = None;
    let mut seen = 0u64;
    let nblocks = unsafe { nblocks(index) };
    let mut pages_read = 0u32;
    loop {
        interrupt_point();
        pages_read += 1;
        if block == 0 || block >= nblocks || pages_read > nblocks {
            unsafe {
                corrupted(index, &format!("writing segment's page chain reaches block {block} of {nblocks} after {pages_read} pages"))
            };
        }
        let (used, next) = unsafe {
            let buf = read_buffer(index, block);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
            let page = pg_sys::BufferGetPage(buf);
            if page_kind(page) != Some(KIND_LOG) {
                pg_sys::UnlockReleaseBuffer(buf);
                corrupted(index, &format!("block {block} is not a writing-segment page"));
            }
            let used = if block == range.tail { range.tail_used } else { log_used(page) } as usize;
            let next = log_next(page);
            if used > PAGE_PAYLOAD {
                pg_sys::UnlockReleaseBuffer(buf);
                corrupted(index, &format!("writing-segment block {block} claims {used} bytes used"));
            }
            page_copy[..used].copy_from_slice(&content(page)[..used]);
            pg_sys::UnlockReleaseBuffer(buf);
            (used, next)
        };
        let mut pos = if block == range.head { range.head_offset as usize } else { 0 };
        if let Some((b, o, tid, deleted, filled)) = pending.take() {
            let take = (vbytes - filled).min(used);
            vector[filled..filled + take].copy_from_slice(&page_copy[..take]);
            pos = (take).next_multiple_of(8).min(used);
            if filled + take == vbytes {
                f(LogEntry { block: b, offset: o, tid, deleted, vector: &vector });
                seen += 1;
            } else {
                pending = Some((b, o, tid, deleted, filled + take));
            }
        }
        while pending.is_none() && pos + ENTRY_HEADER <= used {
            let tid = u64::from_ne_bytes(rd(&page_copy, pos));
            // Flags other than "deleted" and the padding are always zero, and
            // a heap TID's offset never is.
            if page_copy[pos + 8] & !FLAG_DELETED != 0 || page_copy[pos + 9..pos + 16].iter().any(|&b| b != 0) || tid & 0xffff == 0 {
                unsafe { corrupted(index, &format!("writing-segment block {block} has no valid entry header at offset {pos}")) };
            }
            let deleted = page_copy[pos + 8] & FLAG_DELETED != 0;
            let start = pos + ENTRY_HEADER;
            let avail = used - start;
            if avail >= vbytes {
                f(LogEntry { block, offset: pos, tid, deleted, vector: &page_copy[start..start + vbytes] });
                seen += 1;
                pos += entry;
            } else {
                vector[..avail].copy_from_slice(&page_copy[start..used]);
                pending = Some((block, pos, tid, deleted, avail));
                pos = used;
            }
        }
        if block == range.tail {
            break;
        }
        if next == 0 {
            unsafe { corrupted(index, &format!("writing segment ends at block {block} before its tail {}", range.tail)) };
        }
        block = next;
    }
    if pending.is_some() || seen != range.entries as u64 {
        unsafe {
            corrupted(index, &format!("writing segment holds {seen} complete entries, the metapage says {}", range.entries))
        };
    }
}

/// Appends one entry (header + vector) to the writing segment. Inserts are
/// serialised by the metapage's exclusive lock, held for the duration of the
/// append (a memcpy into at most a few pages). The metapage update is the
/// commit point: it goes into the last WAL record, together with the page
/// holding the entry's end, so a crash leaves either the whole entry or none.
/// Returns whether the writing segment became a growing segment.
pub unsafe fn append_entry(index: pg_sys::Relation, tid: u64, vector: &[u8]) -> bool {
    let mut became_growing = false;
    unsafe {
        let meta_buf = read_buffer(index, META_BLOCK);
        pg_sys::LockBuffer(meta_buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
        let mut meta = meta_of_page(index, pg_sys::BufferGetPage(meta_buf));
        if vector.len() != meta.vector_bytes() {
            pg_sys::UnlockReleaseBuffer(meta_buf);
            corrupted(index, "vector size differs from the metapage's dimensions");
        }
        let mut bytes = Vec::with_capacity(meta.entry_bytes());
        bytes.extend_from_slice(&tid.to_ne_bytes());
        bytes.extend_from_slice(&[0u8; 8]);
        bytes.extend_from_slice(vector);
        bytes.resize(meta.entry_bytes(), 0);

        // Plan which pages receive which bytes: the current tail (if it has room
        // for a header), then as many new pages as needed.
        struct Target {
            buf: pg_sys::Buffer,
            is_new: bool,
            start: usize, // offset in the page content
            range: std::ops::Range<usize>,
        }
        let mut targets: Vec<Target> = Vec::new();
        let mut written = 0usize;
        if meta.log.head != 0 && meta.log.tail_used as usize + ENTRY_HEADER <= PAGE_PAYLOAD {
            let buf = read_buffer(index, meta.log.tail);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            if page_kind(pg_sys::BufferGetPage(buf)) != Some(KIND_LOG) {
                pg_sys::UnlockReleaseBuffer(buf);
                pg_sys::UnlockReleaseBuffer(meta_buf);
                corrupted(index, &format!("block {} is not a writing-segment page", meta.log.tail));
            }
            let take = (PAGE_PAYLOAD - meta.log.tail_used as usize).min(bytes.len());
            targets.push(Target { buf, is_new: false, start: meta.log.tail_used as usize, range: 0..take });
            written = take;
        }
        let mut old_tail_closed = None;
        if targets.is_empty() && meta.log.head != 0 {
            // The tail is full: it gets a next pointer, which must be logged too.
            let buf = read_buffer(index, meta.log.tail);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            if page_kind(pg_sys::BufferGetPage(buf)) != Some(KIND_LOG) {
                pg_sys::UnlockReleaseBuffer(buf);
                pg_sys::UnlockReleaseBuffer(meta_buf);
                corrupted(index, &format!("block {} is not a writing-segment page", meta.log.tail));
            }
            old_tail_closed = Some(buf);
        }
        let mut oldest_xmin = None;
        while written < bytes.len() {
            let buf = match take_log_page(&mut meta.log_free, &mut oldest_xmin) {
                Some((block, retired_xid)) => {
                    // Logged before the generic records below that overwrite it.
                    log_reuse_conflict(index, block, retired_xid);
                    let buf = read_buffer(index, block);
                    pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
                    buf
                }
                None => new_buffer(index),
            };
            let take = PAGE_PAYLOAD.min(bytes.len() - written);
            targets.push(Target { buf, is_new: true, start: 0, range: written..written + take });
            written += take;
        }

        // WAL records of at most MAX_GENERIC_XLOG_PAGES (4) buffers; the last
        // one also carries the metapage.
        let mut all: Vec<(pg_sys::Buffer, Option<usize>)> = Vec::new(); // (buffer, index into targets)
        if let Some(b) = old_tail_closed {
            all.push((b, None));
        }
        for (i, t) in targets.iter().enumerate() {
            all.push((t.buf, Some(i)));
        }
        let n = all.len();
        let mut i = 0;
        while i < n {
            let remaining = n - i;
            let last_group = remaining <= 3;
            // Leave at least one page for the last group, which also holds the metapage.
            let group_end = if last_group { n } else { i + 4.min(remaining - 1) };
            let state = pg_sys::GenericXLogStart(index);
            for j in i..group_end {
                let (buf, ti) = all[j];
                let is_new = ti.map(|t| targets[t].is_new).unwrap_or(false);
                let flags = if is_new { pg_sys::GENERIC_XLOG_FULL_IMAGE as i32 } else { 0 };
                let page = pg_sys::GenericXLogRegisterBuffer(state, buf, flags);
                if is_new {
                    init_page(page, KIND_LOG);
                }
                let next_block = if j + 1 < n { pg_sys::BufferGetBlockNumber(all[j + 1].0) } else { 0 };
                match ti {
                    None => {
                        set_log_next(page, next_block);
                    }
                    Some(t) => {
                        let t = &targets[t];
                        let c = content(page);
                        c[t.start..t.start + t.range.len()].copy_from_slice(&bytes[t.range.clone()]);
                        set_log_used(page, (t.start + t.range.len()) as u32);
                        if j + 1 < n {
                            set_log_next(page, next_block);
                        }
                    }
                }
            }
            if last_group {
                let meta_page = pg_sys::GenericXLogRegisterBuffer(state, meta_buf, 0);
                let last = targets.last().expect("an entry always has a target");
                let tail_block = pg_sys::BufferGetBlockNumber(last.buf);
                if meta.log.head == 0 {
                    meta.log.head = pg_sys::BufferGetBlockNumber(targets[0].buf);
                    meta.log.head_offset = targets[0].start as u32;
                }
                meta.log.tail = tail_block;
                meta.log.tail_used = (last.start + last.range.len()) as u32;
                meta.log.entries += 1;
                // A full writing segment becomes a growing segment.
                if meta.log.entries >= meta.max_writing_size.max(1) {
                    became_growing = meta.hand_over_writing();
                }
                write_meta_page(meta_page, &meta, false);
            }
            pg_sys::GenericXLogFinish(state);
            i = group_end;
        }
        for (buf, _) in all {
            pg_sys::UnlockReleaseBuffer(buf);
        }
        pg_sys::UnlockReleaseBuffer(meta_buf);
    }
    became_growing
}

/// Takes the lowest page of the log-page pool that no running snapshot can
/// still read (`oldest_xmin` is looked up once, on first need), and returns
/// it with its range's retirement id. The caller holds the metapage's
/// exclusive lock and writes `pool` back with the entry, so two inserts never
/// take the same page; should it crash before that, the page is still listed
/// free, and its new content unreferenced.
unsafe fn take_log_page(pool: &mut Vec<FreeRange>, oldest_xmin: &mut Option<u32>) -> Option<(u32, u32)> {
    if pool.is_empty() {
        return None;
    }
    let horizon = *oldest_xmin
        .get_or_insert_with(|| unsafe { pg_sys::GetOldestNonRemovableTransactionId(std::ptr::null_mut()) }.into());
    let i = (0..pool.len())
        .filter(|&i| xid_precedes(pool[i].retired_xid, horizon))
        .min_by_key(|&i| pool[i].start)?;
    let (block, retired_xid) = (pool[i].start, pool[i].retired_xid);
    pool[i].start += 1;
    pool[i].pages -= 1;
    if pool[i].pages == 0 {
        pool.remove(i);
    }
    Some((block, retired_xid))
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
/// Why: the primary reuses a freed page once no snapshot *it knows of* can
/// still read it, but the page changes from generic WAL and full-page
/// images, which carry no recovery-conflict information. Without this, a
/// standby query that read the metapage before the merge's swap was
/// replayed goes on reading pages that replay has meanwhile overwritten, and
/// reports a healthy index as corrupted.
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
pub unsafe fn log_reuse_conflict(index: pg_sys::Relation, block: u32, retired_xid: u32) {
    unsafe {
        if pg_sys::wal_level < pg_sys::WalLevel::WAL_LEVEL_REPLICA as i32
            || (*(*index).rd_rel).relpersistence != pg_sys::RELPERSISTENCE_PERMANENT as std::ffi::c_char
        {
            return;
        }
        let horizon = full_xid_before_next(pg_sys::ReadNextFullTransactionId().value, retired_xid);
        let node = (*index).rd_node;
        let mut record = [0u8; BTREE_REUSE_PAGE_SIZE];
        for (i, v) in [u32::from(node.spcNode), u32::from(node.dbNode), u32::from(node.relNode), block].into_iter().enumerate() {
            wr_u32(&mut record, 4 * i, v);
        }
        record[16..24].copy_from_slice(&horizon.to_ne_bytes());
        pg_sys::XLogBeginInsert();
        pg_sys::XLogRegisterData(record.as_mut_ptr() as *mut std::ffi::c_char, BTREE_REUSE_PAGE_SIZE as i32);
        pg_sys::XLogInsert(pg_sys::RmgrIds::RM_BTREE_ID as u8, XLOG_BTREE_REUSE_PAGE);
    }
}

/// The 64-bit form of `xid`, which is at or before `next_full` (the next
/// full transaction id) by less than 2^31.
pub fn full_xid_before_next(next_full: u64, xid: u32) -> u64 {
    next_full.saturating_sub((next_full as u32).wrapping_sub(xid) as u64)
}

/// Extends the relation by `n` contiguous pages (initialised as empty sealed
/// pages, not yet WAL-logged) and returns the first block. The extension lock
/// is held throughout, so concurrent inserts cannot interleave their pages.
pub unsafe fn extend_run(index: pg_sys::Relation, n: u32) -> u32 {
    unsafe {
        pg_sys::LockRelationForExtension(index, pg_sys::ExclusiveLock as i32);
        let mut first = 0;
        for i in 0..n {
            let buf = read_buffer(index, pg_sys::InvalidBlockNumber);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32);
            if i == 0 {
                first = pg_sys::BufferGetBlockNumber(buf);
            }
            init_page(pg_sys::BufferGetPage(buf), KIND_SEALED);
            pg_sys::MarkBufferDirty(buf);
            pg_sys::UnlockReleaseBuffer(buf);
        }
        pg_sys::UnlockRelationForExtension(index, pg_sys::ExclusiveLock as i32);
        first
    }
}

/// PostgreSQL's TransactionIdPrecedes for normal transaction ids (modulo 2^32).
pub fn xid_precedes(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// What a running index scan read its segments from, so that a failed
/// check on a standby can tell corruption from pages replay reused.
pub mod scan_view {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    /// The segments a scan planned from: sealed segments (start, pages,
    /// nodes, mapped) and log ranges (head, head offset).
    #[derive(Clone, Debug, PartialEq)]
    pub struct ScanView {
        node: (u32, u32, u32),
        sealed: Vec<(u32, u32, u32, bool)>,
        logs: Vec<(u32, u32)>,
    }

    thread_local! {
        static ACTIVE: RefCell<Option<Rc<ScanView>>> = const { RefCell::new(None) };
        static CHANGED_RAISED: Cell<bool> = const { Cell::new(false) };
    }

    fn node_of(index: pg_sys::Relation) -> (u32, u32, u32) {
        let n = unsafe { (*index).rd_node };
        (u32::from(n.spcNode), u32::from(n.dbNode), u32::from(n.relNode))
    }

    fn sealed_of(meta: &Meta) -> Vec<(u32, u32, u32, bool)> {
        meta.sealed.iter().map(|s| (s.start, s.pages, s.nodes, s.mapped)).collect()
    }

    fn logs_of(meta: &Meta) -> Vec<(u32, u32)> {
        meta.growing.iter().chain(std::iter::once(&meta.log)).filter(|r| r.head != 0).map(|r| (r.head, r.head_offset)).collect()
    }

    impl ScanView {
        pub fn new(index: pg_sys::Relation, meta: &Meta) -> ScanView {
            ScanView { node: node_of(index), sealed: sealed_of(meta), logs: logs_of(meta) }
        }

        /// Whether a segment of this view has left `now`'s directory, so its
        /// pages may have been freed and reused. (VACUUM's deletion counts
        /// and appends to a log change no page a scan relies on.)
        pub fn retired_in(&self, now: &Meta) -> bool {
            let (sealed, logs) = (sealed_of(now), logs_of(now));
            self.sealed.iter().any(|s| !sealed.contains(s)) || self.logs.iter().any(|l| !logs.contains(l))
        }
    }

    /// Makes `view` the scan view of the reads `f` does, then restores the
    /// previous one (also when `f` raises an error).
    pub fn with<R>(view: &Rc<ScanView>, f: impl FnOnce() -> R) -> R {
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

    /// The metapage as it is now, or None if it cannot be read as one
    /// (without raising anything: this runs while an error is being made).
    unsafe fn peek_meta(index: pg_sys::Relation) -> Option<Meta> {
        unsafe {
            if nblocks(index) == 0 {
                return None;
            }
            let buf = read_buffer(index, META_BLOCK);
            pg_sys::LockBuffer(buf, pg_sys::BUFFER_LOCK_SHARE as i32);
            let page = pg_sys::BufferGetPage(buf);
            let meta = if page_kind(page) == Some(KIND_META) { Meta::read(content(page)) } else { None };
            pg_sys::UnlockReleaseBuffer(buf);
            meta
        }
    }

    /// Whether a failed check on `index` may come from replay reusing pages
    /// under the running scan: recovery is in progress, and a segment the
    /// scan planned from is no longer in the metapage. Only called when no
    /// buffer lock is held (as every `corrupted` call is).
    pub unsafe fn moved_on(index: pg_sys::Relation) -> bool {
        let Some(view) = ACTIVE.with(|a| a.borrow().clone()) else { return false };
        if view.node != node_of(index) || !unsafe { pg_sys::RecoveryInProgress() } {
            return false;
        }
        unsafe { peek_meta(index) }.is_some_and(|now| view.retired_in(&now))
    }

    /// Raises 40001 (serialization_failure, as PostgreSQL's own recovery
    /// conflicts do): the index is fine, the query can be retried.
    pub unsafe fn raise_changed(index: pg_sys::Relation, what: &str) -> ! {
        let name = unsafe { relation_name(index) };
        CHANGED_RAISED.with(|c| c.set(true));
        pgrx::pg_sys::panic::ErrorReport::new(
            pgrx::PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
            format!("canceling statement: index \"{name}\" changed during recovery while it was being read"),
            "strata",
        )
        .set_detail(format!("Replay reused pages of segments the scan started from; the scan found: {what}."))
        .set_hint("The index is not corrupted. Retry the query.".to_string())
        .report(pgrx::pg_sys::elog::PgLogLevel::ERROR);
        unreachable!()
    }

    /// Clears and returns whether [`raise_changed`] ran since the last call.
    pub fn take_changed_raised() -> bool {
        CHANGED_RAISED.with(|c| c.replace(false))
    }
}
