//! Glue for the BYOV functions of sql/byov.sql that are written in Rust.

use crate::error::Report;
use pgrx::prelude::*;
use pgrx::JsonB;
use strata_byov::filter::{compile, Column, Relation};

/// `strata._compile_filter`: RushDB's `where` as a SQL condition over the label row `l`
/// (strata_byov::filter). `strata._filter_sql` (sql/byov.sql) reads the label's columns from
/// the catalog and passes them in, one array per attribute, in attnum order; the operands stay
/// in the filter, read from parameter `param` by path.
#[pg_extern(immutable, parallel_safe, sql = false)]
#[allow(clippy::too_many_arguments)]
fn strata_compile_filter(
    filter: Option<JsonB>,
    relation: &str,
    record_key: &str,
    names: Vec<String>,
    type_names: Vec<String>,
    element_type_names: Vec<Option<String>>,
    base_is_jsonb: Vec<bool>,
    categories: Vec<String>,
    param: &str,
) -> String {
    let n = names.len();
    if [type_names.len(), element_type_names.len(), base_is_jsonb.len(), categories.len()].iter().any(|&l| l != n) {
        // Only sql/byov.sql calls this function, with arrays of one length.
        Report::new(strata_core::SqlState::InternalError, "strata._compile_filter: the column arrays differ in length").raise();
    }
    let columns = names
        .into_iter()
        .zip(type_names)
        .zip(element_type_names)
        .zip(base_is_jsonb)
        .zip(categories)
        .map(|((((name, type_name), element_type_name), base_is_jsonb), category)| Column {
            name,
            type_name,
            element_type_name,
            base_is_jsonb,
            category: category.chars().next().unwrap_or(' '),
        })
        .collect();
    let rel = Relation { display_name: relation.to_string(), record_key: record_key.to_string(), columns };
    match compile(filter.as_ref().map(|f| &f.0), &rel, param) {
        Ok(sql) => sql,
        Err(e) => {
            let report = Report::new(e.sqlstate, e.message).function("strata._compile_filter");
            match e.hint {
                Some(hint) => report.hint(hint).raise(),
                None => report.raise(),
            }
        }
    }
}
