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

use std::time::Instant;

use strata_hnsw::{CosineF32, Hnsw, Params, SearchScratch};

fn read_matrix<T: Copy>(path: &str, conv: fn([u8; 4]) -> T) -> (usize, usize, Vec<T>) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let n = u32::from_le_bytes(b[0..4].try_into().unwrap()) as usize;
    let d = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
    let v = b[8..].chunks_exact(4).map(|c| conv(c.try_into().unwrap())).collect::<Vec<_>>();
    assert_eq!(v.len(), n * d, "{path}: size mismatch");
    (n, d, v)
}

fn list(s: &str) -> Vec<usize> {
    s.split(',').map(|x| x.trim().parse().expect("bad number")).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).expect("usage: glove_bench DIR [options]").clone();
    let (mut m, mut efc, mut threads, mut efs, mut k) = (16, 200, vec![1, 2], vec![10, 20, 40, 80, 160, 320], 10);
    let mut limit = usize::MAX;
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
    for &t in &threads {
        let params = Params { m, ef_construction: efc, threads: t, ..Params::default() };
        let start = Instant::now();
        let g = Hnsw::<CosineF32>::build(&params, dim, &base, None);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{{\"kind\":\"build\",\"threads\":{t},\"seconds\":{secs:.3},\"n\":{n},\"dim\":{dim},\"m\":{m},\"efc\":{efc},\"memory_bytes\":{}}}",
            g.memory_bytes()
        );
        if graph.is_none() {
            graph = Some(g);
        }
    }
    let g = graph.expect("no build");
    let mut s = SearchScratch::new();
    // Warm-up pass (page faults, caches), as the Python side does.
    if let Some(&ef) = efs.first() {
        for q in queries.chunks_exact(dim) {
            std::hint::black_box(g.search_with(q, k, ef, &mut s));
        }
    }
    for &ef in &efs {
        let mut best = f64::INFINITY;
        let mut hits = 0usize;
        for _rep in 0..2 {
            hits = 0;
            let start = Instant::now();
            for (qi, q) in queries.chunks_exact(dim).enumerate() {
                let r = g.search_with(q, k, ef, &mut s);
                let truth = &gt[qi * gk..qi * gk + k];
                hits += r.iter().filter(|x| truth.contains(&(g.node_payload(x.id) as u32))).count();
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        let recall = hits as f64 / (nq * k) as f64;
        println!(
            "{{\"kind\":\"search\",\"ef\":{ef},\"recall\":{recall:.4},\"qps\":{:.1}}}",
            nq as f64 / best
        );
    }
}
