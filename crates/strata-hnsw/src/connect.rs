//! Reachability: every node of a graph can be found from its entry point.
//!
//! HNSW's neighbour-selection heuristic keeps an edge only when no nearer
//! neighbour already "covers" it, and a full list drops its least useful
//! edge when a new one arrives. Both are blind to where a node's *incoming*
//! edges come from, so a node can lose all of them:
//!
//! - rows far from the rest (a new product line inserted after the build):
//!   every node that links to them has a neighbour nearer to them than
//!   itself, so the heuristic prunes the link;
//! - exact duplicates: a duplicate is "covered" by the first copy kept, and
//!   full lists keep the lowest ids, so later copies get no incoming edge;
//! - concurrent insertions and merges that rewrite lists.
//!
//! A node with no path from the entry point is invisible to every search,
//! whatever `ef_search`; a node whose only incoming edges come from far away
//! is reachable but still missed by a search for its own vector. After a
//! build or merge, [`Hnsw::connect`] first runs step 3 below (so every
//! cut-off node gets its own edge from where a search for it ends, before
//! the other steps make its region reachable through a single edge), then:
//!
//! 1. layer 0: nodes with at most [`WEAK_DEGREE`] neighbours or incoming
//!    edges are searched for again and gain the neighbours that search
//!    finds (`Hnsw::refine_weak_nodes`);
//! 2. layer 0: every node's nearest neighbour links back to it
//!    (`Hnsw::link_back_locally`), and rows with identical vectors are
//!    chained into a ring, so a search that reaches one copy reaches all of
//!    them through copies alone (`Hnsw::ring_copies`);
//! 3. every layer: a breadth-first pass from the entry point marks what is
//!    reachable; for each unmarked node a search of the layer for its
//!    vector finds its nearest reachable nodes (a search only walks
//!    reachable nodes; all searches of a round run before any link is
//!    added, so they find the nodes reachable before the round). Each such
//!    node then gets an edge from the nearest of them with a free slot, so
//!    that a search for any of them can enter near it, not only through one
//!    edge per cut-off component. A node still cut off when no candidate
//!    has a free slot searches again among everything reachable by then and
//!    takes a slot by replacing the farthest neighbour that keeps another
//!    incoming edge (or, failing that, the nearest candidate's last slot);
//!    a breadth-first pass from it marks its component, so replacing is
//!    needed once per component. A final pass checks the layer, and since a
//!    replaced edge can have been the last way into some node, the round
//!    repeats until nothing is unreachable (at most [`MAX_ROUNDS`]). Run
//!    again after steps 1 and 2, it only checks (step 2 replaces edges).
//!
//! The passes cost a few reads of every list, one distance per layer-0
//! edge (step 2's anchors) and one search per weak or unreachable node,
//! small next to a build, which makes one search per node. The anchors and
//! the searches run on the build's threads. GloVe-50, 399k rows, m 16,
//! ef_construction 64, two threads: 0.34-0.36 s of a 12.3-12.8 s build
//! (2.8%; 0.68 s when all of it ran on one thread); the `glove_bench`
//! example prints it.
//!
//! Deleted nodes stay part of the graph until a merge drops them (searches
//! traverse them), so marking nodes deleted never makes a live node
//! unreachable; only builds and merges change edges, and both end with
//! [`Hnsw::connect`].

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::graph::{BuildCodes, Cancelled, Hnsw, Stop, POLL_EVERY};
use crate::search::{descend, search_layer, search_layer0_coded, GraphView, Neighbour, SearchScratch};
use crate::stream::descend_on_codes;
use crate::space::{Element, Metric, Space};

/// Rounds of the reachability step before [`Hnsw::connect`] gives up and
/// reports the nodes still unreachable in [`ConnectStats::unreachable_after`]
/// (each round can lose nodes only through a replaced edge).
pub const MAX_ROUNDS: usize = 8;

/// Layer-0 nodes with at most this many neighbours, or incoming edges, are
/// searched for again after a build or merge (`Hnsw::refine_weak_nodes`).
pub const WEAK_DEGREE: usize = 2;

/// Width of the searches [`Hnsw::relink_unfound`] checks rows with:
/// narrower than a query's (`strata.ef_search` 40 at the least used), so a
/// row it finds is found by queries with a margin, and one it misses is
/// linked from where such a search ends. GloVe-50 with 10% merged in sorted
/// by the first coordinate (`glove_bench --late-sorted 1`), every merged
/// row and every 8th old one checked: rows not coming back first at
/// ef_search 40, of 39,900 merged and every 10th old one (35,910), were 0
/// and 214 at width 32 (a list's length), 3 and 80-83 at width 10, 9 and 1
/// at width 4 with every old row checked too (the narrower, the more rows
/// are linked and the more edges replaced).
pub const RELINK_EF: usize = 10;

/// Reachable nodes kept per unreachable node as the sources to link from
/// (the nearest with a free slot wins).
const CANDIDATES: usize = 16;

/// How [`Hnsw::relink_unfound`] searches for a row: from the entry point
/// `ep` on layer `top`, on `codes` when given (as the scan of a segment
/// with codes searches), else on exact distances.
#[derive(Clone, Copy)]
struct SelfSearch<'a> {
    ep: u32,
    top: u8,
    codes: Option<&'a BuildCodes>,
}

