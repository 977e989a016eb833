//! `veci8`: vectors quantised to signed 8-bit codes with one scale per vector.
//!
//! Quantisation is symmetric: `scale = max|x| / 127`, `code = round(x / scale)`
//! in `-127..=127`, and the value a code stands for is `scale * code`. Each
//! element is therefore off by at most `scale / 2 = max|x| / 254` (0.4% of
//! the largest magnitude). An offset (asymmetric range) would halve that
//! bound only for vectors whose elements are all of one sign, which
//! embeddings almost never are, and would cost a correction term in every
//! distance, so there is none.
//!
//! Encoded form (the payload of a datum and the element bytes the index
//! stores), little-endian:
//!
//! ```text
//! 0  f32  scale (>= 0, finite)
//! 4  i32  sum of squared codes (kept so distances need one integer dot product)
//! 8  i8   codes x dims
//! ```
//!
//! Distances are computed from the integer dot product of the codes:
//! `a·b = sa·sb·Σ ca·cb`, `|a-b|² = sa²·Σca² + sb²·Σcb² - 2·sa·sb·Σ ca·cb`,
//! `cos = Σ ca·cb / sqrt(Σca²·Σcb²)` (the scales cancel). They equal the f32
//! distances of the dequantised vectors up to f32 rounding. The largest code
//! sum, 127² · 65535, fits an i32.

pub const HEADER: usize = 8;

/// Quantises `v` (finite values) to its scale and codes.
pub fn quantize(v: &[f32]) -> (f32, Vec<i8>) {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (0.0, vec![0; v.len()]);
    }
    let scale = max / 127.0;
    let inv = 127.0 / max;
    let codes = v.iter().map(|x| (x * inv).round().clamp(-127.0, 127.0) as i8).collect();
    (scale, codes)
}

pub fn sum_squares(codes: &[i8]) -> i32 {
    codes.iter().map(|c| (*c as i32) * (*c as i32)).sum()
}

/// The encoded form of a scale and codes.
pub fn encode(scale: f32, codes: &[i8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + codes.len());
    out.extend_from_slice(&scale.to_le_bytes());
    out.extend_from_slice(&sum_squares(codes).to_le_bytes());
    out.extend(codes.iter().map(|c| *c as u8));
    out
}

pub fn encode_f32(v: &[f32]) -> Vec<u8> {
    let (scale, codes) = quantize(v);
    encode(scale, &codes)
}

/// A view of an encoded vector.
#[derive(Clone, Copy, Debug)]
pub struct I8Ref<'a> {
    pub scale: f32,
    pub sum_squares: i32,
    pub codes: &'a [i8],
}

impl<'a> I8Ref<'a> {
    /// Views an encoded vector; `bytes` must be at least `HEADER` long.
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        let scale = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let sum_squares = i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let body = &bytes[HEADER..];
        // SAFETY: i8 and u8 have the same size and alignment.
        let codes = unsafe { std::slice::from_raw_parts(body.as_ptr() as *const i8, body.len()) };
        I8Ref { scale, sum_squares, codes }
    }

    pub fn dims(&self) -> usize {
        self.codes.len()
    }

    pub fn dequantize(&self) -> Vec<f32> {
        self.codes.iter().map(|c| self.scale * *c as f32).collect()
    }
}

/// Checks an encoded vector read from outside (binary input): codes in
/// `-127..=127`, a finite non-negative scale, the stored sum of squares.
pub fn validate(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < HEADER {
        return Err(format!("{} bytes is too short", bytes.len()));
    }
    let v = I8Ref::new(bytes);
    if !v.scale.is_finite() || v.scale < 0.0 {
        return Err(format!("scale {} is not a finite non-negative number", v.scale));
    }
    // Every code times the scale must be a finite f32 (what quantize produces).
    if v.scale > f32::MAX / 127.0 {
        return Err(format!("scale {:e} is too large", v.scale));
    }
    if v.codes.contains(&i8::MIN) {
        return Err("code -128 is outside -127..127".into());
    }
    if sum_squares(v.codes) != v.sum_squares {
        return Err("stored sum of squares does not match the codes".into());
    }
    Ok(())
}

// ---------------------------------------------------------------- kernels

