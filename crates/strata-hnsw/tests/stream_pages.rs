//! Streaming search and the page format.

mod common;

use common::*;
use strata_hnsw::page::{is_deleted, payload_at, set_deleted, to_pages, write_pages, PageBuf, PagedGraph, PAGE_PAYLOAD};
use strata_hnsw::search::search;
use strata_hnsw::*;

const DIM: usize = 32;

fn graph(n: usize, threads: usize) -> (Hnsw<L2F32>, Vec<f32>) {
    let all = clustered_f32(n + 50, DIM, 16, 11);
    let (data, q) = all.split_at(n * DIM);
    let params = Params {
        threads,
        ..Params::default()
    };
    (Hnsw::build(&params, DIM, data, None), q.to_vec())
}

fn recall_at(exact: &[Neighbour], got: &[Neighbour]) -> f64 {
    let ids: std::collections::HashSet<u32> = exact.iter().map(|n| n.id).collect();
    got.iter().filter(|n| ids.contains(&n.id)).count() as f64 / exact.len() as f64
}

/// Pulling 10 x k from the stream: distinct ids, and recall against the
/// exact top 10k close to the bounded search's at the same ef.
#[test]
fn stream_ten_times_k() {
    let (g, queries) = graph(3000, 1);
    let (k, ef) = (10, 40);
    let (mut rs, mut rb) = (0.0, 0.0);
    let nq = queries.len() / DIM;
    for q in queries.chunks_exact(DIM) {
        let got: Vec<Neighbour> = g.search_stream(q, ef).take(10 * k).collect();
        assert_eq!(got.len(), 10 * k);
        let mut ids: Vec<u32> = got.iter().map(|n| n.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 10 * k, "stream returned an id twice");
        let exact = brute_force::<_, L2F32>(&g, q, 10 * k);
        rs += recall_at(&exact, &got);
        let bounded = g.search(q, 10 * k, ef);
        rb += recall_at(&exact, &bounded);
        // The first k of the stream are the bounded search with ef.
        assert_eq!(&got[..k], &g.search(q, k, ef)[..]);
    }
    let (rs, rb) = (rs / nq as f64, rb / nq as f64);
    eprintln!("stream recall@100 {rs:.4}, bounded search (ef raised to 100) {rb:.4}");
    assert!(rs >= rb - 0.03, "stream recall {rs} far below bounded {rb}");
    assert!(rs >= 0.9);
}

/// The stream returns every live node exactly once, even when deletes have
/// cut the graph, and is approximately sorted.
#[test]
fn stream_exhausts_graph() {
    let (g, queries) = graph(1500, 1);
    let mut r = Rng::new(4);
    let mut live = 0;
    for id in 0..1500 {
        if r.uniform() < 0.3 {
            g.mark_deleted(id);
        } else {
            live += 1;
        }
    }
    // Also delete everything around a few nodes to isolate them.
    for q in queries.chunks_exact(DIM).take(3) {
        let all: Vec<Neighbour> = g.search_stream(q, 16).collect();
        assert_eq!(all.len(), live);
        let mut ids: Vec<u32> = all.iter().map(|n| n.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), live);
        assert!(ids.iter().all(|&id| !g.is_deleted(id)));
        // Roughly increasing: the first hundred are closer on average than the
        // last hundred.
        let head: f32 = all[..100].iter().map(|n| n.distance).sum();
        let tail: f32 = all[all.len() - 100..].iter().map(|n| n.distance).sum();
        assert!(head < tail);
    }
    // A graph with no edges at all (every node isolated) is still exhausted.
    let params = Params {
        m: 2,
        ef_construction: 1,
        threads: 1,
        ..Params::default()
    };
    let mut tiny = Hnsw::<L2F32>::build(&params, DIM, &queries, None);
    for id in 0..tiny.len() as u32 {
        for l in 0..=tiny.node_level(id) {
            tiny.write_list_for_test(id, l, &[]);
        }
    }
    assert_eq!(tiny.search_stream(&queries[..DIM], 4).count(), tiny.len());
}

fn assert_same_search<G: GraphView<Elem = f32>>(g: &Hnsw<L2F32>, p: &G, queries: &[f32]) {
    let mut s = SearchScratch::new();
    for q in queries.chunks_exact(DIM) {
        let a = g.search(q, 10, 32);
        let b = search::<_, L2F32>(p, q, 10, 32, &mut s);
        assert_eq!(a, b);
        let sa: Vec<_> = g.search_stream(q, 16).take(50).collect();
        let sb: Vec<_> = StreamingSearch::<_, L2F32>::new(p, q, 16)
            .take(50)
            .collect();
        assert_eq!(sa, sb);
    }
}

