//! Format version 3 (a code section after version 1's pages) and the search
//! on codes: the pages round-trip, version-1 readers' paths still work, a
//! damaged section is reported, and a search on codes returns every live
//! node once, exact distances only, with version 1's recall for far fewer
//! page reads.

mod common;

use std::sync::Arc;

use common::{brute_force, clustered_f32, recall_one, to_f16};
use strata_hnsw::page::{set_deleted, to_pages, to_pages_coded, CodeSpec, PageBuf, PagedGraph};
use strata_hnsw::page_v2::CountingSource;
use strata_hnsw::quant::CodeKind;
use strata_hnsw::{CosineF16, CosineF32, GraphView, Hnsw, Params, SegmentedSearch, Space, StreamingSearch, L2F32};

const DIM: usize = 24;

fn params() -> Params {
    Params { m: 12, ef_construction: 64, threads: 1, ..Params::default() }
}

fn coded<S: Space>(g: &Hnsw<S>, kind: CodeKind) -> Vec<PageBuf> {
    to_pages_coded(g, Some(CodeSpec { kind, seed: 3, uid: 99 }))
}

/// Clustered rows plus 40 far along a line and 30 copies of one row.
fn data(n: usize) -> Vec<f32> {
    let mut v = clustered_f32(n, DIM, 10, 5);
    for i in 0..40 {
        v.extend((0..DIM).map(|j| 40.0 + i as f32 + 0.01 * j as f32));
    }
    let dup = v[..DIM].to_vec();
    for _ in 0..30 {
        v.extend_from_slice(&dup);
    }
    v
}

#[test]
fn version_3_pages_hold_version_1_and_the_codes() {
    let v = data(2000);
    let g = Hnsw::<L2F32>::build(&params(), DIM, &v, None);
    let plain = to_pages(&g);
    for kind in [CodeKind::Sq8, CodeKind::Sq4, CodeKind::RaBitQ1, CodeKind::RaBitQ4] {
        let p = coded(&g, kind);
        let graph = PagedGraph::<_, L2F32>::open(&p[..]).unwrap();
        let c = graph.layout().codes.clone().expect("a code section");
        assert_eq!(c.kind, kind);
        assert_eq!(c.uid, 99);
        assert_eq!(graph.layout().total_pages as usize, p.len());
        assert_eq!(c.first_param_page as usize, plain.len(), "codes follow version 1's pages");
        // Version 1's pages are unchanged but for the meta page.
        for i in 1..plain.len() {
            assert!(p[i].bytes() == plain[i].bytes(), "{kind:?}: page {i} differs");
        }
        let codes = graph.load_codes().unwrap();
        assert_eq!(codes.codes.len(), g.len() * kind.code_bytes(DIM));
        // Every node's code estimates its distance to a query well enough
        // that the bound holds (SQ: always).
        let q = &v[7 * DIM..8 * DIM];
        let est = codes.quantizer.query(L2F32::METRIC, q);
        if matches!(kind, CodeKind::Sq8 | CodeKind::Sq4) {
            for id in 0..g.len() as u32 {
                let exact = graph.with_node(id, |x, _| L2F32::distance(q, x));
                let (e, b) = est.estimate(codes.code(id));
                assert!((e - exact).abs() <= b * 1.001 + 1e-3, "{kind:?} node {id}: {e} ± {b} vs {exact}");
            }
        }
    }
    // Without codes, or for bits, it is version 1.
    let p = to_pages_coded(&g, None);
    assert!(PagedGraph::<_, L2F32>::open(&p[..]).unwrap().load_codes().is_none());
}

#[test]
fn a_damaged_code_section_is_reported() {
    let v = data(500);
    let g = Hnsw::<L2F32>::build(&params(), DIM, &v, None);
    let p = coded(&g, CodeKind::Sq8);
    // The meta page's section must agree with the node count.
    let mut bad = p.clone();
    bad[0].bytes_mut()[100] ^= 1; // code page count
    assert!(PagedGraph::<_, L2F32>::open(&bad[..]).is_err());
    let mut bad = p.clone();
    bad[0].bytes_mut()[72] = 77; // code kind
    assert!(PagedGraph::<_, L2F32>::open(&bad[..]).is_err());
    // A parameter that is not a number.
    let mut bad = p.clone();
    let first = PagedGraph::<_, L2F32>::open(&p[..]).unwrap().layout().codes.clone().unwrap().first_param_page;
    bad[first as usize].bytes_mut()[..4].copy_from_slice(&f32::NAN.to_ne_bytes());
    let graph = PagedGraph::<_, L2F32>::open(&bad[..]).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| graph.load_codes()));
    assert!(r.is_err(), "a NaN parameter must be reported as corruption");
}

