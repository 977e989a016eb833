//! `bvector_recv`: decode or error, never a panic; what decodes encodes back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::vector::words_for_bits;
use strata_core::wire;

fuzz_target!(|data: &[u8]| {
    if let Ok((dims, words)) = wire::decode_bits("bvector", data) {
        assert_eq!(words.len(), words_for_bits(dims));
        let mut expected = data.to_vec();
        expected[2..4].fill(0);
        assert_eq!(wire::encode_bits(dims, &words), expected);
    }
});
