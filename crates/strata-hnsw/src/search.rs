//! The storage abstraction ([`GraphView`]) and the search algorithms written
//! against it: greedy descent through the upper layers and the ef-bounded
//! best-first search of one layer. The in-memory [`crate::Hnsw`] and the
//! page reader [`crate::page::PagedGraph`] both implement `GraphView`, so the
//! same code searches a graph being built and a graph in Postgres pages.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::page::CodeArray;
use crate::quant::QueryEstimator;
use crate::pairs::PairVectors;
use crate::space::{prepared_query, Element, Space};

/// Where a graph's vectors, neighbour lists and deleted marks live.
///
/// Node ids are dense `u32` in `0..len()`. Implementations may be backed by
/// memory or by pages behind a buffer manager; accessors take closures so a
/// page can stay pinned only while it is read. Searches are single-threaded
/// per view, so implementations may use interior mutability for scratch
/// space.
pub trait GraphView {
    type Elem: Element;
    /// Number of nodes (deleted ones included).
    fn len(&self) -> u32;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Entry point and its level (the graph's top layer), `None` when empty.
    fn entry_point(&self) -> Option<(u32, u8)>;
    /// Elements per vector (`u64` words for bits).
    fn vector_len(&self) -> usize;
    /// Highest layer the node is part of.
    fn level(&self, id: u32) -> u8;
    /// Replaces `out` with the neighbours of `id` on `level`
    /// (`level <= self.level(id)`).
    fn neighbours(&self, id: u32, level: u8, out: &mut Vec<u32>);
    /// Calls `f` with the node's vector and its deleted mark: the one access
    /// per discovered node a search makes.
    fn with_node<R>(&self, id: u32, f: impl FnOnce(&[Self::Elem], bool) -> R) -> R;
    /// The opaque payload carried for the node (the access method's TID).
    fn payload(&self, id: u32) -> u64;
    /// Replaces `out` with the layer-0 neighbours of `id` and calls `f` with
    /// its vector and deleted mark: all that expanding a node needs when
    /// neighbours are estimated from codes ([`crate::stream`]), in one page
    /// access where the storage keeps them together.
    fn with_links_and_node<R>(&self, id: u32, out: &mut Vec<u32>, f: impl FnOnce(&[Self::Elem], bool) -> R) -> R {
        self.neighbours(id, 0, out);
        self.with_node(id, f)
    }
    /// Hint that the vector of `id` will be read soon.
    #[inline(always)]
    fn prefetch(&self, _id: u32) {}
    /// Hint that the whole vector of `id` will be read soon (one node, not
    /// a batch of neighbours: [`GraphView::prefetch`] asks for the first
    /// lines only).
    #[inline(always)]
    fn prefetch_vector(&self, id: u32) {
        self.prefetch(id)
    }
    /// [`GraphView::prefetch_links`] for one node about to be expanded:
    /// every line of its list (the exact search asks for the first lines
    /// only, once per queued neighbour).
    #[inline(always)]
    fn prefetch_links_all(&self, id: u32) {
        self.prefetch_links(id)
    }
    /// Hint that the layer-0 neighbour list of `id` will be read soon.
    #[inline(always)]
    fn prefetch_links(&self, _id: u32) {}
}

impl<G: GraphView + ?Sized> GraphView for &G {
    type Elem = G::Elem;
    #[inline(always)]
    fn len(&self) -> u32 {
        (**self).len()
    }
    #[inline(always)]
    fn entry_point(&self) -> Option<(u32, u8)> {
        (**self).entry_point()
    }
    #[inline(always)]
    fn vector_len(&self) -> usize {
        (**self).vector_len()
    }
    #[inline(always)]
    fn level(&self, id: u32) -> u8 {
        (**self).level(id)
    }
    #[inline(always)]
    fn neighbours(&self, id: u32, level: u8, out: &mut Vec<u32>) {
        (**self).neighbours(id, level, out)
    }
    #[inline(always)]
    fn with_node<R>(&self, id: u32, f: impl FnOnce(&[Self::Elem], bool) -> R) -> R {
        (**self).with_node(id, f)
    }
    #[inline(always)]
    fn payload(&self, id: u32) -> u64 {
        (**self).payload(id)
    }
    #[inline(always)]
    fn with_links_and_node<R>(&self, id: u32, out: &mut Vec<u32>, f: impl FnOnce(&[Self::Elem], bool) -> R) -> R {
        (**self).with_links_and_node(id, out, f)
    }
    #[inline(always)]
    fn prefetch(&self, id: u32) {
        (**self).prefetch(id)
    }
    #[inline(always)]
    fn prefetch_vector(&self, id: u32) {
        (**self).prefetch_vector(id)
    }
    #[inline(always)]
    fn prefetch_links_all(&self, id: u32) {
        (**self).prefetch_links_all(id)
    }
    #[inline(always)]
    fn prefetch_links(&self, id: u32) {
        (**self).prefetch_links(id)
    }
}

/// A search result: node id and distance to the query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    pub id: u32,
    pub distance: f32,
}

