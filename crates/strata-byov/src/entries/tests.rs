use super::*;

/// Bytewise, as the C collation compares.
fn c_order(a: &str, b: &str) -> Ordering {
    a.cmp(b)
}

fn parsed(lists: &str) -> Parsed {
    parse(lists, c_order).unwrap_or_else(|e| panic!("{lists}: {e}"))
}

fn ok(lists: &str) -> Entries {
    let p = parsed(lists);
    assert_eq!(p.error, None, "{lists}");
    p.entries
}

/// "SQLSTATE: message" of the first failure, as the SQL tests print errors.
fn msg(lists: &str) -> String {
    let e = parsed(lists).error.unwrap_or_else(|| panic!("{lists}: accepted"));
    format!("{}: {}", e.sqlstate.code(), e.message)
}

/// One record whose list is [a valid entry, `entry`]: the message about `entry`.
fn second(entry: &str) -> String {
    msg(&format!(r#"[[{{"propertyName": "body", "vector": [1, 2, 3]}}, {entry}]]"#))
}

const SHAPE_MSG: &str =
    r#"22023: records[0].vectors[1]: must be {"propertyName": "...", "vector": [...], "similarityFunction": "..."}"#;

#[test]
fn parses_every_record_in_order() {
    let e = ok(concat!(
        r#"[[{"propertyName": "body", "vector": [0.9, 0.1, 0], "similarity": "cosine"},"#,
        r#"  {"propertyName": "title", "vector": [1, 1, 1]}],"#,
        r#" null, [],"#,
        r#" [{"vector": [2], "similarityFunction": "euclidean", "propertyName": "body"}]]"#
    ));
    assert_eq!(e.records, [0, 0, 3]);
    assert_eq!(e.properties, ["body", "title", "body"]);
    assert_eq!(e.similarities, [Some("cosine".to_string()), None, Some("euclidean".to_string())]);
    assert_eq!(e.vectors, [vec![0.9, 0.1, 0.0], vec![1.0, 1.0, 1.0], vec![2.0]]);
}

#[test]
fn no_records_or_no_vectors() {
    assert_eq!(parsed("[]"), Parsed::default());
    assert_eq!(parsed("[null, [], null]"), Parsed::default());
}

#[test]
fn similarity_function_wins_and_nulls_are_absent() {
    let sims = |entry: &str| ok(&format!(r#"[[{{"propertyName": "p", "vector": [1], {entry}}}]]"#)).similarities;
    assert_eq!(sims(r#""similarityFunction": "dot", "similarity": "dot""#), [Some("dot".to_string())]);
    assert_eq!(sims(r#""similarityFunction": null, "similarity": "l2""#), [Some("l2".to_string())]);
    assert_eq!(sims(r#""similarityFunction": "ip", "similarity": null"#), [Some("ip".to_string())]);
    assert_eq!(sims(r#""similarityFunction": null, "similarity": null"#), [None]);
    // Compared as written: canonical names are the database's business (strata._similarity).
    assert_eq!(
        second(r#"{"propertyName": "p", "vector": [1], "similarityFunction": "l2", "similarity": "euclidean"}"#),
        r#"22023: records[0].vectors[1]: similarityFunction "l2" and similarity "euclidean" disagree"#
    );
    assert_eq!(
        second(r#"{"propertyName": "p", "vector": [1], "similarityFunction": "Cosine", "similarity": "cosine"}"#),
        r#"22023: records[0].vectors[1]: similarityFunction "Cosine" and similarity "cosine" disagree"#
    );
}

#[test]
fn a_list_that_is_not_an_array() {
    for list in ["1", "\"x\"", "true", "{}", r#"{"propertyName": "p", "vector": [1]}"#] {
        assert_eq!(
            msg(&format!("[null, {list}]")),
            r#"22023: records[1]: vectors must be a JSON array of {"propertyName": ..., "vector": [...]}"#,
            "{list}"
        );
    }
}

#[test]
fn entry_shapes() {
    for entry in [
        "1",
        "null",
        r#"[{"propertyName": "p", "vector": [1]}]"#,
        r#""propertyName""#,
        r#"{"vector": [1]}"#,
        r#"{"propertyName": null, "vector": [1]}"#,
        r#"{"propertyName": 7, "vector": [1]}"#,
        r#"{"propertyName": ["p"], "vector": [1]}"#,
        r#"{"propertyName": "p", "vector": [1], "similarity": 7}"#,
        r#"{"propertyName": "p", "vector": [1], "similarity": true}"#,
        r#"{"propertyName": "p", "vector": [1], "similarityFunction": ["cosine"]}"#,
        r#"{"propertyName": "p", "vector": [1], "similarityFunction": {"name": "cosine"}}"#,
        // The shape is checked before unknown keys.
        r#"{"propertyNam": "p", "vector": [1]}"#,
        r#"{"propertyName": "p", "vector": [1], "similarity": 1, "zz": 2}"#,
    ] {
        assert_eq!(second(entry), SHAPE_MSG, "{entry}");
    }
}

#[test]
fn unknown_keys_name_the_smallest_with_a_hint() {
    let lists = r#"[[{"propertyName": "p", "vector": [1], "similarityFuncton": "euclidean", "b": 1, "B": 2}]]"#;
    let e = parsed(lists).error.unwrap();
    assert_eq!(e.message, r#"records[0].vectors[0]: unknown key "B""#);
    assert_eq!(e.sqlstate, SqlState::InvalidParameterValue);
    assert_eq!(e.hint.as_deref(), Some(UNKNOWN_KEY_HINT));
    // A case-insensitive collation puts "b" first.
    let e = parse(lists, |a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(b.cmp(a))).unwrap().error.unwrap();
    assert_eq!(e.message, r#"records[0].vectors[0]: unknown key "b""#);
    // Before the similarities disagree and before the vector is read.
    assert_eq!(
        second(
            r#"{"propertyName": "p", "vector": "v", "similarityFunction": "dot", "similarity": "l2", "dimensions": 3}"#
        ),
        r#"22023: records[0].vectors[1]: unknown key "dimensions""#
    );
    // Other errors have no hint.
    assert_eq!(parsed(r#"[[{"propertyName": "p"}]]"#).error.unwrap().hint, None);
}

#[test]
fn disagreement_comes_before_the_vector() {
    assert_eq!(
        second(r#"{"propertyName": "p", "vector": [1e39], "similarityFunction": "dot", "similarity": "l2"}"#),
        r#"22023: records[0].vectors[1]: similarityFunction "dot" and similarity "l2" disagree"#
    );
}

#[test]
fn vector_errors_name_the_entry() {
    let with = |v: &str| second(&format!(r#"{{"propertyName": "p", "vector": {v}}}"#));
    let not_an_array = "22023: records[0].vectors[1]: vector must be a JSON array of numbers";
    assert_eq!(second(r#"{"propertyName": "p"}"#), not_an_array);
    for v in ["null", "1", r#""[1, 2]""#, r#"{"0": 1}"#] {
        assert_eq!(with(v), not_an_array, "{v}");
    }
    assert_eq!(with(r#"[1, "x", 0]"#), r#"22023: records[0].vectors[1]: vector[1] is "x", not a number"#);
    assert_eq!(with("[1, null]"), "22023: records[0].vectors[1]: vector[1] is null, not a number");
    assert_eq!(with(r#"[[1], {"a": [1, 2]}]"#), "22023: records[0].vectors[1]: vector[0] is [1], not a number");
    // A non-number anywhere is reported before a bad number.
    assert_eq!(with("[1e39, true]"), "22023: records[0].vectors[1]: vector[1] is true, not a number");
    assert_eq!(
        with("[1, 1000000000000000000000000000000000000000]"),
        "22003: records[0].vectors[1]: \"1000000000000000000000000000000000000000\" is out of range for type vector"
    );
    assert_eq!(
        with("[0.00000000000000000000000000000000000000000000000001]"),
        "22003: records[0].vectors[1]: \"0.00000000000000000000000000000000000000000000000001\" is out of range for type vector"
    );
    assert_eq!(with("[]"), "22023: records[0].vectors[1]: vector must have at least 1 dimension");
    let v = vec!["1"; strata_core::vector::MAX_DIMS + 2].join(", ");
    assert_eq!(
        with(&format!("[{v}]")),
        "22023: records[0].vectors[1]: vector cannot have more than 65535 dimensions, got 65537"
    );
    let v = vec!["1"; strata_core::vector::MAX_DIMS].join(", ");
    assert_eq!(ok(&format!(r#"[[{{"propertyName": "p", "vector": [{v}]}}]]"#)).vectors[0].len(), 65535);
}

#[test]
fn the_first_failure_is_returned_with_the_entries_before_it() {
    let p = parsed(concat!(
        r#"[[{"propertyName": "a", "vector": [1]}], null,"#,
        r#" [{"propertyName": "b", "vector": [2]}, {"propertyName": "c", "vector": [1e39]}, 5],"#,
        r#" [{"propertyName": "d", "vector": [true]}], 7]"#
    ));
    assert_eq!(p.entries.records, [0, 2]);
    assert_eq!(p.entries.properties, ["a", "b"]);
    assert_eq!(p.entries.vectors, [vec![1.0], vec![2.0]]);
    let e = p.error.unwrap();
    assert_eq!(e.record, 2);
    assert_eq!(e.sqlstate, SqlState::NumericValueOutOfRange);
    assert_eq!(e.message, "records[2].vectors[1]: \"1e39\" is out of range for type vector");
    // A bad list after good entries: the entries of the records before it.
    let p = parsed(r#"[[{"propertyName": "a", "vector": [1]}], {"x": 1}, [5]]"#);
    assert_eq!(p.entries.records, [0]);
    assert_eq!(p.error.unwrap().record, 1);
}

#[test]
fn strings_are_decoded() {
    let e = ok(r#"[[{"propertyName": "a \"q\" \u00e9\n", "vector": [1], "similarity": "co\u0073ine"}]]"#);
    assert_eq!(e.properties, ["a \"q\" é\n"]);
    assert_eq!(e.similarities, [Some("cosine".to_string())]);
    // Decoded before they are compared.
    assert_eq!(
        ok(r#"[[{"propertyName": "p", "vector": [1], "similarity": "\u0064ot", "similarityFunction": "dot"}]]"#)
            .similarities,
        [Some("dot".to_string())]
    );
}

#[test]
fn vectors_are_read_from_the_number_text() {
    // Rounded to f32 directly, not through f64 (double rounding), as vector_in reads them.
    let text = "1.00000005960464477539062500000001";
    let e = ok(&format!(r#"[[{{"propertyName": "p", "vector": [16777217, {text}, -0]}}]]"#));
    assert_eq!(e.vectors[0], [16777216.0, 1.0 + f32::EPSILON, 0.0]);
    assert_eq!(text.parse::<f64>().unwrap() as f32, 1.0);
}

#[test]
fn duplicate_keys_last_wins() {
    let e = ok(r#"[[{"propertyName": "a", "vector": [1], "propertyName": "b", "vector": [2, 3]}]]"#);
    assert_eq!(e.properties, ["b"]);
    assert_eq!(e.vectors, [vec![2.0, 3.0]]);
}

#[test]
fn input_the_caller_never_passes() {
    let e = parse("[[{\"propertyName\": ", c_order).unwrap_err();
    assert_eq!(e.sqlstate, SqlState::InvalidTextRepresentation);
    for lists in ["null", "{}", "1", r#"{"propertyName": "p", "vector": [1]}"#] {
        let e = parse(lists, c_order).unwrap_err();
        assert_eq!(e.sqlstate, SqlState::InvalidParameterValue, "{lists}");
        assert_eq!(e.message, "vector lists must be a JSON array with one element per record");
    }
}
