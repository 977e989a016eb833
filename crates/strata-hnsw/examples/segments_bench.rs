//! How a query's work and recall change when an index is split into several
//! sealed segments (what CREATE INDEX does when maintenance_work_mem runs
//! out), measured in nodes whose distance is computed, which does not depend
//! on the machine's load. Data as for glove_bench (base.bin, queries.bin,
//! gt.bin in DIR).
//!
//! Usage: segments_bench DIR [--split 167772,167772] [--ef 20,40,80,120]
//!        [--shares 25,50,100] [--queries 1000] [--codes 1]
//!
//! `--codes 1`: every graph is written as page format 3 (SQ8) and searched
//! on its codes, as the access method does; "measured" is then the number
//! of nodes expanded (each one page read), "estimated" the codes used.

mod common;

use std::sync::Arc;

use common::{list, read_matrix};
use strata_hnsw::page::{to_pages_coded, CodeSpec, PageBuf, PagedGraph, SegmentCodes};
use strata_hnsw::quant::CodeKind;
use strata_hnsw::{CosineF32, GraphView, Hnsw, Params, SegmentedSearch, StreamingSearch};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).expect("usage: segments_bench DIR [options]").clone();
    let opt = |name: &str, default: &str| -> String {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
    };
    let split = list(&opt("--split", "167772,167772"));
    let efs = list(&opt("--ef", "20,40,80,120"));
    let shares = list(&opt("--shares", "25,50,100"));
    let nq: usize = opt("--queries", "1000").parse().unwrap();
    let coded = opt("--codes", "0") == "1";
    let (n, d, base) = read_matrix(&format!("{dir}/base.bin"), f32::from_le_bytes);
    let (qn, _, queries) = read_matrix(&format!("{dir}/queries.bin"), f32::from_le_bytes);
    let (_, k_gt, gt) = read_matrix(&format!("{dir}/gt.bin"), u32::from_le_bytes);
    let nq = nq.min(qn);
    let params = Params { m: 16, ef_construction: 64, threads: 0, ..Params::default() };
    let t = std::time::Instant::now();
    let whole = Hnsw::<CosineF32>::build(&params, d, &base, None);
    eprintln!("whole graph of {n}: {:.1} s", t.elapsed().as_secs_f64());
    // Consecutive chunks, as a build fills segments in table order.
    let mut bounds = vec![0usize];
    for s in &split {
        bounds.push((bounds.last().unwrap() + s).min(n));
    }
    bounds.push(n);
    let parts: Vec<(usize, Hnsw<CosineF32>)> = bounds
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| (w[0], Hnsw::<CosineF32>::build(&params, d, &base[w[0] * d..w[1] * d], None)))
        .collect();
    eprintln!("{} segments: {:?}", parts.len(), parts.iter().map(|(_, g)| g.len()).collect::<Vec<_>>());
    let write = |g: &Hnsw<CosineF32>| to_pages_coded(g, Some(CodeSpec { kind: CodeKind::Sq8, seed: 1, uid: 1 }));
    let whole_pages = if coded { write(&whole) } else { Vec::new() };
    let part_pages: Vec<Vec<PageBuf>> = if coded { parts.iter().map(|(_, g)| write(g)).collect() } else { Vec::new() };
    let open = |p: &Vec<PageBuf>| -> (PagedGraph<Vec<PageBuf>, CosineF32>, Arc<SegmentCodes>) {
        let g = PagedGraph::<_, CosineF32>::open(p.clone()).unwrap();
        let c = Arc::new(g.load_codes().unwrap());
        (g, c)
    };
    let whole_coded = coded.then(|| open(&whole_pages));
    let parts_coded: Vec<_> = part_pages.iter().map(open).collect();
    let recall = |got: &[u32], qi: usize| -> f64 {
        let truth = &gt[qi * k_gt..qi * k_gt + 10];
        got.iter().filter(|id| truth.contains(id)).count() as f64 / 10.0
    };
    println!("{:>4} {:>22} {:>8} {:>9}", "ef", "search", "recall", "measured");
    for &ef in &efs {
        let (mut r, mut m) = (0.0, 0u64);
        for qi in 0..nq {
            let q = &queries[qi * d..(qi + 1) * d];
            if let Some((g, c)) = &whole_coded {
                let mut s = StreamingSearch::<_, CosineF32>::with_codes(g, c.clone(), q, ef);
                let got: Vec<u32> = s.by_ref().take(10).map(|h| g.payload(h.id) as u32).collect();
                r += recall(&got, qi);
                m += s.nodes_measured();
                continue;
            }
            let mut s = StreamingSearch::<_, CosineF32>::new(&whole, q, ef);
            let got: Vec<u32> = s.by_ref().take(10).map(|h| h.id).collect();
            r += recall(&got, qi);
            m += s.nodes_measured();
        }
        println!("{ef:>4} {:>22} {:>8.4} {:>9.0}", "one segment", r / nq as f64, m as f64 / nq as f64);
        for &share in &shares {
            let (mut r, mut m) = (0.0, 0u64);
            for qi in 0..nq {
                let q = &queries[qi * d..(qi + 1) * d];
                if coded {
                    let graphs: Vec<_> = parts_coded.iter().map(|(g, _)| g).collect();
                    let codes = parts_coded.iter().map(|(_, c)| Some(c.clone())).collect();
                    let mut s = SegmentedSearch::<_, CosineF32>::with_codes_and_share(graphs, codes, q, ef, share);
                    let got: Vec<u32> =
                        s.by_ref().take(10).map(|h| (parts[h.graph].0 as u64 + parts_coded[h.graph].0.payload(h.id)) as u32).collect();
                    r += recall(&got, qi);
                    m += s.nodes_measured();
                    continue;
                }
                let graphs: Vec<&Hnsw<CosineF32>> = parts.iter().map(|(_, g)| g).collect();
                let mut s = SegmentedSearch::<_, CosineF32>::with_local_share(graphs, q, ef, share);
                let got: Vec<u32> = s.by_ref().take(10).map(|h| (parts[h.graph].0 + h.id as usize) as u32).collect();
                r += recall(&got, qi);
                m += s.nodes_measured();
            }
            println!("{ef:>4} {:>22} {:>8.4} {:>9.0}", format!("shared, local {share}%"), r / nq as f64, m as f64 / nq as f64);
        }
    }
}
