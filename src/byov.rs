//! Glue for the BYOV functions of sql/byov.sql that are written in Rust.

use crate::datum::{f32_datum, pg_v1};
use crate::error::Report;
use pgrx::prelude::*;
use pgrx::JsonB;
use std::cmp::Ordering;
use std::ffi::CStr;
use strata_byov::filter::{compile, Column, Relation};
use strata_byov::items;

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

// `strata._parse_items(items jsonb, OUT record_ids text[], OUT vectors vector[])`: the items of
// `strata.upsert_vectors(index_id, items jsonb)` as two arrays of one length, parsed by
// strata_byov::items from jsonb's text form. Declared (not STRICT) in sql/byov.sql; a NULL is
// refused as JSON null is. A V1 function of its own (not #[pg_extern]): it returns vector[],
// whose element type's OID it takes from its declaration.
pg_v1! {
    fn strata_parse_items(fcinfo) { parse_items(fcinfo) }
}

/// Two keys compared as `min()` and `ORDER BY` compare text in the database: under its
/// default collation.
fn collate(a: &str, b: &str) -> Ordering {
    let c = unsafe {
        pg_sys::varstr_cmp(
            a.as_ptr().cast(),
            a.len() as i32,
            b.as_ptr().cast(),
            b.len() as i32,
            pg_sys::DEFAULT_COLLATION_OID,
        )
    };
    c.cmp(&0)
}

const PARSE_ITEMS: &str = "strata._parse_items";

/// A bug of strata's (XX000), not of the caller's items.
fn internal(what: &str) -> ! {
    Report::new(strata_core::SqlState::InternalError, format!("{PARSE_ITEMS}: {what}")).function(PARSE_ITEMS).raise()
}

fn parse_items(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // jsonb's text form: numbers as numeric_out spells them, which record ids keep.
    let text = unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            None
        } else {
            let arg = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0);
            let out = pgrx::direct_function_call_as_datum(pg_sys::jsonb_out, &[Some(arg)])
                .unwrap_or_else(|| internal("jsonb_out returned NULL"));
            Some(CStr::from_ptr(out.cast_mut_ptr()))
        }
    };
    let text = match text {
        None => "null",
        // jsonb_out writes UTF-8 in a UTF-8 database; a string in another server encoding
        // only matters inside record ids, which then fail as the key type's input would.
        Some(t) => t.to_str().unwrap_or_else(|_| internal("jsonb text is not UTF-8")),
    };
    let parsed = items::parse(text, collate)
        .unwrap_or_else(|e| Report::new(e.sqlstate, e.message).function(PARSE_ITEMS).raise());
    let n = parsed.record_ids.len();
    if n > i32::MAX as usize {
        internal("too many items");
    }
    unsafe {
        let mut tupdesc: pg_sys::TupleDesc = std::ptr::null_mut();
        if pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut tupdesc)
            != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE
            || (*tupdesc).natts != 2
        {
            internal("must be declared with OUT record_ids text[], OUT vectors vector[]");
        }
        let tupdesc = pg_sys::BlessTupleDesc(tupdesc);
        // The vector type's OID, from the declaration (the extension's schema is not fixed).
        let vector_array = (*tupdesc).attrs.as_slice(2)[1].atttypid;
        let vector_type = pg_sys::get_element_type(vector_array);
        if vector_type == pg_sys::InvalidOid {
            internal("OUT vectors must be an array");
        }
        let (mut typlen, mut typbyval, mut typalign) = (0i16, false, 0 as std::ffi::c_char);
        pg_sys::get_typlenbyvalalign(vector_type, &mut typlen, &mut typbyval, &mut typalign);

        let mut ids: Vec<pg_sys::Datum> = parsed
            .record_ids
            .iter()
            .map(|id| pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(id.as_ptr().cast(), id.len() as i32)))
            .collect();
        let mut vecs: Vec<pg_sys::Datum> = parsed.vectors.iter().map(|v| f32_datum(v)).collect();
        let ids = pg_sys::construct_array(
            ids.as_mut_ptr(),
            n as i32,
            pg_sys::TEXTOID,
            -1,
            false,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
        );
        let vecs = pg_sys::construct_array(vecs.as_mut_ptr(), n as i32, vector_type, typlen.into(), typbyval, typalign);
        let mut values = [pg_sys::Datum::from(ids), pg_sys::Datum::from(vecs)];
        let mut nulls = [false, false];
        let tuple = pg_sys::heap_form_tuple(tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data)
    }
}
