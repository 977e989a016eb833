//! Deterministic test data and brute-force ground truth.
#![allow(dead_code)]

use half::f16;
use strata_hnsw::{GraphView, Neighbour, Space};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn gauss(&mut self) -> f32 {
        let (u, v) = (self.uniform(), self.uniform());
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    }
}

/// `n` points in `dim` dimensions around `clusters` Gaussian centres.
pub fn clustered_f32(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    clustered_f32_spread(n, dim, clusters, 2.0, seed)
}

/// As [`clustered_f32`], centres spread `spread` times the noise.
pub fn clustered_f32_spread(
    n: usize,
    dim: usize,
    clusters: usize,
    spread: f32,
    seed: u64,
) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| r.gauss() * spread).collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = (r.next_u64() % clusters as u64) as usize;
        for j in 0..dim {
            out.push(centres[c * dim + j] + r.gauss());
        }
    }
    out
}

pub fn to_f16(v: &[f32]) -> Vec<f16> {
    v.iter().map(|&x| f16::from_f32(x)).collect()
}

/// `n` bit vectors of `words` u64 words: cluster prototypes with each bit
/// flipped with probability `p`.
pub fn clustered_bits(n: usize, words: usize, clusters: usize, p: f64, seed: u64) -> Vec<u64> {
    let mut r = Rng::new(seed);
    let protos: Vec<u64> = (0..clusters * words).map(|_| r.next_u64()).collect();
    let mut out = Vec::with_capacity(n * words);
    for _ in 0..n {
        let c = (r.next_u64() % clusters as u64) as usize;
        for j in 0..words {
            let mut w = protos[c * words + j];
            for b in 0..64 {
                if r.uniform() < p {
                    w ^= 1 << b;
                }
            }
            out.push(w);
        }
    }
    out
}

/// Exact top-k over the live nodes of `g` (distances as the engine computes
/// them, over the stored vectors and the prepared query).
pub fn brute_force<G: GraphView, S: Space<Elem = G::Elem>>(
    g: &G,
    query: &[G::Elem],
    k: usize,
) -> Vec<Neighbour> {
    let mut q = query.to_vec();
    S::prepare(&mut q);
    let mut all: Vec<Neighbour> = (0..g.len())
        .filter_map(|id| {
            g.with_node(id, |v, del| {
                (!del).then(|| Neighbour {
                    id,
                    distance: S::distance(&q, v),
                })
            })
        })
        .collect();
    all.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
    all.truncate(k);
    all
}

/// Tie-aware recall: a result counts when its distance is within the exact
/// k-th distance (bit vectors have many equal distances).
pub fn recall_one(exact: &[Neighbour], got: &[Neighbour], k: usize) -> f64 {
    if exact.is_empty() {
        return 1.0;
    }
    let kth = exact[exact.len().min(k) - 1].distance;
    let tol = 1e-5 * kth.abs().max(1.0);
    let hits = got
        .iter()
        .take(k)
        .filter(|n| n.distance <= kth + tol)
        .count();
    hits as f64 / exact.len().min(k) as f64
}
