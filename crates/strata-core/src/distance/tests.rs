//! Every kernel set the CPU can run (reference, portable and each SIMD set,
//! called through its own table, not only through the dispatcher) is
//! compared with the scalar references.
//!
//! Tolerances. The SIMD and portable kernels add the same terms as the
//! references but in a different order (per-lane partial sums combined at
//! the end, FMA instead of a rounded product), so float results may differ
//! in the last bits. For a sum of `n` terms `t_i`, computed in any order,
//! the classic forward error bound is `|computed - exact| <= gamma_n * sum
//! |t_i|` with `gamma_n = n u / (1 - n u)` and `u = 2^-24` (Higham, Accuracy
//! and Stability of Numerical Algorithms, ch. 3-4). Two kernels are therefore
//! within `2 gamma_{n+2} sum |t_i|` of each other (`n + 2` covers the rounding
//! of `a - b` and of the product), plus a tiny absolute term for subnormal
//! partial results. The bound is relative to `sum |t_i|`, not to the result,
//! because a dot product with cancellation has no useful relative accuracy.
//! For the cosine distance the same bounds on `a·b`, `|a|²` and `|b|²` give
//! `|d cos| <= 2 gamma (1 + |cos|) <= 4 gamma` per kernel, hence `8 gamma`
//! between two kernels, plus the rounding of the final `f32`.
//!
//! Since that bound grows with `n`, it would not notice a dropped element in
//! a long vector. Exact tests catch those: with small integer inputs every
//! partial sum is an integer below 2^24, so all kernels must return exactly
//! the reference's value at every length. Bit kernels count integers and
//! must always agree exactly.

use super::*;

const LENGTHS: [usize; 9] = [0, 1, 7, 15, 16, 17, 1023, 3072, 65535];

/// SplitMix64: a tiny seeded generator, so runs are reproducible without a
/// dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn gamma(n: usize) -> f64 {
    let nu = n as f64 * f32::EPSILON as f64 / 2.0;
    nu / (1.0 - nu)
}

/// Smallest positive subnormal f32, per operation.
const TINY: f64 = 1.401298464324817e-45;

#[derive(Clone, Copy, Debug)]
enum Metric {
    L2,
    Dot,
    Cosine,
}

/// Allowed difference between two kernels, from f64 sums of |terms|.
fn tolerance(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    let n = a.len();
    let g = gamma(n + 2);
    match metric {
        Metric::L2 => {
            let s: f64 = a
                .iter()
                .zip(b)
                .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
                .sum();
            // The f32 difference may itself round, which the (n + 2) covers.
            2.0 * g * s * 1.0001 + 4.0 * (n as f64 + 2.0) * TINY
        }
        Metric::Dot => {
            let s: f64 = a
                .iter()
                .zip(b)
                .map(|(x, y)| (*x as f64 * *y as f64).abs())
                .sum();
            2.0 * g * s * 1.0001 + 4.0 * (n as f64 + 2.0) * TINY
        }
        Metric::Cosine => 8.0 * g * 1.0001 + 4.0 * f32::EPSILON as f64,
    }
}

fn close(metric: Metric, got: f32, want: f32, tol: f64) -> bool {
    if got.is_nan() || want.is_nan() {
        return got.is_nan() && want.is_nan();
    }
    if got.is_infinite() || want.is_infinite() {
        return got == want;
    }
    let _ = metric;
    (got as f64 - want as f64).abs() <= tol
}

fn widen(v: &[f16]) -> Vec<f32> {
    v.iter().map(|x| x.to_f32()).collect()
}

