//! RushDB's `where` filter compiled into a SQL condition over the label row `l`.
//!
//! [`compile`] is a pure function: the filter (as JSON), the label's columns (as the catalog
//! describes them) and the name of the SQL parameter that will carry the filter in; out comes
//! the condition, or a [`FilterError`] with the SQLSTATE, message and hint `strata.search`
//! reports. Values are never interpolated into the SQL: each operand is read from the filter
//! parameter by its path (`$2 #>> '{price,$gt}'`), so the SQL text depends only on the
//! filter's shape, the column names and the types, which are all quoted.
//!
//! The JSON is walked in jsonb's key order (shorter keys first, then bytewise), the order in
//! which PostgreSQL hands out a jsonb object's keys, so that of several mistakes in one
//! filter the same one is reported whatever order the caller wrote the keys in.

use serde_json::{Map, Value};
pub use strata_core::SqlState;
use std::fmt;

/// One column of the label table, as `pg_attribute` and `pg_type` describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// `format_type(atttypid, NULL)`: the declared type, as error messages name it.
    pub type_name: String,
    /// For an array column (its type, through domains, of category 'A' with an element type):
    /// `format_type` of the element type, to which each operand is cast. `None` otherwise.
    pub element_type_name: Option<String>,
    /// Whether the (element's) base type, through domains, is jsonb: operands stay jsonb.
    pub base_is_jsonb: bool,
    /// `pg_type.typcategory` of the (element's) base type: 'S' string, 'N' number,
    /// 'B' boolean, 'D' date/time, ...
    pub category: char,
}

/// The label table as the compiler needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// The table's name as `regclass` prints it, for messages.
    pub display_name: String,
    /// The primary-key column: RushDB's `$id`.
    pub record_key: String,
    /// Every live user column, in `attnum` order (the order a "Did you mean" hint picks from).
    pub columns: Vec<Column>,
}

/// A filter the compiler rejects, with what PostgreSQL should report.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    /// Undefined column (42703) or invalid parameter value (22023).
    pub sqlstate: SqlState,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.sqlstate)?;
        if let Some(h) = &self.hint {
            write!(f, " hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FilterError {}

fn invalid(message: String) -> FilterError {
    FilterError { sqlstate: SqlState::InvalidParameterValue, message, hint: None }
}

fn invalid_hint(message: String, hint: Option<&str>) -> FilterError {
    FilterError { sqlstate: SqlState::InvalidParameterValue, message, hint: hint.map(str::to_string) }
}

const LOGICAL_HINT: &str = "Logical operators are $and, $or and $not, $id is the record id; \
                            comparisons go inside a column: {\"column\": {\"$gt\": 1}}.";
const RELATED_HINT: &str = "Filters on related records are not supported; \
                            the keys of a column condition are operators such as $eq, $in, $contains.";

/// Compiles `filter` into a condition over the row `l` of `rel`, reading operands from the
/// SQL parameter `param` (e.g. `$2`), which must carry the same filter as jsonb.
/// `None` or JSON null means no filter: `true`.
pub fn compile(filter: Option<&Value>, rel: &Relation, param: &str) -> Result<String, FilterError> {
    Compiler { rel, param }.filter(filter.unwrap_or(&Value::Null), &[])
}

struct Compiler<'a> {
    rel: &'a Relation,
    param: &'a str,
}

/// A jsonb object's entries in jsonb's order: shorter keys first, then bytewise.
fn entries(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut e: Vec<_> = map.iter().collect();
    e.sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
    e
}

/// `jsonb_typeof`.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

/// A value as jsonb prints it (`{"a": 1, "b": [1, 2]}`), for messages.
fn jsonb_text(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(jsonb_text).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            entries(m)
                .into_iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), jsonb_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        scalar => scalar.to_string(),
    }
}

