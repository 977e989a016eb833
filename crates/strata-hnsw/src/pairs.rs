//! Half-width copies of the vectors, for the distances a construction
//! measures between its own nodes.
//!
//! An insertion searches on codes, then measures its `ef_construction`
//! results exactly, and its neighbour selection compares those results with
//! each other (the heuristic) and with the lists they join. At 384 `f32`
//! dimensions those distances read 1.5 kB per node. A construction of
//! `f32` vectors under cosine or inner product that searches on RaBitQ4
//! codes (more than 128 dimensions, see `quant::build_code_kind`) takes
//! these distances from `bf16` copies instead: half the bytes, and on CPUs
//! with AVX-512 BF16 half the instructions (32 products per `vdpbf16ps`,
//! summed in `f32`). MiniLM, 45,449 rows of 384-d (`glove_bench
//! target/bench-data/minilm --efc 64 --limit 45449 --build-codes rabitq4`,
//! six runs each, alternating): two threads 1.64-1.67 s (median 1.65) with
//! `f32` distances, 1.54-1.73 s (median 1.58) with the copies; one thread
//! medians 3.28 and 3.03 s. Recall at ef_search 20 of the graphs: 0.9293
//! and 0.9272.
//!
//! `bf16` keeps 8 bits of each value's mantissa, so a distance between unit
//! vectors is off by about 2e-4: neighbour selection among rows closer than
//! that is arbitrary (exact copies still compare equal, the heuristic's
//! copy rule checks the vectors themselves). Only the construction uses
//! them: the descent, the reachability repair after the build, and every
//! query measure exact distances, so no result depends on them. Squared
//! Euclidean distance would subtract rounded values, whose error does not
//! shrink with the distance; L2 builds keep exact distances.

use crate::quant::CodeKind;
use crate::slab::{Slab, Spill};
use crate::space::{ElementKind, Metric};

/// Whether a construction of `elem` vectors under `metric` that searches on
/// `build_code` measures its pair distances on `bf16` copies.
pub fn applies(elem: ElementKind, metric: Metric, build_code: Option<CodeKind>) -> bool {
    elem == ElementKind::F32 && matches!(metric, Metric::Cosine | Metric::Dot) && build_code == Some(CodeKind::RaBitQ4)
}

/// Bytes per vector the copies take while a construction runs (0 where
/// they do not apply).
pub fn bytes_per_vector(elem: ElementKind, metric: Metric, build_code: Option<CodeKind>, vector_len: usize) -> usize {
    if applies(elem, metric, build_code) {
        2 * vector_len
    } else {
        0
    }
}

/// The `bf16` copy of every node's vector (as coded: unit length under
/// cosine), and the distance between two of them.
pub(crate) struct PairVectors {
    data: Slab<u16>,
    dim: usize,
    metric: Metric,
    avx512: bool,
    avx2: bool,
}

impl PairVectors {
    /// Room for `n` copies of `dim` values (filled by [`PairVectors::rows_mut`]).
    pub(crate) fn zeroed(n: usize, dim: usize, metric: Metric, spill: Option<&Spill>) -> std::io::Result<Self> {
        #[cfg(target_arch = "x86_64")]
        let (avx512, avx2) = (
            is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16"),
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
        );
        #[cfg(not(target_arch = "x86_64"))]
        let (avx512, avx2) = (false, false);
        Ok(PairVectors { data: Slab::zeroed(n * dim, spill)?, dim, metric, avx512, avx2 })
    }

    /// The copies as one array (`dim` values per node, in node order).
    pub(crate) fn rows_mut(&mut self) -> &mut [u16] {
        &mut self.data
    }

    /// Writes the `bf16` copy of `row` (rounded to nearest even) into `out`.
    pub(crate) fn encode(row: &[f32], out: &mut [u16]) {
        for (o, &x) in out.iter_mut().zip(row) {
            *o = half::bf16::from_f32(x).to_bits();
        }
    }

