//! Format version 3 (codes in a dense section, searched from memory) against
//! version 1 on a cosine data set, through the streaming search the access
//! method uses (first k pulled): recall@k, page accesses per query (each a
//! buffer pin and lock in PostgreSQL), distances estimated per query,
//! single-thread QPS over in-memory pages, and segment size.
//!
//! Files as for `glove_bench` (`base.bin`, `queries.bin`, `gt.bin`).
//!
//! Usage: coded_bench DIR [--cache FILE] [--ef 10,20,40,80,160] [--k 10] [--nq 1000]
//!        [--codes sq8,sq4,rabitq1,rabitq4] [--bound 1.0] [--m 16] [--efc 64] [--threads 2]
//!
//! `--bound W`: the share of a code's error bound subtracted from its
//! estimate (`SegmentedSearch::with_bound_weight`).
//!
//! `--cache FILE`: v1 pages of the built graph, saved there on the first run
//! and reused by later ones (as `v2_bench --cache`).

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{cosine_graph_cached, hits, list, read_matrix};
use strata_hnsw::page::{to_pages_coded, CodeSpec, PagedGraph};
use strata_hnsw::page_v2::CountingSource;
use strata_hnsw::quant::CodeKind;
use strata_hnsw::{CosineF32, GraphView, Params, StreamingSearch};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).expect("usage: coded_bench DIR [options]").clone();
    let (mut m, mut efc, mut threads, mut efs, mut k, mut nq_max) = (16, 64, 2, vec![10, 20, 40, 80, 160], 10, 1000);
    let mut codes = vec!["sq8".to_string(), "sq4".into(), "rabitq1".into(), "rabitq4".into()];
    let mut cache: Option<String> = None;
    let mut bound = 1.0f32;
    let mut i = 2;
    while i + 1 < args.len() {
        let v = &args[i + 1];
        match args[i].as_str() {
            "--m" => m = v.parse().unwrap(),
            "--efc" => efc = v.parse().unwrap(),
            "--threads" => threads = v.parse().unwrap(),
            "--ef" => efs = list(v),
            "--k" => k = v.parse().unwrap(),
            "--nq" => nq_max = v.parse().unwrap(),
            "--codes" => codes = list(v),
            "--cache" => cache = Some(v.clone()),
            "--bound" => bound = v.parse().unwrap(),
            o => panic!("unknown option {o}"),
        }
        i += 2;
    }
    let (n, dim, base) = read_matrix(&format!("{dir}/base.bin"), f32::from_le_bytes);
    let (nq, qd, queries) = read_matrix(&format!("{dir}/queries.bin"), f32::from_le_bytes);
    let (gn, gk, gt) = read_matrix(&format!("{dir}/gt.bin"), u32::from_le_bytes);
    assert!(qd == dim && gn == nq && gk >= k);
    let nq = nq.min(nq_max);
    let queries = &queries[..nq * dim];
    let truth: Vec<Vec<u32>> = gt.chunks_exact(gk).take(nq).map(|r| r[..k].to_vec()).collect();
    let params = Params { m, ef_construction: efc, threads, ..Params::default() };
    let g = cosine_graph_cached(cache.as_deref(), &params, dim, &base);
    println!("{dir}: n {n}, dim {dim}, m {m}, efc {efc}, {nq} queries, k {k}, streaming search, first {k} pulled, bound weight {bound}");
    println!();
    println!("| format | size MB | ef | recall@{k} | pages/query | estimated/query | QPS |");
    println!("|---|---:|---:|---:|---:|---:|---:|");

    let mut formats: Vec<(String, Option<CodeKind>)> = vec![("v1".into(), None)];
    for c in &codes {
        let kind = match c.as_str() {
            "sq8" => CodeKind::Sq8,
            "sq4" => CodeKind::Sq4,
            "rabitq1" => CodeKind::RaBitQ1,
            "rabitq4" => CodeKind::RaBitQ4,
            o => panic!("unknown code {o}"),
        };
        formats.push((format!("v3 {c}"), Some(kind)));
    }
    for (name, kind) in formats {
        let spec = kind.map(|kind| CodeSpec { kind, seed: 7, uid: 1 });
        let pages = to_pages_coded(&g, spec);
        let src = CountingSource::new(&pages[..]);
        let graph = PagedGraph::<_, CosineF32>::open(&src).unwrap();
        let loaded = graph.load_codes().map(Arc::new);
        let mb = pages.len() as f64 * 8192.0 / 1e6;
        for &ef in &efs {
            let (mut best, mut h, mut accesses, mut estimated) = (f64::INFINITY, 0, 0, 0);
            for _ in 0..2 {
                src.reset();
                (h, estimated) = (0, 0);
                let t = Instant::now();
                for (qi, q) in queries.chunks_exact(dim).enumerate() {
                    let mut s = match &loaded {
                        Some(c) => StreamingSearch::<_, CosineF32>::with_codes(&graph, c.clone(), q, ef).with_bound_weight(bound),
                        None => StreamingSearch::<_, CosineF32>::new(&graph, q, ef),
                    };
                    let r: Vec<_> = s.by_ref().take(k).collect();
                    estimated += s.nodes_estimated();
                    h += hits(&truth[qi], r.iter().map(|x| graph.payload(x.id)));
                }
                best = best.min(t.elapsed().as_secs_f64());
                accesses = src.accesses();
            }
            println!(
                "| {name} | {mb:.0} | {ef} | {:.4} | {:.1} | {:.0} | {:.0} |",
                h as f64 / (nq * k) as f64,
                accesses as f64 / nq as f64,
                estimated as f64 / nq as f64,
                nq as f64 / best
            );
        }
    }
}