/// Checks one f32 table against the references on `a`, `b`.
fn check_f32(k: &FloatKernels<f32>, a: &[f32], b: &[f32], what: &str) {
    let n = a.len();
    // The reference table, not the bare references: its dot and cosine add
    // the f64 recomputation on overflow that every table shares.
    let r = FloatKernels::<f32>::reference();
    let cases: [(Metric, f32, f32); 3] = [
        (Metric::L2, k.l2(a, b), l2_f32_reference(a, b)),
        (Metric::Dot, k.dot(a, b), r.dot(a, b)),
        (Metric::Cosine, k.cosine(a, b), r.cosine(a, b)),
    ];
    for (metric, got, want) in cases {
        let tol = tolerance(metric, a, b);
        assert!(
            close(metric, got, want, tol),
            "{} {metric:?} n={n} {what}: got {got}, reference {want}, tolerance {tol:e}",
            k.isa()
        );
    }
    let (ab, aa, bb) = k.dot_and_norms(a, b);
    let (rab, raa, rbb) = dot_and_norms_f32_reference(a, b);
    let (tab, taa, tbb) = (
        tolerance(Metric::Dot, a, b),
        tolerance(Metric::Dot, a, a),
        tolerance(Metric::Dot, b, b),
    );
    assert!(
        close(Metric::Dot, ab, rab, tab),
        "{} a.b n={n} {what}: {ab} vs {rab}",
        k.isa()
    );
    assert!(
        close(Metric::Dot, aa, raa, taa),
        "{} a.a n={n} {what}: {aa} vs {raa}",
        k.isa()
    );
    assert!(
        close(Metric::Dot, bb, rbb, tbb),
        "{} b.b n={n} {what}: {bb} vs {rbb}",
        k.isa()
    );
}

/// Checks one f16 table against the references on `a`, `b`, with the
/// tolerances of the widened f32 values (the widening is exact).
fn check_f16(k: &FloatKernels<f16>, a: &[f16], b: &[f16], what: &str) {
    let n = a.len();
    let (wa, wb) = (widen(a), widen(b));
    let cases: [(Metric, f32, f32); 3] = [
        (Metric::L2, k.l2(a, b), l2_f16_reference(a, b)),
        (Metric::Dot, k.dot(a, b), dot_f16_reference(a, b)),
        (Metric::Cosine, k.cosine(a, b), cosine_f16_reference(a, b)),
    ];
    for (metric, got, want) in cases {
        let tol = tolerance(metric, &wa, &wb);
        assert!(
            close(metric, got, want, tol),
            "{} f16 {metric:?} n={n} {what}: got {got}, reference {want}, tolerance {tol:e}",
            k.isa()
        );
    }
    let (ab, aa, bb) = k.dot_and_norms(a, b);
    let (rab, raa, rbb) = dot_and_norms_f16_reference(a, b);
    assert!(close(
        Metric::Dot,
        ab,
        rab,
        tolerance(Metric::Dot, &wa, &wb)
    ));
    assert!(close(
        Metric::Dot,
        aa,
        raa,
        tolerance(Metric::Dot, &wa, &wa)
    ));
    assert!(close(
        Metric::Dot,
        bb,
        rbb,
        tolerance(Metric::Dot, &wb, &wb)
    ));
}

/// Asserts bit-for-bit equality with the references (for exact inputs).
fn check_f32_exact(k: &FloatKernels<f32>, a: &[f32], b: &[f32]) {
    let n = a.len();
    assert_eq!(k.l2(a, b), l2_f32_reference(a, b), "{} l2 n={n}", k.isa());
    assert_eq!(
        k.dot(a, b),
        dot_f32_reference(a, b),
        "{} dot n={n}",
        k.isa()
    );
    assert_eq!(
        k.cosine(a, b),
        cosine_f32_reference(a, b),
        "{} cosine n={n}",
        k.isa()
    );
    assert_eq!(
        k.dot_and_norms(a, b),
        dot_and_norms_f32_reference(a, b),
        "{} parts n={n}",
        k.isa()
    );
}

fn check_f16_exact(k: &FloatKernels<f16>, a: &[f16], b: &[f16]) {
    let n = a.len();
    assert_eq!(
        k.l2(a, b),
        l2_f16_reference(a, b),
        "{} f16 l2 n={n}",
        k.isa()
    );
    assert_eq!(
        k.dot(a, b),
        dot_f16_reference(a, b),
        "{} f16 dot n={n}",
        k.isa()
    );
    assert_eq!(
        k.cosine(a, b),
        cosine_f16_reference(a, b),
        "{} f16 cosine n={n}",
        k.isa()
    );
    assert_eq!(
        k.dot_and_norms(a, b),
        dot_and_norms_f16_reference(a, b),
        "{} f16 parts n={n}",
        k.isa()
    );
}

