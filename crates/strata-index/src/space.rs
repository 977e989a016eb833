//! What an operator class tells the index about its column: the element
//! type the index stores, the metric, and whether the column is an
//! `svector` that the index stores densified. Each `vectors` operator class
//! has a support function (number 2) returning this as an int4 code.

use strata_hnsw::{ElementKind, Metric};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexSpace {
    pub kind: ElementKind,
    pub metric: Metric,
    /// The column is an `svector`; the index stores its dense f32 form.
    pub sparse: bool,
}

/// Set in the code when the column is an `svector`.
const SPARSE: i32 = 1 << 16;

impl IndexSpace {
    /// `element kind | metric << 8 | sparse << 16`.
    pub const fn code(self) -> i32 {
        self.kind as i32 | (self.metric as i32) << 8 | if self.sparse { SPARSE } else { 0 }
    }

    /// Decodes a support function's result; None when it is no space the
    /// engine has (or a sparse column of other than f32).
    pub fn from_code(code: i32) -> Option<IndexSpace> {
        if code & !(0xffff | SPARSE) != 0 {
            return None;
        }
        let space = IndexSpace {
            kind: ElementKind::from_u8(code as u8)?,
            metric: Metric::from_u8((code >> 8) as u8)?,
            sparse: code & SPARSE != 0,
        };
        let valid = strata_hnsw::with_space!(space.kind, space.metric, S => ()).is_some()
            && (!space.sparse || space.kind == ElementKind::F32);
        valid.then_some(space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_reject_what_has_no_space() {
        use ElementKind::*;
        use Metric::*;
        let all = [
            (F32, L2, false), (F32, Dot, false), (F32, Cosine, false), (F32, L2, true), (F32, Cosine, true),
            (F16, L2, false), (F16, Dot, false), (I8, Cosine, false), (Bits, L2, false), (Bits, Jaccard, false),
        ];
        for (kind, metric, sparse) in all {
            let s = IndexSpace { kind, metric, sparse };
            assert_eq!(IndexSpace::from_code(s.code()), Some(s), "{s:?}");
        }
        assert_eq!(IndexSpace { kind: F32, metric: Dot, sparse: true }.code(), 0x1_02_01);
        assert_eq!(IndexSpace::from_code(IndexSpace { kind: F16, metric: L2, sparse: true }.code()), None);
        assert_eq!(IndexSpace::from_code(IndexSpace { kind: F32, metric: Jaccard, sparse: false }.code()), None);
        assert_eq!(IndexSpace::from_code(0), None);
        assert_eq!(IndexSpace::from_code(-1), None);
        assert_eq!(IndexSpace::from_code(0x0101 | 1 << 20), None);
    }
}
