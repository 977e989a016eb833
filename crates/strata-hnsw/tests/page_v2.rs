//! Page format v2: round trips, recall against brute force, streaming,
//! VACUUM accessors, merge from v2, corrupted pages.

mod common;

use common::*;
use strata_hnsw::page::{to_pages, PageBuf, PageFormatError, PagedGraph, PAGE_PAYLOAD};
use strata_hnsw::page_v2::*;
use strata_hnsw::quant::CodeKind;
use strata_hnsw::*;

const KINDS: [CodeKind; 4] = [CodeKind::Sq8, CodeKind::Sq4, CodeKind::RaBitQ1, CodeKind::RaBitQ4];

fn params() -> Params {
    Params { m: 8, threads: 1, ..Params::default() }
}

fn opts(code: CodeKind, placement: VectorPlacement, renumber: bool) -> WriteOptions {
    WriteOptions { code, placement, renumber }
}

/// Every node of the v2 segment matches the graph's node with the same
/// payload (payloads are the graph's ids): level, deleted flag, vector and
/// neighbour lists on every layer (mapped through payloads).
fn check_round_trip<S: Space>(data: &[S::Elem], dim: usize) {
    let g = Hnsw::<S>::build(&params(), dim, data, None);
    for id in (0..g.len() as u32).step_by(7) {
        g.mark_deleted(id);
    }
    for code in KINDS {
        for (placement, renumber) in [(VectorPlacement::Auto, true), (VectorPlacement::Separate, false)] {
            let pages = to_pages_v2(&g, &opts(code, placement, renumber)).unwrap();
            let p = PagedGraphV2::<_, S>::open(&pages[..]).unwrap();
            let lay = p.layout().clone();
            assert_eq!(lay.total_pages as usize, pages.len());
            assert_eq!(format_version(pages[0].bytes()), Ok(2));
            // Dispatch from the meta page, as the AM does.
            let opened = with_space!(lay.element, lay.metric, T => PagedGraphV2::<_, T>::open(&pages[..]).is_ok());
            assert_eq!(opened, Some(true));
            assert!(PagedGraph::<_, S>::open(&pages[..]).is_err(), "the v1 reader must refuse v2");
            assert_eq!(p.entry_point().map(|e| p.payload(e.0) as u32), g.entry_point().map(|e| e.0));
            let mut seen = vec![false; g.len()];
            let mut v = Vec::new();
            for id in 0..p.len() {
                let old = p.payload(id) as u32;
                assert!(!std::mem::replace(&mut seen[old as usize], true));
                assert_eq!(p.level(id), g.node_level(old));
                for l in 0..=g.node_level(old) {
                    p.neighbours(id, l, &mut v);
                    let mapped: Vec<u32> = v.iter().map(|&x| p.payload(x) as u32).collect();
                    assert_eq!(mapped, g.neighbour_ids(old, l), "node {old} layer {l}");
                }
                p.with_node(id, |vec, del| {
                    assert_eq!(vec, g.stored_vector(old));
                    assert_eq!(del, g.is_deleted(old));
                });
            }
            // The v1 pages of the same graph are still v1.
            assert_eq!(format_version(to_pages(&g)[0].bytes()), Ok(1));
        }
    }
}

#[test]
fn round_trip_every_space() {
    let (n, dim) = (400, 24);
    let f = clustered_f32(n, dim, 8, 5);
    let h = to_f16(&f);
    let i8s: Vec<u8> = f.chunks_exact(dim).flat_map(strata_core::int8::encode_f32).collect();
    check_round_trip::<L2F32>(&f, dim);
    check_round_trip::<DotF32>(&f, dim);
    check_round_trip::<CosineF32>(&f, dim);
    check_round_trip::<L2F16>(&h, dim);
    check_round_trip::<DotF16>(&h, dim);
    check_round_trip::<CosineF16>(&h, dim);
    check_round_trip::<L2I8>(&i8s, dim + 8);
    check_round_trip::<DotI8>(&i8s, dim + 8);
    check_round_trip::<CosineI8>(&i8s, dim + 8);
    // Bits have no codes: the caller keeps v1.
    let bits = clustered_bits(100, 2, 4, 0.1, 3);
    let g = Hnsw::<HammingBits>::build(&params(), 2, &bits, None);
    assert_eq!(
        to_pages_v2(&g, &WriteOptions::default()).err(),
        Some(WriteError::NoCodes(ElementKind::Bits))
    );
}

