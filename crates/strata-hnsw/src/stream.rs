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
//! lazily), plus 16 bytes per discovered node in the heaps. Nothing is done
//! ahead of a `next()` beyond the current batch, so stopping early is cheap.
//!
//! # Several graphs at once
//!
//! [`SegmentedSearch`] runs this over several graphs (an index's sealed
//! segments) as if they were one graph made of disconnected parts: each
//! graph's greedy descent seeds the one frontier, and the working set `W`
//! is shared. A graph whose nodes are all farther than `W`'s worst is not
//! expanded further, so the searches share one bound: the query's cost
//! grows with the number of graphs only by their descents and the few nodes
//! each expands before the shared bound stops it, not by a whole ef-search
//! per graph. [`StreamingSearch`] is the one-graph case.
//!
//! # Graphs with codes
//!
//! A graph given its [`SegmentCodes`] (format version 3, kept in memory by
//! the caller) is searched on estimates: a discovered node is not read, its
//! code gives a lower bound of its distance (estimate minus error bound,
//! see [`crate::quant`]) and the frontier is ordered by that. Only an
//! expanded node is read, in one access that brings its neighbour list and
//! its vector ([`GraphView::with_links_and_node`]); its exact distance then
//! enters the working set. So `W` holds exact distances only, every row
//! returned was measured exactly, and a node is expanded while its lower
//! bound is below `W`'s worst, i.e. whenever it could still belong there
//! (as exact as the codes' bounds: guaranteed for SQ, with high
//! probability for RaBitQ). One page read per expanded node replaces one
//! per measured neighbour: on GloVe-50 at the same ef, 11x-12x fewer, with higher
//! recall (`examples/coded_bench`: 89 against 1,006 page reads per query at
//! ef 40, 252 against 2,940 at ef 160).

use std::collections::BinaryHeap;
use std::sync::Arc;

use crate::page::SegmentCodes;
use crate::quant::{code_input, QueryEstimator};
use crate::search::{descend, push_bounded, Far, GraphView, Near, Neighbour};
use crate::space::{prepared_query, Space};

/// A node of one of the graphs: `graph << 32 | id`.
type Key = u64;

fn key(graph: usize, id: u32) -> Key {
    (graph as u64) << 32 | id as u64
}

fn split(k: Key) -> (usize, u32) {
    ((k >> 32) as usize, k as u32)
}

/// A node found by a [`SegmentedSearch`]: which graph, its id there, and
/// its distance to the query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegmentHit {
    pub graph: usize,
    pub id: u32,
    pub distance: f32,
}

/// Iterator of [`SegmentHit`]s over several graphs, see the module documentation.
pub struct SegmentedSearch<G: GraphView, S: Space<Elem = G::Elem>> {
    graphs: Vec<G>,
    query: Vec<S::Elem>,
    ef: usize,
    /// Each graph's own bound: the look-ahead it always gets, however good
    /// the other graphs' candidates are (see `pick`), in proportion to its
    /// share of the rows.
    ef_locals: Vec<usize>,
    /// One bitmap per graph.
    visited: Vec<Vec<u64>>,
    /// Discovered nodes not yet expanded, per graph.
    frontier: Vec<BinaryHeap<Near<Key>>>,
    backlog: BinaryHeap<Near<Key>>,
    /// The current batch, descending (pop yields the nearest).
    batch: Vec<Far<Key>>,
    started: bool,
    /// Lowest (graph, id) that may still be unvisited (for reseeding).
    seed_cursor: (usize, u32),
    nbrs: Vec<u32>,
    returned: u64,
    measured: u64,
    /// Per graph, its codes and the query's estimator for them, when the
    /// graph is searched on codes (see the module documentation).
    estimators: Vec<Option<(Arc<SegmentCodes>, QueryEstimator)>>,
    estimated: u64,
    /// How much of a code's error bound the frontier key subtracts from its
    /// estimate (1: the full bound, a true lower bound).
    bound_weight: f32,
}

