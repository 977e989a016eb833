//! Distance kernels. Each metric has a plain scalar reference implementation
//! (`*_reference`); the public functions (`l2_f32`, `hamming`, ...) are what
//! callers use. They dispatch to SIMD kernels chosen once, at first use, from
//! the CPU's features (see [`kernels`]); every SIMD kernel is checked against
//! the references in tests (`distance/tests.rs`).
//!
//! Conventions shared with the SQL operators:
//! - `l2` is the *squared* Euclidean distance (`<->`).
//! - `dot` is the plain inner product; the SQL operator `<#>` negates it.
//! - `cosine` is `1 - cos(a, b)`; when either vector has zero norm the
//!   result is defined as `1.0` (no direction, so no similarity) instead of NaN.
//! - Bit vectors are packed little-endian in `u64` words; bits past `dims` in
//!   the last word are always zero, so kernels may count whole words.
//!
//! Both operands must have the same length (checked by `debug_assert!` in the
//! references). The SIMD kernels never read past either slice: given slices
//! of different lengths they use the shorter length.
//!
//! Floating-point results of the SIMD kernels differ from the references only
//! by summation order (several lane accumulators instead of one running sum,
//! and fused multiply-add), so they agree to within the usual rounding-error
//! bound of a length-`n` sum; integer (bit) results are identical.
//!
//! Kernel sets:
//! - `reference`: the scalar functions in this file.
//! - `portable`: chunked code with independent lane accumulators that the
//!   compiler vectorises for the baseline target (SSE2 on x86_64, NEON on
//!   aarch64); used on CPUs without the features below.
//! - x86_64: `avx2+fma` and `avx512f` for f32, `f16c+avx2+fma` and
//!   `avx512f` (its half-precision conversion) for f16, `popcnt`, `avx2`
//!   (nibble-table popcount) and `avx512vpopcntdq` for bits.

use half::f16;

pub fn l2_f32_reference(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut sum = 0.0f32;
    for i in 0..a.len() {
        let d = a[i] - b[i];
        sum += d * d;
    }
    sum
}

pub fn dot_f32_reference(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut sum = 0.0f32;
    for i in 0..a.len() {
        sum += a[i] * b[i];
    }
    sum
}

pub fn cosine_f32_reference(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..a.len() {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    cosine_from_parts(ab, aa, bb)
}

/// `1 - ab / sqrt(aa * bb)`, clamped to `[0, 2]` against rounding, and `1.0`
/// when either norm is zero.
pub fn cosine_from_parts(ab: f32, aa: f32, bb: f32) -> f32 {
    cosine_from_parts_f64(ab as f64, aa as f64, bb as f64)
}

/// [`cosine_from_parts`] for parts summed in `f64`.
pub fn cosine_from_parts_f64(ab: f64, aa: f64, bb: f64) -> f32 {
    if aa == 0.0 || bb == 0.0 {
        return 1.0;
    }
    let c = ab / (aa * bb).sqrt();
    (1.0 - c).clamp(0.0, 2.0) as f32
}

/// The inner product summed in `f64`. For finite `f32` inputs it is never NaN:
/// a product is at most about `1.2e77` and a sum of 65535 of them far below
/// `f64::MAX`. The result may still round to an infinite `f32`.
pub fn dot_f64<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x.into() * y.into()).sum()
}

/// `(a·b, a·a, b·b)` summed in `f64`.
pub fn dot_and_norms_f64<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> (f64, f64, f64) {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y): (f64, f64) = (x.into(), y.into());
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (ab, aa, bb)
}

