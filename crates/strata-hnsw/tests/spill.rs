//! A build or a merge whose vectors, payloads and adjacency lists live in
//! temporary files (a spill, see `strata_hnsw::slab`) makes the same graph
//! as one in memory, and fails cleanly when its files would pass their
//! limit.

mod common;

use std::io::Write;

use common::clustered_f32;
use strata_hnsw::merge::{merge_interruptible, merge_spilled_interruptible};
use strata_hnsw::page::{to_pages, PagedGraph};
use strata_hnsw::{BuildError, CosineF32, GraphView, Hnsw, Params, Slab, Spill};

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

fn page_bytes(g: &Hnsw<CosineF32>) -> Vec<Vec<u8>> {
    to_pages(g).iter().map(|p| p.bytes().to_vec()).collect()
}

/// An old graph of 2500 nodes with every 7th (and its entry point) deleted,
/// 900 new vectors and their payloads.
fn merge_input() -> (Params, usize, Hnsw<CosineF32>, Vec<f32>, Vec<u64>) {
    let (n, extra, dim) = (2500, 900, 24);
    let data = clustered_f32(n + extra, dim, 12, 43);
    let params = Params { m: 8, ef_construction: 48, threads: 1, ..Params::default() };
    let payloads: Vec<u64> = (0..n as u64).map(|i| i * 5 + 1).collect();
    let old = Hnsw::<CosineF32>::build(&params, dim, &data[..n * dim], Some(&payloads));
    for id in (0..n as u32).step_by(7) {
        old.mark_deleted(id);
    }
    if let Some((e, _)) = old.entry_point() {
        old.mark_deleted(e);
    }
    let new_payloads: Vec<u64> = (0..extra as u64).map(|i| 1_000_000 + i).collect();
    (params, dim, old, data[n * dim..].to_vec(), new_payloads)
}

#[test]
fn a_spilled_merge_writes_the_same_pages_as_one_in_memory() {
    let (params, dim, old, new_vectors, new_payloads) = merge_input();
    let in_memory = merge_interruptible::<_, CosineF32>(&old, &params, &new_vectors, Some(&new_payloads), &mut || false).unwrap();
    let spill = Spill::new(spill_dir("merge"), "t", None);
    // New vectors from files too, as the access method passes them.
    let (v, p) = spilled_input(&spill, &new_vectors, &new_payloads);
    let spilled =
        merge_spilled_interruptible::<_, CosineF32>(&old, &params, &v, Some(&p), Some(&spill), &mut || false).unwrap();
    assert_eq!(spilled.len(), 2500 - old.deleted_count() + 900);
    assert!(page_bytes(&spilled) == page_bytes(&in_memory), "same pages byte for byte");
    // Input, merged vectors and payloads (sized for every old node) and both link arrays.
    let merged_arrays = (2500 + 900) * (dim * 4 + 8) + spilled.len() * (2 * 8 + 1) * 4;
    assert!(spill.used() >= merged_arrays as u64, "{} bytes spilled", spill.used());
    assert_eq!(std::fs::read_dir(spill_dir("merge")).unwrap().count(), 0);
    // Without a spill, the same as the function it extends; from pages too,
    // and with default payloads.
    let no_spill = merge_spilled_interruptible::<_, CosineF32>(&old, &params, &new_vectors, Some(&new_payloads), None, &mut || false).unwrap();
    assert!(page_bytes(&no_spill) == page_bytes(&in_memory));
    let pages = to_pages(&old);
    let paged = PagedGraph::<_, CosineF32>::open(&pages[..]).unwrap();
    let spill = Spill::new(spill_dir("merge-paged"), "t", None);
    let a = merge_interruptible::<_, CosineF32>(&paged, &params, &new_vectors, None, &mut || false).unwrap();
    let b = merge_spilled_interruptible::<_, CosineF32>(&paged, &params, &new_vectors, None, Some(&spill), &mut || false).unwrap();
    assert!(page_bytes(&a) == page_bytes(&b), "same pages from a paged old graph");
}

#[test]
fn a_merge_spill_over_its_limit_is_an_error_and_cancels_cleanly() {
    let (params, dim, old, new_vectors, new_payloads) = merge_input();
    // Room for the merged vectors and payloads but not the layer-0 lists.
    let arrays = ((2500 + 900) * (dim * 4 + 8)) as u64;
    let spill = Spill::new(spill_dir("merge-limit"), "t", Some(arrays + 10_000));
    let r = merge_spilled_interruptible::<_, CosineF32>(&old, &params, &new_vectors, Some(&new_payloads), Some(&spill), &mut || false);
    match r {
        Err(BuildError::Spill(e)) => assert_eq!(e.kind(), std::io::ErrorKind::QuotaExceeded),
        Err(other) => panic!("expected a spill error, got {other:?}"),
        Ok(_) => panic!("a merge past its file limit must fail"),
    }
    assert_eq!(std::fs::read_dir(spill_dir("merge-limit")).unwrap().count(), 0, "nothing left behind");
    let spill = Spill::new(spill_dir("merge-cancel"), "t", None);
    let r = merge_spilled_interruptible::<_, CosineF32>(&old, &params, &new_vectors, None, Some(&spill), &mut || true);
    assert!(matches!(r, Err(BuildError::Cancelled)));
}