/// State [`Hnsw::relink_unfound`] carries across its rounds and passes.
struct Relink<'a> {
    search: SelfSearch<'a>,
    threads: usize,
    /// Nodes searched for (or queued) in this pass.
    checked: Vec<bool>,
    /// Incoming edges per layer-0 node, counted at the first link.
    indegree: Option<Vec<u32>>,
    /// Edges made.
    made: usize,
}

/// What one [`Hnsw::connect`] found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectStats {
    /// Per layer (index = layer), nodes of the layer the entry point could
    /// not reach when the build or merge had placed every node, before any
    /// repair: what searches would have missed without it.
    pub unreachable_before: Vec<usize>,
    /// Per layer, nodes still unreachable afterwards (all zero unless
    /// [`MAX_ROUNDS`] did not suffice).
    pub unreachable_after: Vec<usize>,
    /// Edges added into free slots.
    pub links_added: usize,
    /// Edges that replaced another edge of a full list.
    pub links_replaced: usize,
    /// Layer-0 edges added from a node's nearest neighbour back to it (see
    /// `Hnsw::link_back_locally`).
    pub local_links: usize,
    /// Layer-0 edges added to chain rows with identical vectors into a
    /// ring (see `Hnsw::ring_copies`).
    pub copy_links: usize,
    /// Edges a merge added into nodes its searches did not find (see
    /// `Hnsw::relink_unfound`).
    pub relinked: usize,
    /// Weakly linked layer-0 nodes whose lists were searched again (see
    /// `Hnsw::refine_weak_nodes`).
    pub weak_refined: usize,
    /// Time the whole repair took (its share of a build is reported by the
    /// `glove_bench` example).
    pub elapsed: std::time::Duration,
}

impl ConnectStats {
    /// Nodes unreachable on any layer before the repair.
    pub fn total_unreachable_before(&self) -> usize {
        self.unreachable_before.iter().sum()
    }
    /// Nodes unreachable on any layer after the repair.
    pub fn total_unreachable_after(&self) -> usize {
        self.unreachable_after.iter().sum()
    }
}

/// Marks the nodes of `level` reachable from `g`'s entry point along that
/// layer's edges (`true` at their ids). Nodes below the layer are never
/// marked. Works on any [`GraphView`], in memory or in pages.
pub fn reachable<G: GraphView>(g: &G, level: u8) -> Vec<bool> {
    let mut seen = vec![false; g.len() as usize];
    if let Some((ep, top)) = g.entry_point() {
        if top >= level {
            let mut queue = Vec::new();
            let mut buf = Vec::new();
            seen[ep as usize] = true;
            queue.push(ep);
            mark_from(g, level, &mut seen, &mut queue, &mut buf);
        }
    }
    seen
}

/// Live nodes of `level` that the entry point cannot reach (deleted nodes
/// are traversed, never reported). Empty for a healthy graph.
pub fn unreachable_live<G: GraphView>(g: &G, level: u8) -> Vec<u32> {
    let seen = reachable(g, level);
    (0..g.len())
        .filter(|&id| !seen[id as usize] && g.level(id) >= level && !g.with_node(id, |_, del| del))
        .collect()
}

/// Breadth-first marking from the nodes in `queue` (already marked).
fn mark_from<G: GraphView>(g: &G, level: u8, seen: &mut [bool], queue: &mut Vec<u32>, buf: &mut Vec<u32>) {
    // Lists are read in the queue's order, which is all over memory: ask
    // for a few ahead.
    const AHEAD: usize = 8;
    let mut head = 0;
    while head < queue.len() {
        let c = queue[head];
        if level == 0 {
            if let Some(&a) = queue.get(head + AHEAD) {
                g.prefetch_links(a);
            }
        }
        head += 1;
        g.neighbours(c, level, buf);
        for &n in buf.iter() {
            if let Some(s) = seen.get_mut(n as usize) {
                if !*s {
                    *s = true;
                    queue.push(n);
                }
            }
        }
    }
    queue.clear();
}

impl<S: Space> Hnsw<S> {
    /// Makes every node reachable from the entry point on every layer it is
    /// part of (see the module documentation). Called at the end of every
    /// build and merge; public for tools and tests.
    pub fn connect(&self) -> ConnectStats {
        let mut never = || false;
        match self.connect_interruptible(1, &mut Stop::new(&mut never)) {
            Ok(s) => s,
            Err(Cancelled) => unreachable!("no interrupt hook"),
        }
    }

