//! Streaming search: an iterator over neighbours in approximately increasing
//! distance that can be pulled until every live node has been returned.
//!
//! # Algorithm
//!
//! The state is a visited bitmap, the *frontier* (a min-heap of every
//! discovered node not yet expanded) and a *backlog* (a min-heap of
//! discovered live nodes not yet returned). Results are produced in batches:
//!
//! 1. A batch starts with up to `ef` of the best backlog entries as its
//!    working set `W` (at most `ef`, worst on top).
//! 2. While the frontier's best node is closer than `W`'s worst (or `W` has
//!    fewer than `ef` entries), it is expanded: its unvisited layer-0
//!    neighbours are measured, pushed on the frontier and, if live, into `W`;
//!    entries pushed out of `W` go to the backlog.
//! 3. `W` is returned in ascending order.
//!
//! The first batch, after the usual greedy descent through the upper layers,
//! is exactly the ef-bounded HNSW search; later batches continue from where
//! it stopped ("lazy expansion of the remaining frontier"), each with the
//! same ef of look-ahead. When the frontier empties while nodes remain
//! unvisited (a graph that is not connected, e.g. after many deletes), the
//! lowest unvisited id is used as a new seed, so pulling long enough returns
//! every live node exactly once. Every node is measured at most once (the
//! visited bitmap), which is why no id is ever returned twice.
//!
//! Cost: `len / 8` bytes of bitmap (allocated zeroed, which the OS provides
//! lazily), plus 8 bytes per discovered node in the heaps. Nothing is done
//! ahead of a `next()` beyond the current batch, so stopping early is cheap.

use std::collections::BinaryHeap;

use crate::search::{descend, Far, GraphView, Near, Neighbour};
use crate::space::{prepared_query, Space};

/// Iterator of [`Neighbour`]s, see the module documentation.
pub struct StreamingSearch<G: GraphView, S: Space<Elem = G::Elem>> {
    g: G,
    query: Vec<S::Elem>,
    ef: usize,
    visited: Vec<u64>,
    frontier: BinaryHeap<Near>,
    backlog: BinaryHeap<Near>,
    /// The current batch, descending (pop yields the nearest).
    batch: Vec<Neighbour>,
    started: bool,
    /// Lowest id that may still be unvisited (for reseeding).
    seed_cursor: u32,
    nbrs: Vec<u32>,
    returned: u64,
    measured: u64,
}

impl<G: GraphView, S: Space<Elem = G::Elem>> StreamingSearch<G, S> {
    /// Starts a streaming search with look-ahead `ef` (at least 1). Nothing
    /// is read from the graph until the first `next()`.
    pub fn new(g: G, query: &[G::Elem], ef: usize) -> Self {
        assert_eq!(query.len(), g.vector_len(), "query has the wrong length");
        let query = prepared_query::<S>(query).into_owned();
        let words = (g.len() as usize).div_ceil(64);
        StreamingSearch {
            g,
            query,
            ef: ef.max(1),
            visited: vec![0u64; words],
            frontier: BinaryHeap::new(),
            backlog: BinaryHeap::new(),
            batch: Vec::new(),
            started: false,
            seed_cursor: 0,
            nbrs: Vec::new(),
            returned: 0,
            measured: 0,
        }
    }

    /// The graph searched (e.g. to map a returned id to its payload).
    pub fn graph(&self) -> &G {
        &self.g
    }

    /// Number of neighbours returned so far.
    pub fn returned(&self) -> u64 {
        self.returned
    }

    /// Number of nodes whose distance has been computed so far.
    pub fn nodes_measured(&self) -> u64 {
        self.measured
    }

    #[inline]
    fn visit(&mut self, id: u32) -> bool {
        let (w, b) = ((id / 64) as usize, 1u64 << (id % 64));
        if self.visited[w] & b != 0 {
            false
        } else {
            self.visited[w] |= b;
            true
        }
    }

    /// Measures an unvisited node and records it: frontier always, working
    /// set (or backlog) when live.
    fn discover(&mut self, id: u32, w: &mut BinaryHeap<Far>) {
        let q = &self.query;
        let (d, del) = self.g.with_node(id, |v, del| (S::distance(q, v), del));
        self.measured += 1;
        self.frontier.push(Near(d, id));
        if !del {
            w.push(Far(d, id));
            if w.len() > self.ef {
                let Far(d, id) = w.pop().unwrap();
                self.backlog.push(Near(d, id));
            }
        }
    }

    /// Seeds the lowest unvisited node; false when every node is visited.
    fn reseed(&mut self, w: &mut BinaryHeap<Far>) -> bool {
        let n = self.g.len();
        while self.seed_cursor < n {
            let id = self.seed_cursor;
            self.seed_cursor += 1;
            if self.visit(id) {
                self.discover(id, w);
                return true;
            }
        }
        false
    }

    fn next_batch(&mut self) {
        let mut w: BinaryHeap<Far> = BinaryHeap::with_capacity(self.ef + 1);
        if !self.started {
            self.started = true;
            if let Some((ep, top)) = self.g.entry_point() {
                let (cur, _) = descend::<G, S>(&self.g, &self.query, ep, top, 0, &mut self.nbrs);
                self.visit(cur);
                self.discover(cur, &mut w);
            }
        }
        while w.len() < self.ef {
            match self.backlog.pop() {
                Some(Near(d, id)) => w.push(Far(d, id)),
                None => break,
            }
        }
        let mut nbrs = std::mem::take(&mut self.nbrs);
        loop {
            let Some(&Near(cd, c)) = self.frontier.peek() else {
                if !w.is_empty() || !self.reseed(&mut w) {
                    break;
                }
                continue;
            };
            if w.len() >= self.ef && cd > w.peek().map_or(f32::INFINITY, |f| f.0) {
                break;
            }
            self.frontier.pop();
            self.g.neighbours(c, 0, &mut nbrs);
            for i in 0..nbrs.len() {
                let n = nbrs[i];
                if let Some(&next) = nbrs.get(i + 1) {
                    self.g.prefetch(next);
                }
                if self.visit(n) {
                    self.discover(n, &mut w);
                }
            }
        }
        self.nbrs = nbrs;
        // into_sorted_vec is ascending; reverse so pop() yields the nearest.
        self.batch = w
            .into_sorted_vec()
            .into_iter()
            .rev()
            .map(|Far(d, id)| Neighbour { id, distance: d })
            .collect();
    }
}

impl<G: GraphView, S: Space<Elem = G::Elem>> Iterator for StreamingSearch<G, S> {
    type Item = Neighbour;
    fn next(&mut self) -> Option<Neighbour> {
        if self.batch.is_empty() {
            self.next_batch();
        }
        let r = self.batch.pop();
        if r.is_some() {
            self.returned += 1;
        }
        r
    }
}
