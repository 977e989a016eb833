//! Benchmark driver for `bench/glove_vs_hnswlib.py`: builds a cosine graph
//! over `base.bin`, then measures recall@10 and single-thread QPS for a list
//! of `ef_search` values against `gt.bin`. Prints one JSON object per line.
//!
//! Files (written by the Python script): `base.bin` and `queries.bin` are
//! `u32 n, u32 dim` then `n * dim` little-endian f32; `gt.bin` is
//! `u32 nq, u32 k` then `nq * k` u32 ids into base.
//!
//! Usage: glove_bench DIR [--m 16] [--efc 200] [--threads 1,2]
//!        [--ef 10,20,40,80,160,320] [--k 10]

mod common;

use std::time::Instant;

use common::{list, pages_of, read_matrix};

use strata_hnsw::page::{to_pages_coded, write_pages, CodeSpec, PagedGraph};
use strata_hnsw::quant::CodeKind;
use strata_hnsw::StreamingSearch;
use strata_hnsw::{merge, CosineF32, Hnsw, Params, SearchScratch, Space};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .expect("usage: glove_bench DIR [options]")
        .clone();
    let (mut m, mut efc, mut threads, mut efs, mut k) =
        (16, 200, vec![1, 2], vec![10, 20, 40, 80, 160, 320], 10);
    let mut limit = usize::MAX;
    let mut merge_test = false;
    let mut late_sorted = false;
    // What the late-sorted merge's checks search on: the SQ8 codes its
    // segment gets in an index (`sq8`), or exact distances (`none`).
    let mut check_codes = Some(CodeKind::Sq8);
    let mut merge_threads = 2usize;
    let mut build_codes: Option<CodeKind> = None;
    let (mut save, mut load): (Option<String>, Option<String>) = (None, None);
    let mut i = 2;
    while i + 1 < args.len() {
        let v = &args[i + 1];
        match args[i].as_str() {
            "--m" => m = v.parse().unwrap(),
            "--efc" => efc = v.parse().unwrap(),
            "--threads" => threads = list(v),
            "--ef" => efs = list(v),
            "--k" => k = v.parse().unwrap(),
            // Build over the first N vectors only and skip the searches
            // (profiling the build).
            "--limit" => limit = v.parse().unwrap(),
            // Write the first graph's pages to a file / read a graph from
            // such a file instead of building (profiling the searches).
            "--save" => save = Some(v.clone()),
            "--load" => load = Some(v.clone()),
            // After the curve: delete 20% + the last 10%, merge the last 10%
            // back in (N threads), and measure the merged graph's curve.
            // After each build: build 90%, merge the last 10% sorted by
            // the first coordinate, and count rows that do not find
            // themselves at ef_search 40 (issue 14's adversarial order).
            "--late-sorted" => late_sorted = v != "0",
            "--check-codes" => check_codes = (v != "none").then_some(CodeKind::Sq8),
            // Layer-0 insertion searches on codes first: sq8, rabitq4, rabitq1, none.
            "--build-codes" => {
                build_codes = match v.as_str() {
                    "sq8" => Some(CodeKind::Sq8),
                    "rabitq4" => Some(CodeKind::RaBitQ4),
                    "rabitq1" => Some(CodeKind::RaBitQ1),
                    "none" => None,
                    o => panic!("unknown code kind {o}"),
                }
            }
            "--merge-test" => {
                merge_test = v != "0";
                merge_threads = v.parse().unwrap();
            }
            o => panic!("unknown option {o}"),
        }
        i += 2;
    }
    let (mut n, dim, mut base) = read_matrix(&format!("{dir}/base.bin"), f32::from_le_bytes);
    if limit < n {
        n = limit;
        base.truncate(n * dim);
        efs.clear();
    }
    let (nq, qd, queries) = read_matrix(&format!("{dir}/queries.bin"), f32::from_le_bytes);
    let (gn, gk, gt) = read_matrix(&format!("{dir}/gt.bin"), u32::from_le_bytes);
    assert_eq!(qd, dim);
    assert_eq!(gn, nq);
    assert!(gk >= k);

    // Build once per thread count; search the graph of the first count.
    let mut graph: Option<Hnsw<CosineF32>> = None;
    if let Some(path) = &load {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let pages = pages_of(&bytes);
        let paged = PagedGraph::<_, CosineF32>::open(&pages[..]).expect("not a graph file");
        let params = Params {
            m,
            ef_construction: efc,
            ..Params::default()
        };
        graph = Some(merge::<_, CosineF32>(&paged, &params, &[], None));
        threads.clear();
    }
    for &t in &threads {
        let params = Params {
            m,
            ef_construction: efc,
            threads: t,
            build_codes,
            ..Params::default()
        };
        let start = Instant::now();
        let g = Hnsw::<CosineF32>::build(&params, dim, &base, None);
        let secs = start.elapsed().as_secs_f64();
        let st = g.connect_stats();
        println!(
            "{{\"kind\":\"build\",\"threads\":{t},\"seconds\":{secs:.3},\"n\":{n},\"dim\":{dim},\"m\":{m},\"efc\":{efc},\"memory_bytes\":{},\"repair_seconds\":{:.3},\"unreachable_before\":{:?},\"weak_refined\":{},\"local_links\":{},\"links_added\":{}}}",
            g.memory_bytes(),
            st.elapsed.as_secs_f64(),
            st.unreachable_before,
            st.weak_refined,
            st.local_links,
            st.links_added + st.links_replaced
        );
        if late_sorted {
            late_sorted_self_recall(&Params { segment_codes: check_codes, ..params.clone() }, &base, dim);
        }
        if graph.is_none() {
            if let Some(path) = &save {
                let mut out = Vec::new();
                write_pages(&g, |_, p| out.extend_from_slice(p));
                std::fs::write(path, out).unwrap_or_else(|e| panic!("{path}: {e}"));
            }
            graph = Some(g);
        }
    }
    let g = graph.expect("no build");
    let truth: Vec<Vec<u32>> = gt.chunks_exact(gk).map(|row| row[..k].to_vec()).collect();
    curve(&g, &queries, dim, &truth, &efs, k, "search");

    if merge_test {
        // Mark the last 10% of the base and a random 20% of the rest
        // deleted, then merge: the deleted nodes are dropped (neighbours
        // repaired) and the last 10% come back as a batch of new vectors.
        let cut = n * 9 / 10;
        let mut live = vec![true; n];
        let mut x = 0x1234_5678_u64;
        for id in 0..n as u32 {
            let p = g.node_payload(id) as usize;
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if p >= cut || (x >> 33).is_multiple_of(5) {
                g.mark_deleted(id);
                live[p] = p >= cut;
            }
        }
        let params = Params {
            m,
            ef_construction: efc,
            threads: merge_threads,
            ..Params::default()
        };
        let payloads: Vec<u64> = (cut as u64..n as u64).collect();
        let start = Instant::now();
        let merged = merge::<_, CosineF32>(&g, &params, &base[cut * dim..], Some(&payloads));
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{{\"kind\":\"merge\",\"threads\":{},\"seconds\":{secs:.3},\"deleted\":{},\"inserted\":{},\"nodes\":{}}}",
            params.threads,
            g.deleted_count() - (n - cut),
            n - cut,
            merged.len()
        );
        let truth: Vec<Vec<u32>> = gt
            .chunks_exact(gk)
            .map(|row| {
                row.iter()
                    .copied()
                    .filter(|&p| live[p as usize])
                    .take(k)
                    .collect()
            })
            .collect();
        curve(&merged, &queries, dim, &truth, &efs, k, "search_merged");
    }
}

