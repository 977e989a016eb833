//! Element types and metrics ("spaces") the graph can be built over.
//!
//! A [`Space`] fixes the element type of the stored vectors and the distance
//! the graph orders by (smaller is closer). Every space calls the public
//! kernels of `strata_core::distance`, so SIMD versions there speed up the
//! engine without changes here.
//!
//! | space          | element | distance                                   |
//! |----------------|---------|--------------------------------------------|
//! | [`L2F32`]      | `f32`   | squared Euclidean                          |
//! | [`DotF32`]     | `f32`   | negative inner product                     |
//! | [`CosineF32`]  | `f32`   | `1 - cos`; vectors are pre-normalised, see below |
//! | [`L2F16`]      | `f16`   | squared Euclidean                          |
//! | [`DotF16`]     | `f16`   | negative inner product                     |
//! | [`CosineF16`]  | `f16`   | `1 - cos` (`1.0` when a norm is zero)       |
//! | [`HammingBits`]| `u64`   | differing bits (= squared L2 on 0/1)       |
//! | [`DotBits`]    | `u64`   | negative count of common bits              |
//! | [`CosineBits`] | `u64`   | `1 - cos` over 0/1                         |
//! | [`JaccardBits`]| `u64`   | `1 - |a&b| / |a|b|`                        |
//! | [`L2I8`]       | `u8`    | squared Euclidean of int8 codes x scale    |
//! | [`DotI8`]      | `u8`    | negative inner product of the same         |
//! | [`CosineI8`]   | `u8`    | `1 - cos` of the codes (scales cancel)     |
//!
//! Bit vectors are packed little-endian into `u64` words, bits past the
//! logical dimension zero; the engine only sees the word count.
//!
//! `CosineF32` normalises every stored vector and every query to unit length
//! once ([`Space::prepare`]) and then uses `1 - dot`, which equals
//! `cosine_f32` up to rounding and costs one accumulator instead of three. A
//! zero vector stays zero and so gets distance `1.0`, as `cosine_f32` defines.
//! The stored (and serialised) copy of such a vector is therefore the
//! normalised one.

use half::f16;
use strata_core::distance as k;
use strata_core::int8 as i8k;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::f16 {}
    impl Sealed for u64 {}
    impl Sealed for u8 {}
}

/// Kind of element, as recorded in the page format's meta page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ElementKind {
    F32 = 1,
    F16 = 2,
    /// Packed bits, little-endian `u64` words.
    Bits = 3,
    /// An int8-quantised vector as bytes: scale, sum of squares, codes
    /// (`strata_core::int8`); the engine's element count is `8 + dims`.
    I8 = 4,
}

impl ElementKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::F32),
            2 => Some(Self::F16),
            3 => Some(Self::Bits),
            4 => Some(Self::I8),
            _ => None,
        }
    }
}

/// Metric, as recorded in the page format's meta page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Metric {
    /// Squared Euclidean (Hamming on bits).
    L2 = 1,
    /// Negative inner product.
    Dot = 2,
    Cosine = 3,
    Jaccard = 4,
}

impl Metric {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::L2),
            2 => Some(Self::Dot),
            3 => Some(Self::Cosine),
            4 => Some(Self::Jaccard),
            _ => None,
        }
    }
}

/// A vector element: `f32`, `half::f16`, a `u64` word of packed bits, or a
/// byte of an int8-quantised vector.
///
/// Sealed: the engine reinterprets page bytes as slices of these types, which
/// is sound only because every bit pattern of them is a valid value and they
/// have no padding.
pub trait Element:
    sealed::Sealed + Copy + Send + Sync + Default + PartialEq + std::fmt::Debug + 'static
{
    const SIZE: usize;
    const KIND: ElementKind;
    /// Native-endian bytes (little-endian on every platform strata supports).
    fn write_ne(self, out: &mut [u8]);
    fn read_ne(b: &[u8]) -> Self;
}

impl Element for f32 {
    const SIZE: usize = 4;
    const KIND: ElementKind = ElementKind::F32;
    fn write_ne(self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.to_ne_bytes());
    }
    fn read_ne(b: &[u8]) -> Self {
        f32::from_ne_bytes(b[..4].try_into().unwrap())
    }
}

impl Element for f16 {
    const SIZE: usize = 2;
    const KIND: ElementKind = ElementKind::F16;
    fn write_ne(self, out: &mut [u8]) {
        out[..2].copy_from_slice(&self.to_bits().to_ne_bytes());
    }
    fn read_ne(b: &[u8]) -> Self {
        f16::from_bits(u16::from_ne_bytes(b[..2].try_into().unwrap()))
    }
}

impl Element for u64 {
    const SIZE: usize = 8;
    const KIND: ElementKind = ElementKind::Bits;
    fn write_ne(self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.to_ne_bytes());
    }
    fn read_ne(b: &[u8]) -> Self {
        u64::from_ne_bytes(b[..8].try_into().unwrap())
    }
}

