//! Serialisation of a graph into fixed-size page payloads, and a
//! [`GraphView`] that searches a graph straight from such pages.
//!
//! # Format (version 1)
//!
//! A serialised graph ("segment") is a sequence of pages numbered from 0.
//! Each page is a Postgres page whose usable payload (after the 24-byte page
//! header, before 16 bytes of special space) is [`PAGE_PAYLOAD`] = 8152
//! bytes; all offsets below are within that payload. Integers are in native
//! byte order (little-endian on every supported platform) and every vector
//! starts 8-byte aligned, so a page in a (MAXALIGNed) buffer is read without
//! copying. Page numbers stored in the format are relative to page 0.
//!
//! **Page 0, meta** (see [`Layout`]):
//!
//! | off | type | field                                                    |
//! |-----|------|----------------------------------------------------------|
//! | 0   | u32  | magic `0x4E53_4854` ("THSN")                             |
//! | 4   | u16  | format version (1)                                       |
//! | 6   | u8   | element kind ([`ElementKind`])                           |
//! | 7   | u8   | metric ([`Metric`])                                      |
//! | 8   | u32  | vector length in elements (`u64` words for bits)         |
//! | 12  | u16  | m                                                        |
//! | 14  | u16  | m0 (layer-0 capacity, `2m`)                              |
//! | 16  | u16  | ef_construction                                          |
//! | 18  | u8   | entry point level                                        |
//! | 19  | u8   | flags: bit 0 = has an entry point                        |
//! | 20  | u32  | node count                                               |
//! | 24  | u32  | entry point node id                                      |
//! | 28  | u32  | node record size                                         |
//! | 32  | u32  | records per node page                                    |
//! | 36  | u32  | first node page (1)                                      |
//! | 40  | u32  | node page count                                          |
//! | 44  | u32  | first upper-layer page                                   |
//! | 48  | u32  | upper-layer page count                                   |
//! | 52  | u32  | first overflow page                                      |
//! | 56  | u32  | overflow pages per vector (0 = vectors are inline)       |
//! | 60  | u32  | total page count                                         |
//! | 64  | u64  | level seed                                               |
//!
//! **Node pages**: fixed-size records, node `i` in page
//! `first_node_page + i / per_page` at offset `(i % per_page) * record_size`
//! ([`Layout::node_location`]), so a node is found by arithmetic alone:
//!
//! | off | type      | field                                              |
//! |-----|-----------|----------------------------------------------------|
//! | 0   | u8        | flags: bit 0 = deleted (flipped in place by the AM)|
//! | 1   | u8        | level                                              |
//! | 2   | u16       | layer-0 neighbour count                            |
//! | 4   | u16       | offset of the upper-layer block in its page        |
//! | 6   | u16       | reserved (0)                                       |
//! | 8   | u32       | page of the upper-layer block (level > 0)          |
//! | 12  | u32       | reserved (0)                                       |
//! | 16  | u64       | payload (opaque; the AM's heap TID)                |
//! | 24  | u32 × m0  | layer-0 neighbour ids (unused slots 0)             |
//! | A   | elements  | the vector, `A = align8(24 + 4*m0)`, when inline   |
//!
//! The record size is `align8(A + vector bytes)` when that fits in a page:
//! one page read then gives the node's deleted mark, payload, layer-0
//! neighbours and vector, which is all a layer-0 search needs per node
//! (e.g. 50-d f32, m = 16: 352-byte records, 23 per page; 1536-d f32:
//! 6296 bytes, one per page).
//!
//! **Overflow** (vectors too large for a record, e.g. 3072-d f32 = 12 KB, up
//! to 65535 dims): the record is just the 24 + 4*m0 bytes above (aligned), and
//! the vector of node `i` fills `k = ceil(bytes / 8152)` whole pages from
//! `first_overflow_page + i * k`, contiguously. Reading such a node costs
//! `1 + k` page accesses; the pages are sequential for read-ahead.
//!
//! **Upper-layer pages**: for every node with level > 0, in id order, a block
//! of `level` lists (layers 1..=level), each a u32 count and `m` u32 slots.
//! Blocks never straddle pages (the largest, 15 × 101 × 4 bytes, fits), and
//! the record points to its block. Only the greedy descent reads them.
//!
//! # Format version 3: version 1 plus a code section
//!
//! Everything above, unchanged, then a compressed code ([`crate::quant`]) of
//! every node's vector, stored once per node in dense pages, so a search can
//! estimate a neighbour's distance without reading the neighbour's page:
//! the codes of a whole segment are small enough (GloVe-50, 399k rows, SQ8:
//! 20 MB against 144 MB of nodes) for the access method to keep them in
//! backend memory, and each expansion then reads one page (the expanded
//! node's) instead of one per neighbour ([`crate::stream`]). Meta page
//! fields from offset 72 ([`CodeSection`]):
//!
//! | off | type | field                                                    |
//! |-----|------|----------------------------------------------------------|
//! | 72  | u8   | code kind ([`CodeKind`])                                 |
//! | 73  | u8×3 | reserved (0)                                             |
//! | 76  | u32  | coding dimensions                                        |
//! | 80  | u32  | bytes per code                                           |
//! | 84  | u32  | codes per code page                                      |
//! | 88  | u32  | first parameter page                                     |
//! | 92  | u32  | parameter page count                                     |
//! | 96  | u32  | first code page                                          |
//! | 100 | u32  | code page count                                          |
//! | 104 | u64  | quantizer seed                                           |
//! | 112 | u64  | uid: random, different for every segment written, so a   |
//! |     |      | cache can tell a segment from a later one on reused pages|
//!
//! **Parameter pages** (right after the overflow pages): the quantizer's
//! `f32` parameters, contiguous across pages. **Code pages**: node `i`'s
//! code in page `first_code_page + i / per_page` at offset
//! `(i % per_page) * code_bytes`. Codes never straddle pages. A damaged
//! code only makes an estimate wrong; every distance a search returns is
//! computed from the node's vector.
//!
//! # Format version 4: version 3 with packed records
//!
//! As version 3, but node records follow each other across page
//! boundaries: node `i`'s record starts at byte `i * record_size` of the
//! node pages' payloads taken end to end, and may continue at the start of
//! the next page. The meta page's records-per-page field is 0. Writers use
//! it for coded segments whose whole records would leave at least 1/20 of
//! each node page empty (384-d f32 at m = 16: four 1,688-byte records fill
//! 83% of a page, so packing takes 17% off the node pages, more than the
//! RaBitQ4 codes add, 12%); a record cut in two costs a second page access.
//! Record offsets and [`PAGE_PAYLOAD`] are multiples of 8, so the flags
//! byte is always on a record's first page and the 8-byte payload lies
//! whole on one of its two pages ([`Layout::payload_location`]).

use std::cell::RefCell;

use crate::graph::{Hnsw, MAX_LEVEL, MAX_M, MIN_M};
use crate::quant::{code_dim, code_input, CodeKind, Quantizer, Trainer};
use crate::search::GraphView;
use crate::space::{cast_elems, Element, ElementKind, Metric, Space};

pub const PAGE_SIZE: usize = 8192;
/// Postgres page header (`SizeOfPageHeaderData`).
pub const PAGE_HEADER_SIZE: usize = 24;
/// Special space reserved at the end of every page for the AM.
pub const PAGE_SPECIAL_SIZE: usize = 16;
/// Bytes of each page the format uses.
pub const PAGE_PAYLOAD: usize = PAGE_SIZE - PAGE_HEADER_SIZE - PAGE_SPECIAL_SIZE;

