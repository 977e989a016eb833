//! Page format v1 vs v2 (per code) on a cosine data set: recall@k,
//! single-thread QPS, page accesses per query (each one a buffer pin and
//! lock in PostgreSQL), vectors reranked per query and segment size, for a
//! list of ef values, for the top-k search and for the streaming search the
//! access method uses (first k pulled).
//!
//! Files as for `glove_bench` (`base.bin`, `queries.bin`: `u32 n, u32 dim`,
//! f32s; `gt.bin`: `u32 nq, u32 k`, u32 ids).
//!
//! Usage: v2_bench DIR [--m 16] [--efc 64] [--threads 2] [--ef 10,20,40,80,160]
//!        [--k 10] [--nq 1000] [--codes sq8,sq4,rabitq1,rabitq4] [--placement auto|separate|both]
//!        [--renumber 1|0|both] [--cache FILE]
//!
//! `--cache FILE`: v1 pages of the built graph are saved there and reused by
//! later runs with the same file (the graph is rebuilt from them by a merge
//! without changes, as `glove_bench --load` does).

mod common;

use std::time::Instant;

use common::{cosine_graph_cached, hits, list, read_matrix};

use strata_hnsw::page::{to_pages, PagedGraph};
use strata_hnsw::page_v2::{
    to_pages_v2, CountingSource, PagedGraphV2, SearchScratchV2, VectorPlacement, WriteOptions,
};
use strata_hnsw::quant::CodeKind;
use strata_hnsw::search::search;
use strata_hnsw::{CosineF32, GraphView, Params, SearchScratch, StreamingSearch};

struct Row {
    ef: usize,
    recall: f64,
    qps: f64,
    pages: f64,
    reranked: f64,
    stream_recall: f64,
    stream_pages: f64,
    distinct: f64,
}