    /// [`Hnsw::connect`] on `threads` threads, stopped by `stop`.
    pub(crate) fn connect_interruptible(&self, threads: usize, stop: &mut Stop<'_>) -> Result<ConnectStats, Cancelled> {
        let mut stats = ConnectStats::default();
        let Some((_, top)) = self.entry else {
            return Ok(stats);
        };
        let started = std::time::Instant::now();
        stats.unreachable_before = vec![0; top as usize + 1];
        stats.unreachable_after = vec![0; top as usize + 1];
        // Cut-off nodes are joined first, while nothing links into their
        // region: each one's search then ends among the nodes a later search
        // for it also reaches, and its edge comes from there. Run after the
        // passes below, the first weak node they refine makes the whole
        // region reachable through one edge from wherever that node's search
        // ended, and the region gets no edge of its own (measured: an int8
        // far line cut off by a dropping merge, 47 of 240 rows not found at
        // ef_search 40, entered only from a node outside their searches).
        // Each layer's edges only join that layer, so the count a layer's
        // pass finds before repairing is what a check of every layer before
        // any repair would have found.
        let mut indegree0 = None;
        for level in (0..=top).rev() {
            let mut upper = None;
            let indegree = if level == 0 { &mut indegree0 } else { &mut upper };
            let (before, _) = self.connect_layer(level, indegree, stop, &mut stats)?;
            stats.unreachable_before[level as usize] = before;
        }
        let indegree = indegree0.get_or_insert_with(|| self.indegree(0));
        stats.weak_refined = self.refine_weak_nodes(indegree, threads, stop)?;
        stats.local_links = self.link_back_locally(indegree, threads, stop)?;
        stats.copy_links = self.ring_copies(indegree, stop)?;
        // The back-links can replace an edge that was some node's only way
        // in: check every layer again.
        self.reconnect(stop, &mut stats)?;
        stats.elapsed = started.elapsed();
        Ok(stats)
    }

    /// Checks every layer for nodes the entry point cannot reach and joins
    /// them (see [`Hnsw::connect`], step 3), recording what is left in
    /// `stats.unreachable_after`: after any pass that replaces edges.
    pub(crate) fn reconnect(&self, stop: &mut Stop<'_>, stats: &mut ConnectStats) -> Result<(), Cancelled> {
        let Some((_, top)) = self.entry else { return Ok(()) };
        stats.unreachable_after.resize(top as usize + 1, 0);
        for level in (0..=top).rev() {
            stats.unreachable_after[level as usize] = self.connect_layer(level, &mut None, stop, stats)?.1;
        }
        Ok(())
    }

    /// Layer 0: searches again for the nodes with at most
    /// [`WEAK_DEGREE`] neighbours or incoming edges, and adds to their lists
    /// what the heuristic selects from what the search finds, with edges
    /// back where slots are free. Returns how many.
    ///
    /// Such a node is usually an outlier (the heuristic keeps one or two
    /// edges) or was inserted while its true neighbours were being inserted
    /// by another thread, so neither saw the other: seen in 1-d data, a node
    /// whose only neighbour was its 85th nearest. Its list is then poor in a
    /// way the anchor rule below cannot see, because that rule trusts the
    /// node's own list. A second search, now that the graph is complete,
    /// finds its real neighbourhood; they are few, so it is cheap.
    ///
    /// The searches run first, on `threads` threads over the graph as the
    /// build left it; their results are then added one node at a time in
    /// id order, so the outcome does not depend on the threads.
    ///
    /// `indegree` holds the layer's incoming edges per node and is kept
    /// up to date.
    fn refine_weak_nodes(&self, indegree: &mut [u32], threads: usize, stop: &mut Stop<'_>) -> Result<usize, Cancelled> {
        let Some((ep, top)) = self.entry else { return Ok(0) };
        let n = self.len();
        let mut out = Vec::new();
        let weak: Vec<u32> = (0..n as u32)
            .filter(|&u| {
                GraphView::neighbours(self, u, 0, &mut out);
                out.len() <= WEAK_DEGREE || indegree[u as usize] as usize <= WEAK_DEGREE
            })
            .collect();
        let found = self.for_each_node(&weak, threads, stop, |u, scratch| {
            let uv = self.vector(u);
            let (cur, _) = descend::<_, S>(self, uv, ep, top, 0, &mut scratch.nbrs);
            search_layer::<_, S>(self, uv, &[cur], 0, self.ef_construction, false, Some(u), scratch);
            Some(std::mem::take(&mut scratch.out))
        })?;
        let mut cands = Vec::new();
        let mut picked = Vec::new();
        for (u, near) in found {
            GraphView::neighbours(self, u, 0, &mut out);
            let uv = self.vector(u);
            cands.clear();
            cands.extend_from_slice(&near);
            for &x in &out {
                if !cands.iter().any(|c| c.id == x) {
                    cands.push(Neighbour { id: x, distance: S::distance(uv, self.vector(x)) });
                }
            }
            cands.sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
            self.select_heuristic(u, &cands, self.m, &mut picked, None);
            // Only adds: an existing edge may be some node's only way in.
            let cap = self.cap(0);
            for p in &picked {
                if out.len() >= cap {
                    break;
                }
                if !out.contains(&p.id) {
                    out.push(p.id);
                    indegree[p.id as usize] += 1;
                }
            }
            self.write_list(u, 0, out.iter().copied());
            // Edges back into `u` from its new neighbours, where a slot is
            // free (the anchor pass below guarantees the nearest one).
            for p in &picked {
                if !self.links_to(p.id, 0, u) && self.append_if_free(p.id, 0, u) {
                    indegree[u as usize] += 1;
                }
            }
        }
        Ok(weak.len())
    }