/// Both formats' meta pages start with it (`page_v2` shares these helpers).
pub(crate) const MAGIC: u32 = 0x4E53_4854;
const VERSION: u16 = 1;
/// Version 1 followed by a code section (see the module documentation).
pub const VERSION_CODED: u16 = 3;
/// Version 3 whose node records are packed across page boundaries (see the
/// module documentation).
pub const VERSION_PACKED: u16 = 4;
const REC_HEADER: usize = 24;
pub(crate) const FLAG_DELETED: u8 = 1;

pub(crate) fn align8(x: usize) -> usize {
    (x + 7) & !7
}
pub(crate) fn rd_u16(b: &[u8], o: usize) -> u16 {
    u16::from_ne_bytes(b[o..o + 2].try_into().unwrap())
}
pub(crate) fn rd_u32(b: &[u8], o: usize) -> u32 {
    u32::from_ne_bytes(b[o..o + 4].try_into().unwrap())
}
pub(crate) fn rd_u64(b: &[u8], o: usize) -> u64 {
    u64::from_ne_bytes(b[o..o + 8].try_into().unwrap())
}
pub(crate) fn wr_u16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_ne_bytes());
}
pub(crate) fn wr_u32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_ne_bytes());
}
pub(crate) fn wr_u64(b: &mut [u8], o: usize, v: u64) {
    b[o..o + 8].copy_from_slice(&v.to_ne_bytes());
}

/// A page payload buffer, 8-byte aligned.
#[derive(Clone)]
pub struct PageBuf(Box<[u64]>);

impl Default for PageBuf {
    fn default() -> Self {
        PageBuf(vec![0u64; PAGE_PAYLOAD / 8].into_boxed_slice())
    }
}

impl PageBuf {
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: u8 has no alignment or validity requirements.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr() as *const u8, PAGE_PAYLOAD) }
    }
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above; any byte pattern is a valid u64.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr() as *mut u8, PAGE_PAYLOAD) }
    }
    fn clear(&mut self) {
        self.0.fill(0);
    }
}

/// Read access to the pages of one segment (page numbers relative to its
/// meta page). The access method implements this over the buffer manager:
/// pin and share-lock the block, call `f` on its payload, release.
///
/// A [`PagedGraph`] checks everything it reads (counts, ids, levels, page
/// numbers and offsets) before using it, so pages with garbage in them can
/// never make it index out of bounds or loop; what fails a check goes to
/// [`PageSource::corrupted`].
pub trait PageSource {
    fn with_page<R>(&self, page: u32, f: impl FnOnce(&[u8]) -> R) -> R;

    /// Reports that the pages do not hold a valid segment; never returns.
    /// The default panics; the access method raises its "index is
    /// corrupted" error instead.
    fn corrupted(&self, what: &str) -> ! {
        panic!("corrupted segment: {what}")
    }
}

impl PageSource for [PageBuf] {
    fn with_page<R>(&self, page: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        f(self[page as usize].bytes())
    }
}
impl PageSource for Vec<PageBuf> {
    fn with_page<R>(&self, page: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        f(self[page as usize].bytes())
    }
}
impl<P: PageSource + ?Sized> PageSource for &P {
    fn with_page<R>(&self, page: u32, f: impl FnOnce(&[u8]) -> R) -> R {
        (**self).with_page(page, f)
    }
    fn corrupted(&self, what: &str) -> ! {
        (**self).corrupted(what)
    }
}

/// Errors reading a meta page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageFormatError {
    BadMagic,
    UnsupportedVersion(u16),
    WrongElement { stored: u8, expected: ElementKind },
    WrongMetric { stored: u8, expected: Metric },
    /// The meta page's fields contradict each other or the format.
    Inconsistent(String),
}

impl std::fmt::Display for PageFormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageFormatError::Inconsistent(what) => write!(f, "inconsistent segment meta page: {what}"),
            other => write!(f, "{other:?}"),
        }
    }
}
impl std::error::Error for PageFormatError {}

/// Everything the meta page records; locates every part of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub element: ElementKind,
    pub metric: Metric,
    pub vector_len: u32,
    pub m: u16,
    pub m0: u16,
    pub ef_construction: u16,
    pub node_count: u32,
    pub entry: Option<(u32, u8)>,
    pub record_size: u32,
    /// Records per node page; 0 when records are packed (`packed`).
    pub records_per_page: u32,
    /// Format version 4: records follow each other across page boundaries,
    /// node `i`'s at byte `i * record_size` of the node pages' payloads.
    pub packed: bool,
    pub first_node_page: u32,
    pub node_pages: u32,
    pub first_upper_page: u32,
    pub upper_pages: u32,
    pub first_overflow_page: u32,
    pub overflow_pages_per_vector: u32,
    pub total_pages: u32,
    pub seed: u64,
    /// Format version 3's code section, `None` in version 1.
    pub codes: Option<CodeSection>,
}

/// Where a segment's codes are and what they are (format version 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeSection {
    pub kind: CodeKind,
    pub dim: u32,
    pub code_bytes: u32,
    pub codes_per_page: u32,
    pub first_param_page: u32,
    pub param_pages: u32,
    pub first_code_page: u32,
    pub code_pages: u32,
    pub seed: u64,
    pub uid: u64,
}

impl CodeSection {
    /// The section for `nodes` codes of `kind` over `dim` dimensions,
    /// starting at page `first`.
    fn plan(kind: CodeKind, dim: usize, nodes: u32, first: u32, seed: u64, uid: u64) -> CodeSection {
        let code_bytes = kind.code_bytes(dim);
        let per_page = (PAGE_PAYLOAD / code_bytes.max(1)).max(1) as u32;
        let param_pages = (kind.param_len(dim) * 4).div_ceil(PAGE_PAYLOAD) as u32;
        CodeSection {
            kind,
            dim: dim as u32,
            code_bytes: code_bytes as u32,
            codes_per_page: per_page,
            first_param_page: first,
            param_pages,
            first_code_page: first + param_pages,
            code_pages: nodes.div_ceil(per_page),
            seed,
            uid,
        }
    }

    fn total_pages(&self) -> u32 {
        self.param_pages + self.code_pages
    }

    /// Page and in-page offset of node `id`'s code.
    pub fn code_location(&self, id: u32) -> (u32, usize) {
        (
            self.first_code_page + id / self.codes_per_page,
            (id % self.codes_per_page) as usize * self.code_bytes as usize,
        )
    }
}

/// The codes of one segment, read into memory ([`PagedGraph::load_codes`]).
#[derive(Clone, Debug)]
pub struct SegmentCodes {
    pub quantizer: Quantizer,
    /// `code_bytes` per node, in node order.
    pub codes: Vec<u8>,
}

impl SegmentCodes {
    #[inline]
    pub fn code(&self, id: u32) -> &[u8] {
        let n = self.quantizer.code_bytes();
        &self.codes[id as usize * n..(id as usize + 1) * n]
    }
    /// Asks the CPU to bring node `id`'s code into cache. Codes are read in
    /// random order from an array of megabytes, so nearly every estimate
    /// would otherwise wait for memory: prefetching a node's neighbours'
    /// codes together overlaps those waits (profiled through SQL: 70% of
    /// the estimate's time was the wait for its code's first byte).
    #[inline(always)]
    pub fn prefetch(&self, id: u32) {
        self.array().prefetch(id)
    }