#[test]
fn search_on_codes_returns_every_live_node_once_with_exact_distances() {
    let v = data(3000);
    let g = Hnsw::<L2F32>::build(&params(), DIM, &v, None);
    let mut p = coded(&g, CodeKind::Sq8);
    let layout = PagedGraph::<_, L2F32>::open(&p[..]).unwrap().layout().clone();
    let deleted = [3u32, 500, 2999, 3010];
    for &id in &deleted {
        let (page, off) = layout.node_location(id);
        set_deleted(p[page as usize].bytes_mut(), off, true);
    }
    let graph = PagedGraph::<_, L2F32>::open(&p[..]).unwrap();
    let codes = Arc::new(graph.load_codes().unwrap());
    let q = &v[3005 * DIM..3006 * DIM]; // a far row
    let mut seen = vec![false; g.len()];
    let mut count = 0;
    for n in StreamingSearch::<_, L2F32>::with_codes(&graph, codes, q, 20) {
        assert!(!seen[n.id as usize], "node {} returned twice", n.id);
        assert!(!deleted.contains(&n.id), "deleted node {} returned", n.id);
        seen[n.id as usize] = true;
        let exact = graph.with_node(n.id, |x, _| L2F32::distance(q, x));
        assert_eq!(n.distance, exact, "returned distances are exact");
        count += 1;
    }
    assert_eq!(count, g.len() - deleted.len());
}

/// Recall at equal ef is at least version 1's (the lower bound expands
/// every node that could belong), for a fraction of the page reads, on
/// clustered data and on the far rows and duplicates; each stored vector
/// finds itself first.
#[test]
fn search_on_codes_keeps_recall_for_far_fewer_pages() {
    let v = data(6000);
    let g = Hnsw::<CosineF32>::build(&params(), DIM, &v, None);
    let p = coded(&g, CodeKind::Sq8);
    let src = CountingSource::new(&p[..]);
    let graph = PagedGraph::<_, CosineF32>::open(&src).unwrap();
    let codes = Arc::new(graph.load_codes().unwrap());
    let (mut r1, mut r3, mut pages1, mut pages3) = (0.0, 0.0, 0, 0);
    let queries: Vec<usize> = (0..g.len()).step_by(37).collect();
    for &qi in &queries {
        let q = &v[qi * DIM..(qi + 1) * DIM];
        let exact = brute_force::<_, CosineF32>(&g, q, 10);
        src.reset();
        let plain: Vec<_> = StreamingSearch::<_, CosineF32>::new(&graph, q, 40).take(10).collect();
        pages1 += src.accesses();
        src.reset();
        let on_codes: Vec<_> = StreamingSearch::<_, CosineF32>::with_codes(&graph, codes.clone(), q, 40).take(10).collect();
        pages3 += src.accesses();
        r1 += recall_one(&exact, &plain, 10);
        r3 += recall_one(&exact, &on_codes, 10);
        assert_eq!(on_codes[0].distance, exact[0].distance, "query {qi}: the row itself (or a copy) comes first");
    }
    let n = queries.len() as f64;
    let (r1, r3) = (r1 / n, r3 / n);
    eprintln!("recall v1 {r1:.4} ({} pages/query), on codes {r3:.4} ({} pages/query)", pages1 / queries.len() as u64, pages3 / queries.len() as u64);
    assert!(r3 >= r1 - 0.002, "recall on codes {r3} below version 1's {r1}");
    assert!(pages3 * 4 < pages1, "{pages3} page reads on codes against {pages1}");
}

