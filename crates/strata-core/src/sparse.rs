//! Sparse vectors (`svector`): a dimension count and the non-zero elements
//! as (index, value) pairs sorted by index.
//!
//! Text forms:
//! - sparse: `{1:0.5, 7:-2}/10`. Indices are **1-based**, as in pgvector's
//!   `sparsevec`, so `{1:x}` is the first dimension; pairs may come in any
//!   order; an index twice or outside `1..=dims` is an error; explicit zeros
//!   are accepted and dropped. `{}/10` is the all-zero vector.
//! - dense: `[0.5, 0, 0, ...]`, the form the pgvecto.rs articles insert;
//!   the element count is the dimension count.
//!
//! Output is always the sparse form with the shortest round-trip numbers.
//! Internally indices are 0-based.

use crate::error::StrataError;
use crate::vector::{parse_text_max, write_f32, Element};
use std::cmp::Ordering;

/// The most dimensions an `svector` can have (indices are stored in 32 bits;
/// the limit follows pgvecto.rs).
pub const MAX_SPARSE_DIMS: usize = 1_048_575;

const TYPE: &str = "svector";

#[derive(Clone, Debug, PartialEq)]
pub struct SparseVec {
    pub dims: u32,
    /// Strictly increasing, each `< dims`.
    pub indices: Vec<u32>,
    /// Same length as `indices`; finite and non-zero.
    pub values: Vec<f32>,
}

fn syntax(input: &str, detail: impl Into<String>) -> StrataError {
    StrataError::InvalidSyntaxDetail { type_name: TYPE, input: input.to_string(), detail: detail.into() }
}

fn ws(c: char) -> bool {
    c.is_ascii_whitespace()
}

pub fn check_sparse_dims(dims: usize) -> Result<(), StrataError> {
    if dims == 0 {
        Err(StrataError::Empty { type_name: TYPE })
    } else if dims > MAX_SPARSE_DIMS {
        Err(StrataError::TooManyDimensions { type_name: TYPE, dims, max: MAX_SPARSE_DIMS })
    } else {
        Ok(())
    }
}

fn parse_value(token: &str, input: &str) -> Result<f32, StrataError> {
    match <f32 as Element>::parse_token(token, TYPE) {
        Ok(v) => Ok(v),
        Err(Some(e)) => Err(e),
        Err(None) => Err(StrataError::InvalidSyntax { type_name: TYPE, input: input.to_string() }),
    }
}

impl SparseVec {
    /// Builds from unsorted 0-based pairs, rejecting duplicates, indices
    /// `>= dims` and non-finite values, dropping zeros. `shown` is the input
    /// quoted in error messages; `one_based` only affects how an index is
    /// reported.
    pub fn from_pairs(dims: usize, mut pairs: Vec<(u64, f32)>, shown: &str, one_based: bool) -> Result<Self, StrataError> {
        check_sparse_dims(dims)?;
        let show = |i: u64| if one_based { i + 1 } else { i };
        pairs.sort_unstable_by_key(|p| p.0);
        let mut indices = Vec::with_capacity(pairs.len());
        let mut values = Vec::with_capacity(pairs.len());
        let mut last: Option<u64> = None;
        for (i, v) in pairs {
            if i >= dims as u64 {
                return Err(syntax(shown, format!("index {} is outside 1..{dims}", show(i))));
            }
            if last == Some(i) {
                return Err(syntax(shown, format!("index {} appears twice", show(i))));
            }
            last = Some(i);
            if !v.is_finite() {
                return Err(StrataError::NotFinite { type_name: TYPE });
            }
            if v != 0.0 {
                indices.push(i as u32);
                values.push(v);
            }
        }
        Ok(SparseVec { dims: dims as u32, indices, values })
    }

    pub fn from_dense(v: &[f32]) -> Result<Self, StrataError> {
        check_sparse_dims(v.len())?;
        let mut indices = Vec::new();
        let mut values = Vec::new();
        for (i, x) in v.iter().enumerate() {
            if !x.is_finite() {
                return Err(StrataError::NotFinite { type_name: TYPE });
            }
            if *x != 0.0 {
                indices.push(i as u32);
                values.push(*x);
            }
        }
        Ok(SparseVec { dims: v.len() as u32, indices, values })
    }