/// Large vectors: SQ8 codes of 1536 dimensions do not fit a record; SQ4 /
/// RaBitQ do, with the vectors on pages of their own (3000-d f32 spans two
/// pages per vector).
#[test]
fn large_vectors() {
    let data = clustered_f32(60, 3000, 3, 9);
    let g = Hnsw::<L2F32>::build(&Params { m: 4, threads: 1, ..Params::default() }, 3000, &data, None);
    assert!(matches!(
        to_pages_v2(&g, &opts(CodeKind::Sq8, VectorPlacement::Auto, true)),
        Err(WriteError::CodeTooLarge { .. })
    ));
    let pages = to_pages_v2(&g, &opts(CodeKind::RaBitQ1, VectorPlacement::Auto, true)).unwrap();
    let p = PagedGraphV2::<_, L2F32>::open(&pages[..]).unwrap();
    assert!(!p.layout().vectors_inline);
    assert_eq!(p.layout().pages_per_vector, 2);
    for id in 0..p.len() {
        p.with_node(id, |v, _| assert_eq!(v, g.stored_vector(p.payload(id) as u32)));
    }
    let q = &data[..3000];
    let top = p.search(q, 1, 10, &mut SearchScratchV2::new());
    assert_eq!(top[0].distance, 0.0);
}

/// Data with far-away rows, duplicates and ties.
fn tricky_data(dim: usize) -> Vec<f32> {
    let mut data = clustered_f32(3000, dim, 12, 17);
    // 40 far rows along a line.
    for i in 0..40 {
        data.extend((0..dim).map(|j| if j == 0 { 1000.0 + i as f32 } else { 0.0 }));
    }
    // 60 copies of one row, and rows with equal distances to it.
    let row: Vec<f32> = data[..dim].to_vec();
    for _ in 0..60 {
        data.extend_from_slice(&row);
    }
    for j in 0..20 {
        let mut r = row.clone();
        r[j % dim] += 1.0;
        data.extend(r);
    }
    data
}

/// Search width of the recall test.
const EF: usize = 100;

/// Recall@10 of v2 and v1 at the same ef, and v2's page accesses over v1's.
fn recall<S: Space<Elem = f32>>(code: CodeKind, placement: VectorPlacement) -> (f64, f64, f64) {
    // One bit per dimension needs embedding-sized vectors.
    let dim = if code == CodeKind::RaBitQ1 { 128 } else { 32 };
    let data = tricky_data(dim);
    let g = Hnsw::<S>::build(&Params { threads: 2, ..Params::default() }, dim, &data, None);
    let pages = to_pages_v2(&g, &opts(code, placement, true)).unwrap();
    let src = CountingSource::new(&pages[..]);
    let p = PagedGraphV2::<_, S>::open(&src).unwrap();
    // Queries from the data's distribution: rows plus noise.
    let mut rng = Rng::new(99);
    let mut queries: Vec<f32> =
        (0..100).flat_map(|i| data[i * 29 * dim..(i * 29 + 1) * dim].to_vec()).map(|x| x + rng.gauss() * 0.7).collect();
    // Far and duplicate rows as queries too.
    queries.extend_from_slice(&data[3000 * dim..3001 * dim]);
    queries.extend_from_slice(&data[3039 * dim..3040 * dim]);
    queries.extend_from_slice(&data[..dim]);
    let mut s = SearchScratchV2::new();
    let (mut total, mut total1, mut v2_pages, mut v1_pages) = (0.0, 0.0, 0u64, 0u64);
    let v1 = to_pages(&g);
    let v1src = CountingSource::new(&v1[..]);
    let p1 = PagedGraph::<_, S>::open(&v1src).unwrap();
    let mut s1 = SearchScratch::new();
    let nq = queries.len() / dim;
    for q in queries.chunks_exact(dim) {
        let exact = brute_force::<_, S>(&g, q, 10);
        src.reset();
        let got = p.search(q, 10, EF, &mut s);
        v2_pages += src.accesses();
        // Distances are exact (reranked).
        for n in &got {
            let old = p.payload(n.id) as u32;
            let mut qq = q.to_vec();
            S::prepare(&mut qq);
            assert_eq!(n.distance, S::distance(&qq, g.stored_vector(old)));
        }
        total += recall_one(&exact, &got, 10);
        v1src.reset();
        let got1 = search::search::<_, S>(&p1, q, 10, EF, &mut s1);
        v1_pages += v1src.accesses();
        total1 += recall_one(&exact, &got1, 10);
        if std::env::var("V2_DEBUG").is_ok() && recall_one(&exact, &got, 10) < recall_one(&exact, &got1, 10) {
            eprintln!("q{} v2 {:?}\n v1 {:?}\n ex {:?}", total as usize, got.iter().map(|n| (p.payload(n.id), n.distance)).collect::<Vec<_>>(), got1.iter().map(|n| (n.id, n.distance)).collect::<Vec<_>>(), exact.iter().map(|n| (n.id, n.distance)).collect::<Vec<_>>());
        }
    }
    let r = total / nq as f64;
    let r1 = total1 / nq as f64;
    let ratio = v2_pages as f64 / v1_pages as f64;
    eprintln!(
        "{code:?} {placement:?} metric {:?}: recall@10 {r:.4} (v1 {:.4}), pages/query v2 {:.1} v1 {:.1}",
        S::METRIC,
        r1,
        v2_pages as f64 / nq as f64,
        v1_pages as f64 / nq as f64
    );
    (r, r1, ratio)
}

