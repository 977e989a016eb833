//! The entry log: the writing segment, and growing segments (former writing
//! segments, read-only, waiting to be merged).
//!
//! A log is a chain of log pages (linked by the special space's next block,
//! each with its used byte count) holding an append-only byte stream of
//! entries, from `LogRange::head` at `head_offset` to `tail` at `tail_used`:
//!
//! ```text
//! u64 heap TID (block << 16 | offset), u8 flags (bit 0: deleted), 7 bytes 0,
//! then the vector's bytes padded to 8
//! ```
//!
//! An entry header never straddles pages (a page with fewer than 16 bytes
//! left is closed); the vector bytes may continue on the next pages, so
//! vectors of any size (65535-dimensional f32 is 256 KiB) are stored.
//!
//! Appending is planned here ([`plan_append`], [`wal_groups`]) and carried
//! out by the access method, which holds the metapage's exclusive lock
//! throughout, so appends are serialised. The metapage update is the commit
//! point: it goes into the last WAL record, with the page holding the
//! entry's end, so a crash leaves either the whole entry or none.

use std::ops::Range;

use crate::meta::{LogRange, Meta};
use crate::page::{content, content_mut, is_kind, log_next, log_used, set_log_next, set_log_used, PageKind, PAGE_PAYLOAD};
use crate::{Corruption, Relation};

pub const ENTRY_HEADER: usize = 16;
pub const FLAG_DELETED: u8 = 1;
/// Offset of the flags byte within an entry header.
pub const FLAGS_AT: usize = 8;

/// One entry of a log, as [`read_log`] gives it.
pub struct LogEntry<'a> {
    /// Where the entry's header is, to flip its deleted flag.
    pub block: u32,
    pub offset: usize,
    pub tid: u64,
    pub deleted: bool,
    pub vector: &'a [u8],
}

/// An entry's bytes: header, vector, padding to `entry_bytes`.
pub fn encode_entry(tid: u64, vector: &[u8], entry_bytes: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entry_bytes);
    bytes.extend_from_slice(&tid.to_ne_bytes());
    bytes.extend_from_slice(&[0u8; 8]);
    bytes.extend_from_slice(vector);
    bytes.resize(entry_bytes, 0);
    bytes
}

/// Marks the entry whose header is at `offset` of a log page's content deleted.
pub fn set_entry_deleted(content: &mut [u8], offset: usize) {
    content[offset + FLAGS_AT] |= FLAG_DELETED;
}

/// Decodes the header at `pos`: (heap TID, deleted), or None when it is not
/// one (flags other than "deleted" and the padding are always zero, and a
/// heap TID's offset never is).
fn decode_header(c: &[u8], pos: usize) -> Option<(u64, bool)> {
    let tid = u64::from_ne_bytes(c[pos..pos + 8].try_into().unwrap());
    let flags = c[pos + FLAGS_AT];
    let valid = flags & !FLAG_DELETED == 0 && c[pos + 9..pos + 16].iter().all(|&b| b == 0) && tid & 0xffff != 0;
    valid.then_some((tid, flags & FLAG_DELETED != 0))
}

