//! The vector entries of `strata.insert_records(label, records, vectors)`: every record's list of
//! `{"propertyName": ..., "vector": [...], "similarityFunction": ...}` parsed and checked at
//! once, with the checks and messages of the PL/pgSQL loop it replaces.
//!
//! [`parse`] is a pure function. Its input is a JSON array with one element per record: that
//! record's list of entries, or null for a record without vectors (sql/byov.sql builds it from
//! the `vectors` argument or from the records' `"__vectors"` keys and passes jsonb's text form,
//! as for [`crate::items`]).
//!
//! What it checks, in this order, for each record's list and then each entry of it:
//! 1. A list that is neither null nor an array: `records[i]: vectors must be a JSON array of
//!    {"propertyName": ..., "vector": [...]}`.
//! 2. An entry that is not an object, whose `propertyName` is not a string, or whose
//!    `similarity` or `similarityFunction` is there but neither a string nor null:
//!    `records[i].vectors[j]: must be {...}`.
//! 3. A key other than `propertyName`, `vector`, `similarityFunction` and `similarity` (the
//!    smallest is named, with a hint): `records[i].vectors[j]: unknown key "k"`.
//! 4. `similarityFunction` and `similarity` both given, as different strings: they disagree.
//! 5. The vector, as `strata._json_vector` read it: not an array, an element that is not a
//!    number, or what `vector_in` says about jsonb's text of the array (out of range, no
//!    elements, too many), with `vector_in`'s SQLSTATE.
//!
//! The first failure is not raised here but returned with the index of its record, together
//! with every entry before it: strata.insert_records checks each record's columns and
//! resolves each entry's index (in the database) before it looks at the next record's entries,
//! so it raises this error only when its loop reaches the record, and the first error a call
//! reports stays the one the PL/pgSQL loop found.

use crate::items::{array, invalid, json_type, object, smallest_unknown, ItemsError};
use serde_json::value::RawValue;
use std::cmp::Ordering;
use strata_core::vector::parse_text;
pub use strata_core::SqlState;

/// The entries that passed every check, in order (record by record, each list in order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entries {
    /// The 0-based index of the entry's record.
    pub records: Vec<usize>,
    pub properties: Vec<String>,
    /// `similarityFunction`, else `similarity`; None when neither is given (or both are null).
    pub similarities: Vec<Option<String>>,
    pub vectors: Vec<Vec<f32>>,
}

/// The first list or entry that fails a check, reported when the caller reaches `record`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryError {
    pub record: usize,
    pub sqlstate: SqlState,
    pub message: String,
    pub hint: Option<String>,
}

/// What [`parse`] found: the entries before the first failure, and the failure if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub entries: Entries,
    pub error: Option<EntryError>,
}

const KEYS: [&str; 4] = ["propertyName", "vector", "similarityFunction", "similarity"];
const UNKNOWN_KEY_HINT: &str =
    "A vector entry has the keys propertyName, vector and similarityFunction (or similarity).";
const SHAPE: &str = r#"must be {"propertyName": "...", "vector": [...], "similarityFunction": "..."}"#;

/// One entry's failure, before it is tied to its record.
struct Failure {
    sqlstate: SqlState,
    message: String,
    hint: Option<String>,
}

fn fail(message: String) -> Failure {
    Failure { sqlstate: SqlState::InvalidParameterValue, message, hint: None }
}

/// A string value's contents (`->>`). jsonb's text never holds a string serde_json refuses
/// (a lone surrogate escape); other text may.
fn string(raw: &RawValue, at: &str, key: &str) -> Result<String, Failure> {
    serde_json::from_str(raw.get()).map_err(|e| fail(format!("{at}: {key} is not a valid string: {e}")))
}

/// `obj[key]` when it is a string, None when it is missing or null; any other type has been
/// refused by the shape check.
fn optional_string(obj: &crate::items::Object<'_>, at: &str, key: &str) -> Result<Option<String>, Failure> {
    match obj.get(key) {
        Some(v) if json_type(v) == "string" => string(v, at, key).map(Some),
        _ => Ok(None),
    }
}