#[test]
fn recall_against_brute_force() {
    for code in KINDS {
        for placement in [VectorPlacement::Auto, VectorPlacement::Separate] {
            for (r, r1, ratio) in [
                recall::<L2F32>(code, placement),
                recall::<DotF32>(code, placement),
                recall::<CosineF32>(code, placement),
            ] {
                // The walk follows estimates, so it differs from v1's at the
                // same ef (either may be ahead), and RaBitQ's bound is only
                // probabilistic: a rare candidate is not reranked although
                // it belonged in the top ten.
                // One bit per dimension of a 128-d vector steers the walk
                // less well: it needs a larger ef for v1's recall (see
                // BENCH-v2.md), so only a floor here.
                let ok = if code == CodeKind::RaBitQ1 { r >= 0.8 } else { r >= r1 - 0.03 && r >= 0.93 };
                assert!(ok, "{code:?} {placement:?}: recall {r}, v1 {r1}");
                assert!(ratio < 0.5, "{code:?} {placement:?}: v2 reads {ratio} of v1's pages");
            }
        }
    }
}

/// The stream yields every live node exactly once (deletes included, and a
/// graph cut into pieces), in approximately increasing exact distance; its
/// first k agree with the top-k search.
#[test]
fn stream_yields_every_live_node_once() {
    let dim = 16;
    let data = clustered_f32(1500, dim, 10, 21);
    let mut g = Hnsw::<L2F32>::build(&Params { m: 6, threads: 1, ..Params::default() }, dim, &data, None);
    let mut r = Rng::new(8);
    let mut live = 0;
    for id in 0..g.len() as u32 {
        if r.uniform() < 0.3 {
            g.mark_deleted(id);
        } else {
            live += 1;
        }
    }
    // Cut off every edge of some nodes (isolated: only a reseed finds them).
    for id in (0..g.len() as u32).step_by(97) {
        for l in 0..=g.node_level(id) {
            g.write_list_for_test(id, l, &[]);
        }
    }
    let queries = clustered_f32(5, dim, 10, 4);
    assert_eq!(queries.len(), 5 * dim);
    for code in KINDS {
        for placement in [VectorPlacement::Auto, VectorPlacement::Separate] {
            let pages = to_pages_v2(&g, &opts(code, placement, true)).unwrap();
            let p = PagedGraphV2::<_, L2F32>::open(&pages[..]).unwrap();
            let (mut head_v2, mut head_v1) = (0.0, 0.0);
            for q in queries.chunks_exact(dim) {
                let all: Vec<Neighbour> = p.stream(q, 16).collect();
                assert_eq!(all.len(), live, "{code:?} {placement:?}");
                let mut ids: Vec<u32> = all.iter().map(|n| n.id).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), live);
                assert!(ids.iter().all(|&id| !g.is_deleted(p.payload(id) as u32)));
                let head: f32 = all[..100].iter().map(|n| n.distance).sum();
                let tail: f32 = all[all.len() - 100..].iter().map(|n| n.distance).sum();
                assert!(head < tail);
                // The first ten about as good as v1's stream's at the same ef.
                let exact = brute_force::<_, L2F32>(&g, q, 10);
                head_v2 += recall_one(&exact, &all[..10], 10);
                let v1: Vec<Neighbour> = g.search_stream(q, 16).take(10).collect();
                head_v1 += recall_one(&exact, &v1, 10);
            }
            eprintln!("{code:?} {placement:?}: stream recall@10 v2 {head_v2:.2} v1 {head_v1:.2} (sums over 5 queries)");
            // (RaBitQ's rotation and estimator are made for embeddings; on
            // 16-d vectors one bit per dimension says little, and four bits
            // gave 3.2-3.3 here. Their heads are checked in the recall test,
            // at 128 and 32 dimensions.)
            if matches!(code, CodeKind::Sq8 | CodeKind::Sq4) {
                assert!(head_v2 >= head_v1 - 0.5, "{code:?} {placement:?}: stream head recall {head_v2} vs v1 {head_v1}");
            }
        }
    }
}