/// Heap entry ordered so that a `BinaryHeap` pops the *nearest* first
/// (ties: the lower key). The key is a node id, or a (graph, id) key in
/// [`crate::stream::SegmentedSearch`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Near<K = u32>(pub f32, pub K);
/// Heap entry ordered so that a `BinaryHeap` pops the *farthest* first
/// (ties: the higher key).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Far<K = u32>(pub f32, pub K);

impl<K: Ord> PartialEq for Near<K> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<K: Ord> Eq for Near<K> {}
impl<K: Ord> PartialOrd for Near<K> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<K: Ord> Ord for Near<K> {
    #[inline(always)]
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}
impl<K: Ord> PartialEq for Far<K> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<K: Ord> Eq for Far<K> {}
impl<K: Ord> PartialOrd for Far<K> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<K: Ord> Ord for Far<K> {
    #[inline(always)]
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

/// Adds `entry` to `heap`, which keeps its `cap` nearest entries: once the
/// heap is full, `entry` takes the farthest one's place if it is nearer
/// (one sift instead of a push and a pop).
#[inline(always)]
pub(crate) fn push_bounded<K: Ord>(heap: &mut BinaryHeap<Far<K>>, entry: Far<K>, cap: usize) {
    if heap.len() < cap {
        heap.push(entry);
    } else if let Some(mut farthest) = heap.peek_mut() {
        if entry < *farthest {
            *farthest = entry;
        }
    }
}

/// The distance a node must beat to enter `results` kept at `ef`: the
/// farthest kept once there are `ef`, else none.
#[inline(always)]
fn entry_bound(results: &BinaryHeap<Far>, ef: usize) -> f32 {
    if results.len() >= ef {
        results.peek().map_or(f32::INFINITY, |w| w.0)
    } else {
        f32::INFINITY
    }
}

/// Visited marks by epoch: clearing is O(1) except once every 65535 uses.
#[derive(Default)]
pub(crate) struct EpochVisited {
    marks: Vec<u16>,
    epoch: u16,
}

impl EpochVisited {
    pub(crate) fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.fill(0);
            self.epoch = 1;
        }
    }
    /// Marks `id`; returns whether it was unmarked.
    #[inline(always)]
    pub(crate) fn insert(&mut self, id: u32) -> bool {
        let m = &mut self.marks[id as usize];
        if *m == self.epoch {
            false
        } else {
            *m = self.epoch;
            true
        }
    }
    #[inline(always)]
    pub(crate) fn prefetch(&self, id: u32) {
        prefetch_ptr(self.marks.as_ptr().wrapping_add(id as usize));
    }
}

#[inline(always)]
pub(crate) fn prefetch_ptr<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint and never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(p as *const i8, _MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks for every cache line of the `bytes` bytes at `p`, the partial lines
/// at either end included.
#[inline(always)]
pub(crate) fn prefetch_bytes(p: *const u8, bytes: usize) {
    if bytes == 0 {
        return;
    }
    let mut line = p as usize & !63;
    let last = (p as usize + bytes - 1) & !63;
    while line <= last {
        prefetch_ptr(line as *const u8);
        line += 64;
    }
}

/// Reusable buffers of a search; keep one per thread to avoid allocations.
#[derive(Default)]
pub struct SearchScratch {
    pub(crate) visited: EpochVisited,
    pub(crate) candidates: BinaryHeap<Near>,
    pub(crate) results: BinaryHeap<Far>,
    pub(crate) nbrs: Vec<u32>,
    /// Output of [`search_layer`], ascending by distance.
    pub(crate) out: Vec<Neighbour>,
}

impl SearchScratch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears the buffers for a layer search over `n` nodes.
    fn start(&mut self, n: usize) {
        self.visited.reset(n);
        self.candidates.clear();
        self.results.clear();
        self.out.clear();
    }

    /// Moves the results into `out`, ascending by distance, keeping the
    /// heap's allocation.
    fn finish(&mut self) {
        let mut res = std::mem::take(&mut self.results).into_vec();
        res.sort_unstable();
        self.out.extend(res.iter().map(|f| Neighbour { id: f.1, distance: f.0 }));
        res.clear();
        self.results = BinaryHeap::from(res);
    }
}

