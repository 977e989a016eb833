//! `vecf16_recv`: decode or error, never a panic; what decodes encodes back to the same bytes.
#![no_main]
use half::f16;
use libfuzzer_sys::fuzz_target;
use strata_core::vector::{format_text, parse_text};
use strata_core::wire;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = wire::decode_f16("vecf16", data) {
        let mut expected = data.to_vec();
        expected[2..4].fill(0);
        assert_eq!(wire::encode_f16(&v), expected);
        let back = parse_text::<f16>(&format_text(v.iter().copied()), "vecf16").expect("text form parses");
        assert!(v.iter().zip(&back).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
});