/// VACUUM's accessors: walk the node pages, read payloads, flip deleted
/// flags in place; searches then never return those rows, and a merge from
/// the v2 segment drops them.
#[test]
fn vacuum_accessors_and_merge() {
    let dim = 16;
    let data = clustered_f32(1200, dim, 6, 2);
    let g = Hnsw::<CosineF32>::build(&params(), dim, &data, None);
    let mut pages = to_pages_v2(&g, &WriteOptions::default()).unwrap();
    let lay = PagedGraphV2::<_, CosineF32>::open(&pages[..]).unwrap().layout().clone();
    let mut flipped = 0;
    let mut all_ids = 0;
    for page in lay.node_page_range() {
        for (_, loc) in lay.nodes_on_page(page) {
            all_ids += 1;
            let b = pages[page as usize].bytes_mut();
            assert!(!record_deleted(b, loc));
            if record_payload(b, loc).is_multiple_of(3) {
                set_record_deleted(b, loc, true);
                flipped += 1;
            }
        }
    }
    assert_eq!(all_ids, 1200);
    assert_eq!(lay.nodes_on_page(0).count(), 0);
    let p = PagedGraphV2::<_, CosineF32>::open(&pages[..]).unwrap();
    let mut s = SearchScratchV2::new();
    for q in data.chunks_exact(dim).step_by(50) {
        let got = p.search(q, 10, 40, &mut s);
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|n| !p.payload(n.id).is_multiple_of(3)));
        assert!(p.stream(q, 10).take(30).all(|n| !p.payload(n.id).is_multiple_of(3)));
    }
    let merged = merge::<_, CosineF32>(&p, &params(), &data[..dim * 5], Some(&[7000, 7001, 7002, 7003, 7004]));
    // A stream owning its graph (as a scan keeps both together).
    let owned = Box::new(PagedGraphV2::<_, CosineF32>::open(&pages[..]).unwrap());
    let mut stream = StreamingSearchV2::new(owned, &data[..dim], 10);
    let first = stream.next().unwrap();
    assert!(!stream.graph().payload(first.id).is_multiple_of(3));
    assert_eq!(merged.len(), 1200 - flipped + 5);
}

fn exercise(pages: &[PageBuf], dim: usize) -> Result<usize, PageFormatError> {
    let g = PagedGraphV2::<_, L2F32>::open(pages)?;
    let q = vec![0.5f32; dim];
    let n = g.stream(&q, 16).count();
    let k = g.search(&q, 10, 32, &mut SearchScratchV2::new()).len();
    let merged = merge::<_, L2F32>(&g, &Params { threads: 1, ..Params::default() }, &q, None);
    Ok(n + k + merged.len())
}

/// Garbage in any page (meta, parameters, records, upper-layer blocks,
/// vectors) is reported through `PageSource::corrupted` or as a
/// `PageFormatError`, or is harmless; never an out-of-bounds access, an
/// overflow or a loop.
#[test]
fn garbage_pages_are_reported_never_crash() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut r = Rng::new(77);
    for (dim, n, placement, code) in [
        (8usize, 600usize, VectorPlacement::Auto, CodeKind::Sq8),
        (8, 600, VectorPlacement::Separate, CodeKind::RaBitQ1),
        (64, 300, VectorPlacement::Auto, CodeKind::Sq4),
        (3000, 40, VectorPlacement::Auto, CodeKind::RaBitQ1),
    ] {
        let data = clustered_f32(n, dim, 5, 3);
        let g = Hnsw::<L2F32>::build(&Params { m: 4, threads: 1, ..Params::default() }, dim, &data, None);
        let clean = to_pages_v2(&g, &opts(code, placement, true)).unwrap();
        assert!(exercise(&clean, dim).is_ok());
        let mut outcomes = [0usize; 3];
        for round in 0..300 {
            let mut pages = clean.clone();
            let p = (r.next_u64() % pages.len() as u64) as usize;
            let b = pages[p].bytes_mut();
            match round % 4 {
                0 => b.iter_mut().for_each(|x| *x = r.next_u64() as u8),
                1 => b.fill(0),
                2 => {
                    let o = (r.next_u64() as usize % (PAGE_PAYLOAD / 4)) * 4;
                    b[o..o + 4].copy_from_slice(&(r.next_u64() as u32).to_ne_bytes());
                }
                _ => {
                    let o = r.next_u64() as usize % 160;
                    b[o] = r.next_u64() as u8;
                }
            }
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exercise(&pages, dim))) {
                Ok(Ok(_)) => outcomes[0] += 1,
                Ok(Err(_)) => outcomes[2] += 1,
                Err(e) => {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    if !msg.starts_with("corrupted segment") {
                        failures.push(format!("dim {dim} {code:?}, round {round}, page {p}: {msg:?}"));
                    }
                    outcomes[1] += 1;
                }
            }
        }
        eprintln!("dim {dim} {code:?} {placement:?}: fine / reported / format error {outcomes:?}");
        if outcomes[1] + outcomes[2] == 0 {
            failures.push(format!("dim {dim}: no garbage was ever detected"));
        }
    }
    std::panic::set_hook(prev);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
