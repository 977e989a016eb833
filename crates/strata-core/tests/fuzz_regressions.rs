//! Boundary and fuzzer-found inputs for every parser of SQL input (the text and binary forms of
//! vector, vecf16 and bvector, and the index options string): each must return the error with
//! the right SQLSTATE (or parse), never panic. The fuzz targets in fuzz/ explore the same
//! parsers; a crash they find is added here (docs/fuzzing.md).

use half::f16;
use strata_core::options;
use strata_core::vector::{parse_text, MAX_DIMS};
use strata_core::wire;
use strata_core::StrataError;

/// The outcome of a parser as a short string: "ok N" (N elements) or the SQLSTATE.
fn outcome<T>(r: Result<Vec<T>, StrataError>) -> String {
    match r {
        Ok(v) => format!("ok {}", v.len()),
        Err(e) => {
            // Every error renders (Display must not panic either) and names its type.
            assert!(!e.to_string().is_empty());
            e.sqlstate().to_string()
        }
    }
}

fn text_all(input: &str) -> [String; 3] {
    [
        outcome(parse_text::<f32>(input, "vector")),
        outcome(parse_text::<f16>(input, "vecf16")),
        outcome(parse_text::<bool>(input, "bvector")),
    ]
}

fn list(n: usize, item: &str) -> String {
    format!("[{}]", vec![item; n].join(","))
}

#[test]
fn text_boundaries() {
    // (input, vector, vecf16, bvector)
    let cases: Vec<(String, &str, &str, &str)> = vec![
        ("".into(), "22P02", "22P02", "22P02"),
        (" ".into(), "22P02", "22P02", "22P02"),
        ("[".into(), "22P02", "22P02", "22P02"),
        ("]".into(), "22P02", "22P02", "22P02"),
        ("[]".into(), "22023", "22023", "22023"),
        ("[ \t\n]".into(), "22023", "22023", "22023"),
        ("[,]".into(), "22P02", "22P02", "22P02"),
        ("[1,]".into(), "22P02", "22P02", "22P02"),
        ("[,1]".into(), "22P02", "22P02", "22P02"),
        ("[1,,0]".into(), "22P02", "22P02", "22P02"),
        ("[1 0]".into(), "22P02", "22P02", "22P02"),
        ("[1;0]".into(), "22P02", "22P02", "22P02"),
        ("{1,0}".into(), "22P02", "22P02", "22P02"),
        ("(1,0)".into(), "22P02", "22P02", "22P02"),
        // nested brackets, unbalanced brackets
        ("[[1]]".into(), "22P02", "22P02", "22P02"),
        ("[[1,0],[0]]".into(), "22P02", "22P02", "22P02"),
        ("[1]]".into(), "22P02", "22P02", "22P02"),
        ("[[1]".into(), "22P02", "22P02", "22P02"),
        (format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)), "22P02", "22P02", "22P02"),
        // NaN and infinities in every spelling Rust's float parser knows
        ("[NaN]".into(), "22023", "22023", "22P02"),
        ("[nan]".into(), "22023", "22023", "22P02"),
        ("[-NaN]".into(), "22023", "22023", "22P02"),
        ("[inf]".into(), "22023", "22023", "22P02"),
        ("[+Infinity]".into(), "22023", "22023", "22P02"),
        ("[-iNfInItY]".into(), "22023", "22023", "22P02"),
        ("[infinit]".into(), "22P02", "22P02", "22P02"),
        // out of range: overflow, underflow to zero, f16's smaller range
        ("[1e39]".into(), "22003", "22003", "22P02"),
        ("[-3.5e38]".into(), "22003", "22003", "22P02"),
        ("[3.4028235e38]".into(), "ok 1", "22003", "22P02"),
        ("[1e-50]".into(), "22003", "22003", "22P02"),
        // an f32 that underflows to a zero half is accepted (as 0) by vecf16
        ("[1e-8]".into(), "ok 1", "ok 1", "22P02"),
        ("[0e99999]".into(), "ok 1", "ok 1", "22P02"),
        ("[1e99999999999999999999999]".into(), "22003", "22003", "22P02"),
        ("[65504]".into(), "ok 1", "ok 1", "22P02"),
        ("[65520]".into(), "ok 1", "22003", "22P02"),
        // overlong numbers (jsonb prints 1e400 as 401 digits)
        (format!("[1{}]", "0".repeat(400)), "22003", "22003", "22P02"),
        (format!("[0.{}1]", "0".repeat(400)), "22003", "22003", "22P02"),
        (format!("[0.{}]", "0".repeat(100_000)), "ok 1", "ok 1", "22P02"),
        (format!("[{}]", "9".repeat(100_000)), "22003", "22003", "22P02"),
        (format!("[1.{}]", "1".repeat(100_000)), "ok 1", "ok 1", "22P02"),
        // forms PostgreSQL's float4in does not take either
        ("[0x10]".into(), "22P02", "22P02", "22P02"),
        ("[1_000]".into(), "22P02", "22P02", "22P02"),
        ("[1e]".into(), "22P02", "22P02", "22P02"),
        ("[.]".into(), "22P02", "22P02", "22P02"),
        ("[+]".into(), "22P02", "22P02", "22P02"),
        ("[--1]".into(), "22P02", "22P02", "22P02"),
        ("[1.5.5]".into(), "22P02", "22P02", "22P02"),
        // unicode: other digits, non-ASCII spaces, the replacement character (non-UTF-8 input)
        ("[\u{661}]".into(), "22P02", "22P02", "22P02"),
        ("[\u{ff11}]".into(), "22P02", "22P02", "22P02"),
        ("[1\u{a0}]".into(), "22P02", "22P02", "22P02"),
        ("\u{3000}[1]".into(), "22P02", "22P02", "22P02"),
        ("\u{FFFD}".into(), "22P02", "22P02", "22P02"),
        ("[\u{FFFD}]".into(), "22P02", "22P02", "22P02"),
        ("[1\0]".into(), "22P02", "22P02", "22P02"),
        ("[e\u{301}]".into(), "22P02", "22P02", "22P02"),
        // bits
        ("[1,0,1]".into(), "ok 3", "ok 3", "ok 3"),
        ("[2]".into(), "ok 1", "ok 1", "22P02"),
        ("[01]".into(), "ok 1", "ok 1", "22P02"),
        ("[-0]".into(), "ok 1", "ok 1", "22P02"),
        ("[ 1 , 0 ]".into(), "ok 2", "ok 2", "ok 2"),
        // dimension limits
        (list(MAX_DIMS, "1"), "ok 65535", "ok 65535", "ok 65535"),
        (list(MAX_DIMS + 1, "1"), "22023", "22023", "22023"),
        (list(MAX_DIMS + 1, "x"), "22P02", "22P02", "22P02"),
        (list(200_000, "0"), "22023", "22023", "22023"),
        (format!("[{}", vec!["1"; 70_000].join(",")), "22P02", "22P02", "22P02"),
        (format!("[{},]", vec!["1"; MAX_DIMS].join(",")), "22023", "22023", "22023"),
    ];
    for (input, vector, vecf16, bvector) in &cases {
        let shown: String = input.chars().take(40).collect();
        assert_eq!(text_all(input), [vector.to_string(), vecf16.to_string(), bvector.to_string()], "input {shown:?}");
    }
}