/// Whether a search for node `id`'s vector whose first hit is `top` (id,
/// distance) found it; ties: a stored duplicate at the same distance counts.
fn comes_first(g: &Hnsw<CosineF32>, id: u32, top: Option<(u32, f32)>) -> bool {
    let own = CosineF32::distance(g.stored_vector(id), g.stored_vector(id));
    top.is_some_and(|(t, d)| t == id || d <= own)
}

/// Builds over the first 90% of `base`, merges the rest in sorted by its
/// first coordinate, and prints how many rows do not come back first for
/// their own vector at ef 40: after the build alone, then after the merge
/// the late and the early rows, all of them (a sample such as every 10th row
/// shared rows with the merge's checks when those took every 8th row, and
/// flattered them).
fn late_sorted_self_recall(params: &Params, base: &[f32], dim: usize) {
    let n = base.len() / dim;
    let cut = n * 9 / 10;
    let mut late: Vec<usize> = (cut..n).collect();
    late.sort_by(|&a, &b| base[a * dim].total_cmp(&base[b * dim]));
    let tail: Vec<f32> = late.iter().flat_map(|&r| base[r * dim..(r + 1) * dim].iter().copied()).collect();
    let payloads: Vec<u64> = late.iter().map(|&r| r as u64).collect();
    let g0 = Hnsw::<CosineF32>::build(params, dim, &base[..cut * dim], None);
    // After the build alone.
    let mut s = SearchScratch::new();
    let built_total = g0.len();
    let built_miss = (0..g0.len() as u32)
        .filter(|&id| {
            let top = g0.search_with(g0.stored_vector(id), 1, 40, &mut s);
            !comes_first(&g0, id, top.first().map(|t| (t.id, t.distance)))
        })
        .count();
    let start = Instant::now();
    let g = merge::<_, CosineF32>(&g0, params, &tail, Some(&payloads));
    let secs = start.elapsed().as_secs_f64();
    let (mut late_miss, mut early_miss, mut early_total) = (0, 0, 0);
    for id in 0..g.len() as u32 {
        let is_late = g.node_payload(id) as usize >= cut;
        let q = &base[g.node_payload(id) as usize * dim..][..dim];
        let top = g.search_with(q, 1, 40, &mut s);
        let ok = comes_first(&g, id, top.first().map(|t| (t.id, t.distance)));
        if is_late {
            late_miss += !ok as usize;
        } else {
            early_total += 1;
            early_miss += !ok as usize;
        }
    }
    // The same rows through what an index scan runs: the streaming search
    // over the segment's pages, on its SQ8 codes (page format 3).
    let pages = to_pages_coded(&g, Some(CodeSpec { kind: CodeKind::Sq8, seed: 1, uid: 1 }));
    let paged = PagedGraph::<_, CosineF32>::open(&pages[..]).expect("pages just written");
    let codes = std::sync::Arc::new(paged.load_codes().expect("a code section"));
    let (mut late_miss_codes, mut early_miss_codes) = (0, 0);
    for id in 0..g.len() as u32 {
        let is_late = g.node_payload(id) as usize >= cut;
        let q = &base[g.node_payload(id) as usize * dim..][..dim];
        let top = StreamingSearch::<_, CosineF32>::with_codes(&paged, codes.clone(), q, 40).next();
        let ok = comes_first(&g, id, top.map(|t| (t.id, t.distance)));
        if is_late {
            late_miss_codes += !ok as usize;
        } else {
            early_miss_codes += !ok as usize;
        }
    }
    let st = g.connect_stats();
    println!(
        "{{\"kind\":\"late_sorted\",\"built_rows\":{built_total},\"built_not_found\":{built_miss},\"merge_seconds\":{secs:.3},\"late_rows\":{},\"late_not_found\":{late_miss},\"early_rows\":{early_total},\"early_not_found\":{early_miss},\"late_not_found_scan_on_codes\":{late_miss_codes},\"early_not_found_scan_on_codes\":{early_miss_codes},\"unreachable_before\":{:?},\"repair_seconds\":{:.3}}}",
        n - cut,
        st.unreachable_before,
        st.elapsed.as_secs_f64()
    );
}