    #[inline(always)]
    fn row(&self, id: u32) -> &[u16] {
        let i = id as usize * self.dim;
        &self.data[i..i + self.dim]
    }

    /// The space's distance between nodes `a` and `b` (cosine: `1 - dot`
    /// of the unit copies; inner product: `-dot`).
    #[inline(always)]
    pub(crate) fn distance(&self, a: u32, b: u32) -> f32 {
        let dot = self.dot(self.row(a), self.row(b));
        match self.metric {
            Metric::Cosine => 1.0 - dot,
            _ => -dot,
        }
    }

    /// Asks the CPU for node `id`'s copy.
    #[inline(always)]
    pub(crate) fn prefetch(&self, id: u32) {
        let i = id as usize * self.dim;
        if let Some(r) = self.data.get(i..i + self.dim) {
            crate::search::prefetch_bytes(r.as_ptr() as *const u8, 2 * self.dim);
        }
    }

    #[inline(always)]
    fn dot(&self, a: &[u16], b: &[u16]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            if self.avx512 {
                // SAFETY: set only when the CPU has AVX-512F and BF16.
                return unsafe { x86::dot_avx512bf16(a, b) };
            }
            if self.avx2 {
                // SAFETY: set only when the CPU has AVX2 and FMA.
                return unsafe { x86::dot_avx2(a, b) };
            }
        }
        dot_portable(a, b)
    }
}

#[inline(always)]
fn widen(x: u16) -> f32 {
    f32::from_bits((x as u32) << 16)
}