fn check_bits(k: &BitKernels, a: &[u64], b: &[u64], what: &str) {
    let n = a.len();
    let isa = k.isa();
    assert_eq!(
        k.hamming(a, b),
        hamming_reference(a, b),
        "{isa} hamming words={n} {what}"
    );
    assert_eq!(
        k.dot(a, b),
        dot_bits_reference(a, b),
        "{isa} dot words={n} {what}"
    );
    assert_eq!(
        k.popcount(a),
        popcount_reference(a),
        "{isa} popcount words={n} {what}"
    );
    assert_eq!(
        k.popcount(b),
        popcount_reference(b),
        "{isa} popcount words={n} {what}"
    );
    assert_eq!(
        k.dot_and_popcounts(a, b),
        dot_and_popcounts_reference(a, b),
        "{isa} dot_and_popcounts words={n} {what}"
    );
    assert_eq!(
        k.intersection_and_union(a, b),
        intersection_and_union_reference(a, b),
        "{isa} intersection_and_union words={n} {what}"
    );
    assert_eq!(
        k.cosine(a, b).to_bits(),
        cosine_bits_reference(a, b).to_bits(),
        "{isa} cosine {what}"
    );
    assert_eq!(
        k.jaccard(a, b).to_bits(),
        jaccard_reference(a, b).to_bits(),
        "{isa} jaccard {what}"
    );
}

/// `n` values, each `unit * scale`; with `offset` leading junk elements so
/// that the returned slice starts at an unaligned address.
fn random_f32(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.unit() * scale).collect()
}

fn random_int_f32(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.below(9) as f32 - 4.0).collect()
}

/// Random finite halves from random bit patterns: every exponent including
/// subnormals, both signs.
fn random_f16_bits(rng: &mut Rng, n: usize) -> Vec<f16> {
    (0..n)
        .map(|_| loop {
            let h = f16::from_bits(rng.next_u64() as u16);
            if h.is_finite() {
                break h;
            }
        })
        .collect()
}

/// Random words holding `bits` bits; the unused high bits of the last word
/// are zero, as the storage format guarantees.
fn random_bits(rng: &mut Rng, bits: usize, density: u32) -> Vec<u64> {
    let words = bits.div_ceil(64);
    let mut v: Vec<u64> = (0..words)
        .map(|_| match density {
            0 => rng.next_u64() & rng.next_u64() & rng.next_u64(), // ~1/8 set
            1 => rng.next_u64(),                                   // ~1/2 set
            _ => rng.next_u64() | rng.next_u64() | rng.next_u64(), // ~7/8 set
        })
        .collect();
    if !bits.is_multiple_of(64) {
        let last = v.len() - 1;
        v[last] &= (1u64 << (bits % 64)) - 1;
    }
    v
}

#[test]
fn simd_sets_are_listed_when_the_cpu_has_them() {
    let f32s: Vec<&str> = available_f32_kernels().iter().map(|k| k.isa()).collect();
    let f16s: Vec<&str> = available_f16_kernels().iter().map(|k| k.isa()).collect();
    let bits: Vec<&str> = available_bit_kernels().iter().map(|k| k.isa()).collect();
    assert_eq!(&f32s[..2], ["reference", "portable"]);
    assert_eq!(&f16s[..2], ["reference", "portable"]);
    assert_eq!(&bits[..2], ["reference", "portable"]);
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        assert_eq!(f32s.contains(&"avx2+fma"), avx2);
        assert_eq!(
            f16s.contains(&"f16c+avx2+fma"),
            avx2 && is_x86_feature_detected!("f16c")
        );
        let avx512 = is_x86_feature_detected!("avx512f");
        assert_eq!(f32s.contains(&"avx512f"), avx512);
        assert_eq!(f16s.contains(&"avx512f"), avx512);
        let popcnt = is_x86_feature_detected!("popcnt");
        assert_eq!(bits.contains(&"popcnt"), popcnt);
        assert_eq!(
            bits.contains(&"avx2"),
            popcnt && is_x86_feature_detected!("avx2")
        );
        assert_eq!(
            bits.contains(&"avx512vpopcntdq"),
            avx512 && is_x86_feature_detected!("avx512vpopcntdq")
        );
    }
    eprintln!("f32 sets: {f32s:?}; f16 sets: {f16s:?}; bit sets: {bits:?}");
}

#[test]
fn dispatcher_uses_the_last_available_set() {
    let k = kernels();
    assert_eq!(k.f32.isa(), available_f32_kernels().last().unwrap().isa());
    assert_eq!(k.f16.isa(), available_f16_kernels().last().unwrap().isa());
    assert_eq!(k.bits.isa(), available_bit_kernels().last().unwrap().isa());
    eprintln!(
        "selected: f32 {}, f16 {}, bits {}",
        k.f32.isa(),
        k.f16.isa(),
        k.bits.isa()
    );
}

