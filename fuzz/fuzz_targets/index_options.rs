//! The `WITH (options = $$...$$)` string of a vectors index: parse or error, never a panic;
//! accepted values are within their documented ranges.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::options::{parse, EF_CONSTRUCTION_RANGE, M_RANGE};

fuzz_target!(|data: &[u8]| {
    // Reloption strings reach the parser as (server-encoding) text; only UTF-8 is meaningful.
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(o) = parse(text) {
        if let Some(m) = o.m {
            assert!((M_RANGE.0..=M_RANGE.1).contains(&m));
        }
        if let Some(ef) = o.ef_construction {
            assert!((EF_CONSTRUCTION_RANGE.0..=EF_CONSTRUCTION_RANGE.1).contains(&ef));
        }
    }
});
