//! Merge: a new graph from an existing one (any [`GraphView`], in memory or
//! in pages) plus a batch of new vectors, reusing the existing edges.
//!
//! 1. Live old nodes keep their relative order and become ids
//!    `0..survivors`; deleted ones are dropped. The new vectors follow.
//! 2. Every live node keeps its level and its neighbour lists, renumbered.
//!    A list that pointed at deleted nodes is *repaired*: it keeps its live
//!    neighbours, each deleted neighbour is replaced by its own nearest live
//!    neighbour, and the freed slots are offered to the live nodes reachable
//!    through the deleted ones in one hop on the same layer (two hops when
//!    one gives fewer than `2 * capacity` candidates): the `2 * capacity`
//!    nearest of them, in order of distance, each accepted by the HNSW
//!    heuristic against the list so far; slots the heuristic leaves empty
//!    are refilled with the nearest rejected candidates, up to the list's
//!    old length. Lists longer than the
//!    new graph's capacity (when `m` shrinks) are re-selected entirely.
//!    Repairs run on all build threads.
//! 3. The entry point is kept if live, otherwise the first live node of the
//!    highest level takes its place.
//! 4. The new vectors are inserted as in a build, searching the repaired
//!    graph.
//! 5. Every node left without a path from the entry point (repairs and the
//!    heuristic's pruning can cut off far or duplicate nodes, new or old)
//!    gets an incoming edge, see [`crate::connect`]. Then every node, new
//!    or old, is searched for twice as a query would be (on the codes the
//!    new segment gets, see [`Params::segment_codes`]), but narrower; one
//!    the search does not find gets an
//!    edge from the nearest node the search did find, and its neighbours
//!    are checked too; reachability is checked once more.
//!
//! Old graphs are read by one thread (a page-backed view need not be
//! `Sync`); distances and heuristics then run in parallel on the new graph.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::graph::{random_level, BuildCodes, BuildError, Cancelled, Hnsw, Params, Stop, POLL_EVERY};
use crate::quant::CodeKind;
use crate::search::{GraphView, Neighbour};
use crate::slab::{Slab, Spill};
use crate::space::Space;

const GONE: u32 = u32::MAX;

/// A list to rebuild: node (new id), layer, the live neighbours it keeps,
/// and candidate new ids for the freed slots.
struct Repair {
    node: u32,
    level: u8,
    kept: Vec<u32>,
    cands: Vec<u32>,
    /// Length of the list before the repair (what it is refilled up to).
    old_len: usize,
}

/// Merges `old` (without its deleted nodes) with `new_vectors`
/// (`k * old.vector_len()` elements, not yet prepared). New nodes carry
/// `new_payloads` (default: their new id). Returns the merged graph; old
/// live node `i` becomes node `old_to_new[i]`, see [`merge_with_map`].
pub fn merge<G, S>(
    old: &G,
    params: &Params,
    new_vectors: &[S::Elem],
    new_payloads: Option<&[u64]>,
) -> Hnsw<S>
where
    G: GraphView,
    S: Space<Elem = G::Elem>,
{
    merge_with_map(old, params, new_vectors, new_payloads).0
}

/// [`merge`], also returning the map from old ids to new ids (`u32::MAX` for
/// dropped nodes).
pub fn merge_with_map<G, S>(
    old: &G,
    params: &Params,
    new_vectors: &[S::Elem],
    new_payloads: Option<&[u64]>,
) -> (Hnsw<S>, Vec<u32>)
where
    G: GraphView,
    S: Space<Elem = G::Elem>,
{
    match merge_with_map_interruptible(old, params, new_vectors, new_payloads, &mut || false) {
        Ok(r) => r,
        Err(Cancelled) => unreachable!("a merge without an interrupt hook is never cancelled"),
    }
}

/// [`merge`] that can be stopped: `interrupt` runs on the calling thread
/// only (which is also the only thread reading `old`), every few nodes while
/// it reads `old` and every [`crate::graph::POLL_INTERVAL`] while worker
/// threads repair lists and insert; once it returns true the merge stops
/// within about one insertion per worker and returns `Err(Cancelled)`.
pub fn merge_interruptible<G, S>(
    old: &G,
    params: &Params,
    new_vectors: &[S::Elem],
    new_payloads: Option<&[u64]>,
    interrupt: &mut dyn FnMut() -> bool,
) -> Result<Hnsw<S>, Cancelled>
where
    G: GraphView,
    S: Space<Elem = G::Elem>,
{
    merge_with_map_interruptible(old, params, new_vectors, new_payloads, interrupt).map(|r| r.0)
}