/// One entry, `at` naming it (`records[i].vectors[j]`): its property, similarity and vector.
fn entry(
    raw: &RawValue,
    at: &str,
    collate: &impl Fn(&str, &str) -> Ordering,
) -> Result<(String, Option<String>, Vec<f32>), Failure> {
    let shape = || fail(format!("{at}: {SHAPE}"));
    let obj = match json_type(raw) {
        "object" => object(raw).ok_or_else(shape)?,
        _ => return Err(shape()),
    };
    let string_or_null = |key: &str| obj.get(key).is_none_or(|v| matches!(json_type(v), "string" | "null"));
    let property = match obj.get("propertyName") {
        Some(p) if json_type(p) == "string" => *p,
        _ => return Err(shape()),
    };
    if !string_or_null("similarity") || !string_or_null("similarityFunction") {
        return Err(shape());
    }
    // A misspelt key would silently pick another index (or none).
    if let Some(key) = smallest_unknown(&obj, &KEYS, collate) {
        return Err(Failure {
            sqlstate: SqlState::InvalidParameterValue,
            message: format!("{at}: unknown key \"{key}\""),
            hint: Some(UNKNOWN_KEY_HINT.into()),
        });
    }
    let function = optional_string(&obj, at, "similarityFunction")?;
    let similarity = optional_string(&obj, at, "similarity")?;
    if let (Some(f), Some(s)) = (&function, &similarity) {
        if f != s {
            return Err(fail(format!("{at}: similarityFunction \"{f}\" and similarity \"{s}\" disagree")));
        }
    }
    let property = string(property, at, "propertyName")?;

    let not_an_array = || fail(format!("{at}: vector must be a JSON array of numbers"));
    let vector = match obj.get("vector") {
        Some(v) if json_type(v) == "array" => *v,
        _ => return Err(not_an_array()),
    };
    let elements = array(vector).ok_or_else(not_an_array)?;
    if let Some((k, x)) = elements.iter().enumerate().find(|(_, x)| json_type(x) != "number") {
        return Err(fail(format!("{at}: vector[{k}] is {}, not a number", x.get())));
    }
    // `v::text::vector`: vector_in on jsonb's text of the array. The PL/pgSQL caught only data
    // exceptions (class 22) to name the entry; vector_in raises nothing else, but keep the rule.
    let vector = parse_text::<f32>(vector.get(), "vector").map_err(|e| {
        let sqlstate = e.sqlstate();
        let message = if sqlstate.code().starts_with("22") { format!("{at}: {e}") } else { e.to_string() };
        Failure { sqlstate, message, hint: None }
    })?;
    Ok((property, function.or(similarity), vector))
}

/// Parses the records' vector lists (see the module documentation). `collate` compares two
/// keys as the database's collation does, to name the smallest unknown key. Err is for input
/// the caller never passes (not JSON, or not an array of lists), and is raised at once.
pub fn parse(lists: &str, collate: impl Fn(&str, &str) -> Ordering) -> Result<Parsed, ItemsError> {
    let top: &RawValue = serde_json::from_str(lists).map_err(|e| ItemsError {
        sqlstate: SqlState::InvalidTextRepresentation,
        message: format!("vector lists are not valid JSON: {e}"),
    })?;
    let not_lists = || invalid("vector lists must be a JSON array with one element per record".into());
    let lists = match json_type(top) {
        "array" => array(top).ok_or_else(not_lists)?,
        _ => return Err(not_lists()),
    };
    let mut out = Parsed::default();
    for (i, list) in lists.iter().enumerate() {
        let entries = match json_type(list) {
            "null" => continue,
            "array" => array(list),
            _ => None,
        };
        let Some(entries) = entries else {
            out.error = Some(EntryError {
                record: i,
                sqlstate: SqlState::InvalidParameterValue,
                message: format!(
                    "records[{i}]: vectors must be a JSON array of {{\"propertyName\": ..., \"vector\": [...]}}"
                ),
                hint: None,
            });
            return Ok(out);
        };
        for (j, raw) in entries.iter().enumerate() {
            match entry(raw, &format!("records[{i}].vectors[{j}]"), &collate) {
                Ok((property, similarity, vector)) => {
                    out.entries.records.push(i);
                    out.entries.properties.push(property);
                    out.entries.similarities.push(similarity);
                    out.entries.vectors.push(vector);
                }
                Err(f) => {
                    out.error = Some(EntryError { record: i, sqlstate: f.sqlstate, message: f.message, hint: f.hint });
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
