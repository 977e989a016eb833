//! `bvector_in`: parse or error, never a panic; packed bits print back to the same text form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::vector::{bit_at, format_text, pack_bits, parse_text, words_for_bits};

fuzz_target!(|data: &[u8]| {
    let input = std::str::from_utf8(data).unwrap_or("\u{FFFD}");
    if let Ok(bits) = parse_text::<bool>(input, "bvector") {
        let (dims, words) = pack_bits(bits.iter().copied());
        assert_eq!(dims, bits.len());
        assert_eq!(words.len(), words_for_bits(dims));
        if dims % 64 != 0 {
            assert_eq!(words[words.len() - 1] >> (dims % 64), 0, "bits past the last dimension");
        }
        let text = format_text((0..dims).map(|i| bit_at(&words, i)));
        assert_eq!(parse_text::<bool>(&text, "bvector").expect("output parses"), bits);
    }
});
