//! Subscripts on the vector types: `v[i]` (one element) and `v[a:b]` (a
//! slice, the same type), with pgvecto.rs's indexing: **0-based** and
//! **half-open**, so `v[a:b]` holds elements `a, a+1, ..., b-1` and has
//! `b - a` dimensions; an omitted bound is the start (`v[:b]`) or the end
//! (`v[a:]`). `v[i]` is `v[i:i+1]`'s one element.
//!
//! A slice must keep at least one element (`0 <= a < b <= dims`) and an
//! element must exist (`0 <= i < dims`). pgvecto.rs returns NULL for other
//! bounds; strata raises 2202E, so a wrong bound is not mistaken for missing
//! data. A NULL bound gives NULL, as for arrays (the glue handles that).
//!
//! svector's *text* form counts from 1 (`{1:x}` is element 0), its
//! subscripts from 0 like every other type's.

use crate::error::StrataError;
use crate::sparse::{SparseRef, SparseVec};
use bitvec::prelude::*;
use std::ops::Range;

fn show(b: Option<i64>) -> String {
    b.map(|x| x.to_string()).unwrap_or_default()
}

/// The element `v[i]` addresses, or 2202E.
pub fn element(dims: usize, i: i64) -> Result<usize, StrataError> {
    if i >= 0 && (i as u64) < dims as u64 {
        Ok(i as usize)
    } else {
        Err(StrataError::Subscript { what: format!("subscript [{i}]"), dims })
    }
}

/// The range `v[lower:upper]` addresses (bounds `None` when omitted), or 2202E.
pub fn slice(dims: usize, lower: Option<i64>, upper: Option<i64>) -> Result<Range<usize>, StrataError> {
    let start = lower.unwrap_or(0);
    let end = upper.unwrap_or(dims as i64);
    if 0 <= start && start < end && end as u64 <= dims as u64 {
        Ok(start as usize..end as usize)
    } else {
        Err(StrataError::Subscript { what: format!("slice [{}:{}]", show(lower), show(upper)), dims })
    }
}

/// Bits `range` of a bvector's words (bit `i` is bit `i % 64` of word
/// `i / 64`), packed from bit 0 of word 0 again, unused bits zero.
pub fn slice_bits(words: &[u64], range: Range<usize>) -> Vec<u64> {
    let bits = &words.view_bits::<Lsb0>()[range];
    // A fresh zeroed vector starts at bit 0 (a copy of the slice would keep its offset), and
    // the bits past the end stay zero, as the distance kernels count whole words.
    let mut out = BitVec::<u64, Lsb0>::repeat(false, bits.len());
    out.copy_from_bitslice(bits);
    out.set_uninitialized(false);
    out.into_vec()
}

/// Element `i` of a sparse vector (0 when not stored).
pub fn sparse_element(v: SparseRef<'_>, i: usize) -> f32 {
    match v.indices.binary_search(&(i as u32)) {
        Ok(k) => v.values[k],
        Err(_) => 0.0,
    }
}

/// Elements `range` of a sparse vector, renumbered from 0.
pub fn slice_sparse(v: SparseRef<'_>, range: Range<usize>) -> SparseVec {
    let from = v.indices.partition_point(|x| (*x as usize) < range.start);
    let to = v.indices.partition_point(|x| (*x as usize) < range.end);
    SparseVec {
        dims: range.len() as u32,
        indices: v.indices[from..to].iter().map(|x| x - range.start as u32).collect(),
        values: v.values[from..to].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::{bit_at, pack_bits};

    #[test]
    fn bounds_follow_pgvecto_rs() {
        // pgvecto.rs's own cases on an 8-element vector.
        assert_eq!(slice(8, Some(3), Some(6)).unwrap(), 3..6);
        assert_eq!(slice(8, None, Some(4)).unwrap(), 0..4);
        assert_eq!(slice(8, Some(5), None).unwrap(), 5..8);
        assert_eq!(slice(8, Some(1), Some(8)).unwrap(), 1..8);
        assert_eq!(slice(8, None, None).unwrap(), 0..8);
        // Where pgvecto.rs returns NULL, strata raises.
        for (lo, hi) in [(Some(5), Some(4)), (Some(9), None), (None, Some(0)), (None, Some(-1)), (Some(3), Some(3)), (Some(0), Some(9)), (Some(-1), Some(2))] {
            let e = slice(8, lo, hi).unwrap_err();
            assert_eq!(e.sqlstate().code(), "2202E");
        }
        assert_eq!(
            slice(8, Some(9), None).unwrap_err().to_string(),
            "slice [9:] is out of range for 8 dimensions"
        );
        assert_eq!(element(8, 0).unwrap(), 0);
        assert_eq!(element(8, 7).unwrap(), 7);
        assert_eq!(element(8, 8).unwrap_err().to_string(), "subscript [8] is out of range for 8 dimensions");
        assert!(element(8, -1).is_err());
        assert!(slice(8, Some(i64::MIN), Some(i64::MAX)).is_err());
    }

    #[test]
    fn bit_slices_repack_from_bit_zero() {
        let bits: Vec<bool> = (0..150).map(|i| i % 3 == 0 || i > 140).collect();
        let (_, words) = pack_bits(bits.iter().copied());
        for (a, b) in [(0, 150), (3, 6), (60, 70), (1, 129), (149, 150), (64, 128)] {
            let out = slice_bits(&words, a..b);
            assert_eq!(out.len(), (b - a).div_ceil(64), "{a}..{b}");
            for i in 0..b - a {
                assert_eq!(bit_at(&out, i), bits[a + i], "{a}..{b} bit {i}");
            }
            // Nothing set past the end.
            let ones: u32 = out.iter().map(|w| w.count_ones()).sum();
            assert_eq!(ones as usize, bits[a..b].iter().filter(|x| **x).count());
        }
    }

    #[test]
    fn sparse_slices_renumber() {
        let v = SparseVec::parse("{2:2, 4:4, 7:7}/8").unwrap(); // 0-based 1, 3, 6
        assert_eq!(slice_sparse(v.as_ref(), 3..7).format(), "{1:4,4:7}/4");
        assert_eq!(slice_sparse(v.as_ref(), 4..6).format(), "{}/2");
        assert_eq!(slice_sparse(v.as_ref(), 0..8), v);
        assert_eq!(sparse_element(v.as_ref(), 1), 2.0);
        assert_eq!(sparse_element(v.as_ref(), 2), 0.0);
        assert_eq!(sparse_element(v.as_ref(), 6), 7.0);
    }
}
