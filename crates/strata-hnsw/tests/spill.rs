//! A build whose vectors, payloads and adjacency lists live in temporary
//! files (a spill, see `strata_hnsw::slab`) makes the same graph as one in
//! memory, and fails cleanly when its files would pass their limit.

mod common;

use std::io::Write;

use common::clustered_f32;
use strata_hnsw::page::to_pages;
use strata_hnsw::{BuildError, CosineF32, Hnsw, Params, Slab, Spill};

fn spill_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("strata-spill-test-{name}-{}", std::process::id()))
}

/// Writes `vectors` and `payloads` to files of `spill`, as the access
/// method does while it scans a table, and maps them back.
fn spilled_input(spill: &Spill, vectors: &[f32], payloads: &[u64]) -> (Slab<f32>, Slab<u64>) {
    let mut vf = spill.file(0).unwrap();
    let mut pf = spill.file(0).unwrap();
    for x in vectors {
        vf.write_all(&x.to_ne_bytes()).unwrap();
    }
    for p in payloads {
        pf.write_all(&p.to_ne_bytes()).unwrap();
    }
    (Slab::map(&vf, vectors.len()).unwrap(), Slab::map(&pf, payloads.len()).unwrap())
}

#[test]
fn a_spilled_build_writes_the_same_pages_as_one_in_memory() {
    let (n, dim) = (3000, 24);
    let data = clustered_f32(n, dim, 12, 41);
    let payloads: Vec<u64> = (0..n as u64).map(|i| i * 3 + 7).collect();
    // One thread: the graph is then a pure function of its input.
    let params = Params { m: 8, ef_construction: 48, threads: 1, ..Params::default() };
    let in_memory = Hnsw::<CosineF32>::build(&params, dim, &data, Some(&payloads));
    let spill = Spill::new(spill_dir("same"), "t", None);
    let (v, p) = spilled_input(&spill, &data, &payloads);
    let spilled = Hnsw::<CosineF32>::build_slabs(&params, dim, v, p, Some(&spill), &mut || false).unwrap();
    let bytes = |g: &Hnsw<CosineF32>| to_pages(g).iter().map(|p| p.bytes().to_vec()).collect::<Vec<_>>();
    assert!(bytes(&spilled) == bytes(&in_memory), "same pages byte for byte");
    // Vectors, payloads and both link arrays went to files, unlinked at once.
    assert!(spill.used() > (n * (2 * 8 + 1) * 4) as u64);
    assert_eq!(std::fs::read_dir(spill_dir("same")).unwrap().count(), 0);
}

#[test]
fn a_spill_over_its_limit_is_an_error_not_a_partial_graph() {
    let (n, dim) = (2000, 16);
    let data = clustered_f32(n, dim, 4, 5);
    let payloads: Vec<u64> = (0..n as u64).collect();
    // Room for the input but not for the layer-0 lists (2000 x 33 words).
    let spill = Spill::new(spill_dir("limit"), "t", Some((n * dim * 4 + n * 8 + 10_000) as u64));
    let (v, p) = spilled_input(&spill, &data, &payloads);
    spill.charge((n * dim * 4 + n * 8) as u64);
    let r = Hnsw::<CosineF32>::build_slabs(&Params::default(), dim, v, p, Some(&spill), &mut || false);
    match r {
        Err(BuildError::Spill(e)) => assert_eq!(e.kind(), std::io::ErrorKind::QuotaExceeded),
        Err(other) => panic!("expected a spill error, got {other:?}"),
        Ok(_) => panic!("a build past its file limit must fail"),
    }
}
