use super::*;
use serde_json::json;

fn col(name: &str, type_name: &str, category: char) -> Column {
    Column { name: name.into(), type_name: type_name.into(), element_type_name: None, base_is_jsonb: false, category }
}

fn rel() -> Relation {
    Relation {
        display_name: "book".into(),
        record_key: "id".into(),
        columns: vec![
            col("id", "bigint", 'N'),
            col("title", "text", 'S'),
            col("price", "numeric", 'N'),
            col("Year", "integer", 'N'),
            col("active", "boolean", 'B'),
            col("born", "timestamp with time zone", 'D'),
            Column { base_is_jsonb: true, ..col("meta", "jsonb", 'U') },
            Column { element_type_name: Some("text".into()), ..col("tags", "text[]", 'S') },
            Column { element_type_name: Some("jsonb".into()), base_is_jsonb: true, ..col("docs", "jsonb[]", 'U') },
        ],
    }
}

fn full_sql(filter: Value) -> String {
    compile(Some(&filter), &rel(), "$2").unwrap_or_else(|e| panic!("{filter}: {e}"))
}

/// The condition of a one-key filter, without the parentheses around the filter's list of
/// conditions.
fn sql(filter: Value) -> String {
    let s = full_sql(filter);
    s.strip_prefix('(').and_then(|s| s.strip_suffix(')')).unwrap_or(&s).to_string()
}

fn err(filter: Value) -> FilterError {
    compile(Some(&filter), &rel(), "$2").expect_err(&filter.to_string())
}

fn err22023(filter: Value, message: &str) {
    let e = err(filter);
    assert_eq!((e.sqlstate.code(), e.message.as_str()), ("22023", message));
}

#[test]
fn no_filter_is_true() {
    assert_eq!(compile(None, &rel(), "$2").unwrap(), "true");
    assert_eq!(full_sql(json!(null)), "true");
    assert_eq!(full_sql(json!({})), "true");
}

#[test]
fn plain_values_are_equality_or_is_null() {
    assert_eq!(sql(json!({"title": "Dune"})), "(l.\"title\" = ($2 #>> '{\"title\"}'::text[])::text)");
    assert_eq!(sql(json!({"title": null})), "(l.\"title\" IS NULL)");
}

#[test]
fn comparison_operators() {
    for (op, sql_op) in [("$eq", "="), ("$ne", "<>"), ("$gt", ">"), ("$gte", ">="), ("$lt", "<"), ("$lte", "<=")] {
        assert_eq!(
            sql(json!({"price": {op: 5}})),
            format!("(l.\"price\" {sql_op} ($2 #>> '{{\"price\",\"{op}\"}}'::text[])::numeric)")
        );
    }
    assert_eq!(sql(json!({"price": {"$ne": null}})), "(l.\"price\" IS NOT NULL)");
}

#[test]
fn keys_are_taken_in_jsonb_order() {
    // jsonb orders keys by length, then bytes: "$lt" before "$gte", "price" before "title"
    assert_eq!(
        sql(json!({"title": "x", "price": {"$gte": 1, "$lt": 9}})),
        "(l.\"price\" < ($2 #>> '{\"price\",\"$lt\"}'::text[])::numeric AND \
         l.\"price\" >= ($2 #>> '{\"price\",\"$gte\"}'::text[])::numeric) AND \
         (l.\"title\" = ($2 #>> '{\"title\"}'::text[])::text)"
    );
}

#[test]
fn in_and_nin() {
    assert_eq!(
        sql(json!({"price": {"$in": [1, 2]}})),
        "((l.\"price\" = ANY (ARRAY(SELECT (x #>> '{}')::numeric FROM jsonb_array_elements($2 #> '{\"price\",\"$in\"}'::text[]) x WHERE jsonb_typeof(x) <> 'null'))))"
    );
    assert!(sql(json!({"price": {"$nin": [1]}})).starts_with("(NOT (l.\"price\" = ANY"));
    // jsonb columns compare jsonb values, objects included
    assert!(sql(json!({"meta": {"$in": [{"a": 1}]}})).contains("ARRAY(SELECT x FROM"));
}

#[test]
fn string_operators() {
    assert_eq!(
        sql(json!({"title": {"$contains": "un"}})),
        "(strpos(lower(l.\"title\"::text), lower(($2 #>> '{\"title\",\"$contains\"}'::text[]))) > 0)"
    );
    assert_eq!(
        sql(json!({"title": {"$startsWith": "D"}})),
        "(starts_with(l.\"title\"::text, ($2 #>> '{\"title\",\"$startsWith\"}'::text[])))"
    );
    let p = "($2 #>> '{\"title\",\"$endsWith\"}'::text[])";
    assert_eq!(sql(json!({"title": {"$endsWith": "e"}})), format!("(right(l.\"title\"::text, length({p})) = {p})"));
}