/// `format('%I', name)`, always quoted (quoting a name that needs none changes nothing).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `quote_literal`: quotes doubled; with a backslash, an E'' string with backslashes doubled,
/// so the literal means the same whatever standard_conforming_strings says.
fn quote_literal(s: &str) -> String {
    if s.contains('\\') {
        format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// A path as a `text[]` literal: `'{"a","$in","0"}'::text[]`, every element double-quoted so
/// that commas, braces, spaces or the word NULL in a key stay part of that key.
fn path_literal(path: &[String]) -> String {
    let elems: Vec<String> =
        path.iter().map(|p| format!("\"{}\"", p.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{}::text[]", quote_literal(&format!("{{{}}}", elems.join(","))))
}

fn push(path: &[String], key: &str) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(key.to_string());
    p
}

fn and_all(parts: &[String]) -> String {
    format!("({})", parts.join(" AND "))
}

impl Compiler<'_> {
    /// A filter object: every key must hold.
    fn filter(&self, filter: &Value, path: &[String]) -> Result<String, FilterError> {
        let at = if path.is_empty() { String::new() } else { format!(" at {}", path.join(".")) };
        let map = match filter {
            Value::Null => return Ok("true".into()),
            Value::Object(m) => m,
            _ => return Err(invalid(format!("filter must be a JSON object{at}"))),
        };
        let mut parts = Vec::new();
        for (key, val) in entries(map) {
            match key.as_str() {
                "$and" | "$or" => {
                    let subs = match val {
                        Value::Array(items) => items
                            .iter()
                            .enumerate()
                            .map(|(i, x)| self.filter(x, &push(&push(path, key), &i.to_string())))
                            .collect::<Result<Vec<_>, _>>()?,
                        // {"$or": {"a": 1, "b": 2}}: each key is a filter of its own
                        Value::Object(m) => entries(m)
                            .into_iter()
                            .map(|(k, v)| {
                                let mut one = Map::new();
                                one.insert(k.clone(), v.clone());
                                self.filter(&Value::Object(one), &push(path, key))
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                        _ => return Err(invalid(format!("{key} needs an array of filters{at}"))),
                    };
                    parts.push(if subs.is_empty() {
                        (key == "$and").to_string()
                    } else {
                        format!("({})", subs.join(if key == "$and" { " AND " } else { " OR " }))
                    });
                }
                "$not" => parts.push(format!("NOT coalesce({}, false)", self.filter(val, &push(path, key))?)),
                // RushDB's record id: the label's primary key
                "$id" => parts.push(self.column(&self.rel.record_key, val, &push(path, key))?),
                k if k.starts_with('$') => {
                    return Err(invalid_hint(format!("unknown filter operator \"{key}\"{at}"), Some(LOGICAL_HINT)))
                }
                _ => parts.push(self.column(key, val, &push(path, key))?),
            }
        }
        Ok(if parts.is_empty() { "true".into() } else { and_all(&parts) })
    }

    fn lookup(&self, name: &str) -> Result<&Column, FilterError> {
        if let Some(c) = self.rel.columns.iter().find(|c| c.name == name) {
            return Ok(c);
        }
        let lower = name.to_lowercase();
        let hint = self
            .rel
            .columns
            .iter()
            .find(|c| c.name.to_lowercase() == lower)
            .map(|c| format!("Did you mean \"{}\"?", c.name));
        Err(FilterError {
            sqlstate: SqlState::UndefinedColumn,
            message: format!("column \"{name}\" of relation \"{}\" does not exist", self.rel.display_name),
            hint,
        })
    }

    /// The condition for one column: a plain value (equality, or IS NULL for null) or an
    /// object of operators, all of which must hold. On an array column (other than jsonb) a
    /// condition on a single value holds when it holds for any element ($ne and $nin: for no
    /// element).
    fn column(&self, name: &str, cond: &Value, path: &[String]) -> Result<String, FilterError> {
        let col = self.lookup(name)?;
        let col_ref = format!("l.{}", quote_ident(&col.name));
        let array = col.element_type_name.is_some();
        // what a comparison compares: the column, or e, each element of an array
        let (elem_ref, cast_to) = match &col.element_type_name {
            Some(elem) => ("e".to_string(), elem.as_str()),
            None => (col_ref.clone(), col.type_name.as_str()),
        };
        let at = path.join(".");
        let plain_eq;
        let (ops, plain) = match cond {
            Value::Object(m) => (m, false),
            other => {
                let mut m = Map::new();
                m.insert("$eq".into(), other.clone());
                plain_eq = m;
                (&plain_eq, true)
            }
        };
        if ops.is_empty() {
            return Err(invalid(format!("empty condition for column \"{name}\"")));
        }
        let param = self.param;
        let mut parts = Vec::new();
        for (op, val) in entries(ops) {
            // where the operand sits in the filter: a plain value is at the column's own path
            let op_path = if plain { path.to_vec() } else { push(path, op) };
            let operand_path = path_literal(&op_path);
            let value = if col.base_is_jsonb {
                format!("({param} #> {operand_path})")
            } else {
                format!("({param} #>> {operand_path})::{cast_to}")
            };
            let mut none = false; // the condition holds when no element matches (array $ne, $nin)
            let part = match op.as_str() {
                "$eq" | "$ne" | "$gt" | "$gte" | "$lt" | "$lte" => {
                    if array && (op == "$eq" || op == "$ne") && val.is_array() {
                        // the whole array: {"tags": ["a", "b"]}
                        if val.as_array().unwrap().iter().any(is_container) {
                            return Err(invalid(format!("{op} at {at} needs an array of single values")));
                        }
                        parts.push(format!(
                            "{col_ref} {} ARRAY(SELECT (x #>> '{{}}')::{cast_to} FROM jsonb_array_elements({param} #> {operand_path}) x)",
                            if op == "$eq" { "=" } else { "<>" }
                        ));
                        continue;
                    } else if is_container(val) && !(col.base_is_jsonb && (op == "$eq" || op == "$ne")) {
                        return Err(invalid_hint(
                            format!("{op} at {at} needs a single value, not {}", json_type(val)),
                            val.is_array().then_some("Use $in to match one of several values."),
                        ));
                    } else if val.is_null() {
                        if op != "$eq" && op != "$ne" {
                            return Err(invalid(format!("{op} at {at} needs a value, not null")));
                        }
                        parts.push(format!("{col_ref} IS {}NULL", if op == "$ne" { "NOT " } else { "" }));
                        continue;
                    }
                    none = array && op == "$ne";
                    let sql_op = match op.as_str() {
                        "$eq" => "=",
                        "$ne" if none => "=",
                        "$ne" => "<>",
                        "$gt" => ">",
                        "$gte" => ">=",
                        "$lt" => "<",
                        _ => "<=",
                    };
                    format!("{elem_ref} {sql_op} {value}")
                }
                "$in" | "$nin" => {
                    let Value::Array(items) = val else {
                        return Err(invalid(format!("{op} at {at} needs an array of values")));
                    };
                    if !col.base_is_jsonb && items.iter().any(is_container) {
                        return Err(invalid(format!("{op} at {at} needs an array of single values")));
                    }
                    none = array && op == "$nin";
                    let item = if col.base_is_jsonb { "x".to_string() } else { format!("(x #>> '{{}}')::{cast_to}") };
                    format!(
                        "{}({elem_ref} = ANY (ARRAY(SELECT {item} FROM jsonb_array_elements({param} #> {operand_path}) x \
                         WHERE jsonb_typeof(x) <> 'null')))",
                        if op == "$nin" && !array { "NOT " } else { "" }
                    )
                }
                "$contains" | "$startsWith" | "$endsWith" => {
                    if !val.is_string() {
                        return Err(invalid(format!("{op} at {at} needs a string")));
                    } else if col.category != 'S' {
                        return Err(invalid(format!(
                            "{op} at {at} needs a text column; \"{name}\" is {}",
                            col.type_name
                        )));
                    }
                    let text = format!("({param} #>> {operand_path})");
                    // as in RushDB: $contains ignores case, $startsWith and $endsWith do not
                    match op.as_str() {
                        "$contains" => format!("strpos(lower({elem_ref}::text), lower({text})) > 0"),
                        "$startsWith" => format!("starts_with({elem_ref}::text, {text})"),
                        _ => format!("right({elem_ref}::text, length({text})) = {text}"),
                    }
                }
                "$exists" => {
                    let Value::Bool(exists) = val else {
                        return Err(invalid(format!("$exists at {at} needs true or false")));
                    };
                    parts.push(format!("{col_ref} IS {}NULL", if *exists { "NOT " } else { "" }));
                    continue;
                }
                "$type" => {
                    parts.push(type_condition(&col_ref, col, val, &at)?);
                    continue;
                }
                "$not" => {
                    parts.push(format!("NOT coalesce({}, false)", self.column(name, val, &push(path, op))?));
                    continue;
                }
                _ => {
                    return Err(invalid_hint(
                        format!("unknown filter operator \"{op}\" at {at}"),
                        (!op.starts_with('$')).then_some(RELATED_HINT),
                    ))
                }
            };
            parts.push(if !array {
                part
            } else if none {
                format!("({col_ref} IS NOT NULL AND NOT EXISTS (SELECT FROM unnest({col_ref}) e WHERE {part}))")
            } else {
                format!("EXISTS (SELECT FROM unnest({col_ref}) e WHERE {part})")
            });
        }
        Ok(and_all(&parts))
    }
}

/// RushDB's $type: whether a value has the type string, number, boolean, datetime or null. A
/// column's values all have its type (the element type, for arrays), so the condition is
/// "IS NOT NULL" when the type matches and false otherwise; jsonb values are tested one by one.
fn type_condition(col_ref: &str, col: &Column, val: &Value, at: &str) -> Result<String, FilterError> {
    let wanted = match val.as_str() {
        Some(t @ ("string" | "number" | "boolean" | "datetime" | "null")) => t,
        _ => {
            return Err(invalid(format!(
                "$type at {at} needs one of \"string\", \"number\", \"boolean\", \"datetime\", \"null\", not {}",
                jsonb_text(val)
            )))
        }
    };
    Ok(if wanted == "null" {
        if col.base_is_jsonb {
            format!("({col_ref} IS NULL OR jsonb_typeof({col_ref}) = 'null')")
        } else {
            format!("{col_ref} IS NULL")
        }
    } else if col.base_is_jsonb {
        // JSON has no datetime type: dates in JSON are strings
        if wanted == "datetime" {
            "false".into()
        } else {
            format!("jsonb_typeof({col_ref}) = '{wanted}'")
        }
    } else if matches!((wanted, col.category), ("string", 'S') | ("number", 'N') | ("boolean", 'B') | ("datetime", 'D')) {
        format!("{col_ref} IS NOT NULL")
    } else {
        "false".into()
    })
}

#[cfg(test)]
mod tests;