    /// The codes as the build's searches read them.
    #[inline(always)]
    pub fn array(&self) -> CodeArray<'_> {
        CodeArray { codes: &self.codes, bytes: self.quantizer.code_bytes() }
    }

    /// Bytes of memory the codes take.
    pub fn memory(&self) -> usize {
        self.codes.len() + self.quantizer.params().len() * 4
    }
}

/// Codes of `bytes` bytes each, node `i`'s at `i * bytes`.
#[derive(Clone, Copy)]
pub struct CodeArray<'a> {
    pub codes: &'a [u8],
    pub bytes: usize,
}

impl<'a> CodeArray<'a> {
    #[inline(always)]
    pub fn code(&self, id: u32) -> &'a [u8] {
        &self.codes[id as usize * self.bytes..(id as usize + 1) * self.bytes]
    }

    /// See [`SegmentCodes::prefetch`].
    #[inline(always)]
    pub fn prefetch(&self, id: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            let n = self.bytes;
            let start = id as usize * n;
            if n > 0 && start + n <= self.codes.len() {
                // SAFETY: prefetching is a hint; both addresses are inside the array.
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                    let p = self.codes.as_ptr().add(start);
                    // Every cache line of the code (RaBitQ4 at 384-d: 208
                    // bytes, four lines), the last one included.
                    let mut o = 0;
                    while o < n {
                        _mm_prefetch(p.add(o) as *const i8, _MM_HINT_T0);
                        o += 64;
                    }
                    _mm_prefetch(p.add(n - 1) as *const i8, _MM_HINT_T0);
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = id;
    }
}

impl Layout {
    /// Page and in-page offset of node `id`'s record. Its first byte holds
    /// the deleted flag, see [`set_deleted`].
    ///
    /// In a packed segment the record may continue at the start of the next
    /// page (it never spans more than two: a record fits a page). Offsets
    /// are multiples of 8 and so is [`PAGE_PAYLOAD`], so the flags byte and
    /// every 8-byte field (the payload) lie whole on one page or the other.
    pub fn node_location(&self, id: u32) -> (u32, usize) {
        if self.packed {
            let at = id as u64 * self.record_size as u64;
            return (
                self.first_node_page + (at / PAGE_PAYLOAD as u64) as u32,
                (at % PAGE_PAYLOAD as u64) as usize,
            );
        }
        (
            self.first_node_page + id / self.records_per_page,
            (id % self.records_per_page) as usize * self.record_size as usize,
        )
    }

    /// Page and in-page offset of node `id`'s payload (the AM's heap TID):
    /// on the record's first page, or whole at the start of the next page
    /// when a packed record crosses the boundary before it.
    pub fn payload_location(&self, id: u32) -> (u32, usize) {
        let (page, off) = self.node_location(id);
        let at = off + RECORD_PAYLOAD;
        if at + 8 <= PAGE_PAYLOAD {
            (page, at)
        } else {
            debug_assert!(self.packed && at >= PAGE_PAYLOAD);
            (page + 1, at - PAGE_PAYLOAD)
        }
    }

    /// The nodes whose records start on node page `page_index` (counted
    /// from the first node page), in id order.
    pub fn records_starting_on(&self, page_index: u32) -> std::ops::Range<u32> {
        let n = self.node_count as u64;
        let (first, end) = if self.packed {
            let rs = self.record_size.max(1) as u64;
            let start = page_index as u64 * PAGE_PAYLOAD as u64;
            (start.div_ceil(rs), (start + PAGE_PAYLOAD as u64).div_ceil(rs))
        } else {
            let per = self.records_per_page as u64;
            (page_index as u64 * per, (page_index as u64 + 1) * per)
        };
        (first.min(n) as u32)..(end.min(n) as u32)
    }

    fn vector_bytes(&self, elem_size: usize) -> usize {
        self.vector_len as usize * elem_size
    }

    fn vector_offset(&self) -> usize {
        align8(REC_HEADER + 4 * self.m0 as usize)
    }

    /// Parses a meta page.
    pub fn read(meta: &[u8]) -> Result<Layout, PageFormatError> {
        if rd_u32(meta, 0) != MAGIC {
            return Err(PageFormatError::BadMagic);
        }
        let v = rd_u16(meta, 4);
        if v != VERSION && v != VERSION_CODED && v != VERSION_PACKED {
            return Err(PageFormatError::UnsupportedVersion(v));
        }
        let codes = if v == VERSION_CODED || v == VERSION_PACKED {
            let kind = CodeKind::from_u8(meta[72])
                .ok_or_else(|| PageFormatError::Inconsistent(format!("unknown code kind {}", meta[72])))?;
            Some(CodeSection {
                kind,
                dim: rd_u32(meta, 76),
                code_bytes: rd_u32(meta, 80),
                codes_per_page: rd_u32(meta, 84),
                first_param_page: rd_u32(meta, 88),
                param_pages: rd_u32(meta, 92),
                first_code_page: rd_u32(meta, 96),
                code_pages: rd_u32(meta, 100),
                seed: rd_u64(meta, 104),
                uid: rd_u64(meta, 112),
            })
        } else {
            None
        };
        let element = ElementKind::from_u8(meta[6]).ok_or(PageFormatError::WrongElement {
            stored: meta[6],
            expected: ElementKind::F32,
        })?;
        let metric = Metric::from_u8(meta[7]).ok_or(PageFormatError::WrongMetric {
            stored: meta[7],
            expected: Metric::L2,
        })?;
        Ok(Layout {
            element,
            metric,
            vector_len: rd_u32(meta, 8),
            m: rd_u16(meta, 12),
            m0: rd_u16(meta, 14),
            ef_construction: rd_u16(meta, 16),
            entry: if meta[19] & 1 != 0 {
                Some((rd_u32(meta, 24), meta[18]))
            } else {
                None
            },
            node_count: rd_u32(meta, 20),
            record_size: rd_u32(meta, 28),
            records_per_page: rd_u32(meta, 32),
            packed: v == VERSION_PACKED,
            first_node_page: rd_u32(meta, 36),
            node_pages: rd_u32(meta, 40),
            first_upper_page: rd_u32(meta, 44),
            upper_pages: rd_u32(meta, 48),
            first_overflow_page: rd_u32(meta, 52),
            overflow_pages_per_vector: rd_u32(meta, 56),
            total_pages: rd_u32(meta, 60),
            seed: rd_u64(meta, 64),
            codes,
        })
    }