/// `Σ a[i]·b[i]` over the common length, one element at a time.
pub fn dot_i8_reference(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| *x as i32 * *y as i32).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let mut acc0 = _mm256_setzero_si256();
    let mut acc1 = _mm256_setzero_si256();
    let mut i = 0;
    // 32 codes per step: widen each half to 16 x i16, multiply and add
    // adjacent pairs into 8 x i32 (no overflow: |127·127·2| < 2^15·2).
    while i + 32 <= n {
        unsafe {
            let pa = a.as_ptr().add(i) as *const __m128i;
            let pb = b.as_ptr().add(i) as *const __m128i;
            let a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pa));
            let b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pb));
            let a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pa.add(1)));
            let b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pb.add(1)));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(a1, b1));
        }
        i += 32;
    }
    let acc = _mm256_add_epi32(acc0, acc1);
    let hi = _mm256_extracti128_si256(acc, 1);
    let lo = _mm256_castsi256_si128(acc);
    let s = _mm_add_epi32(hi, lo);
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s) + dot_i8_reference(&a[i..n], &b[i..n])
}

/// Portable version: independent lanes so the compiler can vectorise it
/// for the baseline target.
pub fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let mut lanes = [0i32; 16];
    let chunks = n / 16;
    for c in 0..chunks {
        let (x, y) = (&a[c * 16..c * 16 + 16], &b[c * 16..c * 16 + 16]);
        for l in 0..16 {
            lanes[l] += x[l] as i32 * y[l] as i32;
        }
    }
    lanes.iter().sum::<i32>() + dot_i8_reference(&a[chunks * 16..n], &b[chunks * 16..n])
}

/// An int8 dot-product kernel with the name of its instruction set.
#[derive(Clone, Copy)]
pub struct DotI8Kernel {
    pub isa: &'static str,
    f: fn(&[i8], &[i8]) -> i32,
}

impl DotI8Kernel {
    #[inline]
    pub fn dot(&self, a: &[i8], b: &[i8]) -> i32 {
        (self.f)(a, b)
    }
}

#[cfg(target_arch = "x86_64")]
fn dot_i8_avx2_checked(a: &[i8], b: &[i8]) -> i32 {
    // SAFETY: only listed in available_kernels() when the CPU has AVX2.
    unsafe { dot_i8_avx2(a, b) }
}

/// Every kernel this CPU can run, least preferred first.
pub fn available_kernels() -> Vec<DotI8Kernel> {
    #[allow(unused_mut)]
    let mut v = vec![
        DotI8Kernel { isa: "reference", f: dot_i8_reference },
        DotI8Kernel { isa: "portable", f: dot_i8_portable },
    ];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        v.push(DotI8Kernel { isa: "avx2", f: dot_i8_avx2_checked });
    }
    v
}

#[inline]
pub fn kernel() -> &'static DotI8Kernel {
    static SELECTED: std::sync::OnceLock<DotI8Kernel> = std::sync::OnceLock::new();
    SELECTED.get_or_init(|| *available_kernels().last().expect("non-empty"))
}

#[inline]
pub fn dot_codes(a: &[i8], b: &[i8]) -> i32 {
    kernel().dot(a, b)
}

// ---------------------------------------------------------------- distances

#[inline]
pub fn dot(a: I8Ref<'_>, b: I8Ref<'_>) -> f32 {
    // In f64: the product of two large scales overflows f32, and inf * 0 is NaN.
    (a.scale as f64 * b.scale as f64 * dot_codes(a.codes, b.codes) as f64) as f32
}

#[inline]
pub fn l2(a: I8Ref<'_>, b: I8Ref<'_>) -> f32 {
    let d = dot_codes(a.codes, b.codes) as f64;
    let (sa, sb) = (a.scale as f64, b.scale as f64);
    let v = sa * sa * a.sum_squares as f64 + sb * sb * b.sum_squares as f64 - 2.0 * sa * sb * d;
    v.max(0.0) as f32
}