impl<G: GraphView, S: Space<Elem = G::Elem>> SegmentedSearch<G, S> {
    /// Starts a streaming search over `graphs` (all of the query's vector
    /// length) with look-ahead `ef` (at least 1). Nothing is read from the
    /// graphs until the first `next()`.
    pub fn new(graphs: Vec<G>, query: &[G::Elem], ef: usize) -> Self {
        Self::with_local_share(graphs, query, ef, LOCAL_SHARE_PERCENT)
    }

    /// As [`SegmentedSearch::new`], each graph keeping `local_percent` of
    /// `ef` as its own look-ahead (for measuring the trade-off).
    pub fn with_local_share(graphs: Vec<G>, query: &[G::Elem], ef: usize, local_percent: usize) -> Self {
        let none = graphs.iter().map(|_| None).collect();
        Self::with_codes_and_share(graphs, none, query, ef, local_percent)
    }

    /// As [`SegmentedSearch::new`], searching each graph that has
    /// `Some(codes)` on its codes (see the module documentation); `codes`
    /// has one entry per graph, each of that graph's segment.
    pub fn with_codes(graphs: Vec<G>, codes: Vec<Option<Arc<SegmentCodes>>>, query: &[G::Elem], ef: usize) -> Self {
        Self::with_codes_and_share(graphs, codes, query, ef, LOCAL_SHARE_PERCENT)
    }

    /// [`SegmentedSearch::with_codes`] with each graph keeping
    /// `local_percent` of `ef` as its own look-ahead (for measuring).
    pub fn with_codes_and_share(
        graphs: Vec<G>,
        codes: Vec<Option<Arc<SegmentCodes>>>,
        query: &[G::Elem],
        ef: usize,
        local_percent: usize,
    ) -> Self {
        assert_eq!(codes.len(), graphs.len(), "one entry of codes per graph");
        for g in &graphs {
            assert_eq!(query.len(), g.vector_len(), "query has the wrong length");
        }
        let query = prepared_query::<S>(query).into_owned();
        let mut coded_query = Vec::new();
        let estimators = codes
            .into_iter()
            .map(|c| {
                let c = c?;
                if coded_query.is_empty() && !code_input::<S>(&query, &mut coded_query) {
                    return None;
                }
                if coded_query.len() != c.quantizer.dim() {
                    return None;
                }
                let est = c.quantizer.query(S::METRIC, &coded_query);
                Some((c, est))
            })
            .collect();
        let visited = graphs.iter().map(|g| vec![0u64; (g.len() as usize).div_ceil(64)]).collect();
        let ef = ef.max(1);
        let ef_local = if graphs.len() <= 1 { ef } else { (ef * local_percent).div_ceil(100).max(1) };
        let total: u64 = graphs.iter().map(|g| g.len() as u64).sum::<u64>().max(1);
        // A graph's own look-ahead in proportion to its share of the rows:
        // `local_percent` of ef for a graph of average size. On GloVe split
        // as a 64 MB build splits it (42/42/16%), examples/segments_bench:
        // at recall@10 0.94, 50% measures 1.6x the nodes of one segment,
        // and an ef-search per segment 1.75x.
        let ef_locals = graphs
            .iter()
            .map(|g| {
                let share = g.len() as u64 * graphs.len() as u64;
                ((ef_local as u64 * share).div_ceil(total) as usize).clamp(1, ef)
            })
            .collect();
        SegmentedSearch {
            frontier: graphs.iter().map(|_| BinaryHeap::new()).collect(),
            graphs,
            query,
            ef,
            ef_locals,
            visited,
            backlog: BinaryHeap::new(),
            batch: Vec::new(),
            started: false,
            seed_cursor: (0, 0),
            nbrs: Vec::new(),
            returned: 0,
            measured: 0,
            estimators,
            estimated: 0,
            bound_weight: 1.0,
        }
    }