impl Element for u8 {
    const SIZE: usize = 1;
    const KIND: ElementKind = ElementKind::I8;
    fn write_ne(self, out: &mut [u8]) {
        out[0] = self;
    }
    fn read_ne(b: &[u8]) -> Self {
        b[0]
    }
}

/// Reinterprets `bytes` as elements when the slice is suitably aligned and
/// sized, without copying.
pub(crate) fn cast_elems<E: Element>(bytes: &[u8]) -> Option<&[E]> {
    // SAFETY: `E` is sealed to f32, f16 (a transparent u16), u64 and u8: plain
    // old data without padding for which every bit pattern is valid.
    let (pre, mid, post) = unsafe { bytes.align_to::<E>() };
    if pre.is_empty() && post.is_empty() {
        Some(mid)
    } else {
        None
    }
}

/// Element type plus distance function. Smaller distances are closer.
pub trait Space: Copy + Clone + Default + Send + Sync + 'static {
    type Elem: Element;
    const METRIC: Metric;
    /// Whether [`Space::prepare`] changes vectors (queries are then copied).
    const PREPARES: bool = false;
    fn distance(a: &[Self::Elem], b: &[Self::Elem]) -> f32;
    /// Transformation applied once to every stored vector and every query.
    fn prepare(_v: &mut [Self::Elem]) {}
}

macro_rules! space {
    ($(#[$doc:meta])* $name:ident, $elem:ty, $metric:expr, |$a:ident, $b:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;
        impl Space for $name {
            type Elem = $elem;
            const METRIC: Metric = $metric;
            #[inline(always)]
            fn distance($a: &[$elem], $b: &[$elem]) -> f32 {
                $body
            }
        }
    };
}

space!(/// Squared Euclidean over `f32`.
    L2F32, f32, Metric::L2, |a, b| k::l2_f32(a, b));
space!(/// Negative inner product over `f32`.
    DotF32, f32, Metric::Dot, |a, b| -k::dot_f32(a, b));
space!(/// Squared Euclidean over `f16`.
    L2F16, f16, Metric::L2, |a, b| k::l2_f16(a, b));
space!(/// Negative inner product over `f16`.
    DotF16, f16, Metric::Dot, |a, b| -k::dot_f16(a, b));
space!(/// Cosine distance over `f16`.
    CosineF16, f16, Metric::Cosine, |a, b| k::cosine_f16(a, b));
space!(/// Squared Euclidean over int8 codes (see `strata_core::int8`).
    L2I8, u8, Metric::L2, |a, b| i8k::l2(i8k::I8Ref::new(a), i8k::I8Ref::new(b)));
space!(/// Negative inner product over int8 codes.
    DotI8, u8, Metric::Dot, |a, b| -i8k::dot(i8k::I8Ref::new(a), i8k::I8Ref::new(b)));
space!(/// Cosine distance over int8 codes.
    CosineI8, u8, Metric::Cosine, |a, b| i8k::cosine(i8k::I8Ref::new(a), i8k::I8Ref::new(b)));
space!(/// Hamming distance over packed bits.
    HammingBits, u64, Metric::L2, |a, b| k::hamming(a, b) as f32);
space!(/// Negative number of common bits.
    DotBits, u64, Metric::Dot, |a, b| -(k::dot_bits(a, b) as f32));
space!(/// Cosine distance over packed bits.
    CosineBits, u64, Metric::Cosine, |a, b| k::cosine_bits(a, b));
space!(/// Jaccard distance over packed bits.
    JaccardBits, u64, Metric::Jaccard, |a, b| k::jaccard(a, b));

/// Cosine distance over `f32`, computed as `1 - dot` of unit vectors.
#[derive(Clone, Copy, Debug, Default)]
pub struct CosineF32;

impl Space for CosineF32 {
    type Elem = f32;
    const METRIC: Metric = Metric::Cosine;
    const PREPARES: bool = true;
    #[inline(always)]
    fn distance(a: &[f32], b: &[f32]) -> f32 {
        1.0 - k::dot_f32(a, b)
    }
    fn prepare(v: &mut [f32]) {
        let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            for x in v.iter_mut() {
                *x = (*x as f64 / norm) as f32;
            }
        }
    }
}