#[inline(always)]
fn dist<G: GraphView, S: Space<Elem = G::Elem>>(g: &G, q: &[G::Elem], id: u32) -> (f32, bool) {
    g.with_node(id, |v, del| (S::distance(q, v), del))
}

/// Greedy descent from `(ep, ep_level)` down to `to_level` (exclusive of
/// nothing: it stops *on* `to_level` without searching it). Returns the
/// closest node found and its distance.
pub(crate) fn descend<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    q: &[G::Elem],
    ep: u32,
    ep_level: u8,
    to_level: u8,
    nbrs: &mut Vec<u32>,
) -> (u32, f32) {
    descend_filtered::<G, S>(g, q, ep, ep_level, to_level, nbrs, |_| {}, |_, _| false)
}

/// [`descend`] with every neighbour estimated from its code first: a
/// neighbour whose lower bound (`est`'s estimate minus its error bound) is
/// not below the current distance cannot replace the current node, and is
/// not measured. The descent is then [`descend`]'s wherever the bounds
/// hold (RaBitQ's hold with high probability; a miss only takes a
/// neighbour not quite the nearest into the layer below). The upper
/// layers' nodes are a few percent of the graph, so their codes mostly stay
/// in cache where their vectors do not (MiniLM: the descents' exact
/// distances were 5% of a build).
#[allow(clippy::too_many_arguments)]
pub(crate) fn descend_coded<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    q: &[G::Elem],
    ep: u32,
    ep_level: u8,
    to_level: u8,
    nbrs: &mut Vec<u32>,
    codes: CodeArray<'_>,
    est: &QueryEstimator,
) -> (u32, f32) {
    let prefetch = |list: &[u32]| list.iter().for_each(|&n| codes.prefetch(n));
    // A NaN bound (a damaged code) measures the node.
    let cannot_win = |n: u32, cur_d: f32| {
        let (e, err) = est.estimate(codes.code(n));
        e - err >= cur_d
    };
    descend_filtered::<G, S>(g, q, ep, ep_level, to_level, nbrs, prefetch, cannot_win)
}

/// The greedy descent, calling `before` on each list it reads and
/// measuring only the neighbours `skip` (given the current distance) lets
/// through.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn descend_filtered<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    q: &[G::Elem],
    ep: u32,
    ep_level: u8,
    to_level: u8,
    nbrs: &mut Vec<u32>,
    before: impl Fn(&[u32]),
    skip: impl Fn(u32, f32) -> bool,
) -> (u32, f32) {
    let mut cur = ep;
    let mut cur_d = dist::<G, S>(g, q, ep).0;
    let mut level = ep_level;
    while level > to_level {
        let mut changed = true;
        while changed {
            changed = false;
            g.neighbours(cur, level, nbrs);
            before(nbrs);
            for &n in nbrs.iter() {
                if skip(n, cur_d) {
                    continue;
                }
                let d = dist::<G, S>(g, q, n).0;
                if d < cur_d {
                    cur_d = d;
                    cur = n;
                    changed = true;
                }
            }
        }
        level -= 1;
    }
    (cur, cur_d)
}

