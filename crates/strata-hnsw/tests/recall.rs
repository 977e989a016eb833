//! Recall floors against brute force, for every element type and metric:
//! after a build, after a merge, with 20% of the nodes marked deleted, and
//! after dropping them with a merge (with and without new vectors).
//!
//! Floor: mean top-10 recall (tie-aware, see `common::recall_one`) of at
//! least 0.95 at `ef_search = 64`, with m = 16, ef_construction = 64.

mod common;

use common::*;
use strata_hnsw::search::search;
use strata_hnsw::*;

const K: usize = 10;
const EF: usize = 64;
const FLOOR: f64 = 0.95;
const N: usize = 3000;
const NQ: usize = 100;

fn mean_recall<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    queries: &[G::Elem],
    dim: usize,
    ef: usize,
) -> f64 {
    let mut s = SearchScratch::new();
    let mut total = 0.0;
    for q in queries.chunks_exact(dim) {
        let got = search::<G, S>(g, q, K, ef, &mut s);
        let mut ids: Vec<u32> = got.iter().map(|n| n.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), got.len(), "duplicate ids in a result");
        for n in &got {
            assert!(!g.with_node(n.id, |_, del| del), "deleted node returned");
        }
        assert!(
            got.windows(2).all(|w| w[0].distance <= w[1].distance),
            "results not sorted"
        );
        let exact = brute_force::<G, S>(g, q, K);
        total += recall_one(&exact, &got, K);
    }
    total / (queries.len() / dim) as f64
}

/// Deterministically marks about `frac` of the nodes deleted.
fn delete_some<S: Space>(g: &Hnsw<S>, frac: f64, seed: u64) -> usize {
    let mut r = Rng::new(seed);
    let mut c = 0;
    for id in 0..g.len() as u32 {
        if r.uniform() < frac {
            g.mark_deleted(id);
            c += 1;
        }
    }
    c
}

fn check(name: &str, stage: &str, r: f64) {
    eprintln!("{name:>12} {stage:<28} recall@10 = {r:.4}");
    assert!(r >= FLOOR, "{name}: {stage}: recall {r:.4} below {FLOOR}");
}

/// Payload `p` must name the input row the stored vector came from.
fn check_payloads<S: Space>(g: &Hnsw<S>, data: &[S::Elem], dim: usize) {
    for id in 0..g.len() as u32 {
        let p = g.node_payload(id) as usize;
        let mut v = data[p * dim..(p + 1) * dim].to_vec();
        S::prepare(&mut v);
        assert_eq!(
            g.stored_vector(id),
            &v[..],
            "payload does not follow its vector"
        );
    }
}

fn scenario<S: Space>(name: &str, all: &[S::Elem], dim: usize) {
    let (data, queries) = all.split_at(N * dim);
    let n0 = N * 3 / 4;
    let params = Params {
        threads: 1,
        ..Params::default()
    };
    let ids: Vec<u64> = (0..N as u64).collect();

    let g = Hnsw::<S>::build(&params, dim, &data[..n0 * dim], Some(&ids[..n0]));
    check(name, "build", mean_recall::<_, S>(&g, queries, dim, EF));

    let g2 = merge::<_, S>(&g, &params, &data[n0 * dim..], Some(&ids[n0..]));
    assert_eq!(g2.len(), N);
    check_payloads(&g2, data, dim);
    check(
        name,
        "build + merge",
        mean_recall::<_, S>(&g2, queries, dim, EF),
    );

    let deleted = delete_some(&g2, 0.2, 99);
    assert!(deleted > N / 6 && deleted < N / 4);
    check(
        name,
        "20% marked deleted",
        mean_recall::<_, S>(&g2, queries, dim, EF),
    );

    let g3 = merge::<_, S>(&g2, &params, &[], None);
    assert_eq!(g3.len(), N - deleted);
    assert_eq!(g3.deleted_count(), 0);
    check_payloads(&g3, data, dim);
    check(
        name,
        "20% deleted, merged",
        mean_recall::<_, S>(&g3, queries, dim, EF),
    );

    // Delete 20% of the first graph, then merge it with the rest.
    delete_some(&g, 0.2, 5);
    let g4 = merge::<_, S>(&g, &params, &data[n0 * dim..], Some(&ids[n0..]));
    check_payloads(&g4, data, dim);
    check(
        name,
        "20% deleted, merged + new",
        mean_recall::<_, S>(&g4, queries, dim, EF),
    );
}