    /// Runs `f` for each of `nodes` on `threads` threads (each with its own
    /// scratch), stopping when `stop` fires. Returns the nodes `f` gave a
    /// value for, with their values, in the order of `nodes`.
    fn for_each_node<T: Send>(
        &self,
        nodes: &[u32],
        threads: usize,
        stop: &mut Stop<'_>,
        f: impl Fn(u32, &mut SearchScratch) -> Option<T> + Sync,
    ) -> Result<Vec<(u32, T)>, Cancelled> {
        const CHUNK: usize = 256;
        let chunks = nodes.len().div_ceil(CHUNK);
        // Each chunk's results under its chunk number.
        type Chunks<T> = Vec<(usize, Vec<(u32, T)>)>;
        let done: std::sync::Mutex<Chunks<T>> = std::sync::Mutex::new(Vec::new());
        let next_chunk = AtomicUsize::new(0);
        let work = |flag: &mut dyn FnMut() -> bool| {
            let mut scratch = SearchScratch::new();
            loop {
                let c = next_chunk.fetch_add(1, Relaxed);
                if c >= chunks || flag() {
                    break;
                }
                let mine: Vec<(u32, T)> = nodes[c * CHUNK..((c + 1) * CHUNK).min(nodes.len())]
                    .iter()
                    .filter_map(|&u| f(u, &mut scratch).map(|t| (u, t)))
                    .collect();
                done.lock().unwrap_or_else(|e| e.into_inner()).push((c, mine));
            }
        };
        let threads = threads.clamp(1, chunks.max(1));
        if threads == 1 {
            work(&mut || stop.requested());
            if stop.requested() {
                return Err(Cancelled);
            }
        } else {
            stop.run_workers(threads, |_, flag| work(&mut || flag.load(Relaxed)));
            stop.result()?;
        }
        let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
        done.sort_unstable_by_key(|c| c.0);
        Ok(done.into_iter().flat_map(|c| c.1).collect())
    }

    /// Layer 0: gives every node whose nearest neighbour does not link back
    /// to it an edge from that neighbour. Returns the edges made.
    ///
    /// Reachability alone does not make a row findable: a node whose only
    /// incoming edges come from farther away (pruned lists kept others) is
    /// reachable, yet a search for its own vector explores its neighbourhood
    /// and can stop before it meets one of those edges (seen at ef_search 40
    /// on 32-d data: a node whose one incoming edge came from its 37th
    /// nearest node). The nearest of its own neighbours is the node a search
    /// for it is most certain to expand, so that one must link to it. In a
    /// full list the new edge replaces a neighbour that keeps another
    /// incoming edge (the farthest such), so this pass does not
    /// take the same guarantee from another node; the reachability pass that
    /// follows repairs the rare case where it still does.
    ///
    /// `indegree` as for [`Hnsw::refine_weak_nodes`].
    fn link_back_locally(&self, indegree: &mut [u32], threads: usize, stop: &mut Stop<'_>) -> Result<usize, Cancelled> {
        let n = self.len();
        let anchor = self.anchors(threads, stop)?;
        let mut made = 0;
        for u in 0..n as u32 {
            let r = anchor[u as usize];
            if r == u32::MAX {
                continue;
            }
            if self.links_to(r, 0, u) {
                continue;
            }
            if !self.append_if_free(r, 0, u) {
                // Never a neighbour anchored here, nor one this edge was its
                // only way in.
                let Some(i) = self.replaceable_slot(r, 0, indegree, |x| anchor[x as usize] == r) else { continue };
                let l = self.list(r, 0);
                indegree[l[1 + i].load(Relaxed) as usize] -= 1;
                l[1 + i].store(u, Relaxed);
            }
            indegree[u as usize] += 1;
            made += 1;
        }
        Ok(made)
    }

    /// Each layer-0 node's anchor: the nearest of its own neighbours
    /// (`u32::MAX` for a node without any), on `threads` threads. One
    /// distance per edge of the graph, each a vector read from anywhere in
    /// memory: the most expensive of the passes (GloVe-50, 399k rows: the
    /// back-link pass took 0.35 s on one thread before the anchors ran on
    /// the threads, their vectors prefetched).
    fn anchors(&self, threads: usize, stop: &mut Stop<'_>) -> Result<Vec<u32>, Cancelled> {
        let n = self.len();
        let all: Vec<u32> = (0..n as u32).collect();
        let nearest = self.for_each_node(&all, threads, stop, |u, scratch| {
            let out = &mut scratch.nbrs;
            GraphView::neighbours(self, u, 0, out);
            // Ask for every neighbour's vector before measuring any, so
            // the waits overlap.
            for &r in out.iter() {
                GraphView::prefetch(self, r);
            }
            let uv = self.vector(u);
            out.iter()
                .map(|&r| (S::distance(uv, self.vector(r)), r))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map(|(_, r)| r)
        })?;
        let mut anchor = vec![u32::MAX; n];
        for (u, r) in nearest {
            anchor[u as usize] = r;
        }
        Ok(anchor)
    }

