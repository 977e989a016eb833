//! x86_64 SIMD kernels. Every function here is `#[target_feature]`; the
//! `*_kernels()` constructors only put a function into a table after
//! `is_x86_feature_detected!` confirmed all of its features, which is what
//! makes the safe methods of [`FloatKernels`] and [`BitKernels`] sound.
//!
//! Layout of the float kernels: four vector accumulators per sum to hide
//! the FMA latency, a one-vector loop for the rest, then a single masked (f32) or zero-padded (f16) vector for the last
//! `len % lanes` elements, so no element is ever read past a slice's end and
//! padding lanes contribute exactly zero.

use core::arch::x86_64::*;

use half::f16;

use super::{BitKernels, FloatKernels};

pub(super) fn f32_kernels() -> Vec<FloatKernels<f32>> {
    let mut v = Vec::new();
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        v.push(FloatKernels {
            isa: "avx2+fma",
            l2: avx2::l2_f32,
            dot: avx2::dot_f32,
            dot_and_norms: avx2::dot_and_norms_f32,
        });
    }
    if is_x86_feature_detected!("avx512f") {
        v.push(FloatKernels {
            isa: "avx512f",
            l2: avx512::l2_f32,
            dot: avx512::dot_f32,
            dot_and_norms: avx512::dot_and_norms_f32,
        });
    }
    v
}

pub(super) fn f16_kernels() -> Vec<FloatKernels<f16>> {
    let mut v = Vec::new();
    if is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
    {
        v.push(FloatKernels {
            isa: "f16c+avx2+fma",
            l2: avx2::l2_f16,
            dot: avx2::dot_f16,
            dot_and_norms: avx2::dot_and_norms_f16,
        });
    }
    if is_x86_feature_detected!("avx512f") {
        v.push(FloatKernels {
            isa: "avx512f",
            l2: avx512::l2_f16,
            dot: avx512::dot_f16,
            dot_and_norms: avx512::dot_and_norms_f16,
        });
    }
    v
}

pub(super) fn bit_kernels() -> Vec<BitKernels> {
    let mut v = Vec::new();
    let popcnt = is_x86_feature_detected!("popcnt");
    if popcnt {
        v.push(BitKernels {
            isa: "popcnt",
            hamming: popcnt::hamming,
            dot: popcnt::dot_bits,
            popcount: popcnt::popcount,
            dot_and_popcounts: popcnt::dot_and_popcounts,
            intersection_and_union: popcnt::intersection_and_union,
        });
    }
    if popcnt && is_x86_feature_detected!("avx2") {
        v.push(BitKernels {
            isa: "avx2",
            hamming: avx2::hamming,
            dot: avx2::dot_bits,
            popcount: avx2::popcount,
            dot_and_popcounts: avx2::dot_and_popcounts,
            intersection_and_union: avx2::intersection_and_union,
        });
    }
    if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vpopcntdq") {
        v.push(BitKernels {
            isa: "avx512vpopcntdq",
            hamming: avx512::hamming,
            dot: avx512::dot_bits,
            popcount: avx512::popcount,
            dot_and_popcounts: avx512::dot_and_popcounts,
            intersection_and_union: avx512::intersection_and_union,
        });
    }
    v
}