/// [`merge_with_map`] with an interrupt hook, see [`merge_interruptible`].
pub fn merge_with_map_interruptible<G, S>(
    old: &G,
    params: &Params,
    new_vectors: &[S::Elem],
    new_payloads: Option<&[u64]>,
    interrupt: &mut dyn FnMut() -> bool,
) -> Result<(Hnsw<S>, Vec<u32>), Cancelled>
where
    G: GraphView,
    S: Space<Elem = G::Elem>,
{
    match merge_impl(old, params, new_vectors, new_payloads, None, interrupt) {
        Ok(r) => Ok(r),
        Err(BuildError::Cancelled) => Err(Cancelled),
        Err(BuildError::Spill(e)) => unreachable!("a merge without a spill allocates no file: {e}"),
    }
}

/// [`merge_interruptible`] whose merged graph keeps its vectors, payloads
/// and adjacency lists in `spill`'s temporary files when given (see
/// [`crate::slab`]): the merge's own memory is then a few bytes per node
/// (levels, offsets, locks, the old-to-new map). `new_vectors` and
/// `new_payloads` may themselves be mapped files (a [`Slab`] derefs to a
/// slice); they are copied into the merged graph's arrays. The vector and
/// payload files are sized for every node of `old`, deleted ones included
/// (the survivors are counted while they are copied). Without a spill this
/// is [`merge_interruptible`], and the graph is the same either way. Fails
/// with [`BuildError::Spill`] when a file cannot be made (e.g. past the
/// spill's limit), with nothing left behind.
pub fn merge_spilled_interruptible<G, S>(
    old: &G,
    params: &Params,
    new_vectors: &[S::Elem],
    new_payloads: Option<&[u64]>,
    spill: Option<&Spill>,
    interrupt: &mut dyn FnMut() -> bool,
) -> Result<Hnsw<S>, BuildError>
where
    G: GraphView,
    S: Space<Elem = G::Elem>,
{
    merge_impl(old, params, new_vectors, new_payloads, spill, interrupt).map(|r| r.0)
}

