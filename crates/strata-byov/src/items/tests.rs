use super::*;

/// Bytewise, as the C collation compares.
fn c_order(a: &str, b: &str) -> Ordering {
    a.cmp(b)
}

fn ok(items: &str) -> Items {
    parse(items, c_order).unwrap_or_else(|e| panic!("{items}: {e}"))
}

fn err(items: &str) -> ItemsError {
    parse(items, c_order).expect_err(items)
}

/// "SQLSTATE: message", as the SQL tests print errors.
fn msg(items: &str) -> String {
    let e = err(items);
    format!("{}: {}", e.sqlstate.code(), e.message)
}

#[test]
fn parses_items_in_order() {
    let items = ok(r#"[{"recordId": 1, "vector": [1, 0.5, -2]}, {"vector": [3], "recordId": "ab-1"}]"#);
    assert_eq!(items.record_ids, ["1", "ab-1"]);
    assert_eq!(items.vectors, [vec![1.0, 0.5, -2.0], vec![3.0]]);
}

#[test]
fn empty_batch() {
    assert_eq!(ok("[]"), Items::default());
    assert_eq!(ok(r#"{"items": []}"#), Items::default());
}

#[test]
fn rushdb_body_is_unwrapped() {
    let items = ok(r#"{"items": [{"recordId": 7, "vector": [1, 2]}]}"#);
    assert_eq!(items.record_ids, ["7"]);
    assert_eq!(msg(r#"{"items": [], "index": 1, "Zeta": 2}"#), "22023: unknown key \"Zeta\" next to \"items\"");
    // Unwrapped once only.
    assert_eq!(
        msg(r#"{"items": {"items": []}}"#),
        "22023: items must be a JSON array of {\"recordId\": ..., \"vector\": [...]}"
    );
}

#[test]
fn smallest_unknown_key_by_the_collation_given() {
    let items = r#"[{"recordId": 1, "vector": [1], "b": 1, "B": 2, "a": 3}]"#;
    assert_eq!(msg(items), "22023: items[0]: unknown key \"B\"");
    // A case-insensitive collation puts "a" first.
    let e = parse(items, |a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b))).unwrap_err();
    assert_eq!(e.message, "items[0]: unknown key \"a\"");
    let e = parse(r#"{"z": 1, "items": [], "y": 2}"#, |a, b| b.cmp(a)).unwrap_err();
    assert_eq!(e.message, "unknown key \"z\" next to \"items\"");
}

#[test]
fn not_an_array() {
    for items in ["null", "1", "\"x\"", "true", r#"{"recordId": 1, "vector": [5, 5, 5]}"#, "{}"] {
        assert_eq!(
            msg(items),
            "22023: items must be a JSON array of {\"recordId\": ..., \"vector\": [...]}",
            "{items}"
        );
    }
}

#[test]
fn item_shapes() {
    let cases = [
        (r#"[2, [1, 2, 3]]"#, "must be an object with \"recordId\" and \"vector\""),
        (r#"{"vector": [1, 2, 3]}"#, "recordId is missing"),
        (r#"{"recordId": null, "vector": [1, 2, 3]}"#, "recordId is missing"),
        (r#"{"recordId": [2], "vector": [1, 2, 3]}"#, "recordId must be a string or a number"),
        (r#"{"recordId": true, "vector": [1, 2, 3]}"#, "recordId must be a string or a number"),
        (r#"{"recordId": 2}"#, "vector is missing"),
        (r#"{"recordId": 2, "vector": "[1,2,3]"}"#, "vector must be a JSON array of numbers"),
        (r#"{"recordId": 2, "vector": null}"#, "vector must be a JSON array of numbers"),
        (r#"{"recordID": 2, "vector": [1]}"#, "unknown key \"recordID\""),
        // An unknown key comes before a missing one.
        (r#"{"similarity": "cosine"}"#, "unknown key \"similarity\""),
        // A missing record id before a missing vector.
        (r#"{}"#, "recordId is missing"),
    ];
    for (item, why) in cases {
        let items = format!(r#"[{{"recordId": 1, "vector": [5, 5, 5]}}, {item}]"#);
        assert_eq!(msg(&items), format!("22023: items[1]: {why}"), "{items}");
    }
}

#[test]
fn every_shape_is_checked_before_any_vector() {
    // items[0]'s vector is out of range, items[1] is not an object: the shape is reported.
    assert_eq!(
        msg(r#"[{"recordId": 1, "vector": [1e39]}, 5]"#),
        "22023: items[1]: must be an object with \"recordId\" and \"vector\""
    );
}

#[test]
fn vector_errors_name_the_item_and_record() {
    let with = |v: &str| format!(r#"[{{"recordId": 1, "vector": [5, 5, 5]}}, {{"recordId": 2, "vector": {v}}}]"#);
    assert_eq!(
        msg(&with("[1, 2, 1000000000000000000000000000000000000000]")),
        "22003: items[1] (record 2): \"1000000000000000000000000000000000000000\" is out of range for type vector"
    );
    assert_eq!(msg(&with("[1, 2, 1e39]")), "22003: items[1] (record 2): \"1e39\" is out of range for type vector");
    assert_eq!(
        msg(&with("[0, 0.00000000000000000000000000000000000000000000000001, 0]")),
        "22003: items[1] (record 2): \"0.00000000000000000000000000000000000000000000000001\" is out of range for type vector"
    );
    assert_eq!(msg(&with(r#"[1, "NaN", 3]"#)), "22023: items[1] (record 2): vector[1] is \"NaN\", not a number");
    assert_eq!(msg(&with("[1, null, 3]")), "22023: items[1] (record 2): vector[1] is null, not a number");
    assert_eq!(
        msg(&with(r#"[1, {"a": [1, 2]}]"#)),
        "22023: items[1] (record 2): vector[1] is {\"a\": [1, 2]}, not a number"
    );
    assert_eq!(msg(&with("[]")), "22023: items[1] (record 2): vector must have at least 1 dimension");
    // A non-number anywhere in a vector is reported before a bad number in it.
    assert_eq!(msg(&with("[1e39, true]")), "22023: items[1] (record 2): vector[1] is true, not a number");
    // The first failing item wins.
    assert_eq!(
        msg(r#"[{"recordId": "a", "vector": [[1]]}, {"recordId": "b", "vector": [1e39]}]"#),
        "22023: items[0] (record a): vector[0] is [1], not a number"
    );
}

#[test]
fn too_many_dimensions() {
    let v = vec!["1"; strata_core::vector::MAX_DIMS + 2].join(", ");
    let items = format!(r#"[{{"recordId": "x", "vector": [{v}]}}]"#);
    assert_eq!(msg(&items), "22023: items[0] (record x): vector cannot have more than 65535 dimensions, got 65537");
    let v = vec!["1"; strata_core::vector::MAX_DIMS].join(",");
    assert_eq!(ok(&format!(r#"[{{"recordId": "x", "vector": [{v}]}}]"#)).vectors[0].len(), 65535);
}

#[test]
fn record_ids_keep_their_text() {
    let items = ok(concat!(
        r#"[{"recordId": 12345678901234567890123, "vector": [1]}, {"recordId": 1.50, "vector": [1]},"#,
        r#" {"recordId": -0, "vector": [1]}, {"recordId": "a \"q\" \u00e9\n", "vector": [1]}]"#
    ));
    assert_eq!(items.record_ids, ["12345678901234567890123", "1.50", "-0", "a \"q\" é\n"]);
}

#[test]
fn vectors_are_read_from_the_number_text() {
    // 16777217 is not a float: it rounds to the nearest f32 directly, not through f64.
    let items = ok(r#"[{"recordId": 1, "vector": [16777217, 0.1, -3.4028235e38, 1e-45]}]"#);
    assert_eq!(items.vectors[0], [16777216.0, 0.1f32, -3.4028235e38, 1e-45]);
    // A decimal that rounds differently through f64 first (double rounding): read directly.
    let text = "1.00000005960464477539062500000001";
    let items = ok(&format!(r#"[{{"recordId": 1, "vector": [{text}]}}]"#));
    assert_eq!(items.vectors[0][0], 1.0 + f32::EPSILON);
    assert_eq!(text.parse::<f64>().unwrap() as f32, 1.0);
}

#[test]
fn duplicate_keys_last_wins() {
    let items = ok(r#"[{"recordId": 1, "vector": [1], "recordId": 2}]"#);
    assert_eq!(items.record_ids, ["2"]);
}

#[test]
fn deep_nesting_is_an_element_not_a_parse_failure() {
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let items = format!(r#"[{{"recordId": 1, "vector": [{deep}]}}]"#);
    let e = err(&items);
    assert_eq!(e.sqlstate, SqlState::InvalidParameterValue);
    assert!(e.message.starts_with("items[0] (record 1): vector[0] is [[[["), "{}", e.message);
}

#[test]
fn malformed_json() {
    // Not reachable from SQL (jsonb's text is always valid), but an error, never a panic.
    let e = err("[{\"recordId\": 1,");
    assert_eq!(e.sqlstate, SqlState::InvalidTextRepresentation);
}