/// Calls `f` for every committed entry of the growing segments and the
/// writing segment of `meta`, oldest first.
pub fn read_all_logs<R: Relation>(rel: &R, meta: &Meta, mut f: impl FnMut(LogEntry<'_>)) -> Result<(), Corruption> {
    for range in meta.growing.iter().chain(std::iter::once(&meta.log)) {
        read_log(rel, meta, range, &mut f)?;
    }
    Ok(())
}

/// Calls `f` for every committed entry of one log. Entries past the
/// metapage's `tail_used` are not committed and are never read.
pub fn read_log<R: Relation>(rel: &R, meta: &Meta, range: &LogRange, mut f: impl FnMut(LogEntry<'_>)) -> Result<(), Corruption> {
    if range.head == 0 {
        return Ok(());
    }
    let entry = meta.entry_bytes();
    let vbytes = meta.vector_bytes();
    let mut vector = vec![0u8; vbytes];
    let mut page_copy = vec![0u8; PAGE_PAYLOAD];
    let mut block = range.head;
    // An entry whose vector continues on later pages: (header block, header
    // offset, tid, deleted, bytes of the vector read so far).
    let mut pending: Option<(u32, usize, u64, bool, usize)> = None;
    let mut seen = 0u64;
    let nblocks = rel.nblocks();
    let mut pages_read = 0u32;
    loop {
        pages_read += 1;
        if block == 0 || block >= nblocks || pages_read > nblocks {
            return Err(Corruption(format!(
                "writing segment's page chain reaches block {block} of {nblocks} after {pages_read} pages"
            )));
        }
        // The page is copied out so that `f` runs without a buffer lock.
        let (used, next) = rel.read(block, |page| {
            if !is_kind(page, PageKind::Log) {
                return Err(Corruption(format!("block {block} is not a writing-segment page")));
            }
            let used = if block == range.tail { range.tail_used } else { log_used(page) } as usize;
            if used > PAGE_PAYLOAD {
                return Err(Corruption(format!("writing-segment block {block} claims {used} bytes used")));
            }
            page_copy[..used].copy_from_slice(&content(page)[..used]);
            Ok((used, log_next(page)))
        })?;
        let mut pos = if block == range.head { range.head_offset as usize } else { 0 };
        if let Some((b, o, tid, deleted, filled)) = pending.take() {
            let take = (vbytes - filled).min(used);
            vector[filled..filled + take].copy_from_slice(&page_copy[..take]);
            pos = take.next_multiple_of(8).min(used);
            if filled + take == vbytes {
                f(LogEntry { block: b, offset: o, tid, deleted, vector: &vector });
                seen += 1;
            } else {
                pending = Some((b, o, tid, deleted, filled + take));
            }
        }
        while pending.is_none() && pos + ENTRY_HEADER <= used {
            let Some((tid, deleted)) = decode_header(&page_copy, pos) else {
                return Err(Corruption(format!("writing-segment block {block} has no valid entry header at offset {pos}")));
            };
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
            return Err(Corruption(format!("writing segment ends at block {block} before its tail {}", range.tail)));
        }
        block = next;
    }
    if pending.is_some() || seen != range.entries as u64 {
        return Err(Corruption(format!(
            "writing segment holds {seen} complete entries, the metapage says {}",
            range.entries
        )));
    }
    Ok(())
}

/// The blocks of a log from `head` up to, not including, `stop` (or through
/// `tail`), following next pointers. Bounded by the relation's size, so
/// damaged pointers cannot make it loop.
pub fn log_blocks<R: Relation>(rel: &R, head: u32, tail: u32, stop: u32) -> Result<Vec<u32>, Corruption> {
    let nblocks = rel.nblocks();
    let mut out = Vec::new();
    let mut block = head;
    while block != 0 && block != stop {
        if block >= nblocks || out.len() >= nblocks as usize {
            return Err(Corruption(format!("writing segment's page chain from block {head} reaches block {block} of {nblocks}")));
        }
        out.push(block);
        if block == tail {
            break;
        }
        block = next_block(rel, block)?;
    }
    Ok(out)
}

/// The next pointer of log page `block`.
pub fn next_block<R: Relation>(rel: &R, block: u32) -> Result<u32, Corruption> {
    rel.read(block, |page| {
        if is_kind(page, PageKind::Log) {
            Ok(log_next(page))
        } else {
            Err(Corruption(format!("block {block} is not a writing-segment page")))
        }
    })
}

/// One page an append writes, in chain order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPage {
    /// The writing segment's current tail (else a fresh page).
    pub existing: bool,
    /// Where in the page's content which bytes of the entry go; None for a
    /// full tail that only gets its next pointer.
    pub write: Option<(usize, Range<usize>)>,
}

/// Plans appending an entry of `entry_len` bytes to the writing segment
/// `log`: into its tail page if a header still fits there, else after
/// closing it, then on as many fresh pages as needed.
pub fn plan_append(log: &LogRange, entry_len: usize) -> Vec<PlannedPage> {
    let mut plan = Vec::new();
    let mut written = 0;
    if log.head != 0 {
        let used = log.tail_used as usize;
        if used + ENTRY_HEADER <= PAGE_PAYLOAD {
            let take = (PAGE_PAYLOAD - used).min(entry_len);
            plan.push(PlannedPage { existing: true, write: Some((used, 0..take)) });
            written = take;
        } else {
            plan.push(PlannedPage { existing: true, write: None });
        }
    }
    while written < entry_len {
        let take = PAGE_PAYLOAD.min(entry_len - written);
        plan.push(PlannedPage { existing: false, write: Some((0, written..written + take)) });
        written += take;
    }
    plan
}

/// Writes a planned page's part of `entry` into a whole log page (already
/// initialised as one if fresh) and links it to `next`, the block of the
/// following planned page.
pub fn fill_page(page: &mut [u8], planned: &PlannedPage, entry: &[u8], next: Option<u32>) {
    if let Some((at, bytes)) = &planned.write {
        content_mut(page)[*at..*at + bytes.len()].copy_from_slice(&entry[bytes.clone()]);
        set_log_used(page, (*at + bytes.len()) as u32);
    }
    if let Some(next) = next {
        set_log_next(page, next);
    }
}

/// Most buffers one generic WAL record may carry (MAX_GENERIC_XLOG_PAGES).
pub const MAX_RECORD_PAGES: usize = 4;

/// Splits `n` buffers into generic WAL records of at most
/// [`MAX_RECORD_PAGES`] buffers, keeping room in the last one for the
/// metapage, which commits the append.
pub fn wal_groups(n: usize) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < n {
        let remaining = n - i;
        let end = if remaining < MAX_RECORD_PAGES { n } else { i + (MAX_RECORD_PAGES).min(remaining - 1) };
        groups.push(i..end);
        i = end;
    }
    groups
}