pub fn l2_f16_reference(a: &[f16], b: &[f16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut sum = 0.0f32;
    for i in 0..a.len() {
        let d = a[i].to_f32() - b[i].to_f32();
        sum += d * d;
    }
    sum
}

pub fn dot_f16_reference(a: &[f16], b: &[f16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut sum = 0.0f32;
    for i in 0..a.len() {
        sum += a[i].to_f32() * b[i].to_f32();
    }
    sum
}

pub fn cosine_f16_reference(a: &[f16], b: &[f16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..a.len() {
        let (x, y) = (a[i].to_f32(), b[i].to_f32());
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    cosine_from_parts(ab, aa, bb)
}

/// Number of differing bits (`<->` on bvector: equal to squared L2 on 0/1).
pub fn hamming_reference(a: &[u64], b: &[u64]) -> u32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Number of bits set in both (the inner product of 0/1 vectors).
pub fn dot_bits_reference(a: &[u64], b: &[u64]) -> u32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

pub fn popcount_reference(a: &[u64]) -> u32 {
    a.iter().map(|x| x.count_ones()).sum()
}

pub fn cosine_bits_reference(a: &[u64], b: &[u64]) -> f32 {
    let ab = dot_bits_reference(a, b) as f32;
    cosine_from_parts(
        ab,
        popcount_reference(a) as f32,
        popcount_reference(b) as f32,
    )
}

/// `1 - |a & b| / |a | b|`; two empty sets are identical, distance `0.0`.
pub fn jaccard_reference(a: &[u64], b: &[u64]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (mut inter, mut union) = (0u32, 0u32);
    for (x, y) in a.iter().zip(b) {
        inter += (x & y).count_ones();
        union += (x | y).count_ones();
    }
    if union == 0 {
        0.0
    } else {
        1.0 - inter as f32 / union as f32
    }
}

/// `(a·b, a·a, b·b)` in one pass, the parts of the cosine distance.
pub fn dot_and_norms_f32_reference(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    debug_assert_eq!(a.len(), b.len());
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..a.len() {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    (ab, aa, bb)
}

/// `(a·b, a·a, b·b)` in one pass, the parts of the cosine distance.
pub fn dot_and_norms_f16_reference(a: &[f16], b: &[f16]) -> (f32, f32, f32) {
    debug_assert_eq!(a.len(), b.len());
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..a.len() {
        let (x, y) = (a[i].to_f32(), b[i].to_f32());
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (ab, aa, bb)
}

/// `(|a & b|, |a|, |b|)`, the parts of the cosine distance of bit vectors.
pub fn dot_and_popcounts_reference(a: &[u64], b: &[u64]) -> (u32, u32, u32) {
    (
        dot_bits_reference(a, b),
        popcount_reference(a),
        popcount_reference(b),
    )
}

/// `(|a & b|, |a | b|)`, the parts of the Jaccard distance.
pub fn intersection_and_union_reference(a: &[u64], b: &[u64]) -> (u32, u32) {
    debug_assert_eq!(a.len(), b.len());
    let (mut inter, mut union) = (0u32, 0u32);
    for (x, y) in a.iter().zip(b) {
        inter += (x & y).count_ones();
        union += (x | y).count_ones();
    }
    (inter, union)
}

/// The Jaccard distance from `|a & b|` and `|a | b|`, exactly as
/// [`jaccard_reference`] computes it.
pub fn jaccard_from_parts(inter: u32, union: u32) -> f32 {
    if union == 0 {
        0.0
    } else {
        1.0 - inter as f32 / union as f32
    }
}

// ---------------------------------------------------------------------------
// Kernel tables and run-time selection.

mod portable;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

// Kernel function types. They are `unsafe fn` because the SIMD entries are
// `#[target_feature]` functions; see `FloatKernels`.

/// A float kernel: `f(a, b)`.
type FloatFn<T> = unsafe fn(&[T], &[T]) -> f32;
/// A fused float kernel: `(a·b, a·a, b·b)`.
type FloatPartsFn<T> = unsafe fn(&[T], &[T]) -> (f32, f32, f32);
/// A bit kernel over two vectors.
type BitFn = unsafe fn(&[u64], &[u64]) -> u32;
/// A fused bit kernel: `(|a & b|, |a|, |b|)`.
type BitPartsFn = unsafe fn(&[u64], &[u64]) -> (u32, u32, u32);

/// The kernels for one float element type (`f32` or `f16`), all from one
/// instruction set. Obtain them from [`kernels`] (the selected set) or
/// [`available_f32_kernels`] / [`available_f16_kernels`] (every set this CPU
/// can run); the fields are private because a table may hold functions that
/// are only sound to call on a CPU with particular features.
#[derive(Clone, Copy)]
pub struct FloatKernels<T: 'static> {
    isa: &'static str,
    // `unsafe fn` because the SIMD entries are `#[target_feature]` functions;
    // a table is only built after the CPU was checked for those features.
    l2: FloatFn<T>,
    dot: FloatFn<T>,
    dot_and_norms: FloatPartsFn<T>,
}

impl<T: Copy + Into<f64>> FloatKernels<T> {
    /// The instruction set of this table, e.g. `"avx2+fma"`.
    pub fn isa(&self) -> &'static str {
        self.isa
    }
    /// Squared Euclidean distance.
    #[inline]
    pub fn l2(&self, a: &[T], b: &[T]) -> f32 {
        // SAFETY: tables are only constructed (below and in the ISA modules)
        // after checking that the CPU supports the functions' features.
        unsafe { (self.l2)(a, b) }
    }
    /// Inner product. Never NaN for finite inputs: when the `f32` sum
    /// overflows (giving `inf` or, from `inf - inf`, NaN) it is summed again
    /// in `f64`, so the result is the true value, infinite only when that
    /// exceeds the `f32` range.
    #[inline]
    pub fn dot(&self, a: &[T], b: &[T]) -> f32 {
        // SAFETY: as in `l2`.
        let d = unsafe { (self.dot)(a, b) };
        if d.is_finite() {
            d
        } else {
            dot_f64(a, b) as f32
        }
    }
    /// `(a·b, a·a, b·b)` in one pass.
    #[inline]
    pub fn dot_and_norms(&self, a: &[T], b: &[T]) -> (f32, f32, f32) {
        // SAFETY: as in `l2`.
        unsafe { (self.dot_and_norms)(a, b) }
    }
    /// `1 - cos(a, b)`, `1.0` when a norm is zero. The cosine of vectors
    /// whose squared norms overflow `f32` (e.g. `[3e38, 3e38, 3e38]`) is
    /// computed from `f64` parts, never NaN.
    #[inline]
    pub fn cosine(&self, a: &[T], b: &[T]) -> f32 {
        let (ab, aa, bb) = self.dot_and_norms(a, b);
        if ab.is_finite() && aa.is_finite() && bb.is_finite() {
            cosine_from_parts(ab, aa, bb)
        } else {
            let (ab, aa, bb) = dot_and_norms_f64(a, b);
            cosine_from_parts_f64(ab, aa, bb)
        }
    }
}

impl<T> std::fmt::Debug for FloatKernels<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloatKernels")
            .field("isa", &self.isa)
            .finish()
    }
}

impl FloatKernels<f32> {
    /// The scalar references.
    pub fn reference() -> Self {
        FloatKernels {
            isa: "reference",
            l2: l2_f32_reference,
            dot: dot_f32_reference,
            dot_and_norms: dot_and_norms_f32_reference,
        }
    }
    /// Portable chunked code, vectorised by the compiler for the base target.
    pub fn portable() -> Self {
        FloatKernels {
            isa: "portable",
            l2: portable::l2::<f32>,
            dot: portable::dot::<f32>,
            dot_and_norms: portable::dot_and_norms::<f32>,
        }
    }
}

impl FloatKernels<f16> {
    /// The scalar references.
    pub fn reference() -> Self {
        FloatKernels {
            isa: "reference",
            l2: l2_f16_reference,
            dot: dot_f16_reference,
            dot_and_norms: dot_and_norms_f16_reference,
        }
    }
    /// Portable chunked code, vectorised by the compiler for the base target.
    pub fn portable() -> Self {
        FloatKernels {
            isa: "portable",
            l2: portable::l2::<f16>,
            dot: portable::dot::<f16>,
            dot_and_norms: portable::dot_and_norms::<f16>,
        }
    }
}

/// The kernels for packed bit vectors, all from one instruction set.
#[derive(Clone, Copy)]
pub struct BitKernels {
    isa: &'static str,
    hamming: BitFn,
    dot: BitFn,
    popcount: unsafe fn(&[u64]) -> u32,
    dot_and_popcounts: BitPartsFn,
    intersection_and_union: unsafe fn(&[u64], &[u64]) -> (u32, u32),
}

impl BitKernels {
    /// The scalar references.
    pub fn reference() -> Self {
        BitKernels {
            isa: "reference",
            hamming: hamming_reference,
            dot: dot_bits_reference,
            popcount: popcount_reference,
            dot_and_popcounts: dot_and_popcounts_reference,
            intersection_and_union: intersection_and_union_reference,
        }
    }
    /// Portable unrolled code (`count_ones` is a single instruction on
    /// aarch64 and on x86_64 builds with `popcnt` enabled).
    pub fn portable() -> Self {
        BitKernels {
            isa: "portable",
            hamming: portable::hamming,
            dot: portable::dot_bits,
            popcount: portable::popcount,
            dot_and_popcounts: portable::dot_and_popcounts,
            intersection_and_union: portable::intersection_and_union,
        }
    }
    /// The instruction set of this table, e.g. `"avx2"`.
    pub fn isa(&self) -> &'static str {
        self.isa
    }
    /// Number of differing bits.
    #[inline]
    pub fn hamming(&self, a: &[u64], b: &[u64]) -> u32 {
        // SAFETY: tables are only constructed after checking that the CPU
        // supports the functions' features.
        unsafe { (self.hamming)(a, b) }
    }
    /// Number of bits set in both.
    #[inline]
    pub fn dot(&self, a: &[u64], b: &[u64]) -> u32 {
        // SAFETY: as in `hamming`.
        unsafe { (self.dot)(a, b) }
    }
    /// Number of bits set.
    #[inline]
    pub fn popcount(&self, a: &[u64]) -> u32 {
        // SAFETY: as in `hamming`.
        unsafe { (self.popcount)(a) }
    }
    /// `(|a & b|, |a|, |b|)` in one pass.
    #[inline]
    pub fn dot_and_popcounts(&self, a: &[u64], b: &[u64]) -> (u32, u32, u32) {
        // SAFETY: as in `hamming`.
        unsafe { (self.dot_and_popcounts)(a, b) }
    }
    /// `(|a & b|, |a | b|)` in one pass.
    #[inline]
    pub fn intersection_and_union(&self, a: &[u64], b: &[u64]) -> (u32, u32) {
        // SAFETY: as in `hamming`.
        unsafe { (self.intersection_and_union)(a, b) }
    }
    /// Cosine distance of 0/1 vectors, as [`cosine_bits_reference`].
    #[inline]
    pub fn cosine(&self, a: &[u64], b: &[u64]) -> f32 {
        let (ab, aa, bb) = self.dot_and_popcounts(a, b);
        cosine_from_parts(ab as f32, aa as f32, bb as f32)
    }
    /// Jaccard distance, as [`jaccard_reference`].
    #[inline]
    pub fn jaccard(&self, a: &[u64], b: &[u64]) -> f32 {
        let (inter, union) = self.intersection_and_union(a, b);
        jaccard_from_parts(inter, union)
    }
}

impl std::fmt::Debug for BitKernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitKernels")
            .field("isa", &self.isa)
            .finish()
    }
}

