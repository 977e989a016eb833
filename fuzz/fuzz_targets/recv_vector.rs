//! `vector_recv`: any bytes decode or error, never a panic or an over-read; what decodes
//! encodes (send) to the same bytes, apart from the unchecked reserved field, and its text form
//! reads back to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::vector::{format_text, parse_text};
use strata_core::wire;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = wire::decode_f32("vector", data) {
        let mut expected = data.to_vec();
        expected[2..4].fill(0);
        assert_eq!(wire::encode_f32(&v), expected);
        let back = parse_text::<f32>(&format_text(v.iter().copied()), "vector").expect("text form parses");
        assert!(v.iter().zip(&back).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
});
