//! Format version 4: version 3 with node records packed across page
//! boundaries, written when whole records would leave at least 1/20 of each
//! node page empty (384-d f32 at m = 16: four 1,688-byte records use 83% of
//! a page). Every field reads back as the graph has it, also for records
//! that continue on the next page; VACUUM's locations (flag, payload) are
//! right; a search streams every live node once; garbage is reported.

mod common;

use std::sync::Arc;

use common::clustered_f32;
use strata_hnsw::page::{
    is_deleted, read_payload, set_deleted, to_pages_coded, write_pages_packing, CodeSpec, PageBuf, PagedGraph, Packing, PAGE_PAYLOAD,
    VERSION_CODED, VERSION_PACKED,
};
use strata_hnsw::quant::CodeKind;
use strata_hnsw::{CosineF32, GraphView, Hnsw, Params, Space, StreamingSearch, L2F32};

fn params() -> Params {
    Params { m: 16, ef_construction: 40, threads: 1, ..Params::default() }
}

fn spec(kind: CodeKind) -> Option<CodeSpec> {
    Some(CodeSpec { kind, seed: 5, uid: 77 })
}

/// Clustered rows, 30 rows far from them along a line, 20 copies of row 0.
fn data(n: usize, dim: usize) -> Vec<f32> {
    let mut v = clustered_f32(n, dim, 12, 9);
    for i in 0..30 {
        v.extend((0..dim).map(|j| 30.0 + i as f32 + 0.001 * j as f32));
    }
    let dup = v[..dim].to_vec();
    for _ in 0..20 {
        v.extend_from_slice(&dup);
    }
    v
}

fn version(pages: &[PageBuf]) -> u16 {
    u16::from_ne_bytes(pages[0].bytes()[4..6].try_into().unwrap())
}

#[test]
fn records_that_would_waste_a_twentieth_of_a_page_are_packed() {
    // 384-d: 1,688-byte records; 50-d: 352 bytes, 23 fill 99% of a page.
    for (dim, packed) in [(384usize, true), (50, false), (100, true), (128, false)] {
        let v = data(300, dim);
        let g = Hnsw::<L2F32>::build(&params(), dim, &v, None);
        let p = to_pages_coded(&g, spec(CodeKind::Sq8));
        let lay = PagedGraph::<_, L2F32>::open(&p[..]).unwrap().layout().clone();
        assert_eq!(lay.packed, packed, "{dim}-d");
        assert_eq!(version(&p), if packed { VERSION_PACKED } else { VERSION_CODED }, "{dim}-d");
        let n = g.len() as u64;
        let rs = lay.record_size as u64;
        if packed {
            assert_eq!(lay.node_pages as u64, (n * rs).div_ceil(PAGE_PAYLOAD as u64), "{dim}-d");
            assert!((lay.node_pages as u64) < n.div_ceil(PAGE_PAYLOAD as u64 / rs), "{dim}-d: packing saves pages");
        }
        // Without a code section it stays version 1, whole records.
        let plain = to_pages_coded(&g, None);
        assert!(!PagedGraph::<_, L2F32>::open(&plain[..]).unwrap().layout().packed);
    }
}