    /// Checks that the fields agree with each other and with the format for
    /// elements of `elem_size` bytes, exactly as [`write_pages`] lays a graph
    /// out, so every page number and offset derived from them is in range.
    pub fn validate(&self, elem_size: usize) -> Result<(), PageFormatError> {
        let bad = |what: String| Err(PageFormatError::Inconsistent(what));
        let m = self.m as usize;
        if !(MIN_M..=MAX_M).contains(&m) || self.m0 as usize != 2 * m {
            return bad(format!("m {} and m0 {}", self.m, self.m0));
        }
        if self.vector_len == 0 || self.vector_len > 65535 || elem_size == 0 {
            return bad(format!("vector length {}", self.vector_len));
        }
        if self.ef_construction == 0 {
            return bad("ef_construction 0".into());
        }
        let voff = self.vector_offset();
        let vbytes = self.vector_bytes(elem_size);
        let n = self.node_count as u64;
        // A version-4 segment says it is packed; whether the writer should
        // have packed it is not the reader's business (version 3 segments
        // of the same shape, written before version 4, are not).
        if self.packed && (self.codes.is_none() || voff + vbytes > PAGE_PAYLOAD) {
            return bad("packed records without a code section, or longer than a page".into());
        }
        let (record_size, per_page, node_pages, ov_per) = plan_records(voff, vbytes, n, self.packed);
        let ov_per = ov_per as u64;
        if self.record_size as usize != record_size
            || self.records_per_page as usize != per_page
            || self.overflow_pages_per_vector as u64 != ov_per
        {
            return bad(format!(
                "record size {}, {} per page, packed {}, {} overflow pages per vector",
                self.record_size, self.records_per_page, self.packed, self.overflow_pages_per_vector
            ));
        }
        let first_overflow = 1 + node_pages + self.upper_pages as u64;
        let end_of_nodes = first_overflow + ov_per * n;
        let mut code_pages = 0u64;
        if let Some(c) = &self.codes {
            let dim = code_dim(self.element, self.vector_len as usize);
            let expected = (end_of_nodes <= u32::MAX as u64
                && dim == Some(c.dim as usize)
                && c.kind.code_bytes(c.dim as usize) <= PAGE_PAYLOAD)
                .then(|| CodeSection::plan(c.kind, c.dim as usize, self.node_count, end_of_nodes as u32, c.seed, c.uid));
            if expected.as_ref() != Some(c) {
                return bad(format!("code section {c:?} of {n} nodes after page {end_of_nodes}"));
            }
            code_pages = c.total_pages() as u64;
        }
        if self.first_node_page != 1
            || self.node_pages as u64 != node_pages
            || self.first_upper_page as u64 != 1 + node_pages
            || self.first_overflow_page as u64 != first_overflow
            || self.total_pages as u64 != end_of_nodes + code_pages
            || self.upper_pages as u64 > n
        {
            return bad(format!(
                "page counts (nodes {}, node pages {} from {}, upper pages {} from {}, overflow from {}, total {})",
                self.node_count,
                self.node_pages,
                self.first_node_page,
                self.upper_pages,
                self.first_upper_page,
                self.first_overflow_page,
                self.total_pages
            ));
        }
        match self.entry {
            None if n == 0 => {}
            Some((id, level)) if (id as u64) < n && level <= MAX_LEVEL => {}
            other => return bad(format!("entry point {other:?} of {n} nodes")),
        }
        Ok(())
    }

    fn write(&self, meta: &mut [u8]) {
        wr_u32(meta, 0, MAGIC);
        let version = match (&self.codes, self.packed) {
            (Some(_), true) => VERSION_PACKED,
            (Some(_), false) => VERSION_CODED,
            (None, _) => VERSION,
        };
        wr_u16(meta, 4, version);
        if let Some(c) = &self.codes {
            meta[72] = c.kind as u8;
            wr_u32(meta, 76, c.dim);
            wr_u32(meta, 80, c.code_bytes);
            wr_u32(meta, 84, c.codes_per_page);
            wr_u32(meta, 88, c.first_param_page);
            wr_u32(meta, 92, c.param_pages);
            wr_u32(meta, 96, c.first_code_page);
            wr_u32(meta, 100, c.code_pages);
            wr_u64(meta, 104, c.seed);
            wr_u64(meta, 112, c.uid);
        }
        meta[6] = self.element as u8;
        meta[7] = self.metric as u8;
        wr_u32(meta, 8, self.vector_len);
        wr_u16(meta, 12, self.m);
        wr_u16(meta, 14, self.m0);
        wr_u16(meta, 16, self.ef_construction);
        meta[18] = self.entry.map_or(0, |e| e.1);
        meta[19] = self.entry.is_some() as u8;
        wr_u32(meta, 20, self.node_count);
        wr_u32(meta, 24, self.entry.map_or(0, |e| e.0));
        wr_u32(meta, 28, self.record_size);
        wr_u32(meta, 32, self.records_per_page);
        wr_u32(meta, 36, self.first_node_page);
        wr_u32(meta, 40, self.node_pages);
        wr_u32(meta, 44, self.first_upper_page);
        wr_u32(meta, 48, self.upper_pages);
        wr_u32(meta, 52, self.first_overflow_page);
        wr_u32(meta, 56, self.overflow_pages_per_vector);
        wr_u32(meta, 60, self.total_pages);
        wr_u64(meta, 64, self.seed);
    }
}

/// Sets or clears the deleted flag of the record at `offset` of a node page
/// (see [`Layout::node_location`]). The access method does this in place
/// under an exclusive buffer lock (and WAL-logs it).
pub fn set_deleted(page: &mut [u8], offset: usize, deleted: bool) {
    if deleted {
        page[offset] |= FLAG_DELETED;
    } else {
        page[offset] &= !FLAG_DELETED;
    }
}

/// Whether the record at `offset` of a node page is marked deleted.
pub fn is_deleted(page: &[u8], offset: usize) -> bool {
    page[offset] & FLAG_DELETED != 0
}

/// The payload (the access method's heap TID) of the record at `offset` of
/// a node page, for records that lie whole on one page (not packed).
pub fn payload_at(page: &[u8], offset: usize) -> u64 {
    read_payload(page, offset + RECORD_PAYLOAD)
}

/// The payload at `offset` of a node page, as [`Layout::payload_location`]
/// gives it.
pub fn read_payload(page: &[u8], offset: usize) -> u64 {
    u64::from_ne_bytes(page[offset..offset + 8].try_into().unwrap())
}

/// Offset of the payload (u64) within a record.
const RECORD_PAYLOAD: usize = 16;

/// How node records are laid out: `(record size, records per page (0 when
/// packed), node pages, overflow pages per vector)`, records packed across
/// page boundaries or not (`packed`, only for records that fit a page).
fn plan_records(voff: usize, vbytes: usize, nodes: u64, packed: bool) -> (usize, usize, u64, u32) {
    let inline = voff + vbytes <= PAGE_PAYLOAD;
    let record_size = if inline { align8(voff + vbytes) } else { voff };
    if packed {
        return (record_size, 0, (nodes * record_size as u64).div_ceil(PAGE_PAYLOAD as u64), 0);
    }
    let per_page = PAGE_PAYLOAD / record_size;
    let ov_per = if inline { 0 } else { vbytes.div_ceil(PAGE_PAYLOAD) as u32 };
    (record_size, per_page, nodes.div_ceil(per_page as u64), ov_per)
}

/// Whether a writer packs records (format version 4, coded segments only):
/// when whole records would leave at least 1/20 of every node page empty.
/// At 384-d f32, m = 16, four 1,688-byte records fill 83% of a page, so
/// packing takes a sixth off the segment, and a fifth of the records then
/// cost a second page read.
fn packs(voff: usize, vbytes: usize) -> bool {
    let record_size = align8(voff + vbytes);
    voff + vbytes <= PAGE_PAYLOAD && (PAGE_PAYLOAD % record_size) * 20 >= PAGE_PAYLOAD
}

/// Places upper-layer blocks in pages without straddling; returns
/// `(page offset from the first upper page, in-page offset)` per node.
fn place_upper(levels: &[u8], m: usize) -> (Vec<(u32, u16)>, u32) {
    let mut page = 0u32;
    let mut off = 0usize;
    let mut any = false;
    let mut pos = Vec::with_capacity(levels.len());
    for &l in levels {
        if l == 0 {
            pos.push((0, 0));
            continue;
        }
        let size = l as usize * (m + 1) * 4;
        if off + size > PAGE_PAYLOAD {
            page += 1;
            off = 0;
        }
        any = true;
        pos.push((page, off as u16));
        off += size;
    }
    (pos, if any { page + 1 } else { 0 })
}

