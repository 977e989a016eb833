//! `svector_recv`: any bytes decode or are rejected with an error, never a panic or an
//! allocation sized by an unchecked count; what decodes is sorted, in range and zero-free, and
//! encodes back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::wire::{decode_sparse, encode_sparse};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode_sparse("svector", data) {
        assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
        assert!(v.indices.iter().all(|i| *i < v.dims));
        assert!(v.values.iter().all(|x| x.is_finite() && *x != 0.0));
        assert_eq!(encode_sparse(v.as_ref()), data);
    }
});
