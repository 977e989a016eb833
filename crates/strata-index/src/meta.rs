//! The metapage (block 0): the index's parameters and its segment directory.
//!
//! ```text
//! 0    u32 magic, u16 version, u8 element kind, u8 metric
//! 8    u32 dims, u16 m, u16 ef_construction
//! 16   u32 sealed count, u32 free count, u32 growing count, u32 max_writing_size
//! 32   writing segment: u32 head, head_offset, tail, tail_used, entries
//! 96   sealed segments: (start, pages, nodes, deleted) x 128; the top bit of
//!      pages marks a segment behind an extent-map page
//! 2144 free ranges: (start, pages, retired xid) x 256; the top bit of
//!      pages marks a range of the log-page pool (see `Meta::log_free`)
//! 5216 growing segments: (head, head_offset, tail, tail_used, entries) x 64
//! ```

use crate::page::{content, is_kind, rd_u16, rd_u32, wr_u32, PageKind, MAGIC, PAGE_PAYLOAD};
use crate::log::ENTRY_HEADER;
use crate::Corruption;
use strata_hnsw::{ElementKind, Metric};

pub const META_BLOCK: u32 = 0;
pub const FORMAT_VERSION: u16 = 1;


/// A sealed segment's entry in the directory.
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

/// The metapage content: parameters and the segment directory.
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

    /// Writes the directory into a metapage's content area.
    pub fn encode(&self, c: &mut [u8]) {
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

    /// Reads a metapage's content area; None when it is not one this
    /// version wrote or its values are out of range.
    pub fn decode(c: &[u8]) -> Option<Meta> {
        if rd_u32(c, 0) != MAGIC || rd_u16(c, 4) != FORMAT_VERSION {
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
            m: rd_u16(c, 12),
            ef_construction: rd_u16(c, 14),
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


impl Meta {
    /// Reads the metapage from a whole page, checked against the relation's
    /// `nblocks` blocks.
    pub fn from_page(page: &[u8], nblocks: u32) -> Result<Meta, Corruption> {
        let meta = if is_kind(page, PageKind::Meta) { Meta::decode(content(page)) } else { None };
        let meta = meta.ok_or_else(|| Corruption::new("the metapage has a wrong magic number, version, parameters or segment counts"))?;
        meta.check_blocks(nblocks).map_err(Corruption)?;
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::{init_special, PAGE_SIZE};

    fn sample() -> Meta {
        Meta {
            kind: ElementKind::F16 as u8,
            metric: Metric::Cosine as u8,
            dims: 768,
            m: 16,
            ef_construction: 64,
            max_writing_size: 10_000,
            sealed: vec![
                Segment { start: 1, pages: 40, nodes: 900, deleted: 3, mapped: false },
                Segment { start: 60, pages: 70, nodes: 1500, deleted: 0, mapped: true },
            ],
            free: vec![FreeRange { start: 41, pages: 19, retired_xid: 700 }],
            log_free: vec![FreeRange { start: 140, pages: 1, retired_xid: 701 }],
            growing: vec![LogRange { head: 150, head_offset: 0, tail: 160, tail_used: 4000, entries: 10_000 }],
            log: LogRange { head: 161, head_offset: 32, tail: 170, tail_used: 96, entries: 17 },
        }
    }

    fn page_of(meta: &Meta) -> Vec<u8> {
        let mut page = vec![0u8; PAGE_SIZE];
        init_special(&mut page, PageKind::Meta);
        meta.encode(crate::page::content_mut(&mut page));
        page
    }

    #[test]
    fn every_field_round_trips_and_pools_stay_apart() {
        let meta = sample();
        let back = Meta::from_page(&page_of(&meta), 300).unwrap();
        assert_eq!(format!("{back:?}"), format!("{meta:?}"));
        assert_eq!((back.vector_len(), back.vector_bytes(), back.entry_bytes()), (768, 1536, 1552));
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let bad = |f: &dyn Fn(&mut Meta)| {
            let mut m = sample();
            f(&mut m);
            Meta::decode(content(&page_of(&m))).is_none()
        };
        assert!(bad(&|m| m.dims = 0));
        assert!(bad(&|m| m.m = 1));
        assert!(bad(&|m| m.ef_construction = 0));
        assert!(bad(&|m| m.sealed[0].deleted = 901));
        assert!(bad(&|m| m.log.tail_used = PAGE_PAYLOAD as u32 + 1));
        assert!(bad(&|m| m.metric = Metric::Jaccard as u8), "f16 has no Jaccard space");
        assert!(bad(&|m| m.kind |= KIND_SPARSE_INPUT), "only f32 columns are svectors");
        assert!(!bad(&|_| ()));
        let mut page = page_of(&sample());
        page[crate::page::CONTENT_OFFSET + 4] = 2; // format version
        assert!(Meta::from_page(&page, 300).is_err());
        let mut page = page_of(&sample());
        init_special(&mut page, PageKind::Log);
        assert!(Meta::from_page(&page, 300).unwrap_err().0.contains("wrong magic number"));
    }

    #[test]
    fn blocks_outside_the_relation_are_reported() {
        let meta = sample();
        assert!(meta.check_blocks(171).is_ok());
        assert!(meta.check_blocks(170).unwrap_err().contains("log segment from block 161 to 170"));
        let mut m = sample();
        m.sealed[0].start = 0;
        assert!(m.check_blocks(300).unwrap_err().contains("sealed segment at blocks 0..+40"));
        let mut m = sample();
        m.free[0].pages = 1000;
        assert!(m.check_blocks(300).unwrap_err().contains("free range at blocks 41..+1000"));
        let mut m = sample();
        m.log = LogRange { head: 0, entries: 3, ..m.log };
        assert!(m.check_blocks(300).is_err(), "an empty log holds no entries");
    }

    #[test]
    fn hand_over_moves_a_nonempty_writing_segment_once() {
        let mut m = sample();
        assert!(m.hand_over_writing());
        assert_eq!((m.growing.len(), m.log), (2, LogRange::default()));
        assert!(!m.hand_over_writing());
        m.log.entries = 1;
        m.growing = vec![LogRange::default(); MAX_GROWING];
        assert!(!m.hand_over_writing(), "the directory is full");
    }
}
