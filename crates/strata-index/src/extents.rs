//! Where a new segment's pages go: which free page runs it takes.
//!
//! A segment written into one contiguous run needs a free run at least as
//! large as itself, and a merged segment is always larger than each of the
//! segments it replaces, so under sustained inserts such runs rarely exist
//! and every merge would extend the index. Segments may therefore be spread
//! over several extents, listed on a map page; a single run is still
//! preferred, since it needs no map.
//!
//! Extent-map page content: u32 extent count, u32 zero, then (first block,
//! pages) u32 pairs in segment page order.

use crate::meta::Segment;
use crate::page::{content, is_kind, rd_u32, wr_u32, PageKind, PAGE_PAYLOAD};
use crate::{Corruption, Relation};

/// Extents an extent-map page can list.
pub const MAX_EXTENTS: usize = (PAGE_PAYLOAD - 8) / 8;

/// A run of free pages, `reusable` once no running snapshot can read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreeRun {
    pub start: u32,
    pub pages: u32,
    pub reusable: bool,
}

/// How a segment of `pages` pages is placed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// (index into the free runs, pages taken from that run's start), in
    /// the order the segment's pages fill them.
    pub taken: Vec<(usize, u32)>,
    /// Pages to add by extending the relation, after the taken ones.
    pub extend: u32,
    /// Whether the pages span more than one extent, so the first taken page
    /// is an extent map rather than segment page 0 (`taken` and `extend`
    /// then add up to `pages + 1`).
    pub mapped: bool,
}

impl Placement {
    /// Extents the placement makes (counting an extension as one).
    pub fn extent_count(&self) -> usize {
        self.taken.len() + (self.extend > 0) as usize
    }
}

/// Plans the placement of `pages` pages over `free`, in at most `max_extents`
/// extents (an extension counts as one):
/// - the smallest reusable run that holds them all (best fit, no map);
/// - else the largest reusable runs, whole, then part of one, plus a map page,
///   and the relation extended for whatever they do not cover;
/// - extending alone when nothing is reusable.
pub fn plan(free: &[FreeRun], pages: u32, max_extents: usize) -> Placement {
    assert!(max_extents >= 2, "a mapped placement needs room for two extents");
    if pages == 0 {
        return Placement::default();
    }
    let best_fit = (0..free.len()).filter(|&i| free[i].reusable && free[i].pages >= pages).min_by_key(|&i| (free[i].pages, free[i].start));
    if let Some(i) = best_fit {
        return Placement { taken: vec![(i, pages)], extend: 0, mapped: false };
    }
    let mut by_size: Vec<usize> = (0..free.len()).filter(|&i| free[i].reusable && free[i].pages > 0).collect();
    if by_size.is_empty() {
        return Placement { taken: Vec::new(), extend: pages, mapped: false };
    }
    by_size.sort_by_key(|&i| (std::cmp::Reverse(free[i].pages), free[i].start));
    let needed = pages + 1; // with the map page
    let mut taken = Vec::new();
    let mut covered = 0u32;
    for i in by_size {
        // Keep one extent for the extension unless the runs cover it all.
        if covered == needed || taken.len() + 1 >= max_extents {
            break;
        }
        let take = free[i].pages.min(needed - covered);
        taken.push((i, take));
        covered += take;
    }
    Placement { taken, extend: needed - covered, mapped: true }
}

/// Maps segment page numbers to blocks over a segment's extents.
#[derive(Clone, Debug)]
pub struct ExtentMap {
    /// (first block, pages) per extent, in segment page order.
    extents: Vec<(u32, u32)>,
    /// Segment page number each extent ends before (running sums).
    ends: Vec<u32>,
}

impl ExtentMap {
    pub fn new(extents: Vec<(u32, u32)>) -> ExtentMap {
        let mut end = 0u32;
        let ends = extents
            .iter()
            .map(|&(_, n)| {
                end += n;
                end
            })
            .collect();
        ExtentMap { extents, ends }
    }

    pub fn extents(&self) -> &[(u32, u32)] {
        &self.extents
    }