#[test]
fn packed_records_read_back_whole_across_page_boundaries() {
    let dim = 384;
    let v = data(1200, dim);
    let tids: Vec<u64> = (0..1250u64).map(|i| 0xABCD_0000_0000 + i * 3).collect();
    let g = Hnsw::<CosineF32>::build(&params(), dim, &v, Some(&tids));
    let p = to_pages_coded(&g, spec(CodeKind::RaBitQ4));
    let graph = PagedGraph::<_, CosineF32>::open(&p[..]).unwrap();
    let lay = graph.layout().clone();
    assert!(lay.packed);
    let (mut crossing, mut payload_on_next) = (0, 0);
    let mut covered = vec![0u32; g.len()];
    for page in 0..lay.node_pages {
        for id in lay.records_starting_on(page) {
            covered[id as usize] += 1;
            assert_eq!(lay.node_location(id).0, lay.first_node_page + page);
        }
    }
    assert!(covered.iter().all(|&c| c == 1), "every record starts on exactly one node page");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for id in 0..g.len() as u32 {
        let (page, off) = lay.node_location(id);
        crossing += (off + lay.record_size as usize > PAGE_PAYLOAD) as usize;
        let (pp, po) = lay.payload_location(id);
        payload_on_next += (pp != page) as usize;
        assert_eq!(read_payload(p[pp as usize].bytes(), po), tids[id as usize], "node {id}: payload location");
        assert_eq!(graph.payload(id), tids[id as usize]);
        assert_eq!(graph.level(id), g.level(id));
        for level in 0..=g.level(id) {
            GraphView::neighbours(&g, id, level, &mut a);
            graph.neighbours(id, level, &mut b);
            assert_eq!(a, b, "node {id} layer {level}");
        }
        graph.with_node(id, |x, del| {
            assert!(!del);
            g.with_node(id, |y, _| assert!(x == y, "node {id}: vector"));
        });
        let same = graph.with_links_and_node(id, &mut b, |x, _| g.with_node(id, |y, _| x == y));
        GraphView::neighbours(&g, id, 0, &mut a);
        assert!(same && a == b, "node {id}: links and vector together");
    }
    // About a fifth of 1,688-byte records cross a boundary.
    assert!(crossing > g.len() / 8, "only {crossing} records cross a page boundary");
    assert!(payload_on_next > 0 || lay.node_pages < 10, "no payload on the next page in {} pages", lay.node_pages);
}

#[test]
fn deleted_flags_of_crossing_records_hide_them_and_every_live_node_streams_once() {
    let dim = 100; // 552-byte records: packed
    let v = data(2500, dim);
    let g = Hnsw::<L2F32>::build(&params(), dim, &v, None);
    let mut p = to_pages_coded(&g, spec(CodeKind::Sq8));
    let lay = PagedGraph::<_, L2F32>::open(&p[..]).unwrap().layout().clone();
    assert!(lay.packed);
    // Delete every record that crosses a page boundary, plus a few others.
    let mut deleted = Vec::new();
    for id in 0..g.len() as u32 {
        let (page, off) = lay.node_location(id);
        if off + lay.record_size as usize > PAGE_PAYLOAD || id % 97 == 0 {
            set_deleted(p[page as usize].bytes_mut(), off, true);
            assert!(is_deleted(p[page as usize].bytes(), off));
            deleted.push(id);
        }
    }
    assert!(deleted.len() > 100);
    let graph = PagedGraph::<_, L2F32>::open(&p[..]).unwrap();
    let codes = Arc::new(graph.load_codes().unwrap());
    for qi in [0usize, 7, 1234, 2510, 2540] {
        let q = &v[qi * dim..(qi + 1) * dim];
        let mut seen = vec![false; g.len()];
        let mut count = 0;
        let mut last = f32::NEG_INFINITY;
        for n in StreamingSearch::<_, L2F32>::with_codes(&graph, codes.clone(), q, 20) {
            assert!(!seen[n.id as usize], "node {} twice", n.id);
            assert!(deleted.binary_search(&n.id).is_err(), "deleted node {} returned", n.id);
            seen[n.id as usize] = true;
            assert!(n.distance >= last - 1e-4 || count > 40, "out of order early in the stream");
            last = n.distance;
            count += 1;
        }
        assert_eq!(count, g.len() - deleted.len(), "query {qi}: every live node once");
    }
    // Live rows find themselves first through the scan on codes.
    let mut missed = 0;
    for id in (0..2500u32).step_by(11).filter(|id| deleted.binary_search(id).is_err()) {
        let q = &v[id as usize * dim..(id as usize + 1) * dim];
        let first = StreamingSearch::<_, L2F32>::with_codes(&graph, codes.clone(), q, 40).next().unwrap();
        missed += (graph.with_node(first.id, |x, _| L2F32::distance(q, x)) > 0.0) as usize;
    }
    assert_eq!(missed, 0, "rows not found first");
}