    pub fn to_dense(&self) -> Vec<f32> {
        self.as_ref().to_dense()
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    pub fn parse(input: &str) -> Result<Self, StrataError> {
        let t = input.trim_matches(ws);
        if t.starts_with('[') {
            return Self::from_dense(&parse_text_max::<f32>(input, TYPE, MAX_SPARSE_DIMS)?);
        }
        let bad = || StrataError::InvalidSyntax { type_name: TYPE, input: input.to_string() };
        let rest = t.strip_prefix('{').ok_or_else(bad)?;
        let close = rest.find('}').ok_or_else(bad)?;
        let (body, tail) = (&rest[..close], &rest[close + 1..]);
        let dims_text = tail.trim_start_matches(ws).strip_prefix('/').ok_or_else(bad)?.trim_matches(ws);
        if dims_text.is_empty() || !dims_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let dims = dims_text.parse::<u64>().unwrap_or(u64::MAX).min(usize::MAX as u64) as usize;
        check_sparse_dims(dims)?;
        let mut pairs = Vec::new();
        if !body.trim_matches(ws).is_empty() {
            for item in body.split(',') {
                let (idx, val) = item.split_once(':').ok_or_else(bad)?;
                let idx = idx.trim_matches(ws);
                if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let idx: u64 = idx.parse().unwrap_or(u64::MAX);
                if idx == 0 {
                    return Err(syntax(input, format!("index 0 is outside 1..{dims}; indices start at 1")));
                }
                if pairs.len() >= dims {
                    return Err(syntax(input, format!("more than {dims} elements")));
                }
                let v = parse_value(val.trim_matches(ws), input)?;
                pairs.push((idx.saturating_sub(1), v));
            }
        }
        Self::from_pairs(dims, pairs, input, true)
    }

    pub fn format(&self) -> String {
        self.as_ref().format()
    }
}

/// A borrowed sparse vector, as stored in a datum.
#[derive(Clone, Copy, Debug)]
pub struct SparseRef<'a> {
    pub dims: u32,
    pub indices: &'a [u32],
    pub values: &'a [f32],
}

impl SparseVec {
    pub fn as_ref(&self) -> SparseRef<'_> {
        SparseRef { dims: self.dims, indices: &self.indices, values: &self.values }
    }
}

impl SparseRef<'_> {
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0.0f32; self.dims as usize];
        for (i, v) in self.indices.iter().zip(self.values) {
            out[*i as usize] = *v;
        }
        out
    }

    /// The sparse text form, `{1:0.5,7:-2}/10` (1-based indices).
    pub fn format(&self) -> String {
        let mut out = String::from("{");
        for (k, (i, v)) in self.indices.iter().zip(self.values).enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push_str(&(i + 1).to_string());
            out.push(':');
            write_f32(*v, &mut out);
        }
        out.push_str("}/");
        out.push_str(&self.dims.to_string());
        out
    }
}

/// Walks the union of two index lists in order, calling `f(index, a_value,
/// b_value)` with 0 for the side that has no element at that index.
#[inline]
fn merge_walk(a: SparseRef<'_>, b: SparseRef<'_>, mut f: impl FnMut(u32, f32, f32)) {
    let (mut i, mut j) = (0, 0);
    while i < a.indices.len() && j < b.indices.len() {
        match a.indices[i].cmp(&b.indices[j]) {
            Ordering::Less => {
                f(a.indices[i], a.values[i], 0.0);
                i += 1;
            }
            Ordering::Greater => {
                f(b.indices[j], 0.0, b.values[j]);
                j += 1;
            }
            Ordering::Equal => {
                f(a.indices[i], a.values[i], b.values[j]);
                i += 1;
                j += 1;
            }
        }
    }
    a.indices[i..].iter().zip(&a.values[i..]).for_each(|(k, v)| f(*k, *v, 0.0));
    b.indices[j..].iter().zip(&b.values[j..]).for_each(|(k, v)| f(*k, 0.0, *v));
}

/// Inner product: only indices present in both contribute.
/// Summed in `f64`, so large values never overflow into NaN (`inf - inf`).
pub fn dot(a: SparseRef<'_>, b: SparseRef<'_>) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0f64);
    while i < a.indices.len() && j < b.indices.len() {
        match a.indices[i].cmp(&b.indices[j]) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                sum += a.values[i] as f64 * b.values[j] as f64;
                i += 1;
                j += 1;
            }
        }
    }
    sum as f32
}