/// Which code a version-3 segment carries ([`write_pages_coded`]), and the
/// identity its codes are cached under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeSpec {
    pub kind: CodeKind,
    /// Seed of RaBitQ's random rotation.
    pub seed: u64,
    /// Must differ for every segment written (see [`CodeSection::uid`]).
    pub uid: u64,
}

/// The layout `write_pages` would produce for `g`.
pub fn layout_of<S: Space>(g: &Hnsw<S>) -> Layout {
    layout_parts(g, None, Packing::WhenItSaves).0
}

/// The layout `write_pages_coded(g, codes, ..)` would produce.
pub fn layout_of_coded<S: Space>(g: &Hnsw<S>, codes: Option<CodeSpec>) -> Layout {
    layout_parts(g, codes, Packing::WhenItSaves).0
}

fn layout_parts<S: Space>(g: &Hnsw<S>, codes: Option<CodeSpec>, packing: Packing) -> (Layout, Vec<(u32, u16)>) {
    let n = g.len();
    let m0 = g.m0;
    let vbytes = g.dim * S::Elem::SIZE;
    let voff = align8(REC_HEADER + 4 * m0);
    // A section needs a code that fits a page; vectors so long that one
    // does not (over about 16k dimensions even at RaBitQ4) get none.
    let codes = codes.filter(|spec| code_dim(S::Elem::KIND, g.dim).is_some_and(|d| spec.kind.code_bytes(d) <= PAGE_PAYLOAD));
    // Codes the build kept, of the kind asked for, are written as they are,
    // with their quantizer's seed (the rotation's) instead of the spec's.
    let codes = codes.map(|spec| match kept_codes_for(g, spec.kind) {
        Some(q) => CodeSpec { seed: q.quantizer().seed(), ..spec },
        None => spec,
    });
    let packed = codes.is_some() && packing == Packing::WhenItSaves && packs(voff, vbytes);
    let (record_size, per_page, node_pages, ov_per) = plan_records(voff, vbytes, n as u64, packed);
    let node_pages = u32::try_from(node_pages).expect("segment too large for u32 page numbers");
    let (upper_pos, upper_pages) = place_upper(&g.levels, g.m);
    let first_upper = 1 + node_pages;
    let first_overflow = first_upper + upper_pages;
    let mut total = first_overflow as u64 + ov_per as u64 * n as u64;
    let code_section = codes.map(|spec| {
        let dim = code_dim(S::Elem::KIND, g.dim).expect("filtered above");
        let first = u32::try_from(total).expect("segment too large for u32 page numbers");
        CodeSection::plan(spec.kind, dim, n as u32, first, spec.seed, spec.uid)
    });
    total += code_section.as_ref().map_or(0, |c| c.total_pages() as u64);
    assert!(
        total <= u32::MAX as u64,
        "segment too large for u32 page numbers"
    );
    let layout = Layout {
        element: S::Elem::KIND,
        metric: S::METRIC,
        vector_len: g.dim as u32,
        m: g.m as u16,
        m0: m0 as u16,
        ef_construction: g.ef_construction.min(u16::MAX as usize) as u16,
        node_count: n as u32,
        entry: g.entry,
        record_size: record_size as u32,
        records_per_page: per_page as u32,
        packed,
        first_node_page: 1,
        node_pages,
        first_upper_page: first_upper,
        upper_pages,
        first_overflow_page: first_overflow,
        overflow_pages_per_vector: ov_per,
        total_pages: total as u32,
        seed: g.seed,
        codes: code_section,
    };
    (layout, upper_pos)
}

/// Serialises `g` page by page: calls `sink(page_number, payload)` for pages
/// `0..layout.total_pages` in order, each payload [`PAGE_PAYLOAD`] bytes.
/// Uses one page of memory beyond the graph. Returns the layout.
pub fn write_pages<S: Space>(g: &Hnsw<S>, sink: impl FnMut(u32, &[u8])) -> Layout {
    write_pages_coded(g, None, sink)
}

/// As [`write_pages`], followed by a code section of `codes` (format
/// version 3) unless `codes` is `None` or the space has no codes (bits).
/// The quantizer is trained on every node's vector, one at a time.
pub fn write_pages_coded<S: Space>(g: &Hnsw<S>, codes: Option<CodeSpec>, sink: impl FnMut(u32, &[u8])) -> Layout {
    write_pages_packing(g, codes, Packing::WhenItSaves, sink)
}

/// Whether a writer may pack node records across page boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// Format version 4 when a coded segment's whole records would leave
    /// 1/20 of each page empty (what [`write_pages_coded`] does).
    WhenItSaves,
    /// Never: version 3 (or 1) as written before version 4 existed (tests
    /// of that format's readers).
    Never,
}

