//! Portable kernels: no intrinsics, but written with independent lane
//! accumulators so that the compiler can keep them in vector registers of
//! the base target (SSE2 on x86_64, NEON on aarch64) without reassociating
//! floating-point sums itself (which it may not do).

use half::f16;

/// An element that widens to `f32` exactly.
pub trait Widen: Copy {
    fn widen(self) -> f32;
}

impl Widen for f32 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
}

impl Widen for f16 {
    /// Exact conversion without branches or tables, so that it vectorises
    /// (`half`'s `to_f32` does not: without a compile-time F16C or FP16
    /// target feature it checks the CPU at run time and converts one value
    /// per out-of-line call). Placing the 15 exponent-and-
    /// mantissa bits at the top of an f32's exponent and mantissa fields
    /// gives the right significand with the exponent 112 too small, for
    /// subnormal halves too (they become f32 subnormals), so one exact
    /// multiplication by 2^112 fixes every finite value; infinities and NaNs
    /// (all exponent bits set) get the f32 all-ones exponent instead.
    #[inline(always)]
    fn widen(self) -> f32 {
        let h = self.to_bits() as u32;
        let magnitude = (h & 0x7fff) << 13;
        let finite = f32::from_bits(magnitude) * f32::from_bits((127 + 112) << 23);
        let special = f32::from_bits(magnitude | 0x7f80_0000);
        let abs = if magnitude >= 0x7c00 << 13 {
            special
        } else {
            finite
        };
        f32::from_bits(abs.to_bits() | ((h & 0x8000) << 16))
    }
}

/// Lane accumulators per sum: four 128-bit vectors' worth.
const LANES: usize = 16;

/// Adds the lanes pairwise (a balanced tree, which keeps rounding small).
#[inline(always)]
fn sum_lanes<const L: usize>(mut v: [f32; L]) -> f32 {
    let mut w = L;
    while w > 1 {
        w /= 2;
        for j in 0..w {
            v[j] += v[j + w];
        }
    }
    v[0]
}

/// Runs `step(acc, x, y)` over blocks of `L` widened elements of the common
/// prefix of `a` and `b`, the last block zero-padded; lane `j` of the
/// accumulators sees elements `j, j + L, ...`.
#[inline(always)]
fn fold<T: Widen, const K: usize, const L: usize>(
    a: &[T],
    b: &[T],
    step: impl Fn(&mut [[f32; L]; K], &[f32; L], &[f32; L]),
) -> [[f32; L]; K] {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [[0.0f32; L]; K];
    let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        let x: [f32; L] = core::array::from_fn(|j| x[j].widen());
        let y: [f32; L] = core::array::from_fn(|j| y[j].widen());
        step(&mut acc, &x, &y);
    }
    if !ra.is_empty() {
        let (mut x, mut y) = ([0.0f32; L], [0.0f32; L]);
        for j in 0..ra.len() {
            x[j] = ra[j].widen();
            y[j] = rb[j].widen();
        }
        step(&mut acc, &x, &y);
    }
    acc
}

pub fn l2<T: Widen>(a: &[T], b: &[T]) -> f32 {
    let [acc] = fold::<T, 1, LANES>(a, b, |s, x, y| {
        for j in 0..LANES {
            let d = x[j] - y[j];
            s[0][j] += d * d;
        }
    });
    sum_lanes(acc)
}

#[inline(never)]
pub fn dot<T: Widen>(a: &[T], b: &[T]) -> f32 {
    let [acc] = fold::<T, 1, LANES>(a, b, |s, x, y| {
        for j in 0..LANES {
            s[0][j] += x[j] * y[j];
        }
    });
    sum_lanes(acc)
}

/// `a·a`. Kept out of line, like [`dot`], so that [`dot_and_norms`] runs
/// three separately vectorised loops.
#[inline(never)]
fn norm_sq<T: Widen>(a: &[T]) -> f32 {
    let [acc] = fold::<T, 1, LANES>(a, a, |s, x, _| {
        for j in 0..LANES {
            s[0][j] += x[j] * x[j];
        }
    });
    sum_lanes(acc)
}

/// Three passes ([`dot`], then [`norm_sq`] twice). A fused single pass, as
/// in the SIMD kernels, is what one would write, but every fused
/// formulation tried was vectorised badly by LLVM's SLP vectoriser for the
/// SSE2 baseline (it packs `x*y`, `x*x` and `y*y` of one lane together
/// instead of lanes, then shuffles) and ran at or below the scalar
/// reference's speed, while three passes over data that stays in L1 run at
/// two to three times the reference.
pub fn dot_and_norms<T: Widen>(a: &[T], b: &[T]) -> (f32, f32, f32) {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    (dot(a, b), norm_sq(a), norm_sq(b))
}

/// Sums `count_ones` of the `K` words `op(x, y)` over the word pairs of the
/// common prefix. A plain loop with 32-bit counters: the compiler
/// vectorises it well for the base target (bit-slicing popcount on SSE2,
/// `cnt` on NEON), better than explicit unrolling does.
#[inline(always)]
fn count_words<const K: usize>(
    a: &[u64],
    b: &[u64],
    op: impl Fn(u64, u64) -> [u64; K],
) -> [u32; K] {
    let mut out = [0u32; K];
    for (x, y) in a.iter().zip(b) {
        let w = op(*x, *y);
        for k in 0..K {
            out[k] += w[k].count_ones();
        }
    }
    out
}

pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    count_words(a, b, |x, y| [x ^ y])[0]
}

pub fn dot_bits(a: &[u64], b: &[u64]) -> u32 {
    count_words(a, b, |x, y| [x & y])[0]
}

pub fn popcount(a: &[u64]) -> u32 {
    count_words(a, a, |x, _| [x])[0]
}

pub fn dot_and_popcounts(a: &[u64], b: &[u64]) -> (u32, u32, u32) {
    let [ab, aa, bb] = count_words(a, b, |x, y| [x & y, x, y]);
    (ab, aa, bb)
}

pub fn intersection_and_union(a: &[u64], b: &[u64]) -> (u32, u32) {
    let [i, u] = count_words(a, b, |x, y| [x & y, x | y]);
    (i, u)
}