/// Segments of a shape that is now packed, written in version 3 before
/// version 4 existed, still open and read the same (an upgrade keeps them
/// until a merge or REINDEX rewrites them).
#[test]
fn version_3_segments_of_packable_shape_still_read() {
    let dim = 384;
    let v = data(500, dim);
    let g = Hnsw::<L2F32>::build(&params(), dim, &v, None);
    let mut old = Vec::new();
    write_pages_packing(&g, spec(CodeKind::RaBitQ4), Packing::Never, |_, b| {
        let mut p = PageBuf::default();
        p.bytes_mut().copy_from_slice(b);
        old.push(p);
    });
    assert_eq!(version(&old), VERSION_CODED);
    let new = to_pages_coded(&g, spec(CodeKind::RaBitQ4));
    assert_eq!(version(&new), VERSION_PACKED);
    assert!(new.len() < old.len());
    let a = PagedGraph::<_, L2F32>::open(&old[..]).unwrap();
    let b = PagedGraph::<_, L2F32>::open(&new[..]).unwrap();
    assert!(!a.layout().packed && a.layout().records_per_page == 4);
    let (ca, cb) = (Arc::new(a.load_codes().unwrap()), Arc::new(b.load_codes().unwrap()));
    assert_eq!(ca.codes, cb.codes);
    for qi in [3usize, 250, 510] {
        let q = &v[qi * dim..(qi + 1) * dim];
        let ra: Vec<u32> = StreamingSearch::<_, L2F32>::with_codes(&a, ca.clone(), q, 30).take(20).map(|n| n.id).collect();
        let rb: Vec<u32> = StreamingSearch::<_, L2F32>::with_codes(&b, cb.clone(), q, 30).take(20).map(|n| n.id).collect();
        assert_eq!(ra, rb, "query {qi}: the same rows in the same order from either format");
    }
    // Version 3 claiming packed records (a version-4 reader's misreading)
    // fails the meta page's checks.
    let mut forged = old.clone();
    forged[0].bytes_mut()[4..6].copy_from_slice(&VERSION_PACKED.to_ne_bytes());
    assert!(PagedGraph::<_, L2F32>::open(&forged[..]).is_err());
}

fn rng(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Garbage in a packed segment's node pages (which hold records cut in two)
/// is harmless (vector bytes) or reported as corruption; never a crash.
#[test]
fn garbage_in_packed_node_pages_is_reported_never_crash() {
    let dim = 384;
    let v = data(400, dim);
    let g = Hnsw::<L2F32>::build(&params(), dim, &v, None);
    let clean = to_pages_coded(&g, spec(CodeKind::RaBitQ4));
    let lay = PagedGraph::<_, L2F32>::open(&clean[..]).unwrap().layout().clone();
    assert!(lay.packed);
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut seed = 11u64;
    let (mut fine, mut reported, mut failures) = (0, 0, Vec::new());
    for round in 0..300 {
        let mut pages = clean.clone();
        let page = lay.first_node_page as usize + (rng(&mut seed) % lay.node_pages as u64) as usize;
        let b = pages[page].bytes_mut();
        if round % 2 == 0 {
            b.iter_mut().for_each(|x| *x = rng(&mut seed) as u8);
        } else {
            // A word at the start of the page: the tail of a record cut in
            // two, or the header of the first record starting there.
            let o = (rng(&mut seed) as usize % 64) * 4;
            b[o..o + 4].copy_from_slice(&(rng(&mut seed) as u32).to_ne_bytes());
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let graph = PagedGraph::<_, L2F32>::open(&pages[..]).unwrap();
            let codes = Arc::new(graph.load_codes().unwrap());
            let q = vec![0.25f32; dim];
            StreamingSearch::<_, L2F32>::with_codes(&graph, codes, &q, 16).count()
        }));
        match outcome {
            Ok(_) => fine += 1,
            Err(e) => {
                let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                if !msg.starts_with("corrupted segment") {
                    failures.push(format!("round {round}, page {page}: {msg:?}"));
                }
                reported += 1;
            }
        }
    }
    std::panic::set_hook(prev);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(reported > 50 && fine > 0, "fine {fine}, reported {reported}");
}
