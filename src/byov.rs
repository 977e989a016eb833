//! Glue for the BYOV functions of sql/byov.sql that are written in Rust.

use pgrx::pg_sys::elog::PgLogLevel;
use pgrx::pg_sys::panic::ErrorReport;
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
        error!("strata._compile_filter: the column arrays differ in length");
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
            let code = match e.sqlstate {
                "42703" => PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            };
            let mut report = ErrorReport::new(code, e.message, "strata._compile_filter");
            if let Some(hint) = e.hint {
                report = report.set_hint(hint);
            }
            report.report(PgLogLevel::ERROR);
            unreachable!("ERROR reports do not return")
        }
    }
}