#[test]
fn pages_round_trip() {
    let (g, queries) = graph(3000, 2);
    g.mark_deleted(17);
    let mut pages = to_pages(&g);
    let p = PagedGraph::<_, L2F32>::open(&pages[..]).unwrap();
    let lay = p.layout().clone();
    assert_eq!(lay.total_pages as usize, pages.len());
    assert_eq!(lay.record_size, 24 + 32 * 4 + 32 * 4);
    assert_eq!(lay.overflow_pages_per_vector, 0);
    assert!(PagedGraph::<_, HammingBits>::open(&pages[..]).is_err());
    assert!(PagedGraph::<_, CosineF32>::open(&pages[..]).is_err());
    for id in 0..g.len() as u32 {
        assert_eq!(p.level(id), g.node_level(id));
        assert_eq!(p.payload(id), g.node_payload(id));
        let mut v = Vec::new();
        for l in 0..=g.node_level(id) {
            p.neighbours(id, l, &mut v);
            assert_eq!(v, g.neighbour_ids(id, l));
        }
        p.with_node(id, |vec, del| {
            assert_eq!(vec, g.stored_vector(id));
            assert_eq!(del, g.is_deleted(id));
        });
    }
    assert_same_search(&g, &p, &queries);

    // Flip a deleted flag in place, as the access method would.
    let nearest = g.search(&queries[..DIM], 1, 32)[0].id;
    let (page, off) = lay.node_location(nearest);
    // What VACUUM reads of a record, through the accessors, not offsets.
    assert_eq!(payload_at(pages[page as usize].bytes(), off), g.node_payload(nearest));
    assert!(!is_deleted(pages[page as usize].bytes(), off));
    set_deleted(pages[page as usize].bytes_mut(), off, true);
    assert!(is_deleted(pages[page as usize].bytes(), off));
    let p = PagedGraph::<_, L2F32>::open(&pages[..]).unwrap();
    let mut s = SearchScratch::new();
    let r = search::<_, L2F32>(&p, &queries[..DIM], 10, 32, &mut s);
    assert!(r.iter().all(|n| n.id != nearest));
    g.mark_deleted(nearest);
    assert_eq!(r, g.search(&queries[..DIM], 10, 32));

    // Merge straight from pages.
    let params = Params {
        threads: 1,
        ..Params::default()
    };
    let a = merge::<_, L2F32>(&p, &params, &queries[..5 * DIM], None);
    let b = merge::<_, L2F32>(&g, &params, &queries[..5 * DIM], None);
    assert_eq!(a.len(), 3000 - 2 + 5);
    for id in 0..a.len() as u32 {
        assert_eq!(a.neighbour_ids(id, 0), b.neighbour_ids(id, 0));
    }
}

/// Vectors bigger than a page go to overflow pages and still round-trip.
#[test]
fn pages_overflow_vectors() {
    for dim in [3072usize, 2030, 65535 / 8] {
        let n = 40;
        let data = clustered_f32(n + 2, dim, 4, 3);
        let (data, q) = data.split_at(n * dim);
        let params = Params {
            threads: 1,
            ..Params::default()
        };
        let g = Hnsw::<L2F32>::build(&params, dim, data, None);
        let pages = to_pages(&g);
        let p = PagedGraph::<_, L2F32>::open(pages).unwrap();
        let lay = p.layout().clone();
        let vbytes = dim * 4;
        assert!(lay.overflow_pages_per_vector as usize == vbytes.div_ceil(PAGE_PAYLOAD));
        for id in 0..n as u32 {
            p.with_node(id, |v, _| assert_eq!(v, g.stored_vector(id)));
        }
        let mut s = SearchScratch::new();
        for qq in q.chunks_exact(dim) {
            assert_eq!(
                search::<_, L2F32>(&p, qq, 5, 20, &mut s),
                g.search(qq, 5, 20)
            );
        }
    }
    // 65535-dim bit vectors take 8192 bytes: just over one page payload.
    let words = 65535usize.div_ceil(64);
    let data = clustered_bits(30, words, 3, 0.1, 1);
    let g = Hnsw::<HammingBits>::build(&Params::default(), words, &data, None);
    let pages = to_pages(&g);
    let p = PagedGraph::<_, HammingBits>::open(pages).unwrap();
    assert_eq!(p.layout().overflow_pages_per_vector, 2);
    let mut s = SearchScratch::new();
    assert_eq!(
        search::<_, HammingBits>(&p, &data[..words], 3, 10, &mut s),
        g.search(&data[..words], 3, 10)
    );
}

#[test]
fn page_stream_sink_matches() {
    let (g, _) = graph(500, 1);
    let mut seen = Vec::new();
    let lay = write_pages(&g, |no, b| {
        assert_eq!(b.len(), PAGE_PAYLOAD);
        seen.push(no)
    });
    assert_eq!(seen, (0..lay.total_pages).collect::<Vec<_>>());
    let _ = PageBuf::default();
}

/// Pages round-trip for the other element types: same searches, same
/// streams, and merging from pages equals merging from memory.
fn round_trip_space<S: Space>(data: &[S::Elem], dim: usize) {
    let n = data.len() / dim - 20;
    let (base, queries) = data.split_at(n * dim);
    let params = Params {
        threads: 1,
        ..Params::default()
    };
    let g = Hnsw::<S>::build(&params, dim, base, None);
    for id in (0..n as u32).step_by(7) {
        g.mark_deleted(id);
    }
    let pages = to_pages(&g);
    let p = PagedGraph::<_, S>::open(&pages[..]).unwrap();
    let mut s = SearchScratch::new();
    for q in queries.chunks_exact(dim) {
        assert_eq!(search::<_, S>(&p, q, 10, 32, &mut s), g.search(q, 10, 32));
        let a: Vec<_> = StreamingSearch::<_, S>::new(&p, q, 16).take(60).collect();
        let b: Vec<_> = g.search_stream(q, 16).take(60).collect();
        assert_eq!(a, b);
    }
    let a = merge::<_, S>(&p, &params, queries, None);
    let b = merge::<_, S>(&g, &params, queries, None);
    assert_eq!(a.len(), b.len());
    for id in 0..a.len() as u32 {
        assert_eq!(a.stored_vector(id), b.stored_vector(id));
        assert_eq!(a.neighbour_ids(id, 0), b.neighbour_ids(id, 0));
    }
}

#[test]
fn pages_round_trip_all_element_types() {
    let f = clustered_f32(620, 24, 8, 21);
    round_trip_space::<CosineF32>(&f, 24);
    round_trip_space::<DotF16>(&to_f16(&f), 24);
    round_trip_space::<CosineF16>(&to_f16(&f), 24);
    let b = clustered_bits(620, 3, 8, 0.2, 22);
    round_trip_space::<JaccardBits>(&b, 3);
    round_trip_space::<DotBits>(&b, 3);
}
