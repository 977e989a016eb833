//! Text forms and element-wise arithmetic of the vector types, independent of
//! how PostgreSQL stores them.
//!
//! Text form: `[e1, e2, ...]`, whitespace allowed around brackets and numbers.
//! Output is the shortest text that reads back to the identical value.

use crate::error::StrataError;
use half::f16;
use std::cmp::Ordering;
use std::fmt::Write;

/// The most dimensions a `vector`, `vecf16` or `bvector` can have (the
/// dimension count is stored in 16 bits).
pub const MAX_DIMS: usize = 65535;

/// An element type with a text form.
pub trait Element: Copy {
    /// Parses one trimmed token. `Err(None)` means malformed syntax,
    /// `Err(Some(e))` a specific error.
    fn parse_token(token: &str, type_name: &'static str) -> Result<Self, Option<StrataError>>;
    fn write_text(self, out: &mut String);
}

fn has_nonzero_digit(token: &str) -> bool {
    token
        .chars()
        .take_while(|c| *c != 'e' && *c != 'E')
        .any(|c| ('1'..='9').contains(&c))
}

/// Rejects the words Rust's float parser accepts but SQL input must not. Without allocating:
/// it runs on every element of every vector read from text.
fn is_non_finite_word(token: &str) -> bool {
    let t = token.trim_start_matches(['+', '-']);
    ["nan", "inf", "infinity"].iter().any(|w| t.eq_ignore_ascii_case(w))
}

fn parse_f32_token(token: &str, type_name: &'static str) -> Result<f32, Option<StrataError>> {
    if is_non_finite_word(token) {
        return Err(Some(StrataError::NotFinite { type_name }));
    }
    // Rust's parser also accepts a leading '+', digits with '.', and exponents,
    // which is the same language as PostgreSQL's float4in (minus hex floats).
    let v: f32 = token.parse().map_err(|_| None)?;
    if v.is_infinite() || (v == 0.0 && has_nonzero_digit(token)) {
        return Err(Some(StrataError::OutOfRange { type_name, value: token.to_string() }));
    }
    Ok(v)
}

/// Shortest round-trip text of an f32: plain notation for ordinary magnitudes,
/// scientific notation for very large or small ones.
pub fn write_f32(v: f32, out: &mut String) {
    let a = v.abs();
    if a == 0.0 || (1e-6..1e15).contains(&a) {
        write!(out, "{v}").unwrap();
    } else {
        write!(out, "{v:e}").unwrap();
    }
}

impl Element for f32 {
    fn parse_token(token: &str, type_name: &'static str) -> Result<Self, Option<StrataError>> {
        parse_f32_token(token, type_name)
    }
    fn write_text(self, out: &mut String) {
        write_f32(self, out)
    }
}

impl Element for f16 {
    fn parse_token(token: &str, type_name: &'static str) -> Result<Self, Option<StrataError>> {
        let v = parse_f32_token(token, type_name)?;
        let h = f16::from_f32(v);
        if h.is_infinite() {
            return Err(Some(StrataError::OutOfRange { type_name, value: token.to_string() }));
        }
        Ok(h)
    }
    fn write_text(self, out: &mut String) {
        // Every f16 is exactly representable as f32, and the shortest f32 text
        // may not be the shortest f16 text: search the shortest precision
        // that reads back to the same half.
        let v = self.to_f32();
        for digits in 1..=5 {
            let s = format!("{v:.*e}", digits - 1);
            let back: f32 = s.parse().unwrap();
            if f16::from_f32(back) == self {
                let shortest: f32 = back;
                write_f32(shortest, out);
                return;
            }
        }
        write_f32(v, out);
    }
}

/// A bit; the text form is `0` or `1`.
impl Element for bool {
    fn parse_token(token: &str, _type_name: &'static str) -> Result<Self, Option<StrataError>> {
        match token {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(None),
        }
    }
    fn write_text(self, out: &mut String) {
        out.push(if self { '1' } else { '0' });
    }
}

/// Parses `[a, b, ...]` into elements.
pub fn parse_text<E: Element>(input: &str, type_name: &'static str) -> Result<Vec<E>, StrataError> {
    parse_text_max(input, type_name, MAX_DIMS)
}

/// [`parse_text`] for a type with another dimension limit (the dense text
/// form of `svector`).
pub fn parse_text_max<E: Element>(input: &str, type_name: &'static str, max_dims: usize) -> Result<Vec<E>, StrataError> {
    let syntax = || StrataError::InvalidSyntax { type_name, input: input.to_string() };
    let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(syntax)?;
    if inner.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty() {
        return Err(StrataError::Empty { type_name });
    }
    let mut out = Vec::new();
    for token in inner.split(',') {
        let token = token.trim_matches(|c: char| c.is_ascii_whitespace());
        if out.len() == max_dims {
            return Err(StrataError::TooManyDimensions {
                type_name,
                dims: inner.split(',').count(),
                max: max_dims,
            });
        }
        match E::parse_token(token, type_name) {
            Ok(e) => out.push(e),
            Err(Some(e)) => return Err(e),
            Err(None) => return Err(syntax()),
        }
    }
    Ok(out)
}

pub fn format_text<E: Element>(elements: impl IntoIterator<Item = E>) -> String {
    let mut out = String::from("[");
    for (i, e) in elements.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        e.write_text(&mut out);
    }
    out.push(']');
    out
}