    /// Orders (and stops expanding) coded nodes by `estimate - weight *
    /// bound` instead of the lower bound (weight 1), for measuring the
    /// trade-off: below 1 a node that could still belong in the working set
    /// may stay unexpanded.
    pub fn with_bound_weight(mut self, weight: f32) -> Self {
        self.bound_weight = weight;
        self
    }

    /// Number of distances estimated from codes so far.
    pub fn nodes_estimated(&self) -> u64 {
        self.estimated
    }

    /// The graphs searched (e.g. to map a returned id to its payload).
    pub fn graphs(&self) -> &[G] {
        &self.graphs
    }

    /// Number of nodes returned so far.
    pub fn returned(&self) -> u64 {
        self.returned
    }

    /// Number of nodes whose distance has been computed so far.
    pub fn nodes_measured(&self) -> u64 {
        self.measured
    }

    #[inline]
    fn visit(&mut self, graph: usize, id: u32) -> bool {
        let (w, b) = ((id / 64) as usize, 1u64 << (id % 64));
        let word = &mut self.visited[graph][w];
        if *word & b != 0 {
            false
        } else {
            *word |= b;
            true
        }
    }

    /// Records an unvisited node: in its graph's frontier always; when it
    /// is measured here (a graph without codes), in the working set (or the
    /// backlog) and its graph's local set if live.
    fn discover(&mut self, graph: usize, id: u32, w: &mut BinaryHeap<Far<Key>>, local: &mut [BinaryHeap<Far<Key>>]) {
        let k = key(graph, id);
        if let Some((codes, est)) = &self.estimators[graph] {
            let (e, bound) = est.estimate(codes.code(id));
            // NaN (a damaged code) sorts first: expanded, never lost.
            let lower = e - self.bound_weight * bound;
            self.frontier[graph].push(Near(if lower.is_nan() { f32::NEG_INFINITY } else { lower }, k));
            self.estimated += 1;
            return;
        }
        let q = &self.query;
        let (d, del) = self.graphs[graph].with_node(id, |v, del| (S::distance(q, v), del));
        self.measured += 1;
        self.frontier[graph].push(Near(d, k));
        if !del {
            self.admit(graph, Far(d, k), w, local);
        }
    }

    /// A live node measured exactly joins the working set (what it pushes
    /// out goes to the backlog) and its graph's local set.
    fn admit(&mut self, graph: usize, entry: Far<Key>, w: &mut BinaryHeap<Far<Key>>, local: &mut [BinaryHeap<Far<Key>>]) {
        w.push(entry);
        if w.len() > self.ef {
            let Far(d, k) = w.pop().unwrap();
            self.backlog.push(Near(d, k));
        }
        push_bounded(&mut local[graph], entry, self.ef_locals[graph]);
    }

    /// Seeds an unvisited node: a graph's entry point first (from there the
    /// graph reaches every node, see `connect`), else the lowest unvisited
    /// id; false when every node is visited.
    fn reseed(&mut self, w: &mut BinaryHeap<Far<Key>>, local: &mut [BinaryHeap<Far<Key>>]) -> bool {
        for graph in 0..self.graphs.len() {
            if let Some((ep, _)) = self.graphs[graph].entry_point() {
                if self.visit(graph, ep) {
                    self.discover(graph, ep, w, local);
                    return true;
                }
            }
        }
        while self.seed_cursor.0 < self.graphs.len() {
            let (graph, id) = self.seed_cursor;
            if id >= self.graphs[graph].len() {
                self.seed_cursor = (graph + 1, 0);
                continue;
            }
            self.seed_cursor.1 += 1;
            if self.visit(graph, id) {
                self.discover(graph, id, w, local);
                return true;
            }
        }
        false
    }