/// Squared Euclidean distance, summed over the union of the indices (exact,
/// not `|a|² + |b|² - 2a·b`, which cancels badly for near vectors).
pub fn l2(a: SparseRef<'_>, b: SparseRef<'_>) -> f32 {
    let mut sum = 0.0f32;
    merge_walk(a, b, |_, x, y| sum += (x - y) * (x - y));
    sum
}

/// `1 - cos`, `1.0` when either vector is all zeros (as for dense vectors).
/// Parts are summed in `f64`: squared norms of large values overflow `f32`.
pub fn cosine(a: SparseRef<'_>, b: SparseRef<'_>) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    merge_walk(a, b, |_, x, y| {
        let (x, y) = (x as f64, y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    });
    crate::distance::cosine_from_parts_f64(ab, aa, bb)
}

pub fn norm(a: SparseRef<'_>) -> f64 {
    // fold from +0: an all-zero svector stores no value, and Rust's float sum of nothing is -0.
    a.values.iter().fold(0.0f64, |s, v| s + (*v as f64) * (*v as f64)).sqrt()
}

/// Element-wise `op` of two svectors of the same dimensions (`+`, `-`, `*`),
/// over the union of their indices; zeros in the result are not stored. A
/// result that overflows `f32` is an error (22003), as for `vector`.
pub fn elementwise(a: SparseRef<'_>, b: SparseRef<'_>, op: impl Fn(f32, f32) -> f32) -> Result<SparseVec, StrataError> {
    crate::vector::check_same_dims(a.dims as usize, b.dims as usize)?;
    let mut out = SparseVec { dims: a.dims, indices: Vec::new(), values: Vec::new() };
    let mut finite = true;
    merge_walk(a, b, |k, x, y| {
        let v = op(x, y);
        finite &= v.is_finite();
        if v != 0.0 {
            out.indices.push(k);
            out.values.push(v);
        }
    });
    if !finite {
        return Err(StrataError::Overflow { type_name: TYPE });
    }
    Ok(out)
}

/// The transition state of `avg(svector)`, kept as a `float8[]` so that
/// PostgreSQL moves it between parallel workers without serialisation code:
/// `{count, dims, i_1, s_1, i_2, s_2, ...}`, the f64 sums `s` of the
/// 0-based indices `i` (strictly increasing; f64 holds every u32 exactly).
/// An empty state is the initial one. Sparse, so a row costs its own and the
/// state's non-zeros, not the dimension count (up to 1,048,575).
pub fn avg_accum(state: &[f64], v: SparseRef<'_>) -> Result<Vec<f64>, StrataError> {
    let row = [1.0, v.dims as f64]
        .into_iter()
        .chain(v.indices.iter().zip(v.values).flat_map(|(i, x)| [*i as f64, *x as f64]))
        .collect::<Vec<_>>();
    avg_combine(state, &row)
}

/// Merges two `avg(svector)` states (the combine function).
pub fn avg_combine(a: &[f64], b: &[f64]) -> Result<Vec<f64>, StrataError> {
    if a.len() < 2 {
        return Ok(b.to_vec());
    }
    if b.len() < 2 {
        return Ok(a.to_vec());
    }
    crate::vector::check_same_dims(a[1] as usize, b[1] as usize)?;
    let (pa, pb) = (&a[2..], &b[2..]);
    let mut out = Vec::with_capacity(2 + pa.len() + pb.len());
    out.extend([a[0] + b[0], a[1]]);
    let (mut i, mut j) = (0, 0);
    while i < pa.len() && j < pb.len() {
        if pa[i] < pb[j] {
            out.extend(&pa[i..i + 2]);
            i += 2;
        } else if pa[i] > pb[j] {
            out.extend(&pb[j..j + 2]);
            j += 2;
        } else {
            out.extend([pa[i], pa[i + 1] + pb[j + 1]]);
            i += 2;
            j += 2;
        }
    }
    out.extend(&pa[i..]);
    out.extend(&pb[j..]);
    Ok(out)
}

/// The mean of an `avg(svector)` state; `None` when no row was added.
/// Sums that cancel to zero are dropped (svectors store no zeros).
pub fn avg_final(state: &[f64]) -> Option<SparseVec> {
    if state.len() < 2 || state[0] == 0.0 {
        return None;
    }
    let n = state[0];
    let mut out = SparseVec { dims: state[1] as u32, indices: Vec::new(), values: Vec::new() };
    for pair in state[2..].chunks_exact(2) {
        let mean = (pair[1] / n) as f32;
        if mean != 0.0 {
            out.indices.push(pair[0] as u32);
            out.values.push(mean);
        }
    }
    Some(out)
}