    /// Pages covered.
    pub fn pages(&self) -> u32 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The block holding segment page `page`, if the extents cover it.
    #[inline]
    pub fn block_of(&self, page: u32) -> Option<u32> {
        if let [(start, n)] = self.extents[..] {
            return (page < n).then(|| start + page);
        }
        let i = self.ends.partition_point(|&e| e <= page);
        let &(start, _) = self.extents.get(i)?;
        let before = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(start + (page - before))
    }
}

/// Writes `extents` into an extent-map page's content area.
pub fn write_map(c: &mut [u8], extents: &[(u32, u32)]) {
    assert!(extents.len() <= MAX_EXTENTS, "{} extents do not fit a map page", extents.len());
    wr_u32(c, 0, extents.len() as u32);
    wr_u32(c, 4, 0);
    for (i, &(s, n)) in extents.iter().enumerate() {
        wr_u32(c, 8 + 8 * i, s);
        wr_u32(c, 12 + 8 * i, n);
    }
}

/// Reads the extent map of the mapped segment `seg` from its map page (a
/// whole page), checked against the relation's `nblocks` blocks and the
/// segment's page count.
pub fn read_map(page: &[u8], seg: &Segment, nblocks: u32) -> Result<ExtentMap, Corruption> {
    let bad = |what: String| Err(Corruption(format!("sealed segment at block {}: {what}", seg.start)));
    if !is_kind(page, PageKind::Extents) {
        return bad("its first block is not an extent map".into());
    }
    let c = content(page);
    let count = rd_u32(c, 0) as usize;
    if count == 0 || count > MAX_EXTENTS {
        return bad(format!("its extent map lists {count} extents (1 to {MAX_EXTENTS} fit)"));
    }
    let extents: Vec<(u32, u32)> = (0..count).map(|i| (rd_u32(c, 8 + 8 * i), rd_u32(c, 12 + 8 * i))).collect();
    if let Some(&(s, n)) = extents.iter().find(|&&(s, n)| s == 0 || n == 0 || s as u64 + n as u64 > nblocks as u64) {
        return bad(format!("its extent map lists blocks {s}..+{n}, outside the index's {nblocks} blocks"));
    }
    let map = ExtentMap::new(extents);
    if map.pages() != seg.pages {
        return bad(format!("its extents hold {} pages, the metapage says {}", map.pages(), seg.pages));
    }
    Ok(map)
}

/// The extents of sealed segment `seg`: read from its map page if it is
/// mapped, else its one run.
pub fn segment_extents<R: Relation>(rel: &R, seg: &Segment) -> Result<ExtentMap, Corruption> {
    if seg.mapped {
        let nblocks = rel.nblocks();
        rel.read(seg.start, |page| read_map(page, seg, nblocks))
    } else {
        Ok(ExtentMap::new(vec![(seg.start, seg.pages)]))
    }
}

/// Every page run `seg` occupies, its map page included (what a merge frees).
pub fn segment_runs<R: Relation>(rel: &R, seg: &Segment) -> Result<Vec<(u32, u32)>, Corruption> {
    if !seg.mapped {
        return Ok(vec![(seg.start, seg.pages)]);
    }
    let map = segment_extents(rel, seg)?;
    Ok(std::iter::once((seg.start, 1)).chain(map.extents().iter().copied()).collect())
}

