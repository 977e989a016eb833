//! The sums behind code estimates, chosen once per query.
//!
//! The inner-product sums take a query's weights already rounded to small
//! integers (see `round_weights` in the parent module) and return the exact
//! `i32` sum of weight times level. Integer addition does not depend on its
//! order, so the AVX2 and the portable versions return the same value for
//! every input (tested below) and the estimator's error bound needs no term
//! for the kernel itself. Sums wrap on overflow in both versions alike;
//! callers pick weights small enough that they never do.
//!
//! AVX2 loops take 32 bytes of levels per step (nibbles) or 32 then 16
//! (bytes) and leave the rest, under 32 or 16, to the portable loop
//! (inlined, so compiled for AVX2 too); nothing is read past a slice's end.

/// Independent partial sums of [`Kernels::sq8_l2`]'s `f32` loop, which the
/// compiler keeps in vector registers (one sum's chain of
/// dependent additions made this the largest cost of a search on codes).
const LANES: usize = 8;

/// The kernels one query uses.
#[derive(Clone, Copy, Debug)]
pub(super) struct Kernels {
    /// Set only by [`Kernels::detect`] after the CPU reported AVX2 and FMA:
    /// what makes calling the `#[target_feature]` functions sound.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
}

impl Kernels {
    /// The fastest kernels this CPU runs (one feature check per call, so
    /// made once per query, not per estimate).
    pub(super) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        Kernels { avx2 }
    }

    #[cfg(test)]
    fn portable() -> Self {
        Kernels { avx2: false }
    }

    /// `Σ w_even[i] (levels[i] & 15) + w_odd[i] (levels[i] >> 4)`: 4-bit
    /// levels packed two per byte (low nibble = even dimension), weights
    /// split into even and odd dimensions, over the shortest slice.
    #[inline]
    pub(super) fn nibble_dot(self, w_even: &[i8], w_odd: &[i8], levels: &[u8]) -> i32 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only set when the CPU has AVX2.
            return unsafe { avx2::nibble_dot(w_even, w_odd, levels) };
        }
        nibble_dot_portable(w_even, w_odd, levels)
    }

    /// `Σ w[i] levels[i]` over the shorter slice.
    #[inline]
    pub(super) fn u8_dot(self, w: &[i16], levels: &[u8]) -> i32 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only set when the CPU has AVX2.
            return unsafe { avx2::u8_dot(w, levels) };
        }
        u8_dot_portable(w, levels)
    }

    /// `(Σ t_j², Σ |t_j| steps_j)` with `t_j = offs_j - steps_j levels_j`
    /// (SQ8 under L2; kept in `f32`, the steps differ per dimension).
    #[inline]
    pub(super) fn sq8_l2(self, offs: &[f32], steps: &[f32], levels: &[u8]) -> (f32, f32) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only set when the CPU has AVX2 and FMA.
            return unsafe { avx2::sq8_l2(offs, steps, levels) };
        }
        sq8_l2_body(offs, steps, levels)
    }
}

/// Also the AVX2 kernels' tail: always inlined so it is compiled for AVX2
/// there.
#[inline(always)]
fn nibble_dot_portable(w_even: &[i8], w_odd: &[i8], levels: &[u8]) -> i32 {
    levels.iter().zip(w_even).zip(w_odd).fold(0i32, |s, ((&c, &e), &o)| {
        s.wrapping_add(e as i32 * (c & 15) as i32).wrapping_add(o as i32 * (c >> 4) as i32)
    })
}

#[inline(always)]
fn u8_dot_portable(w: &[i16], levels: &[u8]) -> i32 {
    levels.iter().zip(w).fold(0i32, |s, (&c, &w)| s.wrapping_add(w as i32 * c as i32))
}

