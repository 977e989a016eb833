//! veci8 binary input: any encoded vector is accepted by `int8::validate` or rejected, never a
//! panic; distances between accepted vectors are finite and agree with the dequantised f32
//! distances.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::int8::{self, I8Ref};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let half = data.len() / 2;
    let (a, b) = data.split_at(half);
    let n = a.len().min(b.len());
    if n < int8::HEADER {
        let _ = int8::validate(a);
        return;
    }
    let (a, b) = (&a[..n], &b[..n]);
    if int8::validate(a).is_ok() && int8::validate(b).is_ok() {
        let (x, y) = (I8Ref::new(a), I8Ref::new(b));
        for d in [int8::l2(x, y), int8::dot(x, y), int8::cosine(x, y)] {
            assert!(!d.is_nan());
        }
        let (dx, dy) = (x.dequantize(), y.dequantize());
        let exact = strata_core::distance::dot_f32_reference(&dx, &dy);
        let got = int8::dot(x, y);
        if exact.is_finite() && got.is_finite() {
            assert!((exact - got).abs() <= 1e-3 * (1.0 + exact.abs()), "{exact} vs {got}");
        }
    }
});