/// Checks a dimension count against the limits of the types.
pub fn check_dims(type_name: &'static str, dims: usize) -> Result<(), StrataError> {
    if dims == 0 {
        Err(StrataError::Empty { type_name })
    } else if dims > MAX_DIMS {
        Err(StrataError::TooManyDimensions { type_name, dims, max: MAX_DIMS })
    } else {
        Ok(())
    }
}

/// Checks a value's dimensions against a column typmod (`-1` = unsized).
pub fn check_typmod(typmod: i32, dims: usize) -> Result<(), StrataError> {
    if typmod >= 0 && typmod as usize != dims {
        Err(StrataError::WrongDimensions { expected: typmod as usize, actual: dims })
    } else {
        Ok(())
    }
}

pub fn check_same_dims(left: usize, right: usize) -> Result<(), StrataError> {
    if left != right {
        Err(StrataError::DimensionMismatch { left, right })
    } else {
        Ok(())
    }
}

/// Element-wise arithmetic on f32, refusing overflow to infinity.
pub fn elementwise_f32(
    a: &[f32],
    b: &[f32],
    type_name: &'static str,
    op: impl Fn(f32, f32) -> f32,
) -> Result<Vec<f32>, StrataError> {
    check_same_dims(a.len(), b.len())?;
    let out: Vec<f32> = a.iter().zip(b).map(|(x, y)| op(*x, *y)).collect();
    if out.iter().any(|v| !v.is_finite()) {
        return Err(StrataError::Overflow { type_name });
    }
    Ok(out)
}

pub fn elementwise_f16(
    a: &[f16],
    b: &[f16],
    type_name: &'static str,
    op: impl Fn(f32, f32) -> f32,
) -> Result<Vec<f16>, StrataError> {
    check_same_dims(a.len(), b.len())?;
    let out: Vec<f16> = a.iter().zip(b).map(|(x, y)| f16::from_f32(op(x.to_f32(), y.to_f32()))).collect();
    if out.iter().any(|v| !v.is_finite()) {
        return Err(StrataError::Overflow { type_name });
    }
    Ok(out)
}

/// The btree order: element by element, then the shorter vector first.
pub fn compare<T: PartialOrd>(a: &[T], b: &[T]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.partial_cmp(y) {
            Some(Ordering::Equal) | None => {}
            Some(o) => return o,
        }
    }
    a.len().cmp(&b.len())
}

pub fn norm_f32(a: &[f32]) -> f64 {
    a.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>().sqrt()
}

/// Unit vector in the direction of `a`; the zero vector stays zero.
pub fn normalize_f32(a: &[f32]) -> Vec<f32> {
    let n = norm_f32(a);
    if n == 0.0 {
        return a.to_vec();
    }
    a.iter().map(|x| (*x as f64 / n) as f32).collect()
}

/// Packed bits: little-endian within `u64` words, bits past `dims` zero.
pub fn pack_bits(bits: impl IntoIterator<Item = bool>) -> (usize, Vec<u64>) {
    let mut words = Vec::new();
    let mut dims = 0usize;
    for b in bits {
        if dims % 64 == 0 {
            words.push(0u64);
        }
        if b {
            *words.last_mut().unwrap() |= 1u64 << (dims % 64);
        }
        dims += 1;
    }
    (dims, words)
}

pub fn bit_at(words: &[u64], i: usize) -> bool {
    words[i / 64] >> (i % 64) & 1 == 1
}

pub fn words_for_bits(dims: usize) -> usize {
    dims.div_ceil(64)
}