/// Defines `l2`, `dot` and `dot_and_norms` for one element type and vector
/// width from the given intrinsics and load helpers (`load` reads `lanes`
/// elements; `load_tail` reads `r < lanes` elements and zeroes the rest).
macro_rules! float_kernels {
    (
        features: $feat:literal,
        elem: $T:ty,
        lanes: $W:expr,
        vector: $V:ty,
        zero: $zero:path,
        add: $add:path,
        sub: $sub:path,
        fmadd: $fmadd:path,
        hsum: $hsum:path,
        load: $load:path,
        load_tail: $tail:path,
        l2: $l2:ident,
        dot: $dot:ident,
        dot_and_norms: $dan:ident $(,)?
    ) => {
        #[target_feature(enable = $feat)]
        pub(super) fn $dot(a: &[$T], b: &[$T]) -> f32 {
            const W: usize = $W;
            let n = a.len().min(b.len());
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let (mut s0, mut s1, mut s2, mut s3): ($V, $V, $V, $V) =
                ($zero(), $zero(), $zero(), $zero());
            let mut i = 0;
            // SAFETY: full loads read [i, i + W) with i + W <= n; the tail
            // load reads only [i, n).
            unsafe {
                while i + 4 * W <= n {
                    s0 = $fmadd($load(pa.add(i)), $load(pb.add(i)), s0);
                    s1 = $fmadd($load(pa.add(i + W)), $load(pb.add(i + W)), s1);
                    s2 = $fmadd($load(pa.add(i + 2 * W)), $load(pb.add(i + 2 * W)), s2);
                    s3 = $fmadd($load(pa.add(i + 3 * W)), $load(pb.add(i + 3 * W)), s3);
                    i += 4 * W;
                }
                while i + W <= n {
                    s0 = $fmadd($load(pa.add(i)), $load(pb.add(i)), s0);
                    i += W;
                }
                if i < n {
                    s1 = $fmadd($tail(pa.add(i), n - i), $tail(pb.add(i), n - i), s1);
                }
            }
            $hsum($add($add(s0, s1), $add(s2, s3)))
        }

        #[target_feature(enable = $feat)]
        pub(super) fn $l2(a: &[$T], b: &[$T]) -> f32 {
            const W: usize = $W;
            let n = a.len().min(b.len());
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            let (mut s0, mut s1, mut s2, mut s3): ($V, $V, $V, $V) =
                ($zero(), $zero(), $zero(), $zero());
            let mut i = 0;
            // SAFETY: as in the dot product.
            unsafe {
                while i + 4 * W <= n {
                    let d0 = $sub($load(pa.add(i)), $load(pb.add(i)));
                    let d1 = $sub($load(pa.add(i + W)), $load(pb.add(i + W)));
                    let d2 = $sub($load(pa.add(i + 2 * W)), $load(pb.add(i + 2 * W)));
                    let d3 = $sub($load(pa.add(i + 3 * W)), $load(pb.add(i + 3 * W)));
                    s0 = $fmadd(d0, d0, s0);
                    s1 = $fmadd(d1, d1, s1);
                    s2 = $fmadd(d2, d2, s2);
                    s3 = $fmadd(d3, d3, s3);
                    i += 4 * W;
                }
                while i + W <= n {
                    let d = $sub($load(pa.add(i)), $load(pb.add(i)));
                    s0 = $fmadd(d, d, s0);
                    i += W;
                }
                if i < n {
                    let d = $sub($tail(pa.add(i), n - i), $tail(pb.add(i), n - i));
                    s1 = $fmadd(d, d, s1);
                }
            }
            $hsum($add($add(s0, s1), $add(s2, s3)))
        }

        #[target_feature(enable = $feat)]
        pub(super) fn $dan(a: &[$T], b: &[$T]) -> (f32, f32, f32) {
            const W: usize = $W;
            let n = a.len().min(b.len());
            let (pa, pb) = (a.as_ptr(), b.as_ptr());
            // Twelve accumulators: three sums, four vectors in flight each.
            let mut ab: [$V; 4] = [$zero(); 4];
            let mut aa: [$V; 4] = [$zero(); 4];
            let mut bb: [$V; 4] = [$zero(); 4];
            let mut i = 0;
            // SAFETY: as in the dot product.
            unsafe {
                while i + 4 * W <= n {
                    for j in 0..4 {
                        let (x, y) = ($load(pa.add(i + j * W)), $load(pb.add(i + j * W)));
                        ab[j] = $fmadd(x, y, ab[j]);
                        aa[j] = $fmadd(x, x, aa[j]);
                        bb[j] = $fmadd(y, y, bb[j]);
                    }
                    i += 4 * W;
                }
                while i + W <= n {
                    let (x, y) = ($load(pa.add(i)), $load(pb.add(i)));
                    ab[0] = $fmadd(x, y, ab[0]);
                    aa[0] = $fmadd(x, x, aa[0]);
                    bb[0] = $fmadd(y, y, bb[0]);
                    i += W;
                }
                if i < n {
                    let (x, y) = ($tail(pa.add(i), n - i), $tail(pb.add(i), n - i));
                    ab[1] = $fmadd(x, y, ab[1]);
                    aa[1] = $fmadd(x, x, aa[1]);
                    bb[1] = $fmadd(y, y, bb[1]);
                }
            }
            let sum4 = |v: [$V; 4]| $hsum($add($add(v[0], v[1]), $add(v[2], v[3])));
            (sum4(ab), sum4(aa), sum4(bb))
        }
    };
}

