//! The `WITH (options = $$ ... $$)` string of a `vectors` index: the small
//! TOML subset the pgvecto.rs articles use.
//!
//! ```text
//! capacity = 2097152          # accepted, advisory (pages grow as needed)
//! size_ram = 4294967296       # accepted, advisory (buffers are PostgreSQL's)
//! storage_vectors = "ram"     # "ram" or "disk": accepted, advisory
//! [algorithm.hnsw]
//! storage = "ram"             # "ram" or "disk": accepted, advisory
//! m = 32                      # neighbours per node, 2..=100
//! ef = 256                    # ef_construction, 4..=1000
//! ef_construction = 256       # the same, by its reloption name
//! ```
//! Every index lives in PostgreSQL pages through the buffer manager whatever
//! the storage keys say; they are validated so typos are caught, and kept so
//! options written for pgvecto.rs work unchanged.

use std::fmt;

pub const M_RANGE: (i64, i64) = (2, 100);
pub const EF_CONSTRUCTION_RANGE: (i64, i64) = (4, 1000);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexOptions {
    pub m: Option<i64>,
    pub ef_construction: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptionsError(pub String);

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid index options: {}", self.0)
    }
}

enum Value {
    Int(i64),
    Str(String),
}

fn parse_value(raw: &str, line_no: usize) -> Result<Value, OptionsError> {
    let raw = raw.trim();
    if let Some(inner) = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Ok(Value::Str(inner.to_string()));
    }
    raw.replace('_', "")
        .parse::<i64>()
        .map(Value::Int)
        .map_err(|_| OptionsError(format!("line {line_no}: value {raw} is neither an integer nor a quoted string")))
}

fn int_in(key: &str, v: Value, (lo, hi): (i64, i64), line_no: usize) -> Result<i64, OptionsError> {
    match v {
        Value::Int(i) if (lo..=hi).contains(&i) => Ok(i),
        Value::Int(i) => Err(OptionsError(format!("line {line_no}: {key} = {i} is out of range {lo}..={hi}"))),
        Value::Str(_) => Err(OptionsError(format!("line {line_no}: {key} must be an integer"))),
    }
}

fn storage(key: &str, v: Value, line_no: usize) -> Result<(), OptionsError> {
    match v {
        Value::Str(s) if s == "ram" || s == "disk" => Ok(()),
        _ => Err(OptionsError(format!("line {line_no}: {key} must be \"ram\" or \"disk\""))),
    }
}

fn positive(key: &str, v: Value, line_no: usize) -> Result<(), OptionsError> {
    int_in(key, v, (1, i64::MAX), line_no).map(|_| ())
}

pub fn parse(text: &str) -> Result<IndexOptions, OptionsError> {
    let mut out = IndexOptions::default();
    let mut section = String::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.trim().to_string();
            if section != "algorithm.hnsw" {
                return Err(OptionsError(format!("line {line_no}: unknown section [{section}] (known: [algorithm.hnsw])")));
            }
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| OptionsError(format!("line {line_no}: expected key = value, got {line:?}")))?;
        let key = key.trim();
        let value = parse_value(value, line_no)?;
        match (section.as_str(), key) {
            ("", "capacity") | ("", "size_ram") => positive(key, value, line_no)?,
            ("", "storage_vectors") | ("algorithm.hnsw", "storage") => storage(key, value, line_no)?,
            ("algorithm.hnsw", "m") => out.m = Some(int_in(key, value, M_RANGE, line_no)?),
            ("algorithm.hnsw", "ef") | ("algorithm.hnsw", "ef_construction") => {
                out.ef_construction = Some(int_in(key, value, EF_CONSTRUCTION_RANGE, line_no)?)
            }
            ("", k) => return Err(OptionsError(format!("line {line_no}: unknown key {k:?}"))),
            (s, k) => return Err(OptionsError(format!("line {line_no}: unknown key {k:?} in [{s}]"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_example_parses() {
        let text = "\ncapacity = 2097152\nsize_ram = 4294967296\nstorage_vectors = \"ram\"\n[algorithm.hnsw]\nstorage = \"ram\"\nm = 32\nef = 256\n";
        assert_eq!(parse(text).unwrap(), IndexOptions { m: Some(32), ef_construction: Some(256) });
        assert_eq!(parse("").unwrap(), IndexOptions::default());
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(e("[algorithm.hnsw]\nm = 1000"), "invalid index options: line 2: m = 1000 is out of range 2..=100");
        assert_eq!(e("mm = 3"), "invalid index options: line 1: unknown key \"mm\"");
        assert_eq!(e("[algorithm.ivf]"), "invalid index options: line 1: unknown section [algorithm.ivf] (known: [algorithm.hnsw])");
        assert_eq!(e("m = 16"), "invalid index options: line 1: unknown key \"m\"");
        assert_eq!(e("storage_vectors = \"tape\""), "invalid index options: line 1: storage_vectors must be \"ram\" or \"disk\"");
        assert_eq!(e("capacity"), "invalid index options: line 1: expected key = value, got \"capacity\"");
        assert_eq!(e("[algorithm.hnsw]\nef = x"), "invalid index options: line 2: value x is neither an integer nor a quoted string");
    }
}