/// The body of [`Kernels::sq8_l2`], compiled both for the baseline target
/// and for AVX2 with FMA (8 lanes instead of 4).
#[inline(always)]
fn sq8_l2_body(offs: &[f32], steps: &[f32], levels: &[u8]) -> (f32, f32) {
    let (mut d, mut b) = ([0.0f32; LANES], [0.0f32; LANES]);
    let n = levels.len().min(offs.len()).min(steps.len());
    let (offs, steps, levels) = (&offs[..n], &steps[..n], &levels[..n]);
    let mut i = 0;
    while i + LANES <= n {
        for l in 0..LANES {
            let t = offs[i + l] - steps[i + l] * levels[i + l] as f32;
            d[l] += t * t;
            b[l] += t.abs() * steps[i + l];
        }
        i += LANES;
    }
    let (mut ds, mut bs) = (d.iter().sum::<f32>(), b.iter().sum::<f32>());
    for j in i..n {
        let t = offs[j] - steps[j] * levels[j] as f32;
        ds += t * t;
        bs += t.abs() * steps[j];
    }
    (ds, bs)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sq8_l2(offs: &[f32], steps: &[f32], levels: &[u8]) -> (f32, f32) {
        super::sq8_l2_body(offs, steps, levels)
    }

    #[target_feature(enable = "avx2")]
    fn hsum(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        _mm_cvtsi128_si32(s)
    }

    /// 32 bytes of levels against 32 even and 32 odd weights, as 8 `i32`
    /// partial sums. `maddubs` adds two products of at most 15 · 128 into
    /// an `i16`, and the two halves' sum stays below 7,680: nothing
    /// saturates, so the result is exact.
    #[target_feature(enable = "avx2")]
    fn nibble_step(c: __m256i, we: __m256i, wo: __m256i) -> __m256i {
        let mask = _mm256_set1_epi8(0x0f);
        let lo = _mm256_and_si256(c, mask);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(c), mask);
        let s = _mm256_add_epi16(_mm256_maddubs_epi16(lo, we), _mm256_maddubs_epi16(hi, wo));
        _mm256_madd_epi16(s, _mm256_set1_epi16(1))
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn nibble_dot(w_even: &[i8], w_odd: &[i8], levels: &[u8]) -> i32 {
        let n = levels.len().min(w_even.len()).min(w_odd.len());
        let (pc, pe, po) = (levels.as_ptr(), w_even.as_ptr(), w_odd.as_ptr());
        let mut acc = _mm256_setzero_si256();
        let mut i = 0;
        while i + 32 <= n {
            // SAFETY: each load reads [i, i + 32) with i + 32 <= n.
            let (c, we, wo) = unsafe {
                (
                    _mm256_loadu_si256(pc.add(i).cast()),
                    _mm256_loadu_si256(pe.add(i).cast()),
                    _mm256_loadu_si256(po.add(i).cast()),
                )
            };
            acc = _mm256_add_epi32(acc, nibble_step(c, we, wo));
            i += 32;
        }
        let tail = super::nibble_dot_portable(&w_even[i..n], &w_odd[i..n], &levels[i..n]);
        hsum(acc).wrapping_add(tail)
    }

    /// 16 levels widened to `i16` against 16 weights: `madd` adds two
    /// products of at most 255 · 32,768 into an `i32`, exactly.
    #[target_feature(enable = "avx2")]
    fn u8_step(c: __m128i, w: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_cvtepu8_epi16(c), w)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn u8_dot(w: &[i16], levels: &[u8]) -> i32 {
        let n = levels.len().min(w.len());
        let (pc, pw) = (levels.as_ptr(), w.as_ptr());
        let (mut a0, mut a1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut i = 0;
        while i + 32 <= n {
            // SAFETY: the loads read [i, i + 32) with i + 32 <= n.
            let (c0, w0, c1, w1) = unsafe {
                (
                    _mm_loadu_si128(pc.add(i).cast()),
                    _mm256_loadu_si256(pw.add(i).cast()),
                    _mm_loadu_si128(pc.add(i + 16).cast()),
                    _mm256_loadu_si256(pw.add(i + 16).cast()),
                )
            };
            a0 = _mm256_add_epi32(a0, u8_step(c0, w0));
            a1 = _mm256_add_epi32(a1, u8_step(c1, w1));
            i += 32;
        }
        if i + 16 <= n {
            // SAFETY: the loads read [i, i + 16) with i + 16 <= n.
            let (c, w) = unsafe { (_mm_loadu_si128(pc.add(i).cast()), _mm256_loadu_si256(pw.add(i).cast())) };
            a0 = _mm256_add_epi32(a0, u8_step(c, w));
            i += 16;
        }
        let tail = super::u8_dot_portable(&w[i..n], &levels[i..n]);
        hsum(_mm256_add_epi32(a0, a1)).wrapping_add(tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    /// Both versions give the same integer sums, equal to a plain `i64`
    /// sum, for lengths around every step width and mismatched slices.
    #[test]
    fn detected_and_portable_kernels_agree() {
        let (fast, slow) = (Kernels::detect(), Kernels::portable());
        let mut s = 0x2545_f491_4f6c_dd1du64;
        for len in (0..=100).chain([127, 128, 129, 191, 192, 193, 257, 2032]) {
            for extra in [0usize, 1, 33] {
                let levels: Vec<u8> = (0..len).map(|_| rng(&mut s) as u8).collect();
                let we: Vec<i8> = (0..len + extra).map(|_| rng(&mut s) as i8).collect();
                let wo: Vec<i8> = (0..len).map(|_| rng(&mut s) as i8).collect();
                let exact: i64 = levels
                    .iter()
                    .zip(&we)
                    .zip(&wo)
                    .map(|((&c, &e), &o)| e as i64 * (c & 15) as i64 + o as i64 * (c >> 4) as i64)
                    .sum();
                assert_eq!(fast.nibble_dot(&we, &wo, &levels) as i64, exact, "nibbles, len {len}");
                assert_eq!(slow.nibble_dot(&we, &wo, &levels) as i64, exact, "nibbles, len {len}");
                // Full-range weights: long sums may wrap, identically in
                // both versions.
                let w: Vec<i16> = (0..len + extra).map(|_| rng(&mut s) as i16).collect();
                let levels = &levels[..len.saturating_sub(extra)];
                let exact: i64 = levels.iter().zip(&w).map(|(&c, &w)| w as i64 * c as i64).sum();
                if exact.abs() < i32::MAX as i64 {
                    assert_eq!(fast.u8_dot(&w, levels) as i64, exact, "bytes, len {len}");
                }
                assert_eq!(fast.u8_dot(&w, levels), slow.u8_dot(&w, levels), "bytes, len {len}");
            }
        }
    }

    /// The extremes: every weight at the `i8` / `i16` limits against the
    /// largest levels (where `maddubs` would saturate if the kernel paired
    /// products wrongly).
    #[test]
    fn extreme_weights_do_not_saturate() {
        let (fast, slow) = (Kernels::detect(), Kernels::portable());
        for len in [31usize, 32, 64, 65, 192] {
            let levels = vec![255u8; len];
            for w in [i8::MIN, i8::MAX] {
                let ws = vec![w; len];
                let exact = 30 * w as i32 * len as i32;
                assert_eq!(fast.nibble_dot(&ws, &ws, &levels), exact);
                assert_eq!(slow.nibble_dot(&ws, &ws, &levels), exact);
            }
            for w in [i16::MIN, i16::MAX] {
                let ws = vec![w; len];
                let exact = 255 * w as i64 * len as i64;
                assert_eq!(fast.u8_dot(&ws, &levels) as i64, exact);
                assert_eq!(slow.u8_dot(&ws, &levels) as i64, exact);
            }
        }
    }

    #[test]
    fn sq8_l2_versions_agree_closely() {
        let (fast, slow) = (Kernels::detect(), Kernels::portable());
        let mut s = 7u64;
        for len in [0usize, 1, 7, 8, 9, 50, 129] {
            let offs: Vec<f32> = (0..len).map(|_| (rng(&mut s) % 1000) as f32 / 500.0 - 1.0).collect();
            let steps: Vec<f32> = (0..len).map(|_| (rng(&mut s) % 1000) as f32 / 1e5).collect();
            let levels: Vec<u8> = (0..len).map(|_| rng(&mut s) as u8).collect();
            let (a, b) = (fast.sq8_l2(&offs, &steps, &levels), slow.sq8_l2(&offs, &steps, &levels));
            assert!((a.0 - b.0).abs() <= 1e-5 * (1.0 + b.0) && (a.1 - b.1).abs() <= 1e-5 * (1.0 + b.1));
        }
    }
}