/// Total order for btree: element by element from dimension 0 (zeros
/// included), then by dimension count, like the dense types.
pub fn compare(a: SparseRef<'_>, b: SparseRef<'_>) -> Ordering {
    let common = a.dims.min(b.dims);
    let (mut i, mut j) = (0, 0);
    loop {
        let ia = a.indices.get(i).copied().filter(|x| *x < common);
        let ib = b.indices.get(j).copied().filter(|x| *x < common);
        // Positions where neither has an element are equal zeros; the first
        // position where either has one decides unless the values agree.
        let (x, y) = match (ia, ib) {
            (None, None) => return a.dims.cmp(&b.dims),
            (Some(p), Some(q)) if p == q => {
                i += 1;
                j += 1;
                (a.values[i - 1], b.values[j - 1])
            }
            (Some(p), q) if q.is_none_or(|q| p < q) => {
                i += 1;
                (a.values[i - 1], 0.0)
            }
            _ => {
                j += 1;
                (0.0, b.values[j - 1])
            }
        };
        match x.partial_cmp(&y) {
            Some(Ordering::Equal) | None => {}
            Some(o) => return o,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::{cosine_f32_reference, dot_f32_reference, l2_f32_reference};

    fn sv(s: &str) -> SparseVec {
        SparseVec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_both_forms_to_the_same_value() {
        let a = sv("[0.1,0,0,0,0,0,0,0,0,0]");
        let b = sv(" { 1 : 0.1 } / 10 ");
        assert_eq!(a, b);
        assert_eq!(a.format(), "{1:0.1}/10");
        assert_eq!(sv("{}/3").format(), "{}/3");
        assert_eq!(sv("{3:2, 1:1, 2:0}/4").format(), "{1:1,3:2}/4");
    }

    #[test]
    fn round_trips_through_text() {
        let v = sv("{2:1.5,1048575:-0.25,7:3e-7}/1048575");
        assert_eq!(sv(&v.format()), v);
        assert_eq!(v.nnz(), 3);
    }

    #[test]
    fn rejects_bad_input_with_reasons() {
        let err = |s: &str| SparseVec::parse(s).unwrap_err().to_string();
        assert!(err("{1:1,1:2}/3").contains("index 1 appears twice"), "{}", err("{1:1,1:2}/3"));
        assert!(err("{4:1}/3").contains("index 4 is outside 1..3"));
        assert!(err("{0:1}/3").contains("indices start at 1"));
        assert!(err("{1:1}/0").contains("at least 1 dimension"));
        assert!(err("{1:1}/1048576").contains("cannot have more than 1048575 dimensions"));
        assert!(err("{1:nan}/3").contains("NaN"));
        assert!(err("{1:1}").contains("invalid input syntax"));
        assert!(err("{1:1}/x").contains("invalid input syntax"));
        assert!(err("{a:1}/3").contains("invalid input syntax"));
        assert!(err("{1:}/3").contains("invalid input syntax"));
        assert!(err("[]").contains("at least 1 dimension"));
        assert!(err("{-1:1}/3").contains("invalid input syntax"));
        assert_eq!(SparseVec::parse("{1:1e39}/3").unwrap_err().sqlstate().code(), "22003");
        assert_eq!(SparseVec::parse("{1:1,1:2}/3").unwrap_err().sqlstate().code(), "22P02");
    }

    #[test]
    fn distances_match_dense_reference() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for _ in 0..200 {
            let dims = 1 + (rnd() % 50) as usize;
            let mut make = || -> Vec<f32> {
                (0..dims).map(|_| if rnd() % 3 == 0 { (rnd() % 200) as f32 / 50.0 - 2.0 } else { 0.0 }).collect()
            };
            let (da, db) = (make(), make());
            let (a, b) = (SparseVec::from_dense(&da).unwrap(), SparseVec::from_dense(&db).unwrap());
            assert_eq!(a.to_dense(), da);
            let close = |x: f32, y: f32| (x - y).abs() <= 1e-4 * (1.0 + y.abs());
            assert!(close(l2(a.as_ref(), b.as_ref()), l2_f32_reference(&da, &db)));
            assert!(close(dot(a.as_ref(), b.as_ref()), dot_f32_reference(&da, &db)));
            assert!(close(cosine(a.as_ref(), b.as_ref()), cosine_f32_reference(&da, &db)));
            let dense_order = crate::vector::compare(&da, &db);
            assert_eq!(compare(a.as_ref(), b.as_ref()), dense_order, "{da:?} {db:?}");
        }
    }

    #[test]
    fn compare_orders_by_elements_then_dims() {
        let c = |x: &str, y: &str| compare(sv(x).as_ref(), sv(y).as_ref());
        assert_eq!(c("{1:1}/3", "{1:1}/3"), Ordering::Equal);
        assert_eq!(c("{2:1}/3", "{1:1}/3"), Ordering::Less);
        assert_eq!(c("{}/3", "{3:-1}/3"), Ordering::Greater);
        assert_eq!(c("{1:1}/3", "{1:1}/4"), Ordering::Less);
        assert_eq!(c("{1:1}/3", "{1:1,4:-1}/4"), Ordering::Less);
    }

    #[test]
    fn the_norm_of_the_zero_vector_is_plus_zero() {
        let n = norm(sv("{}/5").as_ref());
        assert!(n == 0.0 && n.is_sign_positive(), "{n}");
        assert_eq!(norm(sv("{1:3,9:4}/10").as_ref()), 5.0);
    }

    #[test]
    fn elementwise_ops_match_dense() {
        let a = sv("{1:1,3:2.5,5:-1}/6");
        let b = sv("{3:-2.5,4:2,5:3}/6");
        let f = |v: &SparseVec| v.format();
        assert_eq!(f(&elementwise(a.as_ref(), b.as_ref(), |x, y| x + y).unwrap()), "{1:1,4:2,5:2}/6");
        assert_eq!(f(&elementwise(a.as_ref(), b.as_ref(), |x, y| x - y).unwrap()), "{1:1,3:5,4:-2,5:-4}/6");
        assert_eq!(f(&elementwise(a.as_ref(), b.as_ref(), |x, y| x * y).unwrap()), "{3:-6.25,5:-3}/6");
        let e = elementwise(a.as_ref(), sv("{1:1}/5").as_ref(), |x, y| x + y).unwrap_err();
        assert_eq!(e.to_string(), "different vector dimensions 6 and 5");
        let big = sv("{1:3e38}/2");
        let e = elementwise(big.as_ref(), big.as_ref(), |x, y| x + y).unwrap_err();
        assert_eq!(e.sqlstate().code(), "22003");
    }

    #[test]
    fn avg_state_is_sparse_and_merges() {
        let rows = [sv("{1:1,3:3}/4"), sv("{3:1,4:4}/4"), sv("{}/4"), sv("{1:-1}/4")];
        let mut state = Vec::new();
        for r in &rows {
            state = avg_accum(&state, r.as_ref()).unwrap();
        }
        // {count, dims, then (0-based index, sum)}: index 0 sums to 0 and stays in the state.
        assert_eq!(state, [4.0, 4.0, 0.0, 0.0, 2.0, 4.0, 3.0, 4.0]);
        // {1: 0/4 (dropped), 3: 4/4, 4: 4/4}
        assert_eq!(avg_final(&state).unwrap().format(), "{3:1,4:1}/4");
        // Two partial states combine to the same state.
        let left = avg_accum(&avg_accum(&[], rows[0].as_ref()).unwrap(), rows[1].as_ref()).unwrap();
        let right = avg_accum(&avg_accum(&[], rows[2].as_ref()).unwrap(), rows[3].as_ref()).unwrap();
        assert_eq!(avg_combine(&left, &right).unwrap(), state);
        assert_eq!(avg_combine(&[], &right).unwrap(), right);
        assert_eq!(avg_final(&[]), None);
        let e = avg_accum(&state, sv("{1:1}/5").as_ref()).unwrap_err();
        assert_eq!(e.to_string(), "different vector dimensions 4 and 5");
        // Sums in f64: no overflow where f32 would.
        let big = sv("{1:3e38}/1");
        let s2 = avg_accum(&avg_accum(&[], big.as_ref()).unwrap(), big.as_ref()).unwrap();
        assert_eq!(avg_final(&s2).unwrap().format(), "{1:3e38}/1");
    }
}