/// Several segments, some with codes and some without (an index written
/// partly before codes existed): every live node once, the best first.
#[test]
fn mixed_segments_stream_together() {
    let v = data(3000);
    let n = v.len() / DIM;
    let parts: Vec<Hnsw<CosineF16>> = (0..3)
        .map(|p| {
            let rows: Vec<usize> = (p..n).step_by(3).collect();
            let d: Vec<f32> = rows.iter().flat_map(|&r| v[r * DIM..(r + 1) * DIM].iter().copied()).collect();
            let tids: Vec<u64> = rows.iter().map(|&r| r as u64).collect();
            Hnsw::<CosineF16>::build(&params(), DIM, &to_f16(&d), Some(&tids))
        })
        .collect();
    let written: Vec<Vec<PageBuf>> = parts
        .iter()
        .enumerate()
        .map(|(i, g)| if i == 1 { to_pages(g) } else { coded(g, CodeKind::RaBitQ4) })
        .collect();
    let graphs: Vec<_> = written.iter().map(|p| PagedGraph::<_, CosineF16>::open(&p[..]).unwrap()).collect();
    let codes: Vec<_> = graphs.iter().map(|g| g.load_codes().map(Arc::new)).collect();
    assert!(codes[0].is_some() && codes[1].is_none());
    let q = to_f16(&v[100 * DIM..101 * DIM]);
    let mut seen = std::collections::HashSet::new();
    let mut first = None;
    for hit in SegmentedSearch::<_, CosineF16>::with_codes(graphs.iter().collect(), codes, &q, 30) {
        let tid = graphs[hit.graph].payload(hit.id);
        first.get_or_insert(hit.distance);
        assert!(seen.insert(tid), "row {tid} twice");
    }
    assert_eq!(seen.len(), n);
    assert!(first.unwrap() <= 1e-3, "the query's own row (or a copy) first");
}

/// A code must fit a page: 20000 dimensions take RaBitQ1 (2512 bytes) but
/// not RaBitQ4 (10016 bytes), which leaves the segment in version 1.
#[test]
fn codes_longer_than_a_page_are_not_written() {
    let dim = 20000;
    let v: Vec<f32> = (0..4 * dim).map(|i| ((i * 31) % 17) as f32).collect();
    let g = Hnsw::<L2F32>::build(&params(), dim, &v, None);
    for (kind, written) in [(CodeKind::RaBitQ1, true), (CodeKind::RaBitQ4, false)] {
        let p = coded(&g, kind);
        let graph = PagedGraph::<_, L2F32>::open(&p[..]).unwrap();
        assert_eq!(graph.layout().codes.is_some(), written, "{kind:?}");
        assert_eq!(graph.layout().total_pages as usize, p.len());
        let hits: Vec<_> = match graph.load_codes() {
            Some(c) => StreamingSearch::<_, L2F32>::with_codes(&graph, Arc::new(c), &v[2 * dim..3 * dim], 10).collect(),
            None => StreamingSearch::<_, L2F32>::new(&graph, &v[2 * dim..3 * dim], 10).collect(),
        };
        assert_eq!(hits.len(), 4);
        assert_eq!(hits[0].id, 2);
    }
}

/// Shapes hostile to a per-segment SQ range: two clusters 1e6 apart (one
/// SQ8 step is then ~4,000, far wider than a cluster, so every code in a
/// cluster is the same), all rows identical, and 1-d data. Through the
/// search on codes every stored vector still finds itself (or a copy) first
/// at ef 40, under L2 and cosine, because a node is expanded while the lower
/// bound of its estimate could still beat the working set.
#[test]
fn search_on_codes_finds_every_row_in_hostile_shapes() {
    fn check<S: Space<Elem = f32>>(shape: &str, dim: usize, v: &[f32]) {
        let g = Hnsw::<S>::build(&params(), dim, v, None);
        for kind in [CodeKind::Sq8, CodeKind::RaBitQ4] {
            let p = coded(&g, kind);
            let graph = PagedGraph::<_, S>::open(&p[..]).unwrap();
            let Some(codes) = graph.load_codes().map(Arc::new) else { continue };
            let mut missed = 0;
            for id in 0..g.len() as u32 {
                let q = &v[id as usize * dim..(id as usize + 1) * dim];
                let own = graph.with_node(id, |x, _| S::distance(x, x));
                let first = StreamingSearch::<_, S>::with_codes(&graph, codes.clone(), q, 40).next().unwrap();
                missed += (first.id != id && first.distance > own) as usize;
            }
            assert_eq!(missed, 0, "{shape}, {kind:?}: rows not found first through their codes");
        }
    }
    let mut two = clustered_f32(1500, DIM, 6, 11);
    let far: Vec<f32> = clustered_f32(1500, DIM, 6, 12).iter().map(|x| x + 1e6).collect();
    two.extend(far);
    check::<L2F32>("two clusters 1e6 apart", DIM, &two);
    check::<CosineF32>("two clusters 1e6 apart", DIM, &two);
    let same: Vec<f32> = (0..800).flat_map(|_| (0..DIM).map(|j| j as f32 * 0.5 + 1.0)).collect();
    check::<L2F32>("all rows identical", DIM, &same);
    let line: Vec<f32> = (0..2000).map(|i| ((i * 7919) % 2000) as f32 * 0.25).collect();
    check::<L2F32>("1-d", 1, &line);
}