/// The kernel tables behind the dispatching functions.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    pub f32: FloatKernels<f32>,
    pub f16: FloatKernels<f16>,
    pub bits: BitKernels,
}

/// Every f32 kernel set this CPU can run, least preferred first: the
/// reference, the portable code, then SIMD sets.
pub fn available_f32_kernels() -> Vec<FloatKernels<f32>> {
    #[allow(unused_mut)]
    let mut v = vec![
        FloatKernels::<f32>::reference(),
        FloatKernels::<f32>::portable(),
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend(x86::f32_kernels());
    v
}

/// Every f16 kernel set this CPU can run, least preferred first.
pub fn available_f16_kernels() -> Vec<FloatKernels<f16>> {
    #[allow(unused_mut)]
    let mut v = vec![
        FloatKernels::<f16>::reference(),
        FloatKernels::<f16>::portable(),
    ];
    #[cfg(target_arch = "x86_64")]
    v.extend(x86::f16_kernels());
    v
}

/// Every bit kernel set this CPU can run, least preferred first.
pub fn available_bit_kernels() -> Vec<BitKernels> {
    #[allow(unused_mut)]
    let mut v = vec![BitKernels::reference(), BitKernels::portable()];
    #[cfg(target_arch = "x86_64")]
    v.extend(x86::bit_kernels());
    v
}

fn select() -> Kernels {
    // Each list ends with its most preferred set and always holds at least
    // the reference and the portable set.
    Kernels {
        f32: *available_f32_kernels().last().expect("non-empty"),
        f16: *available_f16_kernels().last().expect("non-empty"),
        bits: *available_bit_kernels().last().expect("non-empty"),
    }
}

/// The kernels chosen for this CPU: detected once, on first use, then cached.
#[inline]
pub fn kernels() -> &'static Kernels {
    static SELECTED: std::sync::OnceLock<Kernels> = std::sync::OnceLock::new();
    SELECTED.get_or_init(select)
}