#[test]
fn hand_checked_values() {
    assert_eq!(l2_f32(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), 8.0);
    assert_eq!(dot_f32(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), 10.0);
    assert!((cosine_f32(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-7);
    assert_eq!(cosine_f32(&[1.0, 2.0], &[2.0, 4.0]), 0.0);
    assert_eq!(cosine_f32(&[0.0, 0.0], &[2.0, 4.0]), 1.0);
    assert_eq!(hamming(&[0b1011], &[0b0110]), 3);
    assert_eq!(dot_bits(&[0b1011], &[0b0110]), 1);
    assert_eq!(popcount(&[0b1011, u64::MAX]), 67);
    assert_eq!(jaccard(&[0b1011], &[0b0110]), 0.75);
    assert_eq!(jaccard(&[0], &[0]), 0.0);
    assert_eq!(cosine_bits(&[0b11], &[0b11]), 0.0);
    assert_eq!(cosine_bits(&[0], &[0b11]), 1.0);
    let h = |v: &[f32]| v.iter().map(|x| f16::from_f32(*x)).collect::<Vec<_>>();
    assert_eq!(l2_f16(&h(&[1.0, 2.0, 3.0]), &h(&[3.0, 2.0, 1.0])), 8.0);
    assert_eq!(dot_f16(&h(&[1.0, 2.0, 3.0]), &h(&[3.0, 2.0, 1.0])), 10.0);
    assert_eq!(cosine_f16(&h(&[1.0, 2.0]), &h(&[2.0, 4.0])), 0.0);
    assert_eq!(
        dot_and_norms_f32(&[1.0, 2.0], &[3.0, 4.0]),
        (11.0, 5.0, 25.0)
    );
}

#[test]
fn f32_random_inputs_match_reference() {
    let mut rng = Rng::new(0x05EE_DF32);
    for k in available_f32_kernels() {
        for &n in &LENGTHS {
            for offset in [0, 1, 3] {
                // Unaligned starts: loads must not assume any alignment.
                let a = random_f32(&mut rng, n + offset, 1.0);
                let b = random_f32(&mut rng, n + offset, 1.0);
                check_f32(&k, &a[offset..], &b[offset..], &format!("offset {offset}"));
            }
        }
    }
}

#[test]
fn f32_integer_inputs_match_reference_exactly() {
    let mut rng = Rng::new(0xE4AC7);
    for k in available_f32_kernels() {
        for &n in &LENGTHS {
            let a = random_int_f32(&mut rng, n + 1);
            let b = random_int_f32(&mut rng, n + 1);
            check_f32_exact(&k, &a[1..], &b[1..]);
            check_f32_exact(&k, &a[..n], &b[..n]);
        }
    }
}

#[test]
fn f32_awkward_values() {
    let mut rng = Rng::new(0xA3C3A3D);
    for k in available_f32_kernels() {
        for &n in &LENGTHS {
            // Wide dynamic range, mixed signs: m * 2^e with e in [-50, 50].
            let wide = |rng: &mut Rng| -> Vec<f32> {
                (0..n)
                    .map(|_| rng.unit() * (2.0f32).powi(rng.below(101) as i32 - 50))
                    .collect()
            };
            let (a, b) = (wide(&mut rng), wide(&mut rng));
            check_f32(&k, &a, &b, "wide range");
            // Large magnitudes and all-negative values.
            let a = random_f32(&mut rng, n, 1e15);
            let b: Vec<f32> = random_f32(&mut rng, n, 1e15)
                .iter()
                .map(|x| -x.abs())
                .collect();
            check_f32(&k, &a, &b, "large");
            // Tiny values whose products are subnormal.
            let a = random_f32(&mut rng, n, 1e-20);
            let b = random_f32(&mut rng, n, 1e-20);
            check_f32(&k, &a, &b, "tiny");
            // Strong cancellation in the dot product.
            let a = random_f32(&mut rng, n, 1.0);
            let b: Vec<f32> = a
                .iter()
                .enumerate()
                .map(|(i, x)| if i % 2 == 0 { *x } else { -*x })
                .collect();
            check_f32(&k, &a, &b, "cancelling");
            if n == 0 {
                continue;
            }
            // Overflow to infinity, and NaN propagation, from every position
            // class (vector body and tail).
            let big = vec![1e30f32; n];
            let neg: Vec<f32> = big.iter().map(|x| -x).collect();
            check_f32(&k, &big, &neg, "overflow");
            for pos in [0, n / 2, n - 1] {
                let mut a = random_f32(&mut rng, n, 1.0);
                let b = random_f32(&mut rng, n, 1.0);
                a[pos] = f32::NAN;
                assert!(k.l2(&a, &b).is_nan(), "{} l2 NaN at {pos} of {n}", k.isa());
                assert!(
                    k.dot(&a, &b).is_nan(),
                    "{} dot NaN at {pos} of {n}",
                    k.isa()
                );
                assert!(
                    k.cosine(&a, &b).is_nan(),
                    "{} cosine NaN at {pos} of {n}",
                    k.isa()
                );
            }
        }
    }
}

#[test]
fn cosine_of_zero_same_and_opposite_vectors() {
    let mut rng = Rng::new(0xC05);
    for k in available_f32_kernels() {
        for &n in &LENGTHS {
            let z = vec![0.0f32; n];
            let a = random_f32(&mut rng, n, 3.0);
            assert_eq!(k.cosine(&z, &a), 1.0, "{} zero a n={n}", k.isa());
            assert_eq!(k.cosine(&a, &z), 1.0, "{} zero b n={n}", k.isa());
            assert_eq!(k.cosine(&z, &z), 1.0, "{} both zero n={n}", k.isa());
            if n == 0 {
                continue;
            }
            let neg: Vec<f32> = a.iter().map(|x| -x).collect();
            let tol = 8.0 * gamma(n + 2) as f32 + 4.0 * f32::EPSILON;
            assert!(
                k.cosine(&a, &a) <= tol,
                "{} self n={n}: {}",
                k.isa(),
                k.cosine(&a, &a)
            );
            assert!(
                k.cosine(&a, &neg) >= 2.0 - tol,
                "{} opposite n={n}",
                k.isa()
            );
        }
    }
    for k in available_f16_kernels() {
        for &n in &LENGTHS {
            let z = vec![f16::ZERO; n];
            let a: Vec<f16> = random_f32(&mut rng, n, 3.0)
                .into_iter()
                .map(f16::from_f32)
                .collect();
            assert_eq!(k.cosine(&z, &a), 1.0, "{} f16 zero a n={n}", k.isa());
            assert_eq!(k.cosine(&a, &z), 1.0, "{} f16 zero b n={n}", k.isa());
        }
    }
    for k in available_bit_kernels() {
        for words in [0, 1, 5, 48] {
            let z = vec![0u64; words];
            let a = vec![u64::MAX; words];
            assert_eq!(k.cosine(&z, &a), 1.0, "{} bits zero", k.isa());
            assert_eq!(k.jaccard(&z, &z), 0.0, "{} bits empty jaccard", k.isa());
            if words > 0 {
                assert_eq!(k.cosine(&a, &a), 0.0, "{} bits self", k.isa());
                assert_eq!(k.jaccard(&a, &a), 0.0, "{} bits self jaccard", k.isa());
                assert_eq!(k.jaccard(&z, &a), 1.0, "{} bits disjoint jaccard", k.isa());
            }
        }
    }
}

#[test]
fn f16_random_inputs_match_reference() {
    let mut rng = Rng::new(0xF16);
    for k in available_f16_kernels() {
        for &n in &LENGTHS {
            for offset in [0, 1, 3] {
                let a: Vec<f16> = random_f32(&mut rng, n + offset, 2.0)
                    .into_iter()
                    .map(f16::from_f32)
                    .collect();
                let b: Vec<f16> = random_f32(&mut rng, n + offset, 2.0)
                    .into_iter()
                    .map(f16::from_f32)
                    .collect();
                check_f16(&k, &a[offset..], &b[offset..], &format!("offset {offset}"));
            }
            // Every finite half, subnormals and +-65504 included: checks the
            // conversion as well as the arithmetic.
            let (a, b) = (random_f16_bits(&mut rng, n), random_f16_bits(&mut rng, n));
            check_f16(&k, &a, &b, "random bit patterns");
            if n > 0 {
                let mut a = a;
                a[n - 1] = f16::NAN;
                assert!(k.l2(&a, &b).is_nan(), "{} f16 NaN n={n}", k.isa());
                assert!(k.dot(&a, &b).is_nan(), "{} f16 NaN n={n}", k.isa());
            }
        }
    }
}

#[test]
fn portable_f16_widening_is_exact_for_every_half() {
    use super::portable::Widen;
    for bits in 0..=u16::MAX {
        let h = f16::from_bits(bits);
        let (got, want) = (h.widen(), h.to_f32());
        if want.is_nan() {
            assert!(got.is_nan(), "{bits:#06x}");
            assert_eq!(
                got.is_sign_negative(),
                want.is_sign_negative(),
                "{bits:#06x}"
            );
        } else {
            assert_eq!(got.to_bits(), want.to_bits(), "{bits:#06x}");
        }
    }
}

#[test]
fn f16_integer_inputs_match_reference_exactly() {
    let mut rng = Rng::new(0xF16E);
    for k in available_f16_kernels() {
        for &n in &LENGTHS {
            let a: Vec<f16> = random_int_f32(&mut rng, n + 1)
                .into_iter()
                .map(f16::from_f32)
                .collect();
            let b: Vec<f16> = random_int_f32(&mut rng, n + 1)
                .into_iter()
                .map(f16::from_f32)
                .collect();
            check_f16_exact(&k, &a[1..], &b[1..]);
            check_f16_exact(&k, &a[..n], &b[..n]);
        }
    }
}

#[test]
fn bit_kernels_match_reference_exactly() {
    let mut rng = Rng::new(0xB175);
    for k in available_bit_kernels() {
        for &bits in &LENGTHS {
            for density in 0..3 {
                let a = random_bits(&mut rng, bits, density);
                let b = random_bits(&mut rng, bits, 2 - density);
                check_bits(&k, &a, &b, &format!("{bits} bits density {density}"));
                // Unaligned start (one word in) when there is room.
                if a.len() > 1 {
                    check_bits(&k, &a[1..], &b[1..], &format!("{bits} bits from word 1"));
                }
            }
            let ones = random_bits(&mut rng, bits, 2)
                .iter()
                .map(|_| u64::MAX)
                .collect::<Vec<_>>();
            check_bits(&k, &ones, &ones, "all ones");
        }
        // Long inputs cross the AVX2 kernel's 31-vector byte-counter blocks
        // with all bits set, the worst case for those counters.
        for words in [123, 124, 125, 127, 128, 1000] {
            let ones = vec![u64::MAX; words];
            assert_eq!(
                k.popcount(&ones),
                64 * words as u32,
                "{} ones {words}",
                k.isa()
            );
            assert_eq!(
                k.hamming(&ones, &vec![0; words]),
                64 * words as u32,
                "{}",
                k.isa()
            );
        }
    }
}

#[test]
fn dispatcher_matches_selected_tables_and_references() {
    let mut rng = Rng::new(0xD15);
    let k = kernels();
    for &n in &LENGTHS {
        let a = random_f32(&mut rng, n, 1.0);
        let b = random_f32(&mut rng, n, 1.0);
        assert_eq!(l2_f32(&a, &b).to_bits(), k.f32.l2(&a, &b).to_bits());
        assert_eq!(dot_f32(&a, &b).to_bits(), k.f32.dot(&a, &b).to_bits());
        assert_eq!(cosine_f32(&a, &b).to_bits(), k.f32.cosine(&a, &b).to_bits());
        assert!(close(
            Metric::L2,
            l2_f32(&a, &b),
            l2_f32_reference(&a, &b),
            tolerance(Metric::L2, &a, &b)
        ));
        assert!(close(
            Metric::Dot,
            dot_f32(&a, &b),
            dot_f32_reference(&a, &b),
            tolerance(Metric::Dot, &a, &b)
        ));
        assert!(close(
            Metric::Cosine,
            cosine_f32(&a, &b),
            cosine_f32_reference(&a, &b),
            tolerance(Metric::Cosine, &a, &b)
        ));
        let ha: Vec<f16> = a.iter().map(|x| f16::from_f32(*x)).collect();
        let hb: Vec<f16> = b.iter().map(|x| f16::from_f32(*x)).collect();
        assert_eq!(l2_f16(&ha, &hb).to_bits(), k.f16.l2(&ha, &hb).to_bits());
        assert_eq!(dot_f16(&ha, &hb).to_bits(), k.f16.dot(&ha, &hb).to_bits());
        assert_eq!(
            cosine_f16(&ha, &hb).to_bits(),
            k.f16.cosine(&ha, &hb).to_bits()
        );
        check_f16(&k.f16, &ha, &hb, "dispatched");
        let (ba, bb) = (random_bits(&mut rng, n, 1), random_bits(&mut rng, n, 1));
        assert_eq!(hamming(&ba, &bb), hamming_reference(&ba, &bb));
        assert_eq!(dot_bits(&ba, &bb), dot_bits_reference(&ba, &bb));
        assert_eq!(popcount(&ba), popcount_reference(&ba));
        assert_eq!(
            cosine_bits(&ba, &bb).to_bits(),
            cosine_bits_reference(&ba, &bb).to_bits()
        );
        assert_eq!(
            jaccard(&ba, &bb).to_bits(),
            jaccard_reference(&ba, &bb).to_bits()
        );
    }
}

#[test]
fn mismatched_lengths_use_the_shorter_slice() {
    // Not a supported use, but the SIMD kernels must stay in bounds.
    let a = vec![1.0f32; 37];
    let b = vec![2.0f32; 20];
    for k in available_f32_kernels().into_iter().skip(1) {
        assert_eq!(k.l2(&a, &b), 20.0, "{}", k.isa());
        assert_eq!(k.dot(&b, &a), 40.0, "{}", k.isa());
    }
    let (wa, wb) = (vec![u64::MAX; 9], vec![0u64; 5]);
    for k in available_bit_kernels().into_iter().skip(1) {
        assert_eq!(k.hamming(&wa, &wb), 320, "{}", k.isa());
    }
}

/// Vectors whose squared norms or products overflow f32 never give NaN: the
/// cosine is that of the true (f64) parts, the inner product its true value
/// (infinite only when that is beyond f32), in every kernel set.
#[test]
fn overflowing_f32_values_give_true_distances_not_nan() {
    let huge = [3e38f32, 3e38, 3e38];
    let small = [1.0f32, 2.0, 3.0];
    // cos([1,1,1], [1,2,3]) = 6 / (sqrt(3) sqrt(14))
    let want_cos = (1.0 - 6.0 / (3.0f64.sqrt() * 14.0f64.sqrt())) as f32;
    // 3e38 * 2 + (-3e38) * 2 is inf - inf in f32; the true value is 0.
    let (plus_minus, twos) = ([3e38f32, -3e38], [2.0f32, 2.0]);
    for k in available_f32_kernels() {
        let c = k.cosine(&huge, &small);
        assert!((c - want_cos).abs() < 1e-6, "{}: cosine {c}, want {want_cos}", k.isa());
        assert_eq!(k.cosine(&huge, &huge), 0.0, "{}: a vector with itself", k.isa());
        assert_eq!(k.dot(&plus_minus, &twos), 0.0, "{}", k.isa());
        assert_eq!(k.dot(&huge, &small), 1.8e39f64 as f32, "{}: beyond f32, +inf", k.isa());
        assert!(k.l2(&huge, &small).is_infinite(), "{}: squared L2 beyond f32", k.isa());
    }
    assert!((cosine_f32(&huge, &small) - want_cos).abs() < 1e-6);
    assert!(!dot_f32(&plus_minus, &twos).is_nan());
}

/// Longer vectors, so the SIMD kernels' lane accumulators overflow too.
#[test]
fn overflowing_long_vectors_give_the_f64_cosine() {
    let a: Vec<f32> = (0..67).map(|i| if i % 3 == 0 { 3e38 } else { -1e38 }).collect();
    let b: Vec<f32> = (0..67).map(|i| (i % 5) as f32 - 2.0).collect();
    let (ab, aa, bb) = dot_and_norms_f64(&a, &b);
    let want = cosine_from_parts_f64(ab, aa, bb);
    for k in available_f32_kernels() {
        let got = k.cosine(&a, &b);
        assert!(!got.is_nan() && (got - want).abs() < 1e-6, "{}: {got} vs {want}", k.isa());
        assert!(!k.dot(&a, &b).is_nan(), "{}", k.isa());
    }
}