/// Defines the five bit kernels on top of a `count` driver of the form
/// `count::<K>(a, b, vector_op, word_op) -> [u32; K]`.
macro_rules! bit_kernels {
    (features: $feat:literal, xor: $xor:path, and: $and:path, or: $or:path $(,)?) => {
        #[target_feature(enable = $feat)]
        pub(super) fn hamming(a: &[u64], b: &[u64]) -> u32 {
            count(a, b, |x, y| [$xor(x, y)], |x, y| [x ^ y])[0]
        }

        #[target_feature(enable = $feat)]
        pub(super) fn dot_bits(a: &[u64], b: &[u64]) -> u32 {
            count(a, b, |x, y| [$and(x, y)], |x, y| [x & y])[0]
        }

        #[target_feature(enable = $feat)]
        pub(super) fn popcount(a: &[u64]) -> u32 {
            count(a, a, |x, _| [x], |x, _| [x])[0]
        }

        #[target_feature(enable = $feat)]
        pub(super) fn dot_and_popcounts(a: &[u64], b: &[u64]) -> (u32, u32, u32) {
            let [ab, aa, bb] = count(a, b, |x, y| [$and(x, y), x, y], |x, y| [x & y, x, y]);
            (ab, aa, bb)
        }

        #[target_feature(enable = $feat)]
        pub(super) fn intersection_and_union(a: &[u64], b: &[u64]) -> (u32, u32) {
            let [i, u] = count(a, b, |x, y| [$and(x, y), $or(x, y)], |x, y| [x & y, x | y]);
            (i, u)
        }
    };
}

/// Scalar `popcnt` over 64-bit words, four independent counters.
mod popcnt {
    #[target_feature(enable = "popcnt")]
    #[inline]
    fn count<const K: usize>(
        a: &[u64],
        b: &[u64],
        _vector_op: impl Fn(u64, u64) -> [u64; K],
        word_op: impl Fn(u64, u64) -> [u64; K],
    ) -> [u32; K] {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [[0u64; K]; 4];
        let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for j in 0..4 {
                let w = word_op(x[j], y[j]);
                for k in 0..K {
                    acc[j][k] += w[k].count_ones() as u64;
                }
            }
        }
        for (x, y) in ra.iter().zip(rb) {
            let w = word_op(*x, *y);
            for k in 0..K {
                acc[0][k] += w[k].count_ones() as u64;
            }
        }
        let mut out = [0u32; K];
        for k in 0..K {
            out[k] = (acc[0][k] + acc[1][k] + acc[2][k] + acc[3][k]) as u32;
        }
        out
    }

    #[inline(always)]
    fn xor(x: u64, y: u64) -> u64 {
        x ^ y
    }
    #[inline(always)]
    fn and(x: u64, y: u64) -> u64 {
        x & y
    }
    #[inline(always)]
    fn or(x: u64, y: u64) -> u64 {
        x | y
    }

    bit_kernels!(features: "popcnt", xor: xor, and: and, or: or);
}

mod avx2 {
    use super::*;

    /// Eight all-ones lanes then eight zero lanes: the 8 lanes starting at
    /// `8 - r` select the first `r` elements.
    static TAIL_MASK: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn load_f32(p: *const f32) -> __m256 {
        // SAFETY: the caller passes 8 readable floats.
        unsafe { _mm256_loadu_ps(p) }
    }

    /// Loads `r` (1..=7) floats; masked-off lanes are zero and not accessed.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn load_f32_tail(p: *const f32, r: usize) -> __m256 {
        debug_assert!(r > 0 && r < 8);
        // SAFETY: TAIL_MASK holds 16 lanes, so 8 - r.. is in bounds; the
        // mask makes the load touch only the caller's r floats.
        unsafe {
            let mask = _mm256_loadu_si256(TAIL_MASK.as_ptr().add(8 - r).cast());
            _mm256_maskload_ps(p, mask)
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn load_f16(p: *const f16) -> __m256 {
        // SAFETY: the caller passes 8 readable halves.
        _mm256_cvtph_ps(unsafe { _mm_loadu_si128(p.cast()) })
    }

    /// Loads `r` (1..=7) halves through a zeroed buffer.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn load_f16_tail(p: *const f16, r: usize) -> __m256 {
        debug_assert!(r > 0 && r < 8);
        let mut buf = [0u16; 8];
        // SAFETY: the caller passes r readable halves; buf holds 8.
        unsafe {
            core::ptr::copy_nonoverlapping(p.cast::<u16>(), buf.as_mut_ptr(), r);
            _mm256_cvtph_ps(_mm_loadu_si128(buf.as_ptr().cast()))
        }
    }