// ---------------------------------------------------------------------------
// The dispatching entry points.

pub fn l2_f32(a: &[f32], b: &[f32]) -> f32 {
    kernels().f32.l2(a, b)
}
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    kernels().f32.dot(a, b)
}
pub fn cosine_f32(a: &[f32], b: &[f32]) -> f32 {
    kernels().f32.cosine(a, b)
}
/// `(a·b, a·a, b·b)` in one pass.
pub fn dot_and_norms_f32(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    kernels().f32.dot_and_norms(a, b)
}
pub fn l2_f16(a: &[f16], b: &[f16]) -> f32 {
    kernels().f16.l2(a, b)
}
pub fn dot_f16(a: &[f16], b: &[f16]) -> f32 {
    kernels().f16.dot(a, b)
}
pub fn cosine_f16(a: &[f16], b: &[f16]) -> f32 {
    kernels().f16.cosine(a, b)
}
/// `(a·b, a·a, b·b)` in one pass.
pub fn dot_and_norms_f16(a: &[f16], b: &[f16]) -> (f32, f32, f32) {
    kernels().f16.dot_and_norms(a, b)
}
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    kernels().bits.hamming(a, b)
}
pub fn dot_bits(a: &[u64], b: &[u64]) -> u32 {
    kernels().bits.dot(a, b)
}
pub fn popcount(a: &[u64]) -> u32 {
    kernels().bits.popcount(a)
}
pub fn cosine_bits(a: &[u64], b: &[u64]) -> f32 {
    kernels().bits.cosine(a, b)
}
pub fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    kernels().bits.jaccard(a, b)
}