/// The bit vector with a bit set wherever the element is positive.
pub fn binarize_f32(a: &[f32]) -> (usize, Vec<u64>) {
    pack_bits(a.iter().map(|x| *x > 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(s: &str) -> Result<Vec<f32>, StrataError> {
        parse_text::<f32>(s, "vector")
    }

    #[test]
    fn parses_whitespace_and_exponents() {
        assert_eq!(f32s(" [ 1 , 2.5,-3 ] ").unwrap(), vec![1.0, 2.5, -3.0]);
        assert_eq!(f32s("[1e3,+2,.5,5.]").unwrap(), vec![1000.0, 2.0, 0.5, 5.0]);
    }

    #[test]
    fn rejects_bad_input_with_the_right_error() {
        for bad in ["[1,,2]", "1,2", "[1,2", "[1,2]x", "[a]", "[1 2]", "[", ""] {
            assert_eq!(f32s(bad).unwrap_err().sqlstate().code(), "22P02", "{bad}");
        }
        assert_eq!(f32s("[]").unwrap_err(), StrataError::Empty { type_name: "vector" });
        assert_eq!(f32s("[NaN]").unwrap_err().sqlstate().code(), "22023");
        assert_eq!(f32s("[-Infinity]").unwrap_err().sqlstate().code(), "22023");
        assert_eq!(f32s("[1e39]").unwrap_err().sqlstate().code(), "22003");
        assert_eq!(f32s("[1e-50]").unwrap_err().sqlstate().code(), "22003");
        assert_eq!(parse_text::<f16>("[70000]", "vecf16").unwrap_err().sqlstate().code(), "22003");
        assert_eq!(parse_text::<bool>("[1,2]", "bvector").unwrap_err().sqlstate().code(), "22P02");
    }

    #[test]
    fn too_many_dimensions() {
        let s = format!("[{}]", vec!["1"; MAX_DIMS + 1].join(","));
        assert_eq!(f32s(&s).unwrap_err().sqlstate().code(), "22023");
        let s = format!("[{}]", vec!["1"; MAX_DIMS].join(","));
        assert_eq!(f32s(&s).unwrap().len(), MAX_DIMS);
    }

    #[test]
    fn output_round_trips_exactly() {
        let mut x = 0x1234_5678u32;
        let mut values = vec![0.1f32, -0.0, 1.0, 3.4028235e38, 1.0e-45, 1.17549435e-38, 123456.79];
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let v = f32::from_bits(x);
            if v.is_finite() {
                values.push(v);
            }
        }
        let text = format_text(values.iter().copied());
        let back = f32s(&text).unwrap();
        for (a, b) in values.iter().zip(&back) {
            assert_eq!(a.to_bits(), b.to_bits(), "{a} came back as {b}");
        }
        assert_eq!(format_text([1.0f32, 2.5, -3.0]), "[1,2.5,-3]");
    }

    #[test]
    fn f16_output_is_short_and_exact() {
        let all: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).filter(|h| h.is_finite()).collect();
        let text = format_text(all.iter().copied());
        let back = parse_text::<f16>(&text, "vecf16").unwrap();
        for (a, b) in all.iter().zip(&back) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        assert_eq!(format_text([f16::from_f32(0.1)]), "[0.1]");
    }

    #[test]
    fn bits_pack_and_binarize() {
        let bits = parse_text::<bool>("[1,0,1]", "bvector").unwrap();
        let (dims, words) = pack_bits(bits);
        assert_eq!((dims, words.clone()), (3, vec![0b101]));
        assert_eq!(format_text((0..dims).map(|i| bit_at(&words, i))), "[1,0,1]");
        assert_eq!(binarize_f32(&[0.5, -1.0, 0.0, 2.0]), (4, vec![0b1001]));
    }

    #[test]
    fn ordering_and_arithmetic() {
        assert_eq!(compare(&[1.0, 2.0], &[1.0, 3.0]), Ordering::Less);
        assert_eq!(compare(&[1.0, 2.0], &[1.0, 2.0, 0.0]), Ordering::Less);
        assert_eq!(compare(&[2.0], &[1.0, 2.0]), Ordering::Greater);
        assert_eq!(elementwise_f32(&[1.0], &[2.0], "vector", |a, b| a + b).unwrap(), vec![3.0]);
        assert_eq!(
            elementwise_f32(&[3e38], &[3e38], "vector", |a, b| a + b).unwrap_err().sqlstate().code(),
            "22003"
        );
        assert_eq!(
            elementwise_f32(&[1.0], &[1.0, 2.0], "vector", |a, b| a + b).unwrap_err().to_string(),
            "different vector dimensions 1 and 2"
        );
        assert_eq!(normalize_f32(&[3.0, 4.0]), vec![0.6, 0.8]);
    }
}