/// Runs `$body` with the type alias `$S` bound to the [`Space`] of a
/// run-time `(ElementKind, Metric)` pair (as read from an opclass or a meta
/// page), giving `Some(result)`, or `None` for a pair with no space (Jaccard
/// over floats).
///
/// ```
/// use strata_hnsw::{with_space, ElementKind, Metric, Space};
/// let name = with_space!(ElementKind::F16, Metric::Cosine, S => std::any::type_name::<S>());
/// assert!(name.unwrap().ends_with("CosineF16"));
/// assert!(with_space!(ElementKind::F32, Metric::Jaccard, S => 0).is_none());
/// ```
#[macro_export]
macro_rules! with_space {
    ($elem:expr, $metric:expr, $S:ident => $body:expr) => {{
        use $crate::{ElementKind as __E, Metric as __M};
        match ($elem, $metric) {
            (__E::F32, __M::L2) => {
                type $S = $crate::L2F32;
                Some($body)
            }
            (__E::F32, __M::Dot) => {
                type $S = $crate::DotF32;
                Some($body)
            }
            (__E::F32, __M::Cosine) => {
                type $S = $crate::CosineF32;
                Some($body)
            }
            (__E::F16, __M::L2) => {
                type $S = $crate::L2F16;
                Some($body)
            }
            (__E::F16, __M::Dot) => {
                type $S = $crate::DotF16;
                Some($body)
            }
            (__E::F16, __M::Cosine) => {
                type $S = $crate::CosineF16;
                Some($body)
            }
            (__E::I8, __M::L2) => {
                type $S = $crate::L2I8;
                Some($body)
            }
            (__E::I8, __M::Dot) => {
                type $S = $crate::DotI8;
                Some($body)
            }
            (__E::I8, __M::Cosine) => {
                type $S = $crate::CosineI8;
                Some($body)
            }
            (__E::Bits, __M::L2) => {
                type $S = $crate::HammingBits;
                Some($body)
            }
            (__E::Bits, __M::Dot) => {
                type $S = $crate::DotBits;
                Some($body)
            }
            (__E::Bits, __M::Cosine) => {
                type $S = $crate::CosineBits;
                Some($body)
            }
            (__E::Bits, __M::Jaccard) => {
                type $S = $crate::JaccardBits;
                Some($body)
            }
            _ => None,
        }
    }};
}

/// A query made ready for a space: borrowed when the space does not prepare.
pub(crate) fn prepared_query<S: Space>(q: &[S::Elem]) -> std::borrow::Cow<'_, [S::Elem]> {
    if S::PREPARES {
        let mut v = q.to_vec();
        S::prepare(&mut v);
        std::borrow::Cow::Owned(v)
    } else {
        std::borrow::Cow::Borrowed(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_prepared_matches_kernel() {
        let a = [1.0f32, 2.0, -3.0, 0.5];
        let b = [0.3f32, -1.0, 2.0, 4.0];
        let (mut pa, mut pb) = (a, b);
        CosineF32::prepare(&mut pa);
        CosineF32::prepare(&mut pb);
        let d = CosineF32::distance(&pa, &pb);
        assert!((d - k::cosine_f32(&a, &b)).abs() < 1e-6);
        let mut z = [0.0f32; 4];
        CosineF32::prepare(&mut z);
        assert_eq!(CosineF32::distance(&z, &pa), 1.0);
    }

    /// Recall floor of the int8 spaces against exact search over the same
    /// codes, on clustered data (the graph must work with the quantised
    /// distances as its metric).
    #[test]
    fn int8_spaces_reach_recall_floor() {
        use crate::{Hnsw, Params};
        let (n, dims, nq) = (2000usize, 32usize, 50usize);
        let mut s = 99u64;
        let mut r = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let centres: Vec<Vec<f32>> = (0..20).map(|_| (0..dims).map(|_| r() * 4.0).collect()).collect();
        let mut point = |i: usize| -> Vec<f32> { centres[i % 20].iter().map(|c| c + r()).collect() };
        let encode = |v: &[f32]| strata_core::int8::encode_f32(v);
        let base: Vec<Vec<u8>> = (0..n).map(|i| encode(&point(i))).collect();
        let queries: Vec<Vec<u8>> = (0..nq).map(|i| encode(&point(i * 7))).collect();
        let flat: Vec<u8> = base.iter().flatten().copied().collect();
        fn check<S: Space<Elem = u8>>(flat: &[u8], base: &[Vec<u8>], queries: &[Vec<u8>]) -> f64 {
            let g = Hnsw::<S>::build(&Params { threads: 1, ..Params::default() }, base[0].len(), flat, None);
            let mut hits = 0;
            for q in queries {
                let mut exact: Vec<(f32, usize)> = base.iter().enumerate().map(|(i, b)| (S::distance(q, b), i)).collect();
                exact.sort_by(|a, b| a.partial_cmp(b).unwrap());
                let kth = exact[9].0;
                let got = g.search(q, 10, 64);
                hits += got.iter().filter(|nb| S::distance(q, &base[nb.id as usize]) <= kth).count();
            }
            hits as f64 / (10 * queries.len()) as f64
        }
        for (name, recall) in [
            ("l2", check::<L2I8>(&flat, &base, &queries)),
            ("dot", check::<DotI8>(&flat, &base, &queries)),
            ("cosine", check::<CosineI8>(&flat, &base, &queries)),
        ] {
            assert!(recall >= 0.95, "{name}: recall {recall}");
        }
    }
}