/// [`write_pages_coded`] with a choice of [`Packing`].
pub fn write_pages_packing<S: Space>(g: &Hnsw<S>, codes: Option<CodeSpec>, packing: Packing, mut sink: impl FnMut(u32, &[u8])) -> Layout {
    let (lay, upper_pos) = layout_parts(g, codes, packing);
    let mut buf = PageBuf::default();
    let mut no = 0u32;
    let mut emit = |buf: &mut PageBuf| {
        sink(no, buf.bytes());
        no += 1;
        buf.clear();
    };
    lay.write(buf.bytes_mut());
    emit(&mut buf);

    let rs = lay.record_size as usize;
    let voff = lay.vector_offset();
    let inline = lay.overflow_pages_per_vector == 0;
    let mut ids = Vec::new();
    // Each record is built whole, then copied to its place; a packed record
    // that runs past the page's end continues on the next page.
    let mut rec = vec![0u8; rs];
    let mut page_of_buf = lay.first_node_page;
    for id in 0..g.len() as u32 {
        let r = &mut rec[..];
        r.fill(0);
        r[0] = if g.is_deleted(id) { FLAG_DELETED } else { 0 };
        r[1] = g.levels[id as usize];
        ids.clear();
        GraphView::neighbours(g, id, 0, &mut ids);
        wr_u16(r, 2, ids.len() as u16);
        let (up, uo) = upper_pos[id as usize];
        wr_u16(r, 4, uo);
        wr_u32(r, 8, if r[1] > 0 { lay.first_upper_page + up } else { 0 });
        wr_u64(r, 16, g.payloads[id as usize]);
        for (j, &x) in ids.iter().enumerate() {
            wr_u32(r, REC_HEADER + 4 * j, x);
        }
        if inline {
            for (j, &e) in g.vector(id).iter().enumerate() {
                e.write_ne(&mut r[voff + j * S::Elem::SIZE..]);
            }
        }
        let (page, off) = lay.node_location(id);
        while page_of_buf < page {
            emit(&mut buf);
            page_of_buf += 1;
        }
        let here = rs.min(PAGE_PAYLOAD - off);
        buf.bytes_mut()[off..off + here].copy_from_slice(&rec[..here]);
        if here < rs {
            emit(&mut buf);
            page_of_buf += 1;
            buf.bytes_mut()[..rs - here].copy_from_slice(&rec[here..]);
        }
    }
    if g.len() > 0 {
        emit(&mut buf);
        page_of_buf += 1;
    }
    debug_assert_eq!(page_of_buf, lay.first_node_page + lay.node_pages);

    let mut cur_page = 0u32;
    let mut pending = false;
    for id in 0..g.len() as u32 {
        let l = g.levels[id as usize];
        if l == 0 {
            continue;
        }
        let (p, o) = upper_pos[id as usize];
        while cur_page < p {
            emit(&mut buf);
            cur_page += 1;
        }
        pending = true;
        let b = buf.bytes_mut();
        let w = (g.m + 1) * 4;
        for lv in 1..=l {
            ids.clear();
            GraphView::neighbours(g, id, lv, &mut ids);
            let base = o as usize + (lv as usize - 1) * w;
            wr_u32(b, base, ids.len() as u32);
            for (j, &x) in ids.iter().enumerate() {
                wr_u32(b, base + 4 + 4 * j, x);
            }
        }
    }
    if pending {
        emit(&mut buf);
    }

    if !inline {
        let vb = g.dim * S::Elem::SIZE;
        let mut bytes = vec![0u8; vb];
        for id in 0..g.len() as u32 {
            for (j, &e) in g.vector(id).iter().enumerate() {
                e.write_ne(&mut bytes[j * S::Elem::SIZE..]);
            }
            for chunk in bytes.chunks(PAGE_PAYLOAD) {
                buf.bytes_mut()[..chunk.len()].copy_from_slice(chunk);
                emit(&mut buf);
            }
        }
    }

    if let Some(c) = &lay.codes {
        let dim = c.dim as usize;
        let mut row = Vec::with_capacity(dim);
        let kept = kept_codes_for(g, c.kind);
        let trained;
        let q = match kept {
            Some(k) => k.quantizer(),
            None => {
                let mut trainer = Trainer::new(c.kind, dim);
                for id in 0..g.len() as u32 {
                    code_input::<S>(g.vector(id), &mut row);
                    trainer.add(&row);
                }
                trained = trainer.finish(c.seed);
                &trained
            }
        };
        debug_assert_eq!(q.seed(), c.seed);
        let params: Vec<u8> = q.params().iter().flat_map(|x| x.to_ne_bytes()).collect();
        for chunk in params.chunks(PAGE_PAYLOAD) {
            buf.bytes_mut()[..chunk.len()].copy_from_slice(chunk);
            emit(&mut buf);
        }
        let cb = c.code_bytes as usize;
        let per = c.codes_per_page as usize;
        for first in (0..g.len()).step_by(per) {
            let b = buf.bytes_mut();
            for (slot, id) in (first..(first + per).min(g.len())).enumerate() {
                let out = &mut b[slot * cb..(slot + 1) * cb];
                match kept {
                    Some(k) => out.copy_from_slice(k.array().code(id as u32)),
                    None => {
                        code_input::<S>(g.vector(id as u32), &mut row);
                        q.encode(&row, out);
                    }
                }
            }
            emit(&mut buf);
        }
    }
    debug_assert_eq!(no, lay.total_pages);
    lay
}

/// The codes `g`'s build or merge kept ([`Hnsw::kept_codes`]) when they are
/// of `kind` and cover every node.
fn kept_codes_for<S: Space>(g: &Hnsw<S>, kind: CodeKind) -> Option<&crate::graph::BuildCodes> {
    g.kept_codes.as_ref().filter(|k| k.kind() == kind && k.covers(g.len()))
}

/// Serialises `g` into owned page buffers (tests, tools).
pub fn to_pages<S: Space>(g: &Hnsw<S>) -> Vec<PageBuf> {
    to_pages_coded(g, None)
}

/// [`write_pages_coded`] into owned page buffers (tests, tools).
pub fn to_pages_coded<S: Space>(g: &Hnsw<S>, codes: Option<CodeSpec>) -> Vec<PageBuf> {
    let mut out = Vec::new();
    write_pages_coded(g, codes, |_, b| {
        let mut p = PageBuf::default();
        p.bytes_mut().copy_from_slice(b);
        out.push(p);
    });
    out
}

/// A serialised graph read through a [`PageSource`]: searchable with
/// [`crate::search`], [`crate::stream::StreamingSearch`] and mergeable with
/// [`crate::merge::merge`]. Not `Sync` (it keeps a scratch vector for
/// vectors that cannot be read in place).
pub struct PagedGraph<P: PageSource, S: Space> {
    src: P,
    layout: Layout,
    scratch: RefCell<Vec<S::Elem>>,
    /// A packed record that continues on the next page, put together.
    record_scratch: RefCell<Vec<u64>>,
    _space: std::marker::PhantomData<S>,
}

