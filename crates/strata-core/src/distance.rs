//! Distance kernels. Each metric has a plain scalar reference implementation
//! (`*_reference`); the public functions are what callers use and may be
//! replaced by SIMD versions chosen at run time, always checked against the
//! references in tests.
//!
//! Conventions shared with the SQL operators:
//! - `l2` is the *squared* Euclidean distance (`<->`).
//! - `dot` is the plain inner product; the SQL operator `<#>` negates it.
//! - `cosine` is `1 - cos(a, b)`; when either vector has zero norm the
//!   result is defined as `1.0` (no direction, so no similarity) instead of NaN.
//! - Bit vectors are packed little-endian in `u64` words; bits past `dims` in
//!   the last word are always zero, so kernels may count whole words.

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
    if aa == 0.0 || bb == 0.0 {
        return 1.0;
    }
    let c = (ab as f64) / ((aa as f64) * (bb as f64)).sqrt();
    (1.0 - c).clamp(0.0, 2.0) as f32
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
    cosine_from_parts(ab, popcount_reference(a) as f32, popcount_reference(b) as f32)
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

// The dispatching entry points. They currently call the references; SIMD
// versions slot in behind the same signatures.
pub fn l2_f32(a: &[f32], b: &[f32]) -> f32 {
    l2_f32_reference(a, b)
}
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    dot_f32_reference(a, b)
}
pub fn cosine_f32(a: &[f32], b: &[f32]) -> f32 {
    cosine_f32_reference(a, b)
}
pub fn l2_f16(a: &[f16], b: &[f16]) -> f32 {
    l2_f16_reference(a, b)
}
pub fn dot_f16(a: &[f16], b: &[f16]) -> f32 {
    dot_f16_reference(a, b)
}
pub fn cosine_f16(a: &[f16], b: &[f16]) -> f32 {
    cosine_f16_reference(a, b)
}
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    hamming_reference(a, b)
}
pub fn dot_bits(a: &[u64], b: &[u64]) -> u32 {
    dot_bits_reference(a, b)
}
pub fn popcount(a: &[u64]) -> u32 {
    popcount_reference(a)
}
pub fn cosine_bits(a: &[u64], b: &[u64]) -> f32 {
    cosine_bits_reference(a, b)
}
pub fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    jaccard_reference(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_values() {
        assert_eq!(l2_f32(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), 8.0);
        assert_eq!(dot_f32(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), 10.0);
        assert!((cosine_f32(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-7);
        assert_eq!(cosine_f32(&[1.0, 2.0], &[2.0, 4.0]), 0.0);
        assert_eq!(cosine_f32(&[0.0, 0.0], &[2.0, 4.0]), 1.0);
        assert_eq!(hamming(&[0b1011], &[0b0110]), 3);
        assert_eq!(dot_bits(&[0b1011], &[0b0110]), 1);
        assert_eq!(jaccard(&[0b1011], &[0b0110]), 0.75);
        assert_eq!(jaccard(&[0], &[0]), 0.0);
    }
}