/// `Σ a_i b_i` over the shorter slice, in `f32`.
fn dot_portable(a: &[u16], b: &[u16]) -> f32 {
    a.iter().zip(b).map(|(&x, &y)| widen(x) * widen(y)).sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::widen;
    use std::arch::x86_64::*;

    /// 32 products per instruction, summed in `f32` (`vdpbf16ps`), in two
    /// independent sums; the tail (under 32 values) one at a time.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) fn dot_avx512bf16(a: &[u16], b: &[u16]) -> f32 {
        let n = a.len().min(b.len());
        let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        // SAFETY: every load reads 32 values at `i..i + 32` with
        // `i + 32 <= n`, inside both slices.
        macro_rules! load {
            ($p:expr) => {
                std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512($p as *const _))
            };
        }
        unsafe {
            while i + 64 <= n {
                s0 = _mm512_dpbf16_ps(s0, load!(a.as_ptr().add(i)), load!(b.as_ptr().add(i)));
                s1 = _mm512_dpbf16_ps(s1, load!(a.as_ptr().add(i + 32)), load!(b.as_ptr().add(i + 32)));
                i += 64;
            }
            if i + 32 <= n {
                s0 = _mm512_dpbf16_ps(s0, load!(a.as_ptr().add(i)), load!(b.as_ptr().add(i)));
                i += 32;
            }
        }
        let mut s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
        while i < n {
            s += widen(a[i]) * widen(b[i]);
            i += 1;
        }
        s
    }

    /// 8 values per step, widened to `f32` by a shift (a `bf16` is the top
    /// half of an `f32`).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_avx2(a: &[u16], b: &[u16]) -> f32 {
        let n = a.len().min(b.len());
        let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        // SAFETY: every load reads 8 values at `i..i + 8` with `i + 8 <= n`.
        macro_rules! load {
            ($p:expr) => {
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(_mm_loadu_si128($p as *const _))))
            };
        }
        unsafe {
            while i + 16 <= n {
                s0 = _mm256_fmadd_ps(load!(a.as_ptr().add(i)), load!(b.as_ptr().add(i)), s0);
                s1 = _mm256_fmadd_ps(load!(a.as_ptr().add(i + 8)), load!(b.as_ptr().add(i + 8)), s1);
                i += 16;
            }
            if i + 8 <= n {
                s0 = _mm256_fmadd_ps(load!(a.as_ptr().add(i)), load!(b.as_ptr().add(i)), s0);
                i += 8;
            }
        }
        let v = _mm256_add_ps(s0, s1);
        let h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        let h = _mm_add_ss(h, _mm_shuffle_ps::<1>(h, h));
        let mut s = _mm_cvtss_f32(h);
        while i < n {
            s += widen(a[i]) * widen(b[i]);
            i += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n * dim)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    fn filled(data: &[f32], dim: usize, metric: Metric) -> PairVectors {
        let n = data.len() / dim;
        let mut p = PairVectors::zeroed(n, dim, metric, None).unwrap();
        for (row, out) in data.chunks_exact(dim).zip(p.rows_mut().chunks_exact_mut(dim)) {
            PairVectors::encode(row, out);
        }
        p
    }

    /// Every kernel this CPU runs against the `f64` sum of the rounded
    /// values, at lengths around each loop's step (tails included).
    #[test]
    fn kernels_agree_with_the_rounded_values() {
        for dim in [1, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 96, 129, 384, 385] {
            let data = rows(4, dim, dim as u64);
            let mut p = filled(&data, dim, Metric::Dot);
            let flags = [(p.avx512, p.avx2), (false, p.avx2), (false, false)];
            for (avx512, avx2) in flags {
                (p.avx512, p.avx2) = (avx512, avx2);
                for (a, b) in [(0u32, 1u32), (2, 3), (1, 1)] {
                    let want: f64 = p.row(a).iter().zip(p.row(b)).map(|(&x, &y)| widen(x) as f64 * widen(y) as f64).sum();
                    let got = -p.distance(a, b) as f64;
                    let scale: f64 = p.row(a).iter().zip(p.row(b)).map(|(&x, &y)| (widen(x) * widen(y)).abs() as f64).sum();
                    assert!((got - want).abs() <= 1e-5 * scale.max(1.0), "dim {dim} avx512 {avx512} avx2 {avx2}: {got} vs {want}");
                }
            }
        }
    }

    /// Cosine distances of unit vectors within bf16's rounding of the exact
    /// ones, a row's distance to itself the same for its copy, and the
    /// ranking of clearly separated distances kept.
    #[test]
    fn distances_follow_the_exact_ones() {
        let dim = 384;
        let mut data = rows(40, dim, 7);
        for r in data.chunks_exact_mut(dim) {
            let n = r.iter().map(|x| x * x).sum::<f32>().sqrt();
            r.iter_mut().for_each(|x| *x /= n);
        }
        let copy: Vec<f32> = data[..dim].to_vec();
        data.extend_from_slice(&copy);
        let p = filled(&data, dim, Metric::Cosine);
        let exact = |a: usize, b: usize| 1.0 - data[a * dim..][..dim].iter().zip(&data[b * dim..][..dim]).map(|(x, y)| x * y).sum::<f32>();
        for a in 0..41 {
            for b in 0..41 {
                let d = p.distance(a as u32, b as u32);
                assert!((d - exact(a, b)).abs() < 2e-3, "{a},{b}: {d} vs {}", exact(a, b));
            }
        }
        assert_eq!(p.distance(0, 40), p.distance(0, 0));
        assert_eq!(p.distance(40, 40), p.distance(0, 0));
    }

    #[test]
    fn only_float_cosine_and_dot_builds_on_rabitq4() {
        use ElementKind::*;
        assert!(applies(F32, Metric::Cosine, Some(CodeKind::RaBitQ4)));
        assert!(applies(F32, Metric::Dot, Some(CodeKind::RaBitQ4)));
        assert!(!applies(F32, Metric::L2, Some(CodeKind::RaBitQ4)));
        assert!(!applies(F32, Metric::Cosine, Some(CodeKind::Sq8)));
        assert!(!applies(F16, Metric::Cosine, Some(CodeKind::RaBitQ4)));
        assert!(!applies(F32, Metric::Cosine, None));
        assert_eq!(bytes_per_vector(F32, Metric::Cosine, Some(CodeKind::RaBitQ4), 384), 768);
        assert_eq!(bytes_per_vector(F32, Metric::L2, Some(CodeKind::RaBitQ4), 384), 0);
    }
}