    float_kernels! {
        features: "avx2,fma",
        elem: f32,
        lanes: 8,
        vector: __m256,
        zero: _mm256_setzero_ps,
        add: _mm256_add_ps,
        sub: _mm256_sub_ps,
        fmadd: _mm256_fmadd_ps,
        hsum: hsum,
        load: load_f32,
        load_tail: load_f32_tail,
        l2: l2_f32,
        dot: dot_f32,
        dot_and_norms: dot_and_norms_f32,
    }

    float_kernels! {
        features: "avx2,fma,f16c",
        elem: f16,
        lanes: 8,
        vector: __m256,
        zero: _mm256_setzero_ps,
        add: _mm256_add_ps,
        sub: _mm256_sub_ps,
        fmadd: _mm256_fmadd_ps,
        hsum: hsum,
        load: load_f16,
        load_tail: load_f16_tail,
        l2: l2_f16,
        dot: dot_f16,
        dot_and_norms: dot_and_norms_f16,
    }

    /// Per-byte popcounts of `v`: each nibble looked up in a 16-entry table
    /// with `vpshufb`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn popcount_bytes(v: __m256i) -> __m256i {
        let table = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, //
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        );
        let nibble = _mm256_set1_epi8(0x0f);
        let lo = _mm256_and_si256(v, nibble);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble);
        _mm256_add_epi8(
            _mm256_shuffle_epi8(table, lo),
            _mm256_shuffle_epi8(table, hi),
        )
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn hsum_u64(v: __m256i) -> u64 {
        let s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        (_mm_cvtsi128_si64(s) as u64).wrapping_add(_mm_extract_epi64::<1>(s) as u64)
    }

    /// Two vectors (eight words) per step into separate per-byte counters,
    /// summed with `vpaddb` for up to 31 steps (at most 8 per byte per step,
    /// so at most 248) and then widened into 64-bit lanes with `vpsadbw`;
    /// then single vectors, then single words with `popcnt`.
    ///
    /// (Giving some words of each step to the scalar `popcnt` unit instead,
    /// to relieve the vector shuffle ports, measured slower on Zen 3: it
    /// needs more instructions per word.)
    #[target_feature(enable = "avx2,popcnt")]
    #[inline]
    fn count<const K: usize>(
        a: &[u64],
        b: &[u64],
        vector_op: impl Fn(__m256i, __m256i) -> [__m256i; K],
        word_op: impl Fn(u64, u64) -> [u64; K],
    ) -> [u32; K] {
        const STEP: usize = 8;
        const BLOCK: usize = 31;
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let zero = _mm256_setzero_si256();
        let mut totals = [zero; K];
        let mut i = 0;
        while i + STEP <= n {
            let end = i + STEP * ((n - i) / STEP).min(BLOCK);
            let (mut bytes0, mut bytes1) = ([zero; K], [zero; K]);
            while i < end {
                // SAFETY: i + STEP <= end <= n.
                let (x0, y0, x1, y1) = unsafe {
                    (
                        _mm256_loadu_si256(pa.add(i).cast()),
                        _mm256_loadu_si256(pb.add(i).cast()),
                        _mm256_loadu_si256(pa.add(i + 4).cast()),
                        _mm256_loadu_si256(pb.add(i + 4).cast()),
                    )
                };
                let (w0, w1) = (vector_op(x0, y0), vector_op(x1, y1));
                for k in 0..K {
                    bytes0[k] = _mm256_add_epi8(bytes0[k], popcount_bytes(w0[k]));
                    bytes1[k] = _mm256_add_epi8(bytes1[k], popcount_bytes(w1[k]));
                }
                i += STEP;
            }
            for k in 0..K {
                let both = _mm256_add_epi64(
                    _mm256_sad_epu8(bytes0[k], zero),
                    _mm256_sad_epu8(bytes1[k], zero),
                );
                totals[k] = _mm256_add_epi64(totals[k], both);
            }
        }
        if i + 4 <= n {
            // SAFETY: i + 4 <= n.
            let (x, y) = unsafe {
                (
                    _mm256_loadu_si256(pa.add(i).cast()),
                    _mm256_loadu_si256(pb.add(i).cast()),
                )
            };
            let w = vector_op(x, y);
            for k in 0..K {
                let c = _mm256_sad_epu8(popcount_bytes(w[k]), zero);
                totals[k] = _mm256_add_epi64(totals[k], c);
            }
            i += 4;
        }
        let mut out = [0u32; K];
        for k in 0..K {
            out[k] = hsum_u64(totals[k]) as u32;
        }
        // At most three words are left.
        while i < n {
            let w = word_op(a[i], b[i]);
            for k in 0..K {
                out[k] += w[k].count_ones();
            }
            i += 1;
        }
        out
    }

    bit_kernels!(
        features: "avx2,popcnt",
        xor: _mm256_xor_si256,
        and: _mm256_and_si256,
        or: _mm256_or_si256,
    );
}