#[test]
fn exists() {
    assert_eq!(sql(json!({"price": {"$exists": true}})), "(l.\"price\" IS NOT NULL)");
    assert_eq!(sql(json!({"price": {"$exists": false}})), "(l.\"price\" IS NULL)");
}

#[test]
fn type_operator() {
    assert_eq!(sql(json!({"title": {"$type": "string"}})), "(l.\"title\" IS NOT NULL)");
    assert_eq!(sql(json!({"price": {"$type": "number"}})), "(l.\"price\" IS NOT NULL)");
    assert_eq!(sql(json!({"active": {"$type": "boolean"}})), "(l.\"active\" IS NOT NULL)");
    assert_eq!(sql(json!({"born": {"$type": "datetime"}})), "(l.\"born\" IS NOT NULL)");
    assert_eq!(sql(json!({"title": {"$type": "number"}})), "(false)");
    assert_eq!(sql(json!({"title": {"$type": "null"}})), "(l.\"title\" IS NULL)");
    assert_eq!(sql(json!({"meta": {"$type": "number"}})), "(jsonb_typeof(l.\"meta\") = 'number')");
    assert_eq!(sql(json!({"meta": {"$type": "datetime"}})), "(false)");
    assert_eq!(sql(json!({"meta": {"$type": "null"}})), "((l.\"meta\" IS NULL OR jsonb_typeof(l.\"meta\") = 'null'))");
    assert_eq!(sql(json!({"tags": {"$type": "string"}})), "(l.\"tags\" IS NOT NULL)");
    err22023(
        json!({"title": {"$type": "date"}}),
        "$type at title needs one of \"string\", \"number\", \"boolean\", \"datetime\", \"null\", not \"date\"",
    );
    err22023(
        json!({"title": {"$type": {"b": [1, 2], "a": 1}}}),
        "$type at title needs one of \"string\", \"number\", \"boolean\", \"datetime\", \"null\", not {\"a\": 1, \"b\": [1, 2]}",
    );
}

#[test]
fn logical_operators() {
    assert_eq!(sql(json!({"$and": []})), "true");
    assert_eq!(sql(json!({"$or": []})), "false");
    assert_eq!(sql(json!({"$or": {}})), "false");
    assert_eq!(
        sql(json!({"$or": [{"price": 1}, null]})),
        "(((l.\"price\" = ($2 #>> '{\"$or\",\"0\",\"price\"}'::text[])::numeric)) OR true)"
    );
    // the object form: each key a filter of its own, at the operator's path
    assert_eq!(
        sql(json!({"$and": {"price": 1, "title": "x"}})),
        "(((l.\"price\" = ($2 #>> '{\"$and\",\"price\"}'::text[])::numeric)) AND ((l.\"title\" = ($2 #>> '{\"$and\",\"title\"}'::text[])::text)))"
    );
    assert_eq!(
        sql(json!({"$not": {"price": 1}})),
        "NOT coalesce(((l.\"price\" = ($2 #>> '{\"$not\",\"price\"}'::text[])::numeric)), false)"
    );
    assert_eq!(sql(json!({"$not": null})), "NOT coalesce(true, false)");
    assert_eq!(
        sql(json!({"price": {"$not": 3}})),
        "(NOT coalesce((l.\"price\" = ($2 #>> '{\"price\",\"$not\"}'::text[])::numeric), false))"
    );
}

#[test]
fn id_is_the_record_key() {
    assert_eq!(sql(json!({"$id": {"$in": [1]}})), sql(json!({"id": {"$in": [1]}})).replace("\"id\",\"$in\"", "\"$id\",\"$in\""));
    assert_eq!(sql(json!({"$id": 7})), "(l.\"id\" = ($2 #>> '{\"$id\"}'::text[])::bigint)");
}

#[test]
fn array_columns_match_any_element() {
    assert_eq!(sql(json!({"tags": "rust"})), "(EXISTS (SELECT FROM unnest(l.\"tags\") e WHERE e = ($2 #>> '{\"tags\"}'::text[])::text))");
    assert_eq!(
        sql(json!({"tags": {"$ne": "rust"}})),
        "((l.\"tags\" IS NOT NULL AND NOT EXISTS (SELECT FROM unnest(l.\"tags\") e WHERE e = ($2 #>> '{\"tags\",\"$ne\"}'::text[])::text)))"
    );
    assert!(sql(json!({"tags": {"$nin": ["a"]}})).starts_with("((l.\"tags\" IS NOT NULL AND NOT EXISTS (SELECT FROM unnest(l.\"tags\") e WHERE (e = ANY"));
    assert!(sql(json!({"tags": {"$contains": "ru"}})).contains("strpos(lower(e::text)"));
    assert_eq!(
        sql(json!({"tags": ["a", "b"]})),
        "(l.\"tags\" = ARRAY(SELECT (x #>> '{}')::text FROM jsonb_array_elements($2 #> '{\"tags\"}'::text[]) x))"
    );
    assert!(sql(json!({"tags": {"$ne": ["a"]}})).starts_with("(l.\"tags\" <> ARRAY("));
    assert_eq!(sql(json!({"tags": null})), "(l.\"tags\" IS NULL)");
    // jsonb[]: elements compared as jsonb
    assert_eq!(sql(json!({"docs": {"$eq": {"a": 1}}})), "(EXISTS (SELECT FROM unnest(l.\"docs\") e WHERE e = ($2 #> '{\"docs\",\"$eq\"}'::text[])))");
}

