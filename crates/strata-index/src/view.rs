//! Which segments a scan planned from, so that a failed page check on a hot
//! standby can tell corruption from pages that replay reused under the scan.

use crate::meta::Meta;

/// The segments of a directory that a scan reads: sealed segments (start,
/// pages, nodes, mapped) and logs (head, head offset).
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentsView {
    sealed: Vec<(u32, u32, u32, bool)>,
    logs: Vec<(u32, u32)>,
}

impl SegmentsView {
    pub fn of(meta: &Meta) -> SegmentsView {
        SegmentsView {
            sealed: meta.sealed.iter().map(|s| (s.start, s.pages, s.nodes, s.mapped)).collect(),
            logs: meta.growing.iter().chain(std::iter::once(&meta.log)).filter(|r| r.head != 0).map(|r| (r.head, r.head_offset)).collect(),
        }
    }

    /// Whether a segment of this view has left `now`'s directory, so its
    /// pages may have been freed and reused. (VACUUM's deletion counts and
    /// appends to a log change no page a scan relies on.)
    pub fn retired_in(&self, now: &Meta) -> bool {
        let now = SegmentsView::of(now);
        self.sealed.iter().any(|s| !now.sealed.contains(s)) || self.logs.iter().any(|l| !now.logs.contains(l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{LogRange, Segment};

    #[test]
    fn only_a_segment_leaving_the_directory_retires_the_view() {
        let seg = Segment { start: 5, pages: 3, nodes: 40, deleted: 0, mapped: false };
        let log = LogRange { head: 9, head_offset: 0, tail: 9, tail_used: 64, entries: 2 };
        let meta = Meta { sealed: vec![seg], log, ..Meta::default() };
        let view = SegmentsView::of(&meta);
        let mut later = meta.clone();
        later.sealed[0].deleted = 4;
        later.log.entries = 9;
        later.log.tail = 12;
        assert!(!view.retired_in(&later), "deletions and appends change nothing a scan relies on");
        later.growing.push(later.log);
        later.log = LogRange::default();
        assert!(!view.retired_in(&later), "a hand-over keeps the log's pages");
        later.sealed.clear();
        assert!(view.retired_in(&later));
        let mut merged_log = meta.clone();
        merged_log.log = LogRange { head: 9, head_offset: 64, ..log };
        assert!(view.retired_in(&merged_log), "a merge cut the log's head off");
    }
}
