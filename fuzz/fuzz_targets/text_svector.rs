//! `svector_in`: any input (sparse or dense form) is parsed or rejected with an error, never a
//! panic; what parses is sorted, zero-free and in range, and prints and parses back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::sparse::{SparseVec, MAX_SPARSE_DIMS};

fuzz_target!(|data: &[u8]| {
    let input = std::str::from_utf8(data).unwrap_or("\u{FFFD}");
    if let Ok(v) = SparseVec::parse(input) {
        assert!(v.dims >= 1 && v.dims as usize <= MAX_SPARSE_DIMS);
        assert_eq!(v.indices.len(), v.values.len());
        assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
        assert!(v.indices.iter().all(|i| *i < v.dims));
        assert!(v.values.iter().all(|x| x.is_finite() && *x != 0.0));
        let back = SparseVec::parse(&v.format()).expect("output parses");
        assert_eq!(back, v);
    }
});