impl<P: PageSource, S: Space> PagedGraph<P, S> {
    /// Reads the meta page and checks it matches space `S`.
    pub fn open(src: P) -> Result<Self, PageFormatError> {
        let layout = src.with_page(0, Layout::read)?;
        layout.validate(S::Elem::SIZE)?;
        if layout.element != S::Elem::KIND {
            return Err(PageFormatError::WrongElement {
                stored: layout.element as u8,
                expected: S::Elem::KIND,
            });
        }
        if layout.metric != S::METRIC {
            return Err(PageFormatError::WrongMetric {
                stored: layout.metric as u8,
                expected: S::METRIC,
            });
        }
        Ok(PagedGraph {
            src,
            layout,
            scratch: RefCell::new(Vec::new()),
            record_scratch: RefCell::new(Vec::new()),
            _space: std::marker::PhantomData,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn source(&self) -> &P {
        &self.src
    }

    /// Calls `f` on the first `len` bytes of node `id`'s record after
    /// checking it: only known flag bits, level and layer-0 count within
    /// bounds, reserved fields zero, and an upper-layer block that lies
    /// inside an upper-layer page. `len` is at least the header and the
    /// layer-0 list ([`Layout::vector_offset`]) and at most the record.
    fn with_record<R>(&self, id: u32, len: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        let lay = &self.layout;
        if id >= lay.node_count {
            self.src.corrupted(&format!("node id {id} out of range ({} nodes)", lay.node_count));
        }
        let (page, off) = lay.node_location(id);
        debug_assert!(len >= lay.vector_offset() && len <= lay.record_size as usize);
        let checked = if off + len <= PAGE_PAYLOAD {
            self.src.with_page(page, |b| Self::check_record(lay, &b[off..off + len], f))
        } else {
            // A packed record that continues on the next page: copied into
            // an 8-byte aligned buffer so its vector can be read in place.
            let mut local;
            let mut guard = self.record_scratch.try_borrow_mut().ok();
            let words: &mut Vec<u64> = match guard.as_deref_mut() {
                Some(s) => s,
                None => {
                    local = Vec::new();
                    &mut local
                }
            };
            words.clear();
            words.resize(len.div_ceil(8), 0);
            // SAFETY: any byte pattern is a valid u64; the slice covers `len` of the words' bytes.
            let bytes = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, len) };
            let here = PAGE_PAYLOAD - off;
            self.src.with_page(page, |b| bytes[..here].copy_from_slice(&b[off..]));
            self.src.with_page(page + 1, |b| bytes[here..].copy_from_slice(&b[..len - here]));
            Self::check_record(lay, bytes, f)
        };
        match checked {
            Ok(r) => r,
            Err(level) => self.src.corrupted(&format!(
                "record of node {id} (page {page}, offset {off}, level {level}) is not a valid node record"
            )),
        }
    }

    fn check_record<R>(lay: &Layout, r: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<R, u8> {
        let level = r[1];
        let upper_page = rd_u32(r, 8);
        let upper_off = rd_u16(r, 4) as usize;
        let upper_ok = if level == 0 {
            upper_page == 0 && upper_off == 0
        } else {
            upper_page >= lay.first_upper_page
                && upper_page - lay.first_upper_page < lay.upper_pages
                && upper_off + level as usize * (lay.m as usize + 1) * 4 <= PAGE_PAYLOAD
        };
        let ok = r[0] & !FLAG_DELETED == 0
            && level <= MAX_LEVEL
            && rd_u16(r, 2) <= lay.m0
            && rd_u16(r, 6) == 0
            && rd_u32(r, 12) == 0
            && upper_ok;
        if ok {
            Ok(f(r))
        } else {
            Err(level)
        }
    }

    /// Bytes of a record up to the end of its layer-0 list.
    fn header_len(&self) -> usize {
        self.layout.vector_offset()
    }

    fn check_ids(&self, id: u32, level: u8, ids: &[u32]) {
        if let Some(bad) = ids.iter().find(|&&x| x >= self.layout.node_count) {
            self.src.corrupted(&format!(
                "node {id} links to node {bad} on layer {level}, of {} nodes",
                self.layout.node_count
            ));
        }
    }

    /// Reads the code section into memory: `None` for a version-1 segment.
    /// Parameters that are not finite numbers are reported as corruption
    /// (codes themselves cannot be checked: any bytes are a code).
    pub fn load_codes(&self) -> Option<SegmentCodes> {
        let c = self.layout.codes.as_ref()?;
        let param_bytes = c.kind.param_len(c.dim as usize) * 4;
        let mut raw = Vec::with_capacity(param_bytes);
        for p in 0..c.param_pages {
            let take = (param_bytes - raw.len()).min(PAGE_PAYLOAD);
            self.src.with_page(c.first_param_page + p, |b| raw.extend_from_slice(&b[..take]));
        }
        let params: Vec<f32> = raw.chunks_exact(4).map(|b| f32::from_ne_bytes(b.try_into().unwrap())).collect();
        if params.iter().any(|x| !x.is_finite()) {
            self.src.corrupted("code section: a quantizer parameter is not a finite number");
        }
        let quantizer = Quantizer::from_params(c.kind, c.dim as usize, params, c.seed)
            .unwrap_or_else(|e| self.src.corrupted(&format!("code section: {e}")));
        let (n, cb, per) = (self.layout.node_count as usize, c.code_bytes as usize, c.codes_per_page as usize);
        let mut codes = vec![0u8; n * cb];
        for (p, chunk) in codes.chunks_mut(per * cb).enumerate() {
            self.src.with_page(c.first_code_page + p as u32, |b| chunk.copy_from_slice(&b[..chunk.len()]));
        }
        Some(SegmentCodes { quantizer, codes })
    }

    fn decode_into(bytes: &[u8], out: &mut Vec<S::Elem>) {
        out.clear();
        out.extend(bytes.chunks_exact(S::Elem::SIZE).map(S::Elem::read_ne));
    }
}

impl<P: PageSource, S: Space> GraphView for PagedGraph<P, S> {
    type Elem = S::Elem;
    fn len(&self) -> u32 {
        self.layout.node_count
    }
    fn entry_point(&self) -> Option<(u32, u8)> {
        self.layout.entry
    }
    fn vector_len(&self) -> usize {
        self.layout.vector_len as usize
    }
    fn level(&self, id: u32) -> u8 {
        self.with_record(id, self.header_len(), |r| r[1])
    }
    fn neighbours(&self, id: u32, level: u8, out: &mut Vec<u32>) {
        out.clear();
        if level == 0 {
            self.with_record(id, self.header_len(), |r| {
                let n = rd_u16(r, 2) as usize;
                out.extend((0..n).map(|j| rd_u32(r, REC_HEADER + 4 * j)));
            });
            self.check_ids(id, level, out);
            return;
        }
        let (lvl, page, off) =
            self.with_record(id, self.header_len(), |r| (r[1], rd_u32(r, 8), rd_u16(r, 4) as usize));
        if level > lvl {
            return;
        }
        // In bounds: with_record checked the block lies inside its page.
        let m = self.layout.m as usize;
        let base = off + (level as usize - 1) * (m + 1) * 4;
        let fits = self.src.with_page(page, |b| {
            let n = rd_u32(b, base) as usize;
            if n > m {
                return false;
            }
            out.extend((0..n).map(|j| rd_u32(b, base + 4 + 4 * j)));
            true
        });
        if !fits {
            self.src.corrupted(&format!("node {id} has more than {m} links on layer {level}"));
        }
        self.check_ids(id, level, out);
    }
    fn with_node<R>(&self, id: u32, f: impl FnOnce(&[S::Elem], bool) -> R) -> R {
        let vb = self.layout.vector_bytes(S::Elem::SIZE);
        if self.layout.overflow_pages_per_vector == 0 {
            let voff = self.layout.vector_offset();
            return self.with_record(id, voff + vb, |r| {
                let del = r[0] & FLAG_DELETED != 0;
                let bytes = &r[voff..voff + vb];
                if let Some(v) = cast_elems::<S::Elem>(bytes) {
                    return f(v, del);
                }
                match self.scratch.try_borrow_mut() {
                    Ok(mut s) => {
                        Self::decode_into(bytes, &mut s);
                        f(&s, del)
                    }
                    Err(_) => {
                        let mut s = Vec::new();
                        Self::decode_into(bytes, &mut s);
                        f(&s, del)
                    }
                }
            });
        }
        let del = self.with_record(id, self.header_len(), |r| r[0] & FLAG_DELETED != 0);
        let k = self.layout.overflow_pages_per_vector;
        let first = self.layout.first_overflow_page + id * k;
        let mut local;
        let mut guard = self.scratch.try_borrow_mut().ok();
        let out: &mut Vec<S::Elem> = match guard.as_deref_mut() {
            Some(s) => s,
            None => {
                local = Vec::new();
                &mut local
            }
        };
        out.clear();
        let mut left = vb;
        for p in 0..k {
            let take = left.min(PAGE_PAYLOAD);
            self.src.with_page(first + p, |b| {
                out.extend(b[..take].chunks_exact(S::Elem::SIZE).map(S::Elem::read_ne));
            });
            left -= take;
        }
        f(out, del)
    }
    fn payload(&self, id: u32) -> u64 {
        self.with_record(id, self.header_len(), |r| rd_u64(r, RECORD_PAYLOAD))
    }
    fn with_links_and_node<R>(&self, id: u32, out: &mut Vec<u32>, f: impl FnOnce(&[S::Elem], bool) -> R) -> R {
        if self.layout.overflow_pages_per_vector != 0 {
            self.neighbours(id, 0, out);
            return self.with_node(id, f);
        }
        out.clear();
        let vb = self.layout.vector_bytes(S::Elem::SIZE);
        let voff = self.layout.vector_offset();
        let mut f = Some(f);
        let mut local: Vec<S::Elem> = Vec::new();
        let (done, del) = self.with_record(id, voff + vb, |r| {
            let n = rd_u16(r, 2) as usize;
            out.extend((0..n).map(|j| rd_u32(r, REC_HEADER + 4 * j)));
            let del = r[0] & FLAG_DELETED != 0;
            let bytes = &r[voff..voff + vb];
            match cast_elems::<S::Elem>(bytes) {
                Some(v) => (Some(f.take().unwrap()(v, del)), del),
                None => {
                    Self::decode_into(bytes, &mut local);
                    (None, del)
                }
            }
        });
        // After f, which only measured the vector: the ids go no further
        // than this check.
        self.check_ids(id, 0, out);
        match done {
            Some(r) => r,
            None => f.take().unwrap()(&local, del),
        }
    }
}

#[cfg(test)]
mod corruption_tests {
    use super::*;
    use crate::graph::Params;
    use crate::space::L2F32;
    use crate::stream::StreamingSearch;

    fn rng(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Everything a scan or a merge does with a segment: open, stream every
    /// node, merge.
    fn exercise(pages: &[PageBuf], dim: usize) -> Result<usize, PageFormatError> {
        let g = PagedGraph::<_, L2F32>::open(pages)?;
        let q = vec![0.5f32; dim];
        let n = StreamingSearch::<_, L2F32>::new(&g, &q, 16).count();
        let params = Params { threads: 2, ..Params::default() };
        let merged = crate::merge::merge::<_, L2F32>(&g, &params, &q, None);
        Ok(n + merged.len())
    }

    fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
    }

    /// Random garbage in any page of a segment (meta, node, upper-layer or
    /// overflow pages; single bytes, words or whole pages) is either
    /// harmless (vector data) or reported through `PageSource::corrupted`
    /// or as a `PageFormatError`; it never indexes out of bounds, overflows
    /// or loops.
    #[test]
    fn garbage_pages_are_reported_never_crash() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let mut failures = Vec::new();
        let mut seed = 42u64;
        for (dim, n) in [(8usize, 600usize), (3000, 40)] {
            let data: Vec<f32> = (0..n * dim).map(|i| (i * 7919 % 1000) as f32 / 100.0).collect();
            let g = Hnsw::<L2F32>::build(&Params { m: 4, threads: 1, ..Params::default() }, dim, &data, None);
            let clean = to_pages(&g);
            assert!(exercise(&clean, dim).is_ok());
            let mut outcomes = [0usize; 3]; // fine, reported, format error
            for round in 0..400 {
                let mut pages = clean.clone();
                let p = (rng(&mut seed) % pages.len() as u64) as usize;
                let b = pages[p].bytes_mut();
                match round % 4 {
                    0 => b.iter_mut().for_each(|x| *x = rng(&mut seed) as u8),
                    1 => b.fill(0),
                    2 => {
                        let o = (rng(&mut seed) as usize % (PAGE_PAYLOAD / 4)) * 4;
                        b[o..o + 4].copy_from_slice(&(rng(&mut seed) as u32).to_ne_bytes());
                    }
                    _ => {
                        let o = rng(&mut seed) as usize % 128;
                        b[o] = rng(&mut seed) as u8;
                    }
                }
                match quietly(|| exercise(&pages, dim)) {
                    Ok(Ok(_)) => outcomes[0] += 1,
                    Ok(Err(_)) => outcomes[2] += 1,
                    Err(e) => {
                        let msg = e
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        if !msg.starts_with("corrupted segment") {
                            failures.push(format!("dim {dim}, round {round}, page {p}: garbage caused {msg:?}"));
                        }
                        outcomes[1] += 1;
                    }
                }
            }
            // Most pages of the 3000-d segment hold vector data, where any
            // bytes are valid floats.
            let expected = if dim == 8 { outcomes[1] > 50 && outcomes[2] > 10 } else { outcomes[1] + outcomes[2] > 0 };
            if !expected {
                failures.push(format!("dim {dim}: outcomes {outcomes:?}"));
            }
        }
        std::panic::set_hook(prev);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

#[cfg(test)]
mod kept_codes_tests {
    use super::*;
    use crate::graph::Params;
    use crate::space::{CosineF32, L2F32};

    fn data(n: usize, dim: usize) -> Vec<f32> {
        (0..n * dim).map(|i| ((i * 7919 + i / dim * 13) % 1009) as f32 / 100.0 - 5.0).collect()
    }

    /// Writing a graph whose build kept its codes copies them: the pages
    /// are byte for byte those written by coding every vector again with
    /// the build's seed, and the meta page records that seed.
    #[test]
    fn kept_build_codes_write_the_same_pages_as_coding_again() {
        let dim = 160;
        let v = data(700, dim);
        for kind in [CodeKind::RaBitQ4, CodeKind::Sq8] {
            let params = Params { m: 8, threads: 2, build_codes: Some(kind), ..Params::default() };
            let mut g = Hnsw::<CosineF32>::build(&params, dim, &v, None);
            assert!(g.kept_codes.as_ref().is_some_and(|k| k.kind() == kind && k.covers(g.len())), "{kind:?}: the build keeps its codes");
            let seed = g.kept_codes.as_ref().unwrap().quantizer().seed();
            let spec = CodeSpec { kind, seed: seed ^ 0xFFFF, uid: 5 };
            let reused = to_pages_coded(&g, Some(spec));
            let lay = Layout::read(reused[0].bytes()).unwrap();
            assert_eq!(lay.codes.as_ref().unwrap().seed, seed, "{kind:?}: the section takes the kept codes' seed");
            assert_eq!(layout_of_coded(&g, Some(spec)), lay, "{kind:?}: layout_of_coded agrees with the writer");
            g.kept_codes = None;
            let coded_again = to_pages_coded(&g, Some(CodeSpec { seed, ..spec }));
            assert_eq!(reused.len(), coded_again.len());
            for (i, (a, b)) in reused.iter().zip(&coded_again).enumerate() {
                assert!(a.bytes() == b.bytes(), "{kind:?}: page {i} differs");
            }
        }
        // A merge keeps the codes its checks searched on (SQ8 here, trained
        // for the segment it writes), and its pages take them too.
        let old = Hnsw::<L2F32>::build(&Params { m: 8, threads: 1, ..Params::default() }, dim, &v[..500 * dim], None);
        let old_pages = to_pages(&old);
        let old_paged = PagedGraph::<_, L2F32>::open(&old_pages[..]).unwrap();
        let params = Params { m: 8, threads: 2, segment_codes: Some(CodeKind::Sq8), ..Params::default() };
        let mut merged = crate::merge::merge::<_, L2F32>(&old_paged, &params, &v[500 * dim..], None);
        assert_eq!(merged.len(), 700);
        assert!(merged.kept_codes.as_ref().is_some_and(|k| k.kind() == CodeKind::Sq8 && k.covers(700)));
        let spec = CodeSpec { kind: CodeKind::Sq8, seed: 1, uid: 5 };
        let reused = to_pages_coded(&merged, Some(spec));
        let seed = Layout::read(reused[0].bytes()).unwrap().codes.unwrap().seed;
        merged.kept_codes = None;
        let coded_again = to_pages_coded(&merged, Some(CodeSpec { seed, ..spec }));
        assert!(reused.iter().zip(&coded_again).all(|(a, b)| a.bytes() == b.bytes()), "merged pages differ");

        // Codes of another kind are not used: the spec's seed stays.
        let params = Params { m: 8, threads: 1, build_codes: Some(CodeKind::RaBitQ4), ..Params::default() };
        let g = Hnsw::<L2F32>::build(&params, dim, &v, None);
        let spec = CodeSpec { kind: CodeKind::Sq8, seed: 12345, uid: 5 };
        let lay = Layout::read(to_pages_coded(&g, Some(spec))[0].bytes()).unwrap();
        assert_eq!(lay.codes.unwrap().seed, 12345);
    }
}