    /// The graph whose best unexpanded node is nearest among those still
    /// worth expanding: nearer than the shared working set's worst (when it
    /// is full), or than the graph's own `ef_locals`-th best (when that is).
    /// The local bound keeps a graph whose entry lies farther than another
    /// graph's results from being cut off before it reaches its own near
    /// region: layer 0 is reached only through nodes farther than the final
    /// results. (Tried without it: recall@10 fell from 0.99 to 0.73 on
    /// three graphs, tests/segmented.rs.)
    fn pick(&self, w: &BinaryHeap<Far<Key>>, local: &[BinaryHeap<Far<Key>>]) -> Option<usize> {
        let shared = if w.len() >= self.ef { w.peek().map_or(f32::INFINITY, |f| f.0) } else { f32::INFINITY };
        let mut best: Option<(f32, usize)> = None;
        for (graph, frontier) in self.frontier.iter().enumerate() {
            let Some(&Near(d, _)) = frontier.peek() else { continue };
            let own = if local[graph].len() >= self.ef_locals[graph] { local[graph].peek().map_or(f32::INFINITY, |f| f.0) } else { f32::INFINITY };
            if d <= shared.max(own) && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, graph));
            }
        }
        best.map(|(_, g)| g)
    }

    fn next_batch(&mut self) {
        let mut w: BinaryHeap<Far<Key>> = BinaryHeap::with_capacity(self.ef + 1);
        let mut local: Vec<BinaryHeap<Far<Key>>> = self.graphs.iter().map(|_| BinaryHeap::new()).collect();
        if !self.started {
            self.started = true;
            // Every graph's greedy descent seeds its frontier.
            for graph in 0..self.graphs.len() {
                if let Some((ep, top)) = self.graphs[graph].entry_point() {
                    let cur = match &self.estimators[graph] {
                        Some((codes, est)) => {
                            let (g, estimated) = (&self.graphs[graph], &mut self.estimated);
                            descend_on_codes(g, ep, top, &mut self.nbrs, |id| {
                                *estimated += 1;
                                est.estimate(codes.code(id)).0
                            })
                        }
                        None => descend::<G, S>(&self.graphs[graph], &self.query, ep, top, 0, &mut self.nbrs).0,
                    };
                    self.visit(graph, cur);
                    self.discover(graph, cur, &mut w, &mut local);
                }
            }
        }
        while w.len() < self.ef {
            match self.backlog.pop() {
                Some(Near(d, k)) => {
                    push_bounded(&mut local[split(k).0], Far(d, k), self.ef_locals[split(k).0]);
                    w.push(Far(d, k));
                }
                None => break,
            }
        }
        let mut nbrs = std::mem::take(&mut self.nbrs);
        loop {
            let Some(graph) = self.pick(&w, &local) else {
                // Nothing left worth expanding: the batch is done. But a
                // frontier that ran dry before the working set filled means
                // the search was caught in a part of the directed graph
                // with no edges out (groups of identical vectors whose lists
                // point at each other: examples/bits_plateau), not that it
                // found its ef best: seed elsewhere and go on.
                if self.frontier.iter().any(|f| !f.is_empty()) || w.len() >= self.ef || !self.reseed(&mut w, &mut local) {
                    break;
                }
                continue;
            };
            let Near(_, c) = self.frontier[graph].pop().expect("picked a graph with a frontier");
            let id = split(c).1;
            let coded = self.estimators[graph].is_some();
            if coded {
                // The node's exact distance comes with its neighbour list.
                let q = &self.query;
                let (d, del) = self.graphs[graph].with_links_and_node(id, &mut nbrs, |v, del| (S::distance(q, v), del));
                self.measured += 1;
                if !del {
                    self.admit(graph, Far(d, c), &mut w, &mut local);
                }
                if let Some((codes, _)) = &self.estimators[graph] {
                    for &n in &nbrs {
                        codes.prefetch(n);
                    }
                }
            } else {
                self.graphs[graph].neighbours(id, 0, &mut nbrs);
            }
            for i in 0..nbrs.len() {
                let n = nbrs[i];
                if !coded {
                    if let Some(&next) = nbrs.get(i + 1) {
                        self.graphs[graph].prefetch(next);
                    }
                }
                if self.visit(graph, n) {
                    self.discover(graph, n, &mut w, &mut local);
                }
            }
        }
        self.nbrs = nbrs;
        // into_sorted_vec is ascending; reverse so pop() yields the nearest.
        self.batch = w.into_sorted_vec();
        self.batch.reverse();
    }
}