fn print_table(name: &str, size_pages: usize, rows: &[Row]) {
    println!("\n### {name} ({size_pages} pages, {:.1} MB)\n", size_pages as f64 * 8192.0 / 1e6);
    println!("| ef | recall@k | QPS | pages/query | distinct pages/query | reranked/query | stream recall@k | stream pages/query |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {:.4} | {:.0} | {:.1} | {:.1} | {:.1} | {:.4} | {:.1} |",
            r.ef, r.recall, r.qps, r.pages, r.distinct, r.reranked, r.stream_recall, r.stream_pages
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).expect("usage: v2_bench DIR [options]").clone();
    let (mut m, mut efc, mut threads, mut efs, mut k, mut nq_max) = (16, 64, 2, vec![10, 20, 40, 80, 160], 10, 1000);
    let mut codes = vec!["sq8".to_string(), "sq4".into(), "rabitq1".into(), "rabitq4".into()];
    let mut placements = vec![VectorPlacement::Auto];
    let mut renumbers = vec![true];
    let mut cache: Option<String> = None;
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
            "--placement" => {
                placements = match v.as_str() {
                    "auto" => vec![VectorPlacement::Auto],
                    "separate" => vec![VectorPlacement::Separate],
                    _ => vec![VectorPlacement::Auto, VectorPlacement::Separate],
                }
            }
            "--renumber" => {
                renumbers = match v.as_str() {
                    "1" => vec![true],
                    "0" => vec![false],
                    _ => vec![true, false],
                }
            }
            "--cache" => cache = Some(v.clone()),
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
    println!("{dir}: n {n}, dim {dim}, m {m}, efc {efc}, {nq} queries, k {k}");

    // v1 over in-memory pages.
    let v1_pages = to_pages(&g);
    let src = CountingSource::new(&v1_pages[..]);
    let v1 = PagedGraph::<_, CosineF32>::open(&src).unwrap();
    let dsrc = CountingSource::tracking_distinct(&v1_pages[..]);
    let v1d = PagedGraph::<_, CosineF32>::open(&dsrc).unwrap();
    let mut s = SearchScratch::new();
    let mut rows = Vec::new();
    for &ef in &efs {
        let (mut best, mut h, mut pages) = (f64::INFINITY, 0, 0);
        for _ in 0..2 {
            src.reset();
            h = 0;
            let t = Instant::now();
            for (qi, q) in queries.chunks_exact(dim).enumerate() {
                let r = search::<_, CosineF32>(&v1, q, k, ef, &mut s);
                h += hits(&truth[qi], r.iter().map(|x| v1.payload(x.id)));
            }
            best = best.min(t.elapsed().as_secs_f64());
            pages = src.accesses();
        }
        src.reset();
        let mut sh = 0;
        for (qi, q) in queries.chunks_exact(dim).enumerate() {
            let r: Vec<_> = StreamingSearch::<_, CosineF32>::new(&v1, q, ef).take(k).collect();
            sh += hits(&truth[qi], r.iter().map(|x| v1.payload(x.id)));
        }
        let spages = src.accesses();
        let mut distinct = 0;
        for q in queries.chunks_exact(dim) {
            dsrc.reset();
            std::hint::black_box(search::<_, CosineF32>(&v1d, q, k, ef, &mut s));
            distinct += dsrc.distinct();
        }
        rows.push(Row {
            ef,
            recall: h as f64 / (nq * k) as f64,
            qps: nq as f64 / best,
            pages: pages as f64 / nq as f64,
            distinct: distinct as f64 / nq as f64,
            reranked: 0.0,
            stream_recall: sh as f64 / (nq * k) as f64,
            stream_pages: spages as f64 / nq as f64,
        });
    }
    print_table("v1", v1_pages.len(), &rows);

    for code in &codes {
        let kind = match code.as_str() {
            "sq8" => CodeKind::Sq8,
            "sq4" => CodeKind::Sq4,
            "rabitq1" => CodeKind::RaBitQ1,
            "rabitq4" => CodeKind::RaBitQ4,
            o => panic!("unknown code {o}"),
        };
        for &placement in &placements {
            for &renumber in &renumbers {
                let opts = WriteOptions { code: kind, placement, renumber };
                let pages = match to_pages_v2(&g, &opts) {
                    Ok(p) => p,
                    Err(e) => {
                        println!("\n### v2 {code} {placement:?} renumber={renumber}: {e}");
                        continue;
                    }
                };
                let src = CountingSource::new(&pages[..]);
                let v2 = PagedGraphV2::<_, CosineF32>::open(&src).unwrap();
                let dsrc = CountingSource::tracking_distinct(&pages[..]);
                let v2d = PagedGraphV2::<_, CosineF32>::open(&dsrc).unwrap();
                let mut s = SearchScratchV2::new();
                let mut rows = Vec::new();
                for &ef in &efs {
                    let (mut best, mut h, mut pages_read, mut reranked) = (f64::INFINITY, 0, 0, 0);
                    for _ in 0..2 {
                        src.reset();
                        v2.reset_stats();
                        h = 0;
                        let t = Instant::now();
                        for (qi, q) in queries.chunks_exact(dim).enumerate() {
                            let r = v2.search(q, k, ef, &mut s);
                            h += hits(&truth[qi], r.iter().map(|x| v2.payload(x.id)));
                        }
                        best = best.min(t.elapsed().as_secs_f64());
                        pages_read = src.accesses();
                        reranked = v2.stats().reranked;
                    }
                    src.reset();
                    let mut sh = 0;
                    for (qi, q) in queries.chunks_exact(dim).enumerate() {
                        let r: Vec<_> = v2.stream(q, ef).take(k).collect();
                        sh += hits(&truth[qi], r.iter().map(|x| v2.payload(x.id)));
                    }
                    let spages = src.accesses();
                    let mut distinct = 0;
                    for q in queries.chunks_exact(dim) {
                        dsrc.reset();
                        std::hint::black_box(v2d.search(q, k, ef, &mut s));
                        distinct += dsrc.distinct();
                    }
                    rows.push(Row {
                        distinct: distinct as f64 / nq as f64,
                        ef,
                        recall: h as f64 / (nq * k) as f64,
                        qps: nq as f64 / best,
                        pages: pages_read as f64 / nq as f64,
                        reranked: reranked as f64 / nq as f64,
                        stream_recall: sh as f64 / (nq * k) as f64,
                        stream_pages: spages as f64 / nq as f64,
                    });
                }
                let lay = v2.layout();
                print_table(
                    &format!(
                        "v2 {code} {placement:?} renumber={renumber}: {} B/code, {} records/page, vectors {}",
                        lay.code_bytes,
                        lay.records_per_page,
                        if lay.vectors_inline { "inline".to_string() } else { format!("on {} pages", lay.vector_pages) }
                    ),
                    pages.len(),
                    &rows,
                );
            }
        }
    }
}
