//! One scan over all segments: the sealed segments' candidate streams
//! (approximately increasing distance) and the log's exact candidates,
//! merged by distance.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A candidate: distance and heap TID, ordered by distance then TID.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate(pub f32, pub u64);
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// A segment's candidates in approximately increasing distance.
pub trait CandidateStream {
    fn next_candidate(&mut self) -> Option<Candidate>;
}

impl<I: Iterator<Item = Candidate>> CandidateStream for I {
    fn next_candidate(&mut self) -> Option<Candidate> {
        self.next()
    }
}

/// The merge of every segment's candidates.
///
/// It keeps a look-ahead window of the sealed streams' candidates, always
/// taking from the stream whose next candidate is nearest, so that their
/// approximate orders are corrected within that window; the log's exact
/// candidates are merged in as they come.
#[derive(Default)]
pub struct MergedStream<'a> {
    /// Each sealed stream with its next candidate.
    sealed: Vec<(Box<dyn CandidateStream + 'a>, Candidate)>,
    /// The look-ahead window over the sealed streams, nearest first.
    pending: BinaryHeap<Reverse<Candidate>>,
    /// The log's candidates, farthest first (popped from the end).
    exact: Vec<Candidate>,
}

impl<'a> MergedStream<'a> {
    pub fn new() -> Self {
        MergedStream { sealed: Vec::new(), pending: BinaryHeap::new(), exact: Vec::new() }
    }

    /// Adds a sealed segment's stream (an empty one is dropped at once).
    pub fn add_stream(&mut self, mut stream: Box<dyn CandidateStream + 'a>) {
        if let Some(first) = stream.next_candidate() {
            self.sealed.push((stream, first));
        }
    }

    /// Adds the log's candidates, in any order.
    pub fn add_exact(&mut self, candidates: impl IntoIterator<Item = Candidate>) {
        self.exact.extend(candidates);
        self.exact.sort_unstable_by(|a, b| b.cmp(a));
    }

    /// The next candidate, with a look-ahead window of `lookahead` sealed candidates.
    pub fn next(&mut self, lookahead: usize) -> Option<Candidate> {
        while self.pending.len() < lookahead && !self.sealed.is_empty() {
            let (i, _) = self.sealed.iter().enumerate().min_by(|a, b| a.1 .1.cmp(&b.1 .1)).unwrap();
            self.pending.push(Reverse(self.sealed[i].1));
            match self.sealed[i].0.next_candidate() {
                Some(c) => self.sealed[i].1 = c,
                None => {
                    self.sealed.swap_remove(i);
                }
            }
        }
        let from_sealed = self.pending.peek().map(|r| r.0);
        let from_exact = self.exact.last().copied();
        match (from_sealed, from_exact) {
            (Some(a), Some(b)) if b < a => self.exact.pop(),
            (Some(_), _) => self.pending.pop().map(|r| r.0),
            (None, Some(_)) => self.exact.pop(),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(d: f32, t: u64) -> Candidate {
        Candidate(d, t)
    }

    #[test]
    fn the_window_corrects_disorder_within_its_size() {
        // One stream slightly out of order, another in order, and the log.
        let a = vec![c(1.0, 1), c(0.5, 2), c(3.0, 3), c(2.5, 4)];
        let b = vec![c(0.7, 10), c(2.0, 11)];
        let mut m = MergedStream::new();
        m.add_stream(Box::new(a.into_iter()));
        m.add_stream(Box::new(b.into_iter()));
        m.add_stream(Box::new(Vec::new().into_iter()));
        m.add_exact([c(1.5, 20), c(0.1, 21)]);
        let got: Vec<u64> = std::iter::from_fn(|| m.next(4)).map(|x| x.1).collect();
        assert_eq!(got, vec![21, 2, 10, 1, 20, 11, 4, 3]);
    }

    #[test]
    fn a_window_of_one_follows_the_streams_as_they_come() {
        let mut m = MergedStream::new();
        m.add_stream(Box::new(vec![c(1.0, 1), c(0.5, 2)].into_iter()));
        let got: Vec<u64> = std::iter::from_fn(|| m.next(1)).map(|x| x.1).collect();
        assert_eq!(got, vec![1, 2]);
    }

    #[test]
    fn ties_come_out_by_tid() {
        let mut m = MergedStream::new();
        m.add_stream(Box::new(vec![c(1.0, 9), c(1.0, 3)].into_iter()));
        m.add_exact([c(1.0, 5)]);
        let got: Vec<u64> = std::iter::from_fn(|| m.next(8)).map(|x| x.1).collect();
        assert_eq!(got, vec![3, 5, 9]);
    }
}
