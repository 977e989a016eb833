//! Free space: page ranges of retired segments and when they may be reused.
//!
//! A merge retires the pages of the segments it replaced, tagging them with
//! the next transaction id at its swap. A page is reused only when that id
//! precedes every running snapshot's xmin, so no scan that read the old
//! directory sees the page overwritten. Sealed pages go to the merges' pool
//! (`Meta::free`), log pages to the inserts' pool (`Meta::log_free`).

use crate::meta::{FreeRange, MAX_FREE};

/// PostgreSQL's TransactionIdPrecedes for normal transaction ids (modulo 2^32).
pub fn xid_precedes(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The 64-bit form of `xid`, which is at or before `next_full` (the next
/// full transaction id) by less than 2^31.
pub fn full_xid_before_next(next_full: u64, xid: u32) -> u64 {
    next_full.saturating_sub((next_full as u32).wrapping_sub(xid) as u64)
}

/// Adds `pages` pages from `start`, retired at `xid`, to `pool`, coalescing
/// neighbouring ranges (which keep the newer retirement id).
pub fn add_free(pool: &mut Vec<FreeRange>, start: u32, pages: u32, xid: u32) {
    if pages == 0 {
        return;
    }
    pool.push(FreeRange { start, pages, retired_xid: xid });
    pool.sort_by_key(|r| r.start);
    let mut merged: Vec<FreeRange> = Vec::with_capacity(pool.len());
    for r in pool.drain(..) {
        match merged.last_mut() {
            Some(last) if last.start + last.pages == r.start => {
                last.pages += r.pages;
                if xid_precedes(last.retired_xid, r.retired_xid) {
                    last.retired_xid = r.retired_xid;
                }
            }
            _ => merged.push(r),
        }
    }
    *pool = merged;
}

/// Takes the lowest page of `pool` whose range was retired before
/// `horizon` (the oldest xmin any snapshot may still have), and returns it
/// with its range's retirement id.
pub fn take_reusable_page(pool: &mut Vec<FreeRange>, horizon: u32) -> Option<(u32, u32)> {
    let i = (0..pool.len()).filter(|&i| xid_precedes(pool[i].retired_xid, horizon)).min_by_key(|&i| pool[i].start)?;
    let (block, retired_xid) = (pool[i].start, pool[i].retired_xid);
    pool[i].start += 1;
    pool[i].pages -= 1;
    if pool[i].pages == 0 {
        pool.remove(i);
    }
    Some((block, retired_xid))
}

/// Drops the smallest ranges of either pool until both fit the metapage's
/// [`MAX_FREE`] slots; REINDEX reclaims what is forgotten.
pub fn trim_pools(free: &mut Vec<FreeRange>, log_free: &mut Vec<FreeRange>) {
    while free.len() + log_free.len() > MAX_FREE {
        let smallest = |pool: &Vec<FreeRange>| pool.iter().enumerate().min_by_key(|(_, r)| r.pages).map(|(i, r)| (r.pages, i));
        match (smallest(free), smallest(log_free)) {
            (Some((a, i)), Some((b, _))) if a <= b => free.remove(i),
            (_, Some((_, j))) => log_free.remove(j),
            (Some((_, i)), None) => free.remove(i),
            (None, None) => unreachable!("both pools are empty yet over the limit"),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xid_order_wraps_around() {
        assert!(xid_precedes(3, 4));
        assert!(!xid_precedes(4, 4));
        assert!(xid_precedes(u32::MAX - 5, 10));
        assert!(!xid_precedes(10, u32::MAX - 5));
    }

    #[test]
    fn full_xid_takes_the_epoch_of_the_next_id() {
        let epoch = 7u64 << 32;
        assert_eq!(full_xid_before_next(epoch | 1000, 990), epoch | 990);
        assert_eq!(full_xid_before_next(epoch | 1000, 1000), epoch | 1000);
        // Just after a wraparound: an xid from the previous epoch.
        assert_eq!(full_xid_before_next(epoch | 5, u32::MAX - 2), (6u64 << 32) | (u32::MAX - 2) as u64);
        // Epoch 0 never goes below zero.
        assert_eq!(full_xid_before_next(5, u32::MAX), 0);
    }

    #[test]
    fn ranges_coalesce_and_keep_the_newer_id() {
        let mut pool = Vec::new();
        add_free(&mut pool, 10, 5, 100);
        add_free(&mut pool, 20, 2, 90);
        add_free(&mut pool, 15, 5, 50);
        add_free(&mut pool, 30, 0, 1);
        assert_eq!(pool, vec![FreeRange { start: 10, pages: 12, retired_xid: 100 }]);
    }

    #[test]
    fn only_pages_retired_before_the_horizon_are_taken() {
        let mut pool = vec![FreeRange { start: 50, pages: 1, retired_xid: 10 }, FreeRange { start: 5, pages: 2, retired_xid: 30 }];
        assert_eq!(take_reusable_page(&mut pool, 20), Some((50, 10)));
        assert_eq!(take_reusable_page(&mut pool, 20), None);
        assert_eq!(take_reusable_page(&mut pool, 31), Some((5, 30)));
        assert_eq!(take_reusable_page(&mut pool, 31), Some((6, 30)));
        assert!(pool.is_empty());
    }

    #[test]
    fn trimming_forgets_the_smallest_ranges() {
        let r = |start, pages| FreeRange { start, pages, retired_xid: 1 };
        let mut free: Vec<FreeRange> = (0..200).map(|i| r(i * 10, 5)).collect();
        let mut log_free: Vec<FreeRange> = (0..100).map(|i| r(10_000 + i * 10, 1 + (i % 2))).collect();
        trim_pools(&mut free, &mut log_free);
        assert_eq!(free.len() + log_free.len(), MAX_FREE);
        assert_eq!(free.len(), 200, "the larger sealed ranges stay");
        assert_eq!(log_free.len(), 56, "44 of the 50 one-page ranges go");
        assert_eq!(log_free.iter().filter(|r| r.pages == 1).count(), 6);
    }
}
