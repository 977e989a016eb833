//! Streaming over several graphs at once (an index's sealed segments):
//! every live node comes out exactly once, recall matches one graph over
//! the same rows, and the shared bound keeps the work near one search's.

mod common;

use common::{brute_force, clustered_f32, recall_one, Rng};
use strata_hnsw::{Hnsw, Neighbour, Params, SegmentedSearch, StreamingSearch, L2F32};

const DIM: usize = 16;
const EF: usize = 40;

fn params() -> Params {
    Params { m: 12, ef_construction: 64, threads: 1, ..Params::default() }
}

/// `n` clustered rows, 30 rows far from them along a line, and 20 copies of one row.
fn data(n: usize) -> Vec<f32> {
    let mut v = clustered_f32(n, DIM, 12, 7);
    for i in 0..30 {
        v.extend((0..DIM).map(|j| 50.0 + i as f32 + 0.001 * j as f32));
    }
    let dup: Vec<f32> = v[..DIM].to_vec();
    for _ in 0..20 {
        v.extend_from_slice(&dup);
    }
    v
}

/// Splits the rows (payload = row number) into `parts` graphs, round robin.
fn split_build(v: &[f32], parts: usize) -> Vec<Hnsw<L2F32>> {
    let n = v.len() / DIM;
    (0..parts)
        .map(|p| {
            let rows: Vec<usize> = (p..n).step_by(parts).collect();
            let data: Vec<f32> = rows.iter().flat_map(|&r| v[r * DIM..(r + 1) * DIM].iter().copied()).collect();
            let tids: Vec<u64> = rows.iter().map(|&r| r as u64).collect();
            Hnsw::<L2F32>::build(&params(), DIM, &data, Some(&tids))
        })
        .collect()
}

#[test]
fn every_live_node_of_every_graph_comes_out_once() {
    let v = data(3000);
    let graphs = split_build(&v, 3);
    // Deleted nodes are traversed, never returned.
    graphs[1].mark_deleted(5);
    graphs[2].mark_deleted(0);
    let live: usize = graphs.iter().map(|g| g.len() as usize).sum::<usize>() - 2;
    let refs: Vec<&Hnsw<L2F32>> = graphs.iter().collect();
    let mut seen = std::collections::HashSet::new();
    let mut last = f32::NEG_INFINITY;
    let mut out_of_order = 0;
    for hit in SegmentedSearch::<_, L2F32>::new(refs, &v[40 * DIM..41 * DIM], EF) {
        assert!(seen.insert((hit.graph, hit.id)), "{hit:?} returned twice");
        assert!(!((hit.graph, hit.id) == (1, 5) || (hit.graph, hit.id) == (2, 0)), "deleted node returned");
        out_of_order += (hit.distance < last) as usize;
        last = last.max(hit.distance);
    }
    assert_eq!(seen.len(), live);
    // Approximately increasing: batches are sorted; few late arrivals.
    assert!(out_of_order < live / 20, "{out_of_order} of {live} out of order");
}

#[test]
fn recall_and_work_match_one_graph_over_the_same_rows() {
    let v = data(6000);
    let n = v.len() / DIM;
    let whole = Hnsw::<L2F32>::build(&params(), DIM, &v, Some(&(0..n as u64).collect::<Vec<_>>()));
    let parts = split_build(&v, 3);
    let mut rng = Rng::new(11);
    let (mut recall_whole, mut recall_parts) = (0.0, 0.0);
    let (mut work_whole, mut work_parts, mut work_separate) = (0u64, 0u64, 0u64);
    let queries = 200;
    for qi in 0..queries {
        // Queries near random rows (far and duplicate rows included), jittered.
        let row = if qi % 10 == 0 { n - 1 - (qi % 50) } else { (rng.next_u64() % n as u64) as usize };
        let q: Vec<f32> = v[row * DIM..(row + 1) * DIM].iter().map(|x| x + 0.01 * rng.gauss()).collect();
        let exact = brute_force::<_, L2F32>(&whole, &q, 10);

        let mut s = StreamingSearch::<_, L2F32>::new(&whole, &q, EF);
        let got: Vec<Neighbour> = s.by_ref().take(10).collect();
        work_whole += s.nodes_measured();
        recall_whole += recall_one(&exact, &got, 10);

        let mut s = SegmentedSearch::<_, L2F32>::new(parts.iter().collect(), &q, EF);
        let got: Vec<Neighbour> = s.by_ref().take(10).map(|h| Neighbour { id: parts[h.graph].node_payload(h.id) as u32, distance: h.distance }).collect();
        work_parts += s.nodes_measured();
        recall_parts += recall_one(&exact, &got, 10);

        // What one ef-search per graph costs (the scan before shared bounds).
        for g in &parts {
            let mut s = StreamingSearch::<_, L2F32>::new(g, &q, EF);
            s.next();
            work_separate += s.nodes_measured();
        }
    }
    let (recall_whole, recall_parts) = (recall_whole / queries as f64, recall_parts / queries as f64);
    eprintln!(
        "recall@10 whole {recall_whole:.3} three graphs {recall_parts:.3}; nodes measured per query: whole {} shared {} separate {}",
        work_whole / queries as u64,
        work_parts / queries as u64,
        work_separate / queries as u64
    );
    assert!(recall_parts >= recall_whole - 0.02, "three graphs {recall_parts:.3} vs one {recall_whole:.3}");
    assert!(work_parts * 10 < work_separate * 8, "the shared bound saves less than 20% of separate searches");
}

/// A query far from one graph's rows costs that graph only its own share
/// of the look-ahead (half of ef), not the ef-search it would get alone.
#[test]
fn a_far_graph_gets_only_its_own_share_of_the_work() {
    let near = clustered_f32(2000, DIM, 4, 3);
    let far: Vec<f32> = near.iter().map(|x| x + 1000.0).collect();
    let g_near = Hnsw::<L2F32>::build(&params(), DIM, &near, None);
    let g_far = Hnsw::<L2F32>::build(&params(), DIM, &far, None);
    let q = &near[..DIM];
    let cost = |g: &Hnsw<L2F32>, ef: usize| {
        let mut s = StreamingSearch::<_, L2F32>::new(g, q, ef);
        s.next();
        s.nodes_measured()
    };
    let mut both = SegmentedSearch::<_, L2F32>::new(vec![&g_near, &g_far], q, EF);
    let first: Vec<_> = both.by_ref().take(EF).collect();
    assert!(first.iter().all(|h| h.graph == 0));
    let far_cost = both.nodes_measured() - cost(&g_near, EF);
    eprintln!("far graph: {far_cost} nodes; alone at ef {EF}: {}, at ef {}: {}", cost(&g_far, EF), EF / 2, cost(&g_far, EF / 2));
    assert!(far_cost <= cost(&g_far, EF / 2) + 2 * params().m as u64, "far graph cost {far_cost} nodes");
    assert!(far_cost * 10 < cost(&g_far, EF) * 8);
}
