//! Which rows an index scan may return, in stream order: each heap tuple at
//! most once and, in strict order, never one nearer than a row already
//! returned.
//!
//! A graph search streams candidates in approximately increasing distance; a
//! look-ahead window corrects most of the disorder but not all of it. Strict
//! order drops the late arrivals instead of returning them out of place (as
//! pgvector's `hnsw.iterative_scan = strict_order` does): the rows returned
//! are then non-decreasing in distance, at the price of the dropped rows'
//! recall. Either way the sequence is a deterministic function of the input
//! stream, so reading further only appends rows.

use std::collections::HashSet;

#[derive(Debug, Default)]
pub struct ReturnFilter {
    strict: bool,
    last_distance: Option<f32>,
    seen: HashSet<u64>,
}

impl ReturnFilter {
    pub fn new(strict: bool) -> Self {
        ReturnFilter { strict, last_distance: None, seen: HashSet::new() }
    }

    /// Whether the candidate `(distance, id)`, next in stream order, is
    /// returned; a returned candidate is remembered.
    pub fn admit(&mut self, distance: f32, id: u64) -> bool {
        if self.strict {
            if let Some(last) = self.last_distance {
                // total_cmp: a NaN distance (which the kernels never give)
                // would sort after everything rather than break the order.
                if distance.total_cmp(&last).is_lt() {
                    return false;
                }
            }
        }
        if !self.seen.insert(id) {
            return false;
        }
        if self.last_distance.is_none_or(|last| distance.total_cmp(&last).is_gt()) {
            self.last_distance = Some(distance);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(strict: bool, stream: &[(f32, u64)]) -> Vec<(f32, u64)> {
        let mut f = ReturnFilter::new(strict);
        stream.iter().copied().filter(|&(d, id)| f.admit(d, id)).collect()
    }

    const STREAM: &[(f32, u64)] = &[(0.1, 1), (0.3, 2), (0.2, 3), (0.3, 4), (0.3, 2), (0.5, 5), (0.4, 6), (0.5, 7)];

    #[test]
    fn relaxed_keeps_order_and_drops_only_repeats() {
        assert_eq!(run(false, STREAM), vec![(0.1, 1), (0.3, 2), (0.2, 3), (0.3, 4), (0.5, 5), (0.4, 6), (0.5, 7)]);
    }

    #[test]
    fn strict_is_non_decreasing_and_keeps_ties() {
        let out = run(true, STREAM);
        assert_eq!(out, vec![(0.1, 1), (0.3, 2), (0.3, 4), (0.5, 5), (0.5, 7)]);
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn reading_further_only_appends() {
        // The prefix of the output for a prefix of the stream is the same
        // whatever comes later: pages read by separate scans agree.
        for strict in [false, true] {
            let full = run(strict, STREAM);
            for n in 0..=STREAM.len() {
                let part = run(strict, &STREAM[..n]);
                assert_eq!(part[..], full[..part.len()]);
            }
        }
    }

    #[test]
    fn a_repeated_id_is_dropped_even_when_farther() {
        assert_eq!(run(true, &[(0.1, 9), (0.2, 9), (0.3, 8)]), vec![(0.1, 9), (0.3, 8)]);
    }
}
