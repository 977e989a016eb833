//! The JSON form of `strata.upsert_vectors(index_id, items jsonb)`: the items parsed into
//! record ids (as text) and vectors, with the checks and messages of the PL/pgSQL it replaces.
//!
//! [`parse`] is a pure function. Its input is the items as text; in the database that is
//! jsonb's text form (`jsonb_out`), so numbers are spelt as `numeric_out` spells them and
//! values quoted in messages read as jsonb prints them. Any other JSON text parses too, and
//! then messages quote values as the text spells them.
//!
//! What it reproduces, check by check, in this order:
//! 1. `{"items": [...]}` (RushDB's body) is unwrapped; another key next to `items` is refused,
//!    naming the smallest such key. Anything but an array is then refused.
//! 2. The first item (in array order) that is not an object, has a key other than `recordId`
//!    and `vector` (the smallest is named), has no `recordId` (or a null one), has a `recordId`
//!    that is neither a string nor a number, has no `vector`, or has a `vector` that is not an
//!    array, is refused: `items[i]: why`. Every item passes this check before any vector is
//!    read.
//! 3. The first item whose vector has an element that is not a number (`vector[j] is x, not a
//!    number`) or does not make a vector (as `vector_in` reads jsonb's text of the array:
//!    out of range, no elements, too many) is refused: `items[i] (record id): why`, with the
//!    SQLSTATE `vector_in` reports.
//!
//! A record id is the string itself, or a number's text as written (jsonb's `->>`), never a
//! value rounded through f64; vectors are read from each number's text, as `vector_in` reads
//! it, so that `1e39` is out of range and `1e-50` too small for a real, as with the cast.
//! What comes after (lengths, dimensions against the index, ids against the label's key, the
//! records' existence) is strata._write_vectors' work, shared with the array form.
//!
//! "Smallest" key means smallest under the database's collation, as PL/pgSQL's `min()` and
//! `ORDER BY` compare them: the caller passes that comparison in.

use serde_json::value::RawValue;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use strata_core::vector::parse_text;
pub use strata_core::SqlState;

/// The parsed items, in array order; `record_ids[i]` gets `vectors[i]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Items {
    pub record_ids: Vec<String>,
    pub vectors: Vec<Vec<f32>>,
}

/// Items the parser rejects, with what PostgreSQL should report.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsError {
    pub sqlstate: SqlState,
    pub message: String,
}

impl fmt::Display for ItemsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.sqlstate)
    }
}

impl std::error::Error for ItemsError {}

pub(crate) fn invalid(message: String) -> ItemsError {
    ItemsError { sqlstate: SqlState::InvalidParameterValue, message }
}

const NOT_AN_ARRAY: &str = "items must be a JSON array of {\"recordId\": ..., \"vector\": [...]}";

/// `jsonb_typeof` of a raw JSON value (which serde_json has already checked).
pub(crate) fn json_type(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

pub(crate) type Object<'a> = BTreeMap<String, &'a RawValue>;

/// An object's entries (duplicate keys: the last wins, as in jsonb).
pub(crate) fn object(raw: &RawValue) -> Option<Object<'_>> {
    serde_json::from_str(raw.get()).ok()
}

pub(crate) fn array(raw: &RawValue) -> Option<Vec<&RawValue>> {
    serde_json::from_str(raw.get()).ok()
}

/// The smallest key of `obj` outside `known`, by `collate`.
pub(crate) fn smallest_unknown<'a>(
    obj: &'a Object<'_>,
    known: &[&str],
    collate: &impl Fn(&str, &str) -> Ordering,
) -> Option<&'a str> {
    obj.keys().map(String::as_str).filter(|k| !known.contains(k)).min_by(|a, b| collate(a, b))
}

/// Parses `items` (see the module documentation). `collate` compares two keys as the
/// database's collation does, to name the smallest unknown key.
pub fn parse(items: &str, collate: impl Fn(&str, &str) -> Ordering) -> Result<Items, ItemsError> {
    let top: &RawValue = serde_json::from_str(items).map_err(|e| ItemsError {
        sqlstate: SqlState::InvalidTextRepresentation,
        message: format!("items are not valid JSON: {e}"),
    })?;
    let mut list = top;
    if json_type(top) == "object" {
        let obj = object(top).ok_or_else(|| invalid(NOT_AN_ARRAY.into()))?;
        if let Some(&inner) = obj.get("items") {
            if let Some(key) = smallest_unknown(&obj, &["items"], &collate) {
                return Err(invalid(format!("unknown key \"{key}\" next to \"items\"")));
            }
            list = inner;
        }
    }
    let list = match json_type(list) {
        "array" => array(list).ok_or_else(|| invalid(NOT_AN_ARRAY.into()))?,
        _ => return Err(invalid(NOT_AN_ARRAY.into())),
    };

    // Every item's shape first: (record id, vector), both raw.
    let mut pairs = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let shape = |why: &str| invalid(format!("items[{i}]: {why}"));
        let obj = match json_type(item) {
            "object" => object(item).ok_or_else(|| shape("must be an object with \"recordId\" and \"vector\""))?,
            _ => return Err(shape("must be an object with \"recordId\" and \"vector\"")),
        };
        if let Some(key) = smallest_unknown(&obj, &["recordId", "vector"], &collate) {
            return Err(shape(&format!("unknown key \"{key}\"")));
        }
        let record_id = match obj.get("recordId").map(|r| (*r, json_type(r))) {
            None | Some((_, "null")) => return Err(shape("recordId is missing")),
            Some((r, "string" | "number")) => r,
            Some(_) => return Err(shape("recordId must be a string or a number")),
        };
        let vector = match obj.get("vector").map(|v| (*v, json_type(v))) {
            None => return Err(shape("vector is missing")),
            Some((v, "array")) => v,
            Some(_) => return Err(shape("vector must be a JSON array of numbers")),
        };
        pairs.push((record_id, vector));
    }

    // Then the ids and vectors, naming the first item whose vector fails.
    let mut out = Items { record_ids: Vec::with_capacity(pairs.len()), vectors: Vec::with_capacity(pairs.len()) };
    for (i, (record_id, vector)) in pairs.into_iter().enumerate() {
        let id = match json_type(record_id) {
            "string" => serde_json::from_str::<String>(record_id.get())
                .map_err(|e| invalid(format!("items[{i}]: recordId is not a valid string: {e}")))?,
            _ => record_id.get().to_string(),
        };
        let what = |why: String| format!("items[{i}] (record {id}): {why}");
        let elements = array(vector).ok_or_else(|| invalid(what("vector must be a JSON array of numbers".into())))?;
        if let Some((j, x)) = elements.iter().enumerate().find(|(_, x)| json_type(x) != "number") {
            return Err(invalid(what(format!("vector[{j}] is {}, not a number", x.get()))));
        }
        // What `(e -> 'vector')::text::vector` does: vector_in on the array's text.
        let v = parse_text::<f32>(vector.get(), "vector")
            .map_err(|e| ItemsError { sqlstate: e.sqlstate(), message: what(e.to_string()) })?;
        out.record_ids.push(id);
        out.vectors.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