/// ef-bounded best-first search of one layer from `entries`. Deleted nodes
/// are traversed but, when `skip_deleted`, never returned. The result is left
/// in `s.out`, ascending by distance, at most `ef` long.
#[allow(clippy::too_many_arguments)]
pub(crate) fn search_layer<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    q: &[G::Elem],
    entries: &[u32],
    level: u8,
    ef: usize,
    skip_deleted: bool,
    exclude: Option<u32>,
    s: &mut SearchScratch,
) {
    let ef = ef.max(1);
    s.start(g.len() as usize);
    for &e in entries {
        if !s.visited.insert(e) {
            continue;
        }
        let (d, del) = dist::<G, S>(g, q, e);
        s.candidates.push(Near(d, e));
        if !(skip_deleted && del) && Some(e) != exclude {
            s.results.push(Far(d, e));
        }
    }
    if let Some(x) = exclude {
        s.visited.insert(x);
    }
    while s.results.len() > ef {
        s.results.pop();
    }
    let mut nbrs = std::mem::take(&mut s.nbrs);
    while let Some(Near(cd, c)) = s.candidates.pop() {
        if s.results.len() >= ef {
            if let Some(w) = s.results.peek() {
                if cd > w.0 {
                    break;
                }
            }
        }
        g.neighbours(c, level, &mut nbrs);
        // Every neighbour's visited mark and vector are asked for before
        // any is measured, so their cache misses overlap (asking one
        // neighbour ahead left most of each miss exposed: a GloVe build,
        // one thread, 150k rows, 12.2 s -> 10.4 s).
        for &n in nbrs.iter() {
            s.visited.prefetch(n);
        }
        for &n in nbrs.iter() {
            g.prefetch(n);
        }
        for &n in nbrs.iter() {
            if !s.visited.insert(n) {
                continue;
            }
            let (d, del) = dist::<G, S>(g, q, n);
            let full = s.results.len() >= ef;
            if !full || d < s.results.peek().map_or(f32::INFINITY, |w| w.0) {
                s.candidates.push(Near(d, n));
                if level == 0 {
                    if let Some(top) = s.candidates.peek() {
                        g.prefetch_links(top.1);
                    }
                }
                if !(skip_deleted && del) {
                    push_bounded(&mut s.results, Far(d, n), ef);
                }
            }
        }
    }
    s.nbrs = nbrs;
    s.finish();
}

/// Keeps the neighbours in `nbrs` not visited yet, marks them visited and
/// asks for their codes.
///
/// Codes are read in random order from megabytes: every unvisited
/// neighbour's code is asked for before any is estimated, so the waits
/// overlap (as the scan does, see crate::stream). Only the unvisited ones:
/// most neighbours of a node deep in a search were met before, and fetching
/// their codes again kept the memory system busy for nothing (MiniLM, one
/// thread: 12% of a build in these prefetches).
#[inline(always)]
fn keep_unvisited(nbrs: &mut Vec<u32>, visited: &mut EpochVisited, codes: CodeArray<'_>) {
    for &n in nbrs.iter() {
        visited.prefetch(n);
    }
    nbrs.retain(|&n| visited.insert(n));
    for &n in nbrs.iter() {
        codes.prefetch(n);
    }
}