fn header(dims: u16) -> Vec<u8> {
    let mut b = dims.to_be_bytes().to_vec();
    b.extend([0, 0]);
    b
}

fn binary_all(bytes: &[u8]) -> [String; 3] {
    [
        outcome(wire::decode_f32("vector", bytes)),
        outcome(wire::decode_f16("vecf16", bytes)),
        outcome(wire::decode_bits("bvector", bytes).map(|(dims, _)| vec![(); dims])),
    ]
}

#[test]
fn binary_boundaries() {
    let with = |dims: u16, payload: &[u8]| {
        let mut b = header(dims);
        b.extend_from_slice(payload);
        b
    };
    // (bytes, vector, vecf16, bvector)
    let cases: Vec<(Vec<u8>, &str, &str, &str)> = vec![
        // truncated headers
        (vec![], "22P03", "22P03", "22P03"),
        (vec![0], "22P03", "22P03", "22P03"),
        (vec![0, 1, 0], "22P03", "22P03", "22P03"),
        // zero dimensions (also what 65536 wraps to in 16 bits), with or without payload
        (header(0), "22023", "22023", "22023"),
        (with(0, &[0; 8]), "22023", "22023", "22023"),
        (with(0, &vec![0; 65536 * 4]), "22023", "22023", "22023"),
        // payload too short, too long, missing
        (header(1), "22P03", "22P03", "22P03"),
        (with(1, &[0]), "22P03", "22P03", "ok 1"),
        (with(1, &[0, 0]), "22P03", "ok 1", "22P03"),
        (with(1, &[0, 0, 0, 0]), "ok 1", "22P03", "22P03"),
        (with(1, &[0, 0, 0, 0, 0]), "22P03", "22P03", "22P03"),
        (header(u16::MAX), "22P03", "22P03", "22P03"),
        (with(u16::MAX, &vec![0; 65535 * 4]), "ok 65535", "22P03", "22P03"),
        (with(u16::MAX, &vec![0; 65535 * 4 - 1]), "22P03", "22P03", "22P03"),
        (with(u16::MAX, &vec![0; 65535 * 2]), "22P03", "ok 65535", "22P03"),
        (with(u16::MAX, &vec![0; 8192]), "22P03", "22P03", "ok 65535"),
        // the reserved field is not checked
        (vec![0, 1, 0xff, 0xff, 0x3f, 0x80, 0, 0], "ok 1", "22P03", "22P03"),
        // NaN, infinities (f32 and f16 bit patterns), subnormals and negative zero
        (with(1, &f32::NAN.to_be_bytes()), "22023", "22P03", "22P03"),
        (with(1, &f32::INFINITY.to_be_bytes()), "22023", "22P03", "22P03"),
        (with(1, &f32::NEG_INFINITY.to_be_bytes()), "22023", "22P03", "22P03"),
        (with(2, &[0, 0, 0, 1, 0x80, 0, 0, 0]), "ok 2", "22P03", "22P03"),
        (with(1, &[0x7e, 0x00]), "22P03", "22023", "22P03"),
        (with(1, &[0x7c, 0x00]), "22P03", "22023", "22P03"),
        (with(1, &[0xfc, 0x00]), "22P03", "22023", "22P03"),
        (with(1, &[0x00, 0x01]), "22P03", "ok 1", "22P03"),
        // bits past the last dimension
        (with(9, &[0xff, 0x01]), "22P03", "22P03", "ok 9"),
        (with(9, &[0xff, 0x03]), "22P03", "22P03", "22P03"),
        (with(1, &[0x02]), "22P03", "22P03", "22P03"),
        (with(64, &[0xff; 8]), "22P03", "22P03", "ok 64"),
        (with(65, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]), "22P03", "22P03", "22P03"),
        (with(u16::MAX, &[&[0xff; 8191][..], &[0x7f]].concat()), "22P03", "22P03", "ok 65535"),
        (with(u16::MAX, &[0xff; 8192]), "22P03", "22P03", "22P03"),
    ];
    for (i, (bytes, vector, vecf16, bvector)) in cases.iter().enumerate() {
        assert_eq!(
            binary_all(bytes),
            [vector.to_string(), vecf16.to_string(), bvector.to_string()],
            "case {i}: {:?}",
            &bytes[..bytes.len().min(12)]
        );
    }
    // Every truncation of valid encodings is refused, never read past.
    for valid in [wire::encode_f32(&[1.0, -2.0, 3.5]), wire::encode_f16(&[f16::ONE; 5]), wire::encode_bits(70, &[u64::MAX, 0x3f])] {
        for cut in 0..valid.len() {
            for r in binary_all(&valid[..cut]) {
                assert!(r == "22P03" || r == "22023" || r.starts_with("ok"), "{r}");
            }
        }
    }
}