fn merge_impl<G, S>(
    old: &G,
    params: &Params,
    new_vectors: &[S::Elem],
    new_payloads: Option<&[u64]>,
    spill: Option<&Spill>,
    interrupt: &mut dyn FnMut() -> bool,
) -> Result<(Hnsw<S>, Vec<u32>), BuildError>
where
    G: GraphView,
    S: Space<Elem = G::Elem>,
{
    params.check();
    let mut stop = Stop::new(interrupt).counting(params);
    let dim = old.vector_len();
    assert!(
        dim > 0 && new_vectors.len() % dim == 0,
        "new vectors do not match the old graph's length"
    );
    let n_old = old.len();
    let n_new = new_vectors.len() / dim;

    if let Some(p) = new_payloads {
        assert_eq!(p.len(), n_new, "one payload per new vector");
    }

    // 1. Survivors and their data: on the heap, or (with a spill) straight
    //    into files sized for every old node, cut to the survivors after.
    let mut remap = vec![GONE; n_old as usize];
    let mut files = match spill {
        None => None,
        Some(s) => {
            let cap = n_old as usize + n_new;
            let v = Slab::<S::Elem>::zeroed(cap * dim, Some(s)).map_err(BuildError::Spill)?;
            Some((v, Slab::<u64>::zeroed(cap, Some(s)).map_err(BuildError::Spill)?))
        }
    };
    let mut vectors = Vec::new();
    let mut payloads = Vec::new();
    let mut levels = Vec::new();
    let mut survivors = Vec::new();
    for o in 0..n_old {
        if o % POLL_EVERY == 0 && stop.requested() {
            return Err(BuildError::Cancelled);
        }
        let k = survivors.len();
        let live = old.with_node(o, |v, del| {
            if !del {
                match &mut files {
                    Some((fv, _)) => fv[k * dim..(k + 1) * dim].copy_from_slice(v),
                    None => vectors.extend_from_slice(v),
                }
            }
            !del
        });
        if live {
            remap[o as usize] = k as u32;
            survivors.push(o);
            match &mut files {
                Some((_, fp)) => fp[k] = old.payload(o),
                None => payloads.push(old.payload(o)),
            }
            levels.push(old.level(o));
        }
    }
    let n_surv = survivors.len();
    let total = n_surv + n_new;
    let (mut vectors, payloads) = match files {
        Some((mut fv, mut fp)) => {
            fv.truncate(total * dim);
            fp.truncate(total);
            fv[n_surv * dim..].copy_from_slice(new_vectors);
            match new_payloads {
                Some(p) => fp[n_surv..].copy_from_slice(p),
                None => fp[n_surv..].iter_mut().zip(n_surv as u64..).for_each(|(x, i)| *x = i),
            }
            (fv, fp)
        }
        None => {
            vectors.extend_from_slice(new_vectors);
            match new_payloads {
                Some(p) => payloads.extend_from_slice(p),
                None => payloads.extend(n_surv as u64..total as u64),
            }
            (Slab::from_vec(vectors), Slab::from_vec(payloads))
        }
    };
    if S::PREPARES {
        for row in vectors[n_surv * dim..].chunks_exact_mut(dim) {
            S::prepare(row);
        }
    }
    for i in n_surv..total {
        levels.push(random_level(
            params.seed,
            i as u64 ^ 0xA5A5_0000_0000_0000,
            params.m,
        ));
    }
    let mut g = Hnsw::<S>::alloc(params, dim, vectors, payloads, levels, spill).map_err(BuildError::Spill)?;

    // 2. Copy lists; collect the ones to repair (reads `old`, one thread).
    let mut repairs = Vec::new();
    let mut buf = Vec::new();
    let mut hop = Vec::new();
    let mut hop2 = Vec::new();
    let mut second = Vec::new();
    for (new_id, &o) in survivors.iter().enumerate() {
        let new_id = new_id as u32;
        if new_id % POLL_EVERY == 0 && stop.requested() {
            return Err(BuildError::Cancelled);
        }
        for l in 0..=old.level(o) {
            old.neighbours(o, l, &mut buf);
            // A neighbour on layer l has a level of at least l (unless the old
            // graph's pages are damaged: such links are dropped, as searches
            // of the new graph index lists by level).
            let reaches = |x: u32| g.levels[x as usize] >= l;
            let clean = buf.len() <= g.cap(l)
                && buf.iter().all(|&x| remap[x as usize] != GONE && reaches(remap[x as usize]));
            if clean {
                g.write_list(new_id, l, buf.iter().map(|&x| remap[x as usize]));
                continue;
            }
            // Live neighbours stay (they passed the heuristic before and
            // removing nodes does not invalidate that) unless the list is
            // over capacity, when everything is re-selected.
            let over = buf.len() > g.cap(l);
            let mut kept = Vec::new();
            let mut cands = Vec::with_capacity(buf.len() * 2);
            for &x in &buf {
                if remap[x as usize] != GONE {
                    if over {
                        cands.push(remap[x as usize]);
                    } else if !kept.contains(&remap[x as usize]) {
                        // (it may be there already as a deleted node's successor)
                        kept.push(remap[x as usize]);
                    }
                    continue;
                }
                old.neighbours(x, l, &mut hop);
                for &y in &hop {
                    if y == o {
                        continue;
                    }
                    if remap[y as usize] != GONE {
                        cands.push(remap[y as usize]);
                    } else {
                        second.push(y);
                    }
                }
                // The edge to `x` is replaced by an edge to x's nearest live
                // neighbour, whatever the heuristic says: it keeps the edge's
                // reach. Deleted nodes were often the one link between two
                // regions, and a repair choosing only by distance to `o`
                // kept local candidates and cut regions off (measured on
                // clustered data: rows not found at ef_search 40).
                if !over {
                    let successor = old.with_node(x, |xv, _| {
                        hop.iter()
                            .filter(|&&y| y != o && remap[y as usize] != GONE && reaches(remap[y as usize]))
                            .map(|&y| (S::distance(xv, g.vector(remap[y as usize])), remap[y as usize]))
                            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                    });
                    if let Some((_, y)) = successor {
                        if !kept.contains(&y) {
                            kept.push(y);
                        }
                    }
                }
            }
            // Two hops only when one left the list thin: the second hop
            // multiplies the candidates (and distances) by the degree.
            if kept.len() + cands.len() < 2 * g.cap(l) {
                second.sort_unstable();
                second.dedup();
                for &y in &second {
                    old.neighbours(y, l, &mut hop2);
                    cands.extend(
                        hop2.iter()
                            .filter(|&&z| z != o && remap[z as usize] != GONE)
                            .map(|&z| remap[z as usize]),
                    );
                }
            }
            second.clear();
            cands.sort_unstable();
            cands.dedup();
            kept.retain(|&c| reaches(c));
            cands.retain(|&c| !kept.contains(&c) && reaches(c));
            repairs.push(Repair {
                node: new_id,
                level: l,
                kept,
                cands,
                old_len: buf.len(),
            });
        }
    }

    // Repairs in parallel: each writes its own (node, layer) list.
    let threads = params.threads().clamp(1, repairs.len().max(1));
    let next = AtomicUsize::new(0);
    let work = |g: &Hnsw<S>, cancel: &mut dyn FnMut() -> bool| {
        let mut scored = Vec::new();
        let mut kept = Vec::new();
        loop {
            if cancel() {
                break;
            }
            let i = next.fetch_add(1, Relaxed);
            let Some(r) = repairs.get(i) else { break };
            let base = g.vector(r.node);
            scored.clear();
            scored.extend(r.cands.iter().map(|&c| Neighbour {
                id: c,
                distance: S::distance(base, g.vector(c)),
            }));
            scored.sort_unstable_by(|a: &Neighbour, b: &Neighbour| {
                a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id))
            });
            // Only the nearest few candidates can matter for the freed slots.
            let cap = g.cap(r.level);
            scored.truncate(2 * cap);
            kept.clear();
            kept.extend(r.kept.iter().map(|&id| Neighbour { id, distance: 0.0 }));
            g.extend_heuristic(r.node, &scored, cap, &mut kept, None);
            // The heuristic drops a candidate that a kept neighbour is
            // nearer to, assuming that neighbour links on to it; after a
            // delete it often does not (the deleted node was the link), and
            // whole regions were cut off this way. So the list is refilled
            // up to its old length with the nearest candidates it rejected.
            let target = r.old_len.min(cap);
            for c in &scored {
                if kept.len() >= target {
                    break;
                }
                if !kept.iter().any(|k| k.id == c.id) {
                    kept.push(*c);
                }
            }
            g.write_list(r.node, r.level, kept.iter().map(|x| x.id));
        }
    };
    if threads == 1 {
        let mut k = 0u32;
        work(&g, &mut || {
            k = k.wrapping_add(1);
            k % POLL_EVERY == 0 && stop.requested()
        });
    } else {
        let gr = &g;
        stop.run_workers(threads, |_, flag| work(gr, &mut || flag.load(Relaxed)));
    }
    stop.result()?;

    // 3. Entry point.
    let entry = match old.entry_point() {
        // The node's own level, not the one recorded with the entry point:
        // they agree unless the old graph's pages are damaged.
        Some((e, _)) if remap[e as usize] != GONE => {
            let id = remap[e as usize];
            Some((id, g.levels[id as usize]))
        }
        _ => {
            let mut best: Option<(u32, u8)> = None;
            for i in 0..n_surv as u32 {
                let l = g.levels[i as usize];
                if best.is_none_or(|(_, bl)| l > bl) {
                    best = Some((i, l));
                }
            }
            best
        }
    };
    g.entry = entry;

    // 4. Insert the new vectors.
    let codes = BuildCodes::train(&g, params.build_codes, spill, params.threads()).map_err(BuildError::Spill)?;
    let codes = g.insert_range(n_surv as u32, total as u32, entry, params.threads(), codes, &mut stop)?;

    // 5. Repaired lists and new nodes' pruned links can leave nodes without
    //    a path from the entry point; give them one. Then rows searches
    //    miss are linked from where the searches end (after the passes of
    //    `connect`, whose replaced edges undid some of those links when
    //    they ran first), and a replaced edge's last way into a node is
    //    made good again.
    let mut stats = g.connect_interruptible(params.threads(), &mut stop)?;
    let started = std::time::Instant::now();
    // The checks search as the scan of the segment written will: on codes
    // of its kind. SQ8 codes trained the same way on the same rows are the
    // ones the segment gets, and cost one pass over the vectors; RaBitQ
    // codes are the build's when of that kind, else exact distances (coding
    // every row through a rotation of thousands of dimensions would cost
    // more than the checks). The segment's pages then take these very codes
    // (`Hnsw::kept_codes`).
    let check_codes = match params.segment_codes {
        Some(kind) if codes.as_ref().is_some_and(|c| c.kind() == kind) => codes,
        Some(CodeKind::Sq8) => {
            drop(codes);
            BuildCodes::train(&g, Some(CodeKind::Sq8), spill, params.threads()).map_err(BuildError::Spill)?
        }
        _ => None,
    };
    stats.relinked = g.relink_unfound(params.threads(), check_codes.as_ref(), &mut stop)?;
    g.reconnect(&mut stop, &mut stats)?;
    stats.elapsed += started.elapsed();
    g.connect_stats = stats;
    g.kept_codes = check_codes;
    Ok((g, remap))
}