#[inline]
pub fn cosine(a: I8Ref<'_>, b: I8Ref<'_>) -> f32 {
    if a.scale == 0.0 || b.scale == 0.0 || a.sum_squares == 0 || b.sum_squares == 0 {
        return 1.0;
    }
    let d = dot_codes(a.codes, b.codes) as f64;
    let c = d / ((a.sum_squares as f64) * (b.sum_squares as f64)).sqrt();
    (1.0 - c).clamp(0.0, 2.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::{cosine_f32_reference, dot_f32_reference, l2_f32_reference};

    fn rng(seed: u64) -> impl FnMut() -> f32 {
        let mut s = seed;
        move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    #[test]
    fn every_kernel_matches_the_reference_exactly() {
        let mut r = rng(3);
        for n in [0usize, 1, 15, 16, 31, 32, 33, 63, 64, 100, 768, 1000, 65535] {
            let a: Vec<i8> = (0..n).map(|_| (r() * 127.0) as i8).collect();
            let b: Vec<i8> = (0..n).map(|_| (r() * 127.0) as i8).collect();
            let want = dot_i8_reference(&a, &b);
            for k in available_kernels() {
                assert_eq!(k.dot(&a, &b), want, "{} n={n}", k.isa);
            }
        }
        // Extremes: all 127 and all -127 at the largest dimension count.
        let a = vec![127i8; 65535];
        let b = vec![-127i8; 65535];
        for k in available_kernels() {
            assert_eq!(k.dot(&a, &b), -127 * 127 * 65535, "{}", k.isa);
        }
    }

    #[test]
    fn quantisation_error_is_within_the_documented_bound() {
        let mut r = rng(11);
        for _ in 0..100 {
            let v: Vec<f32> = (0..384).map(|_| r() * 3.0).collect();
            let enc = encode_f32(&v);
            let q = I8Ref::new(&enc);
            let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            for (x, y) in v.iter().zip(q.dequantize()) {
                assert!((x - y).abs() <= max / 254.0 * 1.0001, "{x} vs {y}");
            }
            assert!(validate(&enc).is_ok());
        }
        let zero = encode_f32(&[0.0; 4]);
        assert_eq!(I8Ref::new(&zero).dequantize(), vec![0.0; 4]);
    }

    #[test]
    fn distances_equal_those_of_the_dequantised_vectors() {
        let mut r = rng(5);
        for _ in 0..100 {
            let a: Vec<f32> = (0..300).map(|_| r()).collect();
            let b: Vec<f32> = (0..300).map(|_| r()).collect();
            let (ea, eb) = (encode_f32(&a), encode_f32(&b));
            let (qa, qb) = (I8Ref::new(&ea), I8Ref::new(&eb));
            let (da, db) = (qa.dequantize(), qb.dequantize());
            let close = |x: f32, y: f32| (x - y).abs() <= 1e-3 * (1.0 + y.abs());
            assert!(close(l2(qa, qb), l2_f32_reference(&da, &db)));
            assert!(close(dot(qa, qb), dot_f32_reference(&da, &db)));
            assert!(close(cosine(qa, qb), cosine_f32_reference(&da, &db)));
            // And near the f32 originals: the documented relative bound on
            // random data is a few tenths of a percent of |a||b|.
            let scale = crate::vector::norm_f32(&a) * crate::vector::norm_f32(&b);
            assert!(((dot(qa, qb) - dot_f32_reference(&a, &b)).abs() as f64) < 0.01 * scale);
        }
    }

    #[test]
    fn validate_rejects_inconsistent_encodings() {
        let mut e = encode_f32(&[1.0, -0.5, 0.25]);
        assert!(validate(&e).is_ok());
        e[8] = 0x80; // -128
        assert!(validate(&e).unwrap_err().contains("-128"));
        let mut e = encode_f32(&[1.0, -0.5, 0.25]);
        e[4] ^= 1;
        assert!(validate(&e).unwrap_err().contains("sum of squares"));
        let mut e = encode_f32(&[1.0]);
        e[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(validate(&e).is_err());
        assert!(validate(&[0u8; 3]).is_err());
        let mut e = encode_f32(&[1.0, 0.0]);
        e[0..4].copy_from_slice(&(f32::MAX / 100.0).to_le_bytes());
        assert!(validate(&e).unwrap_err().contains("too large"));
    }

    /// Found by the veci8_codes fuzz target: two large scales made the
    /// dot product inf * 0 = NaN.
    #[test]
    fn large_scales_give_no_nan() {
        let a = encode_f32(&[3e38, 0.0]);
        let b = encode_f32(&[0.0, 3e38]);
        let (x, y) = (I8Ref::new(&a), I8Ref::new(&b));
        assert_eq!(dot(x, y), 0.0);
        assert!(!l2(x, y).is_nan() && !cosine(x, y).is_nan());
        let c = encode_f32(&[3e38, 3e38]);
        assert!(dot(I8Ref::new(&c), I8Ref::new(&c)).is_infinite());
    }
}