/// The greedy descent through the upper layers to layer 1's nearest node,
/// on estimated distances: reading each neighbour's vector would cost a page
/// per neighbour (on GloVe-50 at ef 20, a query read 163 pages with the
/// descent on exact distances and 62 with this), the neighbour lists cost one
/// per step. NaN estimates never
/// win a step.
pub(crate) fn descend_on_codes<G: GraphView>(g: &G, ep: u32, top: u8, nbrs: &mut Vec<u32>, mut estimate: impl FnMut(u32) -> f32) -> u32 {
    let mut cur = ep;
    let mut cur_d = estimate(ep);
    for level in (1..=top).rev() {
        let mut changed = true;
        while changed {
            changed = false;
            g.neighbours(cur, level, nbrs);
            for &n in nbrs.iter() {
                let d = estimate(n);
                if d < cur_d || cur_d.is_nan() && !d.is_nan() {
                    cur_d = d;
                    cur = n;
                    changed = true;
                }
            }
        }
    }
    cur
}

/// Each graph's own look-ahead, in percent of `ef`, when there are several.
pub const LOCAL_SHARE_PERCENT: usize = 50;

impl<G: GraphView, S: Space<Elem = G::Elem>> Iterator for SegmentedSearch<G, S> {
    type Item = SegmentHit;
    fn next(&mut self) -> Option<SegmentHit> {
        if self.batch.is_empty() {
            self.next_batch();
        }
        let Far(distance, k) = self.batch.pop()?;
        self.returned += 1;
        let (graph, id) = split(k);
        Some(SegmentHit { graph, id, distance })
    }
}

/// Iterator of [`Neighbour`]s of one graph, see the module documentation.
pub struct StreamingSearch<G: GraphView, S: Space<Elem = G::Elem>> {
    inner: SegmentedSearch<G, S>,
}

impl<G: GraphView, S: Space<Elem = G::Elem>> StreamingSearch<G, S> {
    /// Starts a streaming search with look-ahead `ef` (at least 1). Nothing
    /// is read from the graph until the first `next()`.
    pub fn new(g: G, query: &[G::Elem], ef: usize) -> Self {
        StreamingSearch { inner: SegmentedSearch::new(vec![g], query, ef) }
    }

    /// As [`StreamingSearch::new`], on the graph's codes (see the module
    /// documentation).
    pub fn with_codes(g: G, codes: Arc<SegmentCodes>, query: &[G::Elem], ef: usize) -> Self {
        StreamingSearch { inner: SegmentedSearch::with_codes(vec![g], vec![Some(codes)], query, ef) }
    }

    /// Number of distances estimated from codes so far.
    pub fn nodes_estimated(&self) -> u64 {
        self.inner.estimated
    }

    /// See [`SegmentedSearch::with_bound_weight`].
    pub fn with_bound_weight(self, weight: f32) -> Self {
        StreamingSearch { inner: self.inner.with_bound_weight(weight) }
    }

    /// The graph searched (e.g. to map a returned id to its payload).
    pub fn graph(&self) -> &G {
        &self.inner.graphs[0]
    }

    /// Number of neighbours returned so far.
    pub fn returned(&self) -> u64 {
        self.inner.returned
    }

    /// Number of nodes whose distance has been computed so far.
    pub fn nodes_measured(&self) -> u64 {
        self.inner.measured
    }
}

impl<G: GraphView, S: Space<Elem = G::Elem>> Iterator for StreamingSearch<G, S> {
    type Item = Neighbour;
    fn next(&mut self) -> Option<Neighbour> {
        self.inner.next().map(|h| Neighbour { id: h.id, distance: h.distance })
    }
}