/// A construction's search of one layer on codes alone: [`search_layer`]
/// with every distance replaced by `est`'s estimate from the node's code in
/// `codes`, then the `ef` results (ranked by estimate) measured exactly and
/// returned ascending by exact distance. Deleted nodes are returned (a
/// build's and a merge's searches need them as neighbours); `exclude` is
/// expanded when it is an entry but never returned.
///
/// Returns whether the estimates could be trusted for this query: whether
/// each result's estimate lay within [`ESTIMATE_SLACK`] of the spread of
/// the results' exact distances from its exact distance. Where they could
/// not (codes too coarse for the data: a range of a million, identical
/// rows, see `tests/reachability.rs`), ranking by estimate loses near
/// nodes, and the search runs again as [`search_layer_coded`], which
/// measures every node it takes; its results are the ones left.
///
/// Unlike [`search_layer_coded`], no vector is read while the search runs:
/// there each node taken was measured before it was expanded, a chain of
/// three dependent reads per expansion (the node's vector, then its list,
/// then its neighbours' codes) of which only the last could be overlapped.
/// Here an expansion waits for the list and the codes only, and the `ef`
/// vectors are asked for together at the end. The results differ from the
/// exact search's only where an estimate's error reorders nodes near the
/// `ef`-th; the neighbour selection that follows uses the exact distances.
/// MiniLM (384-d, RaBitQ4 build codes, m 16, ef_construction 64, 2
/// threads, alternating runs): the engine's build 2.14 / 2.13 / 2.11 s ->
/// 1.71 / 1.73 / 1.80 s, recall@10 at ef_search 10 and 40 0.8594 / 0.9675
/// -> 0.8588 / 0.9673 (`glove_bench --build-codes rabitq4 --ef 10,40`), and
/// no row unfound after the adversarial merge (`--late-sorted 1`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn search_layer_estimated<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    q: &[G::Elem],
    entries: &[u32],
    level: u8,
    ef: usize,
    exclude: Option<u32>,
    codes: CodeArray<'_>,
    est: &QueryEstimator,
    pairs: Option<&PairVectors>,
    s: &mut SearchScratch,
) -> bool {
    let ef = ef.max(1);
    s.start(g.len() as usize);
    // A NaN estimate (a damaged or missing code) sorts first: the node is
    // expanded and measured, never lost.
    let estimate = |n: u32| {
        let e = est.estimate(codes.code(n)).0;
        if e.is_nan() { f32::NEG_INFINITY } else { e }
    };
    for &e in entries {
        if !s.visited.insert(e) {
            continue;
        }
        let d = estimate(e);
        s.candidates.push(Near(d, e));
        if Some(e) != exclude {
            s.results.push(Far(d, e));
        }
    }
    if let Some(x) = exclude {
        s.visited.insert(x);
    }
    let mut nbrs = std::mem::take(&mut s.nbrs);
    while let Some(Near(d, c)) = s.candidates.pop() {
        if d > entry_bound(&s.results, ef) {
            break;
        }
        g.neighbours(c, level, &mut nbrs);
        keep_unvisited(&mut nbrs, &mut s.visited, codes);
        for &n in nbrs.iter() {
            let e = estimate(n);
            if e < entry_bound(&s.results, ef) {
                s.candidates.push(Near(e, n));
                push_bounded(&mut s.results, Far(e, n), ef);
            }
        }
        // The next node taken is the nearest candidate: its list is read
        // next.
        if level == 0 {
            if let Some(&Near(_, t)) = s.candidates.peek() {
                g.prefetch_links_all(t);
            }
        }
    }
    s.nbrs = nbrs;
    // The results' exact distances, every vector asked for first; an
    // insertion's (`exclude` is the node inserted) from `pairs`' copies
    // when given.
    let mut res = std::mem::take(&mut s.results).into_vec();
    let pairs = pairs.zip(exclude);
    for f in &res {
        match pairs {
            Some((p, _)) => p.prefetch(f.1),
            None => g.prefetch_vector(f.1),
        }
    }
    let (mut lo, mut hi, mut off) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f32);
    for f in res.iter_mut() {
        let d = match pairs {
            Some((p, x)) => p.distance(x, f.1),
            None => dist::<G, S>(g, q, f.1).0,
        };
        (lo, hi) = (lo.min(d), hi.max(d));
        // NaN (an estimate or distance that is not a number) counts as
        // off by everything.
        let e = (f.0 - d).abs();
        off = if e.is_nan() { f32::INFINITY } else { off.max(e) };
        f.0 = d;
    }
    s.results = BinaryHeap::from(res);
    s.finish();
    let trusted = off <= ESTIMATE_SLACK * (hi - lo);
    if !trusted {
        search_layer_coded::<G, S>(g, q, entries, level, ef, exclude, codes, est, s);
    }
    trusted
}

/// How far (as a share of the spread of the results' exact distances) the
/// estimate of a result of [`search_layer_estimated`] may lie from its exact
/// distance for the search's ranking to be trusted. In the MiniLM build
/// (RaBitQ4 at 384-d) the worst result of 96% of the searches lay within a
/// tenth and 7 of 48,500 searches were over the limit; in the GloVe-50 build
/// (SQ8, the access method's code there) 99.8% within a tenth and 28 of the
/// first 400,000 searches over (an earlier measurement at 50-d, its code not
/// recorded: 72% within a fifth, 147 of 425,800 over). Codes whose range
/// does not fit the data miss by many times the spread.
const ESTIMATE_SLACK: f32 = 0.5;

