//! `vecf16_in`: parse or error, never a panic; what parses prints and parses back exactly.
#![no_main]
use half::f16;
use libfuzzer_sys::fuzz_target;
use strata_core::vector::{format_text, parse_text};

fuzz_target!(|data: &[u8]| {
    let input = std::str::from_utf8(data).unwrap_or("\u{FFFD}");
    if let Ok(v) = parse_text::<f16>(input, "vecf16") {
        assert!(!v.is_empty() && v.len() <= strata_core::vector::MAX_DIMS);
        assert!(v.iter().all(|x| x.is_finite()));
        let text = format_text(v.iter().copied());
        let back = parse_text::<f16>(&text, "vecf16").expect("output parses");
        assert!(v.iter().zip(&back).all(|(a, b)| a.to_bits() == b.to_bits()) && v.len() == back.len());
    }
});
