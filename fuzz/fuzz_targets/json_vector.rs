//! The BYOV JSON vector path: strata_byov's items and entries parsers (upsert_vectors'
//! JSON form, insert_records) read each JSON array of numbers as `v::text::vector` did, with
//! `vector_in`'s parser on jsonb's text form of an array of numerics: `[n1, n2, ...]`, each number
//! printed by numeric_out (plain notation, any number of digits: 1e400 prints as 1 and 400
//! zeros). This target builds such texts from the fuzz input (sign, integer digits, fraction
//! digits, decimal exponent shift) and checks they parse or fail cleanly.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::vector::parse_text;

fn numeric_text(bytes: &[u8]) -> String {
    // byte 0: sign and shape; byte 1: exponent shift; the rest: digits.
    let (flags, shift) = (bytes[0], bytes[1] as i32 - 128);
    let digits: String = bytes[2..].iter().map(|b| char::from(b'0' + b % 10)).collect();
    let digits = if digits.is_empty() { "0".to_string() } else { digits };
    let mut s = String::new();
    if flags & 1 == 1 {
        s.push('-');
    }
    if shift >= 0 {
        s.push_str(&digits);
        s.extend(std::iter::repeat('0').take(shift as usize * (1 + (flags as usize >> 5))));
    } else {
        s.push_str("0.");
        s.extend(std::iter::repeat('0').take((-shift) as usize * (1 + (flags as usize >> 5))));
        s.push_str(&digits);
    }
    s
}

fuzz_target!(|data: &[u8]| {
    // Elements are separated by 0xff bytes. A leading byte with its high bit set repeats the
    // elements up to 129 033 times, to reach and pass the 65535-dimension limit; most inputs
    // stay small so the fuzzer keeps its pace.
    let Some((&repeat, rest)) = data.split_first() else { return };
    let elements: Vec<String> = rest.split(|b| *b == 0xff).filter(|e| e.len() >= 2).map(numeric_text).collect();
    if elements.is_empty() {
        return;
    }
    let times = if repeat & 0x80 != 0 { 1 + ((repeat & 0x7f) as usize).pow(2) * 8 } else { 1 };
    let mut text = String::from("[");
    for i in 0..times {
        for (j, e) in elements.iter().enumerate() {
            if i + j > 0 {
                text.push_str(", ");
            }
            text.push_str(e);
        }
    }
    text.push(']');
    match parse_text::<f32>(&text, "vector") {
        Ok(v) => {
            assert_eq!(v.len(), elements.len() * times);
            assert!(v.iter().all(|x| x.is_finite()));
        }
        Err(e) => assert!(["22P02", "22003", "22023"].contains(&e.sqlstate().code()), "{e}"),
    }
});