/// [`search_layer`] on layer 0 with neighbours measured from their codes
/// first: a discovered node enters the candidates by a lower bound of its
/// distance (`est`'s estimate from its code in `codes`, minus the error
/// bound), and only when it is taken
/// from the candidates is its vector read and its exact distance measured.
/// The results hold exact distances only, and a node is expanded only when
/// its exact distance would enter them, as in the exact search, so the
/// result differs from [`search_layer`]'s only in the order nodes are
/// expanded; codes too coarse to separate nodes (a huge range, see
/// `tests/coded.rs`) give wide bounds, and the search then measures more
/// nodes exactly instead of losing them. Deleted nodes are returned
/// (a build's and a merge's searches need them as neighbours).
#[allow(clippy::too_many_arguments)]
pub(crate) fn search_layer0_coded<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    q: &[G::Elem],
    entries: &[u32],
    ef: usize,
    exclude: Option<u32>,
    codes: CodeArray<'_>,
    est: &QueryEstimator,
    s: &mut SearchScratch,
) {
    search_layer_coded::<G, S>(g, q, entries, 0, ef, exclude, codes, est, s)
}

/// [`search_layer0_coded`] on any layer: what an insertion's search on
/// codes ([`search_layer_estimated`]) runs instead when its estimates prove
/// too coarse for the data.
#[allow(clippy::too_many_arguments)]
pub(crate) fn search_layer_coded<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    q: &[G::Elem],
    entries: &[u32],
    level: u8,
    ef: usize,
    exclude: Option<u32>,
    codes: CodeArray<'_>,
    est: &QueryEstimator,
    s: &mut SearchScratch,
) {
    let ef = ef.max(1);
    s.start(g.len() as usize);
    // Entries go to the candidates keyed by their exact distance and are
    // measured again when taken, like any candidate (a few distances per
    // search, and one path into the results).
    for &e in entries {
        if !s.visited.insert(e) {
            continue;
        }
        let (d, _) = dist::<G, S>(g, q, e);
        s.candidates.push(Near(d, e));
    }
    if let Some(x) = exclude {
        s.visited.insert(x);
    }
    let mut nbrs = std::mem::take(&mut s.nbrs);
    while let Some(Near(bound, c)) = s.candidates.pop() {
        let worst = entry_bound(&s.results, ef);
        if bound > worst {
            break;
        }
        // `exclude` (the node being inserted) is expanded when it is an
        // entry but never returned, as in `search_layer`.
        if Some(c) != exclude {
            let (d, _) = dist::<G, S>(g, q, c);
            if d >= worst {
                // Its exact distance would not enter the results: the exact
                // search would never have queued it.
                continue;
            }
            push_bounded(&mut s.results, Far(d, c), ef);
        }
        g.neighbours(c, level, &mut nbrs);
        let worst = entry_bound(&s.results, ef);
        keep_unvisited(&mut nbrs, &mut s.visited, codes);
        for &n in nbrs.iter() {
            let (e, err) = est.estimate(codes.code(n));
            let lower = e - err;
            // A NaN estimate (a damaged or missing code) must not hide the
            // node: measure it.
            let lower = if lower.is_nan() { f32::NEG_INFINITY } else { lower };
            if lower < worst {
                s.candidates.push(Near(lower, n));
            }
        }
        // The next node taken is the nearest candidate: its list and
        // vector are read next.
        if let Some(&Near(_, t)) = s.candidates.peek() {
            if level == 0 {
                g.prefetch_links_all(t);
            }
            g.prefetch_vector(t);
        }
    }
    s.nbrs = nbrs;
    s.finish();
}

/// Top-`k` search of any graph view with search width `ef` (raised to `k`
/// when smaller). Deleted nodes are skipped in the results. The query is
/// prepared for the space here (e.g. normalised for cosine).
pub fn search<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    query: &[G::Elem],
    k: usize,
    ef: usize,
    s: &mut SearchScratch,
) -> Vec<Neighbour> {
    assert_eq!(query.len(), g.vector_len(), "query has the wrong length");
    let Some((ep, top)) = g.entry_point() else {
        return Vec::new();
    };
    let q = prepared_query::<S>(query);
    let mut nbrs = std::mem::take(&mut s.nbrs);
    let (cur, _) = descend::<G, S>(g, &q, ep, top, 0, &mut nbrs);
    s.nbrs = nbrs;
    search_layer::<G, S>(g, &q, &[cur], 0, ef.max(k), true, None, s);
    let mut out = std::mem::take(&mut s.out);
    out.truncate(k);
    out
}