/// Recall@k and single-thread QPS per ef; `truth` holds payloads.
fn curve(
    g: &Hnsw<CosineF32>,
    queries: &[f32],
    dim: usize,
    truth: &[Vec<u32>],
    efs: &[usize],
    k: usize,
    kind: &str,
) {
    let nq = queries.len() / dim;
    let mut s = SearchScratch::new();
    // Warm-up pass (page faults, caches), as the Python side does.
    if let Some(&ef) = efs.first() {
        for q in queries.chunks_exact(dim) {
            std::hint::black_box(g.search_with(q, k, ef, &mut s));
        }
    }
    for &ef in efs {
        let mut best = f64::INFINITY;
        let mut hits = 0usize;
        let mut total = 0usize;
        for _rep in 0..2 {
            hits = 0;
            total = 0;
            let start = Instant::now();
            for (qi, q) in queries.chunks_exact(dim).enumerate() {
                let r = g.search_with(q, k, ef, &mut s);
                let t = &truth[qi];
                total += t.len();
                hits += r
                    .iter()
                    .filter(|x| t.contains(&(g.node_payload(x.id) as u32)))
                    .count();
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        let recall = hits as f64 / total as f64;
        println!(
            "{{\"kind\":\"{kind}\",\"ef\":{ef},\"recall\":{recall:.4},\"qps\":{:.1}}}",
            nq as f64 / best
        );
    }
}
