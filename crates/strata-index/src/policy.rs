//! Merge policy: which segments a merge takes, and when a sealed segment has
//! so many deleted rows that it is rebuilt.

use crate::meta::{Meta, Segment};

/// A sealed segment whose deleted fraction passes this is rebuilt.
pub const DELETED_FRACTION_REBUILD: f64 = 0.2;

pub fn too_deleted(seg: &Segment) -> bool {
    seg.deleted as f64 > DELETED_FRACTION_REBUILD * seg.nodes as f64
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// Everything into one segment, including the writing segment.
    Full,
    /// Growing segments plus the sealed segments a size-tiered policy picks
    /// (each at most twice the size of everything smaller picked so far), and
    /// any segment with too many deletions. Each vector is merged O(log n)
    /// times, so the total work stays O(n log n).
    Tiered,
}

/// Which sealed segments a merge takes, by index into `meta.sealed`.
pub fn pick_sealed(meta: &Meta, scope: Scope) -> Vec<usize> {
    match scope {
        Scope::Full => (0..meta.sealed.len()).collect(),
        Scope::Tiered => {
            let mut acc: u64 = meta.growing.iter().map(|g| g.entries as u64).sum();
            let mut order: Vec<usize> = (0..meta.sealed.len()).collect();
            order.sort_by_key(|&i| meta.sealed[i].nodes);
            let mut picked = Vec::new();
            for i in order {
                let seg = &meta.sealed[i];
                let live = (seg.nodes - seg.deleted.min(seg.nodes)) as u64;
                if too_deleted(seg) || live <= 2 * acc.max(1) {
                    picked.push(i);
                    acc += live;
                }
            }
            if acc == 0 || (meta.growing.is_empty() && picked.len() <= 1 && !picked.iter().any(|&i| too_deleted(&meta.sealed[i]))) {
                return Vec::new();
            }
            picked.sort();
            picked
        }
    }
}

/// Whether a merge of `scope` has nothing to do, given what [`pick_sealed`]
/// picked.
pub fn nothing_to_merge(meta: &Meta, scope: Scope, picked: &[usize]) -> bool {
    match scope {
        Scope::Full => {
            meta.sealed.len() <= 1 && meta.growing.is_empty() && meta.log.entries == 0 && meta.sealed.iter().all(|s| s.deleted == 0)
        }
        Scope::Tiered => meta.growing.is_empty() && picked.is_empty(),
    }
}

/// Whether VACUUM should start a background merge: growing segments wait,
/// or a sealed segment has too many deletions.
pub fn merge_wanted(meta: &Meta) -> bool {
    !meta.growing.is_empty() || meta.sealed.iter().any(too_deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::LogRange;

    fn seg(nodes: u32, deleted: u32) -> Segment {
        Segment { start: 1, pages: 1, nodes, deleted, mapped: false }
    }
    fn growing(entries: u32) -> LogRange {
        LogRange { head: 1, head_offset: 0, tail: 1, tail_used: 0, entries }
    }

    #[test]
    fn tiered_takes_segments_up_to_twice_what_is_picked() {
        let meta = Meta { sealed: vec![seg(100_000, 0), seg(1_000, 0), seg(3_000, 0)], growing: vec![growing(1_000)], ..Meta::default() };
        // 1000 growing: takes 1000 (<= 2000), then 3000 (<= 4000), not 100000.
        assert_eq!(pick_sealed(&meta, Scope::Tiered), vec![1, 2]);
        assert_eq!(pick_sealed(&meta, Scope::Full), vec![0, 1, 2]);
    }

    #[test]
    fn a_segment_with_many_deletions_is_rebuilt_alone() {
        let meta = Meta { sealed: vec![seg(1000, 201), seg(50_000, 0)], ..Meta::default() };
        assert!(too_deleted(&meta.sealed[0]) && !too_deleted(&seg(1000, 200)));
        assert_eq!(pick_sealed(&meta, Scope::Tiered), vec![0]);
        assert!(merge_wanted(&meta));
        // Without deletions and growing segments there is nothing to do.
        let quiet = Meta { sealed: vec![seg(1000, 0), seg(50_000, 0)], ..Meta::default() };
        assert_eq!(pick_sealed(&quiet, Scope::Tiered), Vec::<usize>::new());
        assert!(nothing_to_merge(&quiet, Scope::Tiered, &[]));
        assert!(!merge_wanted(&quiet));
        assert!(!nothing_to_merge(&quiet, Scope::Full, &[0, 1]));
    }

    #[test]
    fn full_has_nothing_to_do_only_for_one_clean_segment() {
        let one = Meta { sealed: vec![seg(10, 0)], ..Meta::default() };
        assert!(nothing_to_merge(&one, Scope::Full, &[0]));
        let mut writing = one.clone();
        writing.log.entries = 1;
        assert!(!nothing_to_merge(&writing, Scope::Full, &[0]));
        assert!(!nothing_to_merge(&Meta { sealed: vec![seg(10, 1)], ..Meta::default() }, Scope::Full, &[0]));
    }
}