#[test]
fn options_boundaries() {
    let ok = |t: &str| options::parse(t).unwrap_or_else(|e| panic!("{t:?}: {e}"));
    let err = |t: &str| {
        let e = options::parse(t).expect_err(t).to_string();
        // Every error names its line, except mixing the two syntaxes (two sections).
        assert!(e.starts_with("invalid index options: line ") || e.contains("cannot be mixed"), "{e}");
        e
    };
    assert_eq!(ok(""), options::IndexOptions::default());
    ok("\n\r\n  \t\n");
    ok("# only a comment\n#[algorithm.ivf]");
    ok("[algorithm.hnsw]\nm = 2\nef = 4");
    ok("[ algorithm.hnsw ]\nm = 100 # max\nef_construction = 1_000");
    // TOML's other integer forms are integers too.
    ok("capacity = 0x10\nsize_ram = 0o7");
    ok("[indexing.hnsw]\nm = 2\nef_construction = 1_000\n[optimizing]\ndelete_threshold = 1");
    ok("capacity = 9223372036854775807\nsize_ram = 1");
    // The toml crate skips a leading byte order mark.
    ok("\u{FEFF}capacity = 1");
    ok("storage_vectors = \"disk\"\r\n[algorithm.hnsw]\r\nstorage = \"ram\"\r\n");
    for bad in [
        "[", "]", "[]", "[algorithm.hnsw", "[[algorithm.hnsw]]", "[algorithm.hnsw]]", "=", "m=", "=1", "= = =",
        "capacity = 0", "capacity = -1", "capacity = 9223372036854775808", "capacity = 99999999999999999999999999",
        "capacity = 1e3", "capacity = \"1\"", "capacity = ", "capacity = _",
        "[algorithm.hnsw]\nm = 1", "[algorithm.hnsw]\nm = 101", "[algorithm.hnsw]\nm = -0",
        "[algorithm.hnsw]\nm = 9223372036854775807", "[algorithm.hnsw]\nm = -9223372036854775808",
        "[algorithm.hnsw]\nef = 3", "[algorithm.hnsw]\nef = 1001", "[algorithm.hnsw]\nm = \"16\"",
        // A table twice, a key twice, the two syntaxes mixed, a section strata does not build.
        "[algorithm.hnsw]\nm = 2\n[algorithm.hnsw]\nef = 4", "[indexing.hnsw]\nm = 2\nm = 3",
        "[algorithm.hnsw]\n[indexing.hnsw]", "[indexing.ivf]", "[indexing.hnsw.quantization]",
        "storage_vectors = \"", "storage_vectors = \"\"\"", "storage_vectors = ram", "storage_vectors = \"RAM\"",
        "[algorithm.hnsw]\nstorage = \"disk", "capacity\u{0} = 1", "ä = 1",
        "[algorithm.hnsw\u{301}]", "[algorithm.hnsw]\nm = １６", "m = 16",
    ] {
        err(bad);
    }
    err(&format!("capacity = {}", "9".repeat(100_000)));
    err(&format!("{}\nm = 3", "\n".repeat(100_000)));
    err(&"[".repeat(100_000));
    err(&"x = 1\n".repeat(100_000));
}