/// Fills a whole page as an extent-map page, for tests (the access method
/// initialises the page header itself).
#[cfg(test)]
pub(crate) fn map_page(extents: &[(u32, u32)]) -> Vec<u8> {
    let mut page = vec![0u8; crate::page::PAGE_SIZE];
    crate::page::init_special(&mut page, PageKind::Extents);
    write_map(crate::page::content_mut(&mut page), extents);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(start: u32, pages: u32) -> FreeRun {
        FreeRun { start, pages, reusable: true }
    }

    #[test]
    fn prefers_the_smallest_single_run_that_fits() {
        let free = [run(10, 50), run(100, 20), run(200, 30), FreeRun { start: 300, pages: 25, reusable: false }];
        let p = plan(&free, 25, 64);
        assert_eq!(p, Placement { taken: vec![(2, 25)], extend: 0, mapped: false });
    }

    #[test]
    fn spreads_over_the_largest_runs_with_a_map_page() {
        let free = [run(10, 5), run(100, 20), run(200, 30), FreeRun { start: 300, pages: 99, reusable: false }];
        let p = plan(&free, 40, 64);
        // 41 pages with the map: all of the 30-page run, 11 of the 20-page one.
        assert_eq!(p, Placement { taken: vec![(2, 30), (1, 11)], extend: 0, mapped: true });
        let p = plan(&free, 60, 64);
        assert_eq!(p, Placement { taken: vec![(2, 30), (1, 20), (0, 5)], extend: 6, mapped: true });
        assert_eq!(p.extent_count(), 4);
    }

    #[test]
    fn extends_when_nothing_is_reusable_and_respects_the_extent_limit() {
        let free = [FreeRun { start: 1, pages: 500, reusable: false }];
        assert_eq!(plan(&free, 40, 64), Placement { taken: vec![], extend: 40, mapped: false });
        let many: Vec<FreeRun> = (0..10).map(|i| run(i * 10, 2)).collect();
        let p = plan(&many, 100, 4);
        assert_eq!(p.extent_count(), 4);
        assert_eq!(p.taken.iter().map(|t| t.1).sum::<u32>() + p.extend, 101);
    }

    #[test]
    fn block_of_walks_the_extents_in_order() {
        let map = ExtentMap::new(vec![(50, 3), (10, 2), (90, 4)]);
        let blocks: Vec<Option<u32>> = (0..10).map(|p| map.block_of(p)).collect();
        assert_eq!(
            blocks,
            [Some(50), Some(51), Some(52), Some(10), Some(11), Some(90), Some(91), Some(92), Some(93), None]
        );
        assert_eq!(map.pages(), 9);
        let single = ExtentMap::new(vec![(7, 3)]);
        assert_eq!((single.block_of(2), single.block_of(3)), (Some(9), None));
    }

    /// Every page of every placement lands in a distinct block that was
    /// free or newly added, whatever the runs look like.
    #[test]
    fn placements_never_overlap_or_leave_the_free_runs() {
        let mut seed = 12345u64;
        let mut next = |m: u32| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) % m as u64) as u32
        };
        for _ in 0..500 {
            let mut free = Vec::new();
            let mut at = 1;
            for _ in 0..next(12) {
                at += next(20);
                let pages = 1 + next(30);
                free.push(FreeRun { start: at, pages, reusable: next(4) != 0 });
                at += pages;
            }
            let nblocks = at + 1;
            let pages = 1 + next(120);
            let p = plan(&free, pages, 2 + next(6) as usize);
            let mut blocks = Vec::new();
            for &(i, n) in &p.taken {
                assert!(free[i].reusable && n <= free[i].pages && n > 0);
                blocks.extend(free[i].start..free[i].start + n);
            }
            blocks.extend(nblocks..nblocks + p.extend);
            assert_eq!(blocks.len() as u32, pages + p.mapped as u32);
            let mut sorted = blocks.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), blocks.len(), "a block placed twice");
            assert_eq!(p.mapped, p.extent_count() > 1);
        }
    }

    #[test]
    fn map_pages_round_trip_and_are_checked() {
        let seg = Segment { start: 3, pages: 7, nodes: 10, deleted: 0, mapped: true };
        let page = map_page(&[(10, 4), (20, 3)]);
        let map = read_map(&page, &seg, 30).unwrap();
        assert_eq!(map.extents(), &[(10, 4), (20, 3)]);
        assert!(read_map(&page, &seg, 22).unwrap_err().0.contains("outside the index's 22 blocks"));
        let short = Segment { pages: 8, ..seg };
        assert!(read_map(&page, &short, 30).unwrap_err().0.contains("the metapage says 8"));
        assert!(read_map(&map_page(&[]), &Segment { pages: 0, ..seg }, 30).unwrap_err().0.contains("lists 0 extents"));
        let mut rel = crate::MemRelation::default();
        for _ in 0..30 {
            rel.extend();
        }
        rel.pages[3] = page;
        assert_eq!(segment_runs(&rel, &seg).unwrap(), vec![(3, 1), (10, 4), (20, 3)]);
        let unmapped = Segment { mapped: false, ..seg };
        assert_eq!(segment_runs(&rel, &unmapped).unwrap(), vec![(3, 7)]);
    }
}