#[test]
fn jsonb_columns_compare_whole_values() {
    assert_eq!(sql(json!({"meta": {"$eq": {"a": 1}}})), "(l.\"meta\" = ($2 #> '{\"meta\",\"$eq\"}'::text[]))");
    assert_eq!(sql(json!({"meta": [1]})), "(l.\"meta\" = ($2 #> '{\"meta\"}'::text[]))");
    err22023(json!({"meta": {"$gt": {"a": 1}}}), "$gt at meta needs a single value, not object");
}

#[test]
fn names_and_paths_are_quoted() {
    let mut r = rel();
    r.columns.push(col("it's \"odd\", {x}\\", "text", 'S'));
    let s = compile(Some(&json!({"it's \"odd\", {x}\\": "v"})), &r, "$1").unwrap();
    assert_eq!(s, "((l.\"it's \"\"odd\"\", {x}\\\" = ($1 #>> E'{\"it''s \\\\\"odd\\\\\", {x}\\\\\\\\\"}'::text[])::text))");
}

#[test]
fn unknown_column_is_42703_with_a_hint() {
    let e = err(json!({"year": 1}));
    assert_eq!(e.sqlstate.code(), "42703");
    assert_eq!(e.message, "column \"year\" of relation \"book\" does not exist");
    assert_eq!(e.hint.as_deref(), Some("Did you mean \"Year\"?"));
    assert_eq!(err(json!({"nope": 1})).hint, None);
    assert_eq!(err(json!({"": 1})).sqlstate.code(), "42703");
}

#[test]
fn errors() {
    err22023(json!([]), "filter must be a JSON object");
    err22023(json!({"$and": [1]}), "filter must be a JSON object at $and.0");
    err22023(json!({"$not": "x"}), "filter must be a JSON object at $not");
    err22023(json!({"$or": 1}), "$or needs an array of filters");
    err22023(json!({"$and": null}), "$and needs an array of filters");
    err22023(json!({"$not": {"$or": "x"}}), "$or needs an array of filters at $not");
    let e = err(json!({"$where": 1}));
    assert_eq!(e.message, "unknown filter operator \"$where\"");
    assert_eq!(e.hint.as_deref(), Some(LOGICAL_HINT));
    err22023(json!({"price": {}}), "empty condition for column \"price\"");
    err22023(json!({"tags": {"$eq": [[1]]}}), "$eq at tags needs an array of single values");
    let e = err(json!({"price": {"$gt": [1]}}));
    assert_eq!(e.message, "$gt at price needs a single value, not array");
    assert_eq!(e.hint.as_deref(), Some("Use $in to match one of several values."));
    let e = err(json!({"price": {"a": 1}}));
    assert_eq!(e.message, "unknown filter operator \"a\" at price");
    assert_eq!(e.hint.as_deref(), Some(RELATED_HINT));
    err22023(json!({"price": {"$gt": {"a": 1}}}), "$gt at price needs a single value, not object");
    assert_eq!(err(json!({"price": {"$gt": {}}})).hint, None);
    err22023(json!({"price": {"$lt": null}}), "$lt at price needs a value, not null");
    err22023(json!({"price": {"$in": 1}}), "$in at price needs an array of values");
    err22023(json!({"price": {"$nin": [[1]]}}), "$nin at price needs an array of single values");
    err22023(json!({"title": {"$contains": 1}}), "$contains at title needs a string");
    err22023(json!({"price": {"$startsWith": "1"}}), "$startsWith at price needs a text column; \"price\" is numeric");
    err22023(json!({"price": {"$exists": 1}}), "$exists at price needs true or false");
    let e = err(json!({"price": {"$regex": "x"}}));
    assert_eq!((e.message.as_str(), e.hint), ("unknown filter operator \"$regex\" at price", None));
    err22023(json!({"price": {"$not": {"$gt": null}}}), "$gt at price.$not needs a value, not null");
}

#[test]
fn first_mistake_in_jsonb_order_is_reported() {
    // "$in" sorts before "$contains" whichever comes first in the text
    err22023(json!({"title": {"$contains": 1, "$in": 1}}), "$in at title needs an array of values");
}
