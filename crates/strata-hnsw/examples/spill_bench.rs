//! Build time of the same graph in memory and spilled to temporary files
//! (`strata_hnsw::slab`), alternating, on a cosine data set.
//!
//! Usage: spill_bench DIR [--dir /tmp] [--rounds 2] [--threads 2] [--limit N]

mod common;

use std::io::Write;
use std::time::Instant;

use common::read_matrix;
use strata_hnsw::{CosineF32, Hnsw, Params, Slab, Spill};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data_dir = args.get(1).expect("usage: spill_bench DIR [options]").clone();
    let (mut spill_dir, mut rounds, mut threads, mut limit) = ("/tmp".to_string(), 2, 2, usize::MAX);
    let mut i = 2;
    while i + 1 < args.len() {
        let v = &args[i + 1];
        match args[i].as_str() {
            "--dir" => spill_dir = v.clone(),
            "--rounds" => rounds = v.parse().unwrap(),
            "--threads" => threads = v.parse().unwrap(),
            "--limit" => limit = v.parse().unwrap(),
            o => panic!("unknown option {o}"),
        }
        i += 2;
    }
    let (mut n, dim, mut base) = read_matrix(&format!("{data_dir}/base.bin"), f32::from_le_bytes);
    n = n.min(limit);
    base.truncate(n * dim);
    let params = Params { m: 16, ef_construction: 64, threads, ..Params::default() };
    let payloads: Vec<u64> = (0..n as u64).collect();
    for round in 0..rounds {
        let t = Instant::now();
        let g = Hnsw::<CosineF32>::build(&params, dim, &base, Some(&payloads));
        let heap = t.elapsed().as_secs_f64();
        drop(g);
        let t = Instant::now();
        let spill = Spill::new(&spill_dir, format!("spill_bench{}", std::process::id()), None);
        let mut vf = spill.file(0).unwrap();
        let mut pf = spill.file(0).unwrap();
        let bytes: Vec<u8> = base.iter().flat_map(|x| x.to_ne_bytes()).collect();
        vf.write_all(&bytes).unwrap();
        let pbytes: Vec<u8> = payloads.iter().flat_map(|x| x.to_ne_bytes()).collect();
        pf.write_all(&pbytes).unwrap();
        drop((bytes, pbytes));
        let v = Slab::<f32>::map(&vf, n * dim).unwrap();
        let p = Slab::<u64>::map(&pf, n).unwrap();
        let g = Hnsw::<CosineF32>::build_slabs(&params, dim, v, p, Some(&spill), &mut || false).unwrap();
        let spilled = t.elapsed().as_secs_f64();
        drop(g);
        println!(
            "{{\"round\":{round},\"n\":{n},\"threads\":{threads},\"heap_seconds\":{heap:.2},\"spilled_seconds\":{spilled:.2},\"spill_bytes\":{}}}",
            spill.used()
        );
    }
}
