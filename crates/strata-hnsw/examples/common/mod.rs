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