    /// Layer 0: chains every group of rows with the same vector into a ring
    /// (each copy links to the next by id, the last to the first). Returns
    /// the edges made.
    ///
    /// A search that reaches one copy expands every copy it meets at the
    /// same distance, but the copies need not link to each other: the
    /// heuristic keeps one copy per outside list and at most half a list of
    /// copies, and full lists keep the lowest ids. A copy whose only
    /// incoming edges come from other rows was then returned after rows at
    /// a larger distance, or not in the first `LIMIT` (10-row groups of
    /// tied bits under cosine: 3 rows not in their own top 50; 200 copies
    /// far from the rest: up to 199 of 200 after a merge). With the ring,
    /// every copy is reached from any other through copies alone. The edge
    /// takes a free slot, else replaces an edge to another copy (the ring
    /// already leads there), else the farthest neighbour that keeps another
    /// incoming edge.
    ///
    /// `indegree` as for [`Hnsw::refine_weak_nodes`].
    fn ring_copies(&self, indeg: &mut [u32], stop: &mut Stop<'_>) -> Result<usize, Cancelled> {
        let n = self.len();
        // Rows sorted by a hash of their vector, then by id: copies are
        // adjacent (a collision only splits or skips a run).
        let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(n);
        let mut buf = [0u8; 8];
        for u in 0..n as u32 {
            if u % (64 * POLL_EVERY) == 0 && stop.requested() {
                return Err(Cancelled);
            }
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            for &x in self.vector(u) {
                x.write_ne(&mut buf);
                h = (h ^ u64::from_le_bytes(buf)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
                buf = [0; 8];
            }
            keyed.push((h, u));
        }
        keyed.sort_unstable();
        let mut made = 0;
        let mut group = Vec::new();
        let mut i = 0;
        while i < keyed.len() {
            let mut j = i + 1;
            while j < keyed.len() && keyed[j].0 == keyed[i].0 {
                j += 1;
            }
            if j - i >= 2 {
                let first = self.vector(keyed[i].1);
                group.clear();
                group.extend(keyed[i..j].iter().map(|x| x.1).filter(|&u| self.vector(u) == first));
                if group.len() >= 2 {
                    for (k, &u) in group.iter().enumerate() {
                        let next = group[(k + 1) % group.len()];
                        if self.links_to(u, 0, next) {
                            continue;
                        }
                        if !self.append_if_free(u, 0, next) {
                            let l = self.list(u, 0);
                            let cnt = (l[0].load(Relaxed) as usize).min(self.cap(0));
                            // Any other copy can go: each has its ring edge
                            // from its own predecessor, not from `u`.
                            let slot = (0..cnt)
                                .find(|&s| self.vector(l[1 + s].load(Relaxed)) == first)
                                .or_else(|| self.replaceable_slot(u, 0, indeg, |_| false));
                            let Some(s) = slot else { continue };
                            indeg[l[1 + s].load(Relaxed) as usize] -= 1;
                            l[1 + s].store(next, Relaxed);
                        }
                        indeg[next as usize] += 1;
                        made += 1;
                    }
                }
            }
            i = j;
        }
        Ok(made)
    }

    /// After a merge: every node is searched for on layer 0 as a query
    /// would be, but narrower (descent, then a search of width
    /// [`RELINK_EF`]), on `codes` when given (see [`Hnsw::finds_itself`]).
    /// One the search does not find gets an edge from the nearest node it
    /// did find (a free slot, else a replaced edge), and its neighbours are
    /// checked the same way. Then every node is checked once more the same
    /// way. Returns the edges made.
    ///
    /// A region of rows far from the rest is entered by a few long edges.
    /// A merge that drops rows changes the upper layers and the lists
    /// around them, so searches for the region's rows can end among nodes
    /// with no edge into it, though it stays reachable (a far line after a
    /// merge dropping every third row: 43 of 200 rows not found at
    /// ef_search 40; a single long edge lost does not show it). The first
    /// node of the region found missing gets an edge from where its search
    /// ended, and the checks spread through the region from it. In dense
    /// real data the same check finds the rows an approximate search misses
    /// in hard regions. GloVe-50, 10% merged in sorted by the first
    /// coordinate, rows not coming back first at ef_search 40 through the
    /// scan on the segment's SQ8 codes (`glove_bench --late-sorted 1`), of
    /// 39,900 merged and 359,100 old rows (3,600 of the old ones before the
    /// merge, by an exact search):
    ///
    /// | checked | merged | old | merge |
    /// |---|---:|---:|---:|
    /// | merged rows and every 2nd old one; again the merged and linked | 0 | 208 | 5.6 s |
    /// | every row; again the merged and linked | 0 | 18 | 5.9 s |
    /// | every row; again every row | 0 | 0 | 9.2 s |
    ///
    /// (The second pass over the nodes that lost an edge to a link as well:
    /// 21.) Links made late in the first pass change where earlier searches
    /// go, and no cheaper set of rows to check again was found; a merge
    /// runs in the background, so it pays the second pass.
    ///
    /// The checks run in rounds: a round's searches only read the graph
    /// and run on `threads` threads; the nodes they missed are then taken
    /// one at a time in ascending id order, searched for again (an edge
    /// made for an earlier one may have fixed them) and, if still missed,
    /// linked from where that search ended; the unchecked neighbours of
    /// the ones linked make the next round. So the result does not depend
    /// on the threads.
    pub(crate) fn relink_unfound(&self, threads: usize, codes: Option<&BuildCodes>, stop: &mut Stop<'_>) -> Result<usize, Cancelled> {
        let Some((ep, top)) = self.entry else { return Ok(0) };
        // Under an inner product a row need not be the nearest to its own
        // vector, so a search not finding it shows nothing.
        if S::METRIC == Metric::Dot {
            return Ok(0);
        }
        let n = self.len();
        let search = SelfSearch { ep, top, codes };
        let mut relink = Relink { search, threads, checked: vec![false; n], indegree: None, made: 0 };
        for _pass in 0..2 {
            relink.checked.iter_mut().for_each(|c| *c = false);
            self.relink_rounds((0..n as u32).collect(), &mut relink, stop)?;
        }
        Ok(relink.made)
    }

    /// The rounds of [`Hnsw::relink_unfound`] from `round` (ascending ids):
    /// search all of a round on the threads, then link its misses one at a
    /// time; their unchecked neighbours make the next round.
    fn relink_rounds(&self, mut round: Vec<u32>, r: &mut Relink, stop: &mut Stop<'_>) -> Result<(), Cancelled> {
        for &u in &round {
            r.checked[u as usize] = true;
        }
        let mut stats = ConnectStats::default();
        let mut nbrs = Vec::new();
        let mut scratch = SearchScratch::new();
        let mut polls = 0u32;
        while !round.is_empty() {
            let mut missed = self.unfound_of(&round, r.search, r.threads, stop)?;
            missed.sort_unstable();
            let mut next = Vec::new();
            for u in missed {
                polls = polls.wrapping_add(1);
                if polls % POLL_EVERY == 0 && stop.requested() {
                    return Err(Cancelled);
                }
                if self.finds_itself(u, r.search, &mut scratch) {
                    continue;
                }
                let indeg = r.indegree.get_or_insert_with(|| self.indegree(0));
                if self.link_into(u, 0, &scratch.out, true, indeg, &mut stats) {
                    r.made += 1;
                }
                GraphView::neighbours(self, u, 0, &mut nbrs);
                for &x in &nbrs {
                    if !std::mem::replace(&mut r.checked[x as usize], true) {
                        next.push(x);
                    }
                }
            }
            next.sort_unstable();
            round = next;
        }
        Ok(())
    }

    /// The nodes of `nodes` that [`Hnsw::finds_itself`] does not find,
    /// searched on `threads` threads without writing the graph; in the
    /// order of `nodes`.
    fn unfound_of(
        &self,
        nodes: &[u32],
        search: SelfSearch<'_>,
        threads: usize,
        stop: &mut Stop<'_>,
    ) -> Result<Vec<u32>, Cancelled> {
        let missed = self.for_each_node(nodes, threads, stop, |u, scratch| (!self.finds_itself(u, search, scratch)).then_some(()))?;
        Ok(missed.into_iter().map(|(u, ())| u).collect())
    }

    /// Whether a search for node `u`'s vector (descent from `ep` on `top`,
    /// then [`RELINK_EF`] wide on layer 0) finds it, or a copy of it at the
    /// same distance; the search's nodes are left in `scratch.out`.
    ///
    /// With codes, the search is the scan's: the descent compares the
    /// codes' estimates, and layer 0 orders and stops on the codes' lower
    /// bounds, measuring exactly only what it takes. The two descents end
    /// in different places, so each misses rows the other finds (GloVe-50,
    /// 10% merged sorted, checks on exact distances: 0 merged rows missed
    /// by an exact search, 9-11 by the scan on the segment's SQ8 codes).
    fn finds_itself(&self, u: u32, search: SelfSearch<'_>, scratch: &mut SearchScratch) -> bool {
        let uv = self.vector(u);
        let SelfSearch { ep, top, codes } = search;
        match codes {
            Some(codes) => {
                let (est, array) = (codes.estimator::<S>(uv), codes.array());
                let cur = descend_on_codes(self, ep, top, &mut scratch.nbrs, |id| est.estimate(array.code(id)).0);
                search_layer0_coded::<_, S>(self, uv, &[cur], RELINK_EF, None, array, &est, scratch);
            }
            None => {
                let (cur, _) = descend::<_, S>(self, uv, ep, top, 0, &mut scratch.nbrs);
                search_layer::<_, S>(self, uv, &[cur], 0, RELINK_EF, false, None, scratch);
            }
        }
        let own = S::distance(uv, uv);
        // With copies any of them may come first: found if one is.
        scratch.out.iter().any(|x| x.id == u || (x.distance <= own && self.vector(x.id) == uv))
    }

    /// Whether the list of `r` on `level` holds `u`.
    fn links_to(&self, r: u32, level: u8, u: u32) -> bool {
        let l = self.list(r, level);
        let cnt = (l[0].load(Relaxed) as usize).min(self.cap(level));
        l[1..=cnt].iter().any(|a| a.load(Relaxed) == u)
    }

    /// Appends `u` to the list of `r` on `level` if it has a free slot.
    fn append_if_free(&self, r: u32, level: u8, u: u32) -> bool {
        let cap = self.cap(level);
        let l = self.list(r, level);
        let cnt = (l[0].load(Relaxed) as usize).min(cap);
        if cnt >= cap {
            return false;
        }
        l[1 + cnt].store(u, Relaxed);
        l[0].store(cnt as u32 + 1, Relaxed);
        true
    }

    /// The slot in the (full) list of `r` on `level` whose neighbour can
    /// best give up this edge: one that keeps another incoming edge
    /// (`indegree` at least 2) and that `keep` does not protect, the
    /// farthest from `r` among them.
    fn replaceable_slot(&self, r: u32, level: u8, indegree: &[u32], keep: impl Fn(u32) -> bool) -> Option<usize> {
        let l = self.list(r, level);
        let cnt = (l[0].load(Relaxed) as usize).min(self.cap(level));
        let rv = self.vector(r);
        (0..cnt)
            .map(|i| (i, l[1 + i].load(Relaxed)))
            .filter(|&(_, x)| indegree[x as usize] >= 2 && !keep(x))
            .map(|(i, x)| (i, S::distance(rv, self.vector(x))))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }

    /// Incoming edges per node on `level`.
    fn indegree(&self, level: u8) -> Vec<u32> {
        let mut counts = vec![0u32; self.len()];
        let mut out = Vec::new();
        for id in 0..self.len() as u32 {
            if self.levels[id as usize] >= level {
                GraphView::neighbours(self, id, level, &mut out);
                for &x in &out {
                    counts[x as usize] += 1;
                }
            }
        }
        counts
    }

    /// One layer: returns how many of its nodes were unreachable before,
    /// and how many still are. `indegree` holds the layer's incoming edges
    /// per node once counted (counted here if needed, then kept up to
    /// date).
    fn connect_layer(
        &self,
        level: u8,
        indegree: &mut Option<Vec<u32>>,
        stop: &mut Stop<'_>,
        stats: &mut ConnectStats,
    ) -> Result<(usize, usize), Cancelled> {
        let n = self.len();
        let on_layer = |id: u32| self.levels[id as usize] >= level;
        let mut seen = reachable(self, level);
        let count_missing = |seen: &[bool]| (0..n as u32).filter(|&id| on_layer(id) && !seen[id as usize]).count();
        let before = count_missing(&seen);
        if before == 0 {
            return Ok((0, 0));
        }
        // Incoming edges per node on this layer, to pick a replaceable edge.
        let indegree = indegree.get_or_insert_with(|| self.indegree(level));
        let mut buf = Vec::new();
        let (ep, top) = self.entry.expect("a graph with nodes has an entry point");
        let mut scratch = SearchScratch::new();
        let mut polls = 0u32;
        let mut queue = Vec::new();
        for _round in 0..crate::connect::MAX_ROUNDS {
            // `seen` stays the set reachable at the start of the round: every
            // node outside it gets its own edge from inside it, not just one
            // edge per cut-off component. A component entered by one edge is
            // reachable, but a search for one of its other nodes has to pass
            // that edge's source, which need not be near it (measured: a
            // 240-node component cut off by a merge and joined by one edge
            // left its rows unfound at ef_search 40).
            // All searches first, then all links: a search run after some
            // links were added would walk into the newly joined nodes and
            // find only those near `u`, not the nodes reachable before.
            let mut found: Vec<(u32, Vec<Neighbour>)> = Vec::new();
            for u in 0..n as u32 {
                if !on_layer(u) || seen[u as usize] {
                    continue;
                }
                polls = polls.wrapping_add(1);
                if polls % POLL_EVERY == 0 && stop.requested() {
                    return Err(Cancelled);
                }
                let uv = self.vector(u);
                let (cur, _) = descend::<_, S>(self, uv, ep, top, level, &mut scratch.nbrs);
                // The descent walks the layers above, so where it stops need
                // not be reachable on this layer; the entry point always is.
                let start = if seen[cur as usize] { cur } else { ep };
                let ef = self.ef_construction.max(self.cap(level));
                search_layer::<_, S>(self, uv, &[start], level, ef, false, Some(u), &mut scratch);
                found.push((u, scratch.out.iter().copied().filter(|x| seen[x.id as usize]).take(CANDIDATES).collect()));
            }
            // `now`: reachable including this round's links. A node the
            // round has already joined still gets its own edge, but only
            // into a free slot: replacing edges of the same few nodes near
            // a large cut-off region, once per node of it, would strip those
            // nodes of their own neighbourhoods.
            // A node still cut off when no free slot was found searches
            // again, now also among the nodes joined so far (which lets a
            // run of duplicates chain through each other), and may replace
            // an edge.
            let mut now = seen.clone();
            for (u, near) in &found {
                let u = *u;
                let joined = now[u as usize];
                if joined {
                    self.link_into(u, level, near, false, indegree, stats);
                    continue;
                }
                if self.link_into(u, level, near, false, indegree, stats) {
                    now[u as usize] = true;
                    queue.push(u);
                    mark_from(self, level, &mut now, &mut queue, &mut buf);
                    continue;
                }
                let uv = self.vector(u);
                search_layer::<_, S>(self, uv, &[ep], level, self.ef_construction.max(self.cap(level)), false, Some(u), &mut scratch);
                scratch.out.retain(|x| now[x.id as usize]);
                if self.link_into(u, level, &scratch.out, true, indegree, stats) {
                    now[u as usize] = true;
                    queue.push(u);
                    mark_from(self, level, &mut now, &mut queue, &mut buf);
                }
            }
            // A replaced edge may have been the last way into some node.
            seen = reachable(self, level);
            if count_missing(&seen) == 0 {
                break;
            }
        }
        Ok((before, count_missing(&seen)))
    }

    /// Gives `u` an incoming edge on `level` from one of `near` (reachable
    /// nodes, ascending by distance to `u`), replacing an edge of a full
    /// list only when `may_replace`. Returns whether an edge was made.
    fn link_into(
        &self,
        u: u32,
        level: u8,
        near: &[Neighbour],
        may_replace: bool,
        indegree: &mut [u32],
        stats: &mut ConnectStats,
    ) -> bool {
        // The nearest reachable node with a free slot.
        if near.iter().any(|x| self.append_if_free(x.id, level, u)) {
            indegree[u as usize] += 1;
            stats.links_added += 1;
            return true;
        }
        if !may_replace {
            return false;
        }
        // All full: in the nearest node whose list has a neighbour that
        // other edges also lead to, replace the farthest such neighbour.
        for r in near.iter().map(|x| x.id) {
            if let Some(i) = self.replaceable_slot(r, level, indegree, |_| false) {
                let l = self.list(r, level);
                indegree[l[1 + i].load(Relaxed) as usize] -= 1;
                l[1 + i].store(u, Relaxed);
                indegree[u as usize] += 1;
                stats.links_replaced += 1;
                return true;
            }
        }
        // Every neighbour of every candidate has a single incoming edge: take
        // the nearest candidate's last slot; the final check repairs the
        // node it cuts off, if any.
        let Some(r) = near.first().map(|x| x.id) else {
            return false;
        };
        let l = self.list(r, level);
        let slot = (l[0].load(Relaxed) as usize).min(self.cap(level));
        let old = l[slot].load(Relaxed);
        indegree[old as usize] -= 1;
        l[slot].store(u, Relaxed);
        indegree[u as usize] += 1;
        stats.links_replaced += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Params;
    use crate::space::L2F32;

    /// Gaussian rows: no low-dimensional structure, so narrow searches miss
    /// some and `relink_unfound` has links to make.
    fn gaussian(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut x = seed | 1;
        (0..n * dim)
            .map(|_| {
                // Sum of uniforms: close enough to a normal for this.
                (0..4)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x >> 11) as f32 / (1u64 << 53) as f32
                    })
                    .sum::<f32>()
                    - 2.0
            })
            .collect()
    }

    /// Builds the same graph twice (one-thread builds are deterministic),
    /// runs `pass` on the first with one thread and on the second with
    /// two, asserts both end with the same layer-0 edges, and returns what
    /// each run returned.
    fn on_one_thread_and_two<T>(data: &[f32], dim: usize, pass: impl Fn(&Hnsw<L2F32>, usize) -> T) -> [T; 2] {
        let params = Params { threads: 1, m: 4, ef_construction: 16, ..Params::default() };
        let graphs: [Hnsw<L2F32>; 2] = std::array::from_fn(|_| Hnsw::build(&params, dim, data, None));
        let out = [pass(&graphs[0], 1), pass(&graphs[1], 2)];
        for id in 0..graphs[0].len() as u32 {
            assert_eq!(graphs[0].neighbour_ids(id, 0), graphs[1].neighbour_ids(id, 0), "node {id}");
        }
        out
    }

    /// The rounds search on threads but link in id order: on the same
    /// graph, one thread and two make the same edges.
    #[test]
    fn relink_unfound_does_not_depend_on_the_threads() {
        let dim = 64;
        let data = gaussian(3000, dim, 7);
        let made = on_one_thread_and_two(&data, dim, |g, threads| {
            g.relink_unfound(threads, None, &mut Stop::new(&mut || false)).unwrap()
        });
        assert!(made[0] > 0, "the test data gave relink_unfound nothing to do");
        assert_eq!(made[0], made[1]);
    }

    /// The passes' searches run on threads but their results are applied
    /// in id order: on the same graph, one thread and two make the same
    /// edges (weak nodes, anchors and all).
    #[test]
    fn connect_does_not_depend_on_the_threads() {
        let (n, dim) = (3000, 16);
        let mut data = gaussian(n, dim, 11);
        // Every 5th row far out, each alone: lists of one or two edges,
        // so the weak-node pass has nodes to refine.
        for (i, row) in data.chunks_exact_mut(dim).enumerate().filter(|(i, _)| i % 5 == 0) {
            row.iter_mut().for_each(|x| *x += 40.0 + i as f32);
        }
        let stats = on_one_thread_and_two(&data, dim, |g, threads| {
            g.connect_interruptible(threads, &mut Stop::new(&mut || false)).unwrap()
        });
        assert!(stats[0].weak_refined > 0, "the test data gave the weak-node pass nothing to do");
        assert_eq!(
            (stats[0].weak_refined, stats[0].local_links, stats[0].links_added),
            (stats[1].weak_refined, stats[1].local_links, stats[1].links_added)
        );
    }
}