impl Meta {
    /// Records an appended entry that ends in block `tail` at `tail_used`;
    /// `head` is where it starts (block, offset), used when the writing
    /// segment was empty. A full writing segment becomes a growing segment;
    /// returns whether that happened.
    pub fn commit_append(&mut self, head: (u32, u32), tail: u32, tail_used: u32) -> bool {
        if self.log.head == 0 {
            (self.log.head, self.log.head_offset) = head;
        }
        self.log.tail = tail;
        self.log.tail_used = tail_used;
        self.log.entries += 1;
        self.log.entries >= self.max_writing_size.max(1) && self.hand_over_writing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::PAGE_SIZE;
    use crate::MemRelation;

    fn meta(dims: u32) -> Meta {
        Meta { kind: strata_hnsw::ElementKind::F32 as u8, metric: strata_hnsw::Metric::L2 as u8, dims, m: 16, ef_construction: 64, max_writing_size: 1000, ..Meta::default() }
    }

    fn vector(dims: u32, seed: u32) -> Vec<u8> {
        (0..dims).flat_map(|i| (seed as f32 * 1000.0 + i as f32).to_ne_bytes()).collect()
    }

    #[test]
    fn entries_of_every_size_read_back_in_order() {
        // 3 dims: many per page; 2000: about one per page; 5000: each spans pages.
        for dims in [3u32, 2000, 2037, 5000] {
            let mut rel = MemRelation::default();
            rel.extend(); // the metapage's block
            let mut m = meta(dims);
            for i in 1..=40u32 {
                rel.append_entry(&mut m, ((i as u64) << 16) | 1, &vector(dims, i));
            }
            let mut got = Vec::new();
            read_all_logs(&rel, &m, |e| got.push((e.tid, e.vector.to_vec()))).unwrap();
            assert_eq!(got.len(), 40, "dims {dims}");
            for (i, (tid, v)) in got.iter().enumerate() {
                let i = i as u32 + 1;
                assert_eq!(*tid, ((i as u64) << 16) | 1);
                assert_eq!(v, &vector(dims, i), "dims {dims} entry {i}");
            }
        }
    }

    #[test]
    fn a_header_never_straddles_pages() {
        // 16-byte entries (0-dim vectors are impossible; 8 bytes of f32x2).
        let mut log = LogRange { head: 1, head_offset: 0, tail: 1, tail_used: (PAGE_PAYLOAD - 8) as u32, entries: 1 };
        let plan = plan_append(&log, 24);
        assert_eq!(plan[0], PlannedPage { existing: true, write: None });
        assert_eq!(plan[1], PlannedPage { existing: false, write: Some((0, 0..24)) });
        log.tail_used = (PAGE_PAYLOAD - 16) as u32;
        let plan = plan_append(&log, 24);
        assert_eq!(plan[0], PlannedPage { existing: true, write: Some((PAGE_PAYLOAD - 16, 0..16)) });
        assert_eq!(plan[1], PlannedPage { existing: false, write: Some((0, 16..24)) });
    }

    #[test]
    fn wal_groups_leave_room_for_the_metapage() {
        for n in 1..40 {
            let groups = wal_groups(n);
            assert_eq!(groups.first().unwrap().start, 0);
            assert_eq!(groups.last().unwrap().end, n);
            assert!(groups.windows(2).all(|w| w[0].end == w[1].start));
            assert!(groups.iter().all(|g| !g.is_empty() && g.len() <= MAX_RECORD_PAGES));
            assert!(groups.last().unwrap().len() < MAX_RECORD_PAGES, "n = {n}");
        }
    }

    #[test]
    fn uncommitted_bytes_are_never_read_and_damage_is_reported() {
        let mut rel = MemRelation::default();
        rel.extend();
        let mut m = meta(3);
        for i in 1..=5u32 {
            rel.append_entry(&mut m, ((i as u64) << 16) | 2, &vector(3, i));
        }
        // An append that wrote its page but never committed its metapage.
        let before = m.clone();
        rel.append_entry(&mut m, (6 << 16) | 2, &vector(3, 6));
        let mut n = 0;
        read_all_logs(&rel, &before, |_| n += 1).unwrap();
        assert_eq!(n, 5);

        let mut bad = rel.clone();
        bad.pages[1][24 + 32 + 9] = 1; // padding of the second header
        let e = read_all_logs(&bad, &m, |_| {}).unwrap_err();
        assert!(e.0.contains("no valid entry header at offset 32"), "{e}");

        let mut wrong_count = m.clone();
        wrong_count.log.entries = 7;
        assert!(read_all_logs(&rel, &wrong_count, |_| {}).unwrap_err().0.contains("the metapage says 7"));

        let mut bad = rel.clone();
        bad.pages[1][PAGE_SIZE - 4] ^= 1; // magic
        assert!(read_all_logs(&bad, &m, |_| {}).unwrap_err().0.contains("not a writing-segment page"));
    }

    #[test]
    fn a_looping_chain_is_reported_not_followed_forever() {
        let mut rel = MemRelation::default();
        rel.extend();
        let mut m = meta(2000);
        for i in 1..=4u32 {
            rel.append_entry(&mut m, ((i as u64) << 16) | 1, &vector(2000, i));
        }
        // Point the second page back at the first: the tail is never reached.
        set_log_next(&mut rel.pages[2], 1);
        // The reader stops at the first thing out of place (here the
        // entry stream no longer parses); the chain walk at the length bound.
        assert!(read_all_logs(&rel, &m, |_| {}).is_err());
        let e = log_blocks(&rel, 1, m.log.tail, 0).unwrap_err();
        assert!(e.0.contains("page chain from block 1 reaches block"), "{e}");
    }
}