mod avx512 {
    use super::*;

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn hsum(v: __m512) -> f32 {
        _mm512_reduce_add_ps(v)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn load_f32(p: *const f32) -> __m512 {
        // SAFETY: the caller passes 16 readable floats.
        unsafe { _mm512_loadu_ps(p) }
    }

    /// Loads `r` (1..=15) floats; masked-off lanes are zero and not accessed.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn load_f32_tail(p: *const f32, r: usize) -> __m512 {
        debug_assert!(r > 0 && r < 16);
        // SAFETY: the mask makes the load touch only the caller's r floats.
        unsafe { _mm512_maskz_loadu_ps(((1u32 << r) - 1) as __mmask16, p) }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn load_f16(p: *const f16) -> __m512 {
        // SAFETY: the caller passes 16 readable halves.
        _mm512_cvtph_ps(unsafe { _mm256_loadu_si256(p.cast()) })
    }

    /// Loads `r` (1..=15) halves through a zeroed buffer.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn load_f16_tail(p: *const f16, r: usize) -> __m512 {
        debug_assert!(r > 0 && r < 16);
        let mut buf = [0u16; 16];
        // SAFETY: the caller passes r readable halves; buf holds 16.
        unsafe {
            core::ptr::copy_nonoverlapping(p.cast::<u16>(), buf.as_mut_ptr(), r);
            _mm512_cvtph_ps(_mm256_loadu_si256(buf.as_ptr().cast()))
        }
    }

    float_kernels! {
        features: "avx512f",
        elem: f32,
        lanes: 16,
        vector: __m512,
        zero: _mm512_setzero_ps,
        add: _mm512_add_ps,
        sub: _mm512_sub_ps,
        fmadd: _mm512_fmadd_ps,
        hsum: hsum,
        load: load_f32,
        load_tail: load_f32_tail,
        l2: l2_f32,
        dot: dot_f32,
        dot_and_norms: dot_and_norms_f32,
    }

    float_kernels! {
        features: "avx512f",
        elem: f16,
        lanes: 16,
        vector: __m512,
        zero: _mm512_setzero_ps,
        add: _mm512_add_ps,
        sub: _mm512_sub_ps,
        fmadd: _mm512_fmadd_ps,
        hsum: hsum,
        load: load_f16,
        load_tail: load_f16_tail,
        l2: l2_f16,
        dot: dot_f16,
        dot_and_norms: dot_and_norms_f16,
    }

    /// Eight words per vector with `vpopcntq`; the last `len % 8` words are
    /// read with a masked load (masked-off lanes are zero and not accessed).
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    #[inline]
    fn count<const K: usize>(
        a: &[u64],
        b: &[u64],
        vector_op: impl Fn(__m512i, __m512i) -> [__m512i; K],
        _word_op: impl Fn(u64, u64) -> [u64; K],
    ) -> [u32; K] {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm512_setzero_si512(); K];
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n.
            let (x, y) = unsafe {
                (
                    _mm512_loadu_si512(pa.add(i).cast()),
                    _mm512_loadu_si512(pb.add(i).cast()),
                )
            };
            let w = vector_op(x, y);
            for k in 0..K {
                acc[k] = _mm512_add_epi64(acc[k], _mm512_popcnt_epi64(w[k]));
            }
            i += 8;
        }
        if i < n {
            let mask = ((1u32 << (n - i)) - 1) as __mmask8;
            // SAFETY: the mask selects words [i, n) only.
            let (x, y) = unsafe {
                (
                    _mm512_maskz_loadu_epi64(mask, pa.add(i).cast()),
                    _mm512_maskz_loadu_epi64(mask, pb.add(i).cast()),
                )
            };
            let w = vector_op(x, y);
            for k in 0..K {
                acc[k] = _mm512_add_epi64(acc[k], _mm512_popcnt_epi64(w[k]));
            }
        }
        let mut out = [0u32; K];
        for k in 0..K {
            out[k] = _mm512_reduce_add_epi64(acc[k]) as u32;
        }
        out
    }

    bit_kernels!(
        features: "avx512f,avx512vpopcntdq",
        xor: _mm512_xor_si512,
        and: _mm512_and_si512,
        or: _mm512_or_si512,
    );
}