const DIM: usize = 48;

fn f32_data() -> Vec<f32> {
    clustered_f32_spread(N + NQ, DIM, 24, 0.7, 1)
}

fn bits_data() -> Vec<u64> {
    clustered_bits(N + NQ, 4, 30, 0.3, 2)
}

#[test]
fn l2_f32() {
    scenario::<L2F32>("l2/f32", &f32_data(), DIM);
}
#[test]
fn dot_f32() {
    scenario::<DotF32>("dot/f32", &f32_data(), DIM);
}
#[test]
fn cosine_f32() {
    scenario::<CosineF32>("cosine/f32", &f32_data(), DIM);
}
#[test]
fn l2_f16() {
    scenario::<L2F16>("l2/f16", &to_f16(&f32_data()), DIM);
}
#[test]
fn dot_f16() {
    scenario::<DotF16>("dot/f16", &to_f16(&f32_data()), DIM);
}
#[test]
fn cosine_f16() {
    scenario::<CosineF16>("cosine/f16", &to_f16(&f32_data()), DIM);
}
#[test]
fn hamming_bits() {
    scenario::<HammingBits>("hamming/bit", &bits_data(), 4);
}
#[test]
fn dot_bits() {
    scenario::<DotBits>("dot/bit", &bits_data(), 4);
}
#[test]
fn cosine_bits() {
    scenario::<CosineBits>("cosine/bit", &bits_data(), 4);
}
#[test]
fn jaccard_bits() {
    scenario::<JaccardBits>("jaccard/bit", &bits_data(), 4);
}

#[test]
fn parallel_build_keeps_recall() {
    let all = f32_data();
    let (data, queries) = all.split_at(N * DIM);
    let params = Params {
        threads: 2,
        ..Params::default()
    };
    let g = Hnsw::<L2F32>::build(&params, DIM, data, None);
    check(
        "l2/f32 2thr",
        "build",
        mean_recall::<_, L2F32>(&g, queries, DIM, EF),
    );
    delete_some(&g, 0.2, 3);
    let g2 = merge::<_, L2F32>(&g, &params, &queries[..DIM * 10], None);
    check(
        "l2/f32 2thr",
        "delete + merge",
        mean_recall::<_, L2F32>(&g2, queries, DIM, EF),
    );
}

#[test]
fn single_thread_build_is_deterministic() {
    let all = f32_data();
    let data = &all[..1000 * DIM];
    let params = Params {
        threads: 1,
        ..Params::default()
    };
    let a = Hnsw::<L2F32>::build(&params, DIM, data, None);
    let b = Hnsw::<L2F32>::build(&params, DIM, data, None);
    assert_eq!(a.entry_point(), b.entry_point());
    for id in 0..1000u32 {
        assert_eq!(a.node_level(id), b.node_level(id));
        for l in 0..=a.node_level(id) {
            assert_eq!(a.neighbour_ids(id, l), b.neighbour_ids(id, l));
        }
    }
}

