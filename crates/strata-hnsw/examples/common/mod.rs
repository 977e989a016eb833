//! What the examples share: the benchmark files' format and small helpers.
#![allow(dead_code)]

use strata_hnsw::page::{PageBuf, PAGE_PAYLOAD};

/// Reads `u32 n, u32 dim` then `n * dim` 4-byte values (little-endian).
pub fn read_matrix<T: Copy>(path: &str, conv: fn([u8; 4]) -> T) -> (usize, usize, Vec<T>) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let n = u32::from_le_bytes(b[0..4].try_into().unwrap()) as usize;
    let d = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
    let v = b[8..].chunks_exact(4).map(|c| conv(c.try_into().unwrap())).collect::<Vec<_>>();
    assert_eq!(v.len(), n * d, "{path}: size mismatch");
    (n, d, v)
}

/// A comma-separated list of values.
pub fn list<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',').map(|x| x.trim().parse().ok().expect("bad list item")).collect()
}

/// Splits serialised page payloads into page buffers.
pub fn pages_of(bytes: &[u8]) -> Vec<PageBuf> {
    bytes
        .chunks_exact(PAGE_PAYLOAD)
        .map(|c| {
            let mut p = PageBuf::default();
            p.bytes_mut().copy_from_slice(c);
            p
        })
        .collect()
}

/// How many of `got` are in `truth`.
pub fn hits(truth: &[u32], got: impl Iterator<Item = u64>) -> usize {
    got.filter(|&g| truth.contains(&(g as u32))).count()
}

/// A cosine graph over `base`: rebuilt from the version-1 pages saved in
/// `cache` when that file exists (a merge without changes, much faster than
/// a build), else built and, with a `cache` path, saved there.
pub fn cosine_graph_cached(cache: Option<&str>, params: &strata_hnsw::Params, dim: usize, base: &[f32]) -> strata_hnsw::Hnsw<strata_hnsw::CosineF32> {
    use strata_hnsw::page::{write_pages, PagedGraph};
    use strata_hnsw::{merge, CosineF32, Hnsw};
    if let Some(bytes) = cache.and_then(|c| std::fs::read(c).ok()) {
        let pages = pages_of(&bytes);
        let paged = PagedGraph::<_, CosineF32>::open(&pages[..]).expect("not a graph file");
        return merge::<_, CosineF32>(&paged, params, &[], None);
    }
    let t = std::time::Instant::now();
    let g = Hnsw::<CosineF32>::build(params, dim, base, None);
    eprintln!("built {} x {dim} in {:.1}s", base.len() / dim.max(1), t.elapsed().as_secs_f64());
    if let Some(c) = cache {
        let mut out = Vec::new();
        write_pages(&g, |_, p| out.extend_from_slice(p));
        std::fs::write(c, out).unwrap();
    }
    g
}