#[test]
fn empty_and_tiny_graphs() {
    let params = Params::default();
    let g = Hnsw::<L2F32>::build(&params, 3, &[], None);
    assert!(g.search(&[0.0, 0.0, 0.0], 5, 10).is_empty());
    assert_eq!(g.search_stream(&[0.0, 0.0, 0.0], 10).count(), 0);
    let g = Hnsw::<L2F32>::build(&params, 3, &[1.0, 0.0, 0.0], None);
    let r = g.search(&[0.0, 0.0, 0.0], 5, 10);
    assert_eq!(
        r,
        vec![Neighbour {
            id: 0,
            distance: 1.0
        }]
    );
    g.mark_deleted(0);
    assert!(g.search(&[0.0, 0.0, 0.0], 5, 10).is_empty());
    let g2 = merge::<_, L2F32>(&g, &params, &[], None);
    assert!(g2.is_empty() && g2.entry_point().is_none());
    let g3 = merge::<_, L2F32>(&g, &params, &[0.0, 2.0, 0.0, 0.0, 0.0, 3.0], Some(&[7, 8]));
    let r = g3.search(&[0.0, 0.0, 0.0], 5, 10);
    assert_eq!(r.len(), 2);
    assert_eq!(g3.node_payload(r[0].id), 7);
}

/// Points on a line: the heuristic keeps about two neighbours per node, so
/// an edge missed between two nodes inserted concurrently is not made up by
/// others. Two-thread builds must still find the true neighbours.
#[test]
fn parallel_build_on_a_line() {
    for &(dim, n) in &[(1usize, 3000usize), (3, 3000)] {
        let mut r = Rng::new(17);
        let mut data = Vec::new();
        for i in 0..n + NQ {
            let t = if i < n {
                i as f32
            } else {
                (r.uniform() * n as f64) as f32 + 0.3
            };
            for j in 0..dim {
                data.push(t * (j + 1) as f32);
            }
        }
        let (base, queries) = data.split_at(n * dim);
        for threads in [1, 2] {
            let params = Params {
                threads,
                ..Params::default()
            };
            let g = Hnsw::<L2F32>::build(&params, dim, base, None);
            let name = format!("line d{dim} {threads}thr");
            check(
                &name,
                "build",
                mean_recall::<_, L2F32>(&g, queries, dim, EF),
            );
        }
    }
}

/// A build and a merge whose insertions measure neighbours from codes first
/// (`Params::build_codes`) reach the exact build's recall: 384-d clustered
/// data, as sentence embeddings, cosine, RaBitQ4 as the access method uses
/// at that size; the searches here are exact (at ef 10, where a weaker
/// graph shows), so only the graph differs.
#[test]
fn builds_on_codes_keep_recall() {
    use strata_hnsw::quant::CodeKind;
    let dim = 384;
    let all = clustered_f32_spread(N + NQ, dim, 24, 0.7, 9);
    let (data, queries) = all.split_at(N * dim);
    let exact = Params { threads: 1, ..Params::default() };
    let coded = Params { build_codes: Some(CodeKind::RaBitQ4), ..exact.clone() };
    let recall = |g: &Hnsw<CosineF32>| mean_recall::<_, CosineF32>(g, queries, dim, 10);
    let (a, b) = (Hnsw::<CosineF32>::build(&exact, dim, data, None), Hnsw::<CosineF32>::build(&coded, dim, data, None));
    let (ra, rb) = (recall(&a), recall(&b));
    eprintln!("cos/384 build: recall@10 at ef 10 {rb:.4} built on codes, {ra:.4} built exactly");
    assert!(rb >= ra - 0.01, "built on codes: recall {rb:.4} against {ra:.4} built exactly");
    for g in [&a, &b] {
        delete_some(g, 0.2, 3);
    }
    let (a2, b2) = (merge::<_, CosineF32>(&a, &exact, &queries[..dim * 10], None), merge::<_, CosineF32>(&b, &coded, &queries[..dim * 10], None));
    let (ra, rb) = (recall(&a2), recall(&b2));
    eprintln!("cos/384 delete + merge: recall@10 at ef 10 {rb:.4} on codes, {ra:.4} exactly");
    assert!(rb >= ra - 0.01, "merged on codes: recall {rb:.4} against {ra:.4} merged exactly");
}
