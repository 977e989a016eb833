//! Glue for the BYOV functions of sql/byov.sql that are written in Rust.

use crate::datum::{f32_datum, pg_v1};
use crate::error::Report;
use pgrx::prelude::*;
use pgrx::JsonB;
use std::cmp::Ordering;
use std::ffi::CStr;
use strata_byov::filter::{compile, Column, Relation};
use strata_byov::{entries, items};

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

/// A bug of strata's (XX000), not of the caller's input.
fn internal(function: &'static str, what: &str) -> ! {
    Report::new(strata_core::SqlState::InternalError, format!("{function}: {what}")).function(function).raise()
}

/// Argument 0, a jsonb, as jsonb's text form: numbers as numeric_out spells them (record ids
/// keep that text; vectors are read from it as vector_in reads it). SQL NULL reads as JSON null.
///
/// # Safety
/// `fcinfo` is the call's, with a jsonb argument 0.
unsafe fn jsonb_arg_text<'a>(fcinfo: pg_sys::FunctionCallInfo, function: &'static str) -> &'a str {
    let text = unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            return "null";
        }
        let arg = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0);
        let out = pgrx::direct_function_call_as_datum(pg_sys::jsonb_out, &[Some(arg)])
            .unwrap_or_else(|| internal(function, "jsonb_out returned NULL"));
        CStr::from_ptr(out.cast_mut_ptr())
    };
    // jsonb_out writes UTF-8 in a UTF-8 database; a string in another server encoding
    // only matters inside record ids, which then fail as the key type's input would.
    text.to_str().unwrap_or_else(|_| internal(function, "jsonb text is not UTF-8"))
}

/// The call's declared result row, which must have `natts` columns.
///
/// # Safety
/// `fcinfo` is the call's.
unsafe fn result_row(
    fcinfo: pg_sys::FunctionCallInfo,
    natts: i32,
    function: &'static str,
    declared: &str,
) -> pg_sys::TupleDesc {
    unsafe {
        let mut tupdesc: pg_sys::TupleDesc = std::ptr::null_mut();
        if pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut tupdesc)
            != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE
            || (*tupdesc).natts != natts
        {
            internal(function, &format!("must be declared with {declared}"));
        }
        pg_sys::BlessTupleDesc(tupdesc)
    }
}

/// A one-dimensional array of `vector`s whose array type is result column `column`'s (the
/// vector type's OID comes from the declaration: the extension's schema is not fixed).
///
/// # Safety
/// `tupdesc` is a result row descriptor with more than `column` columns.
unsafe fn vector_array(
    tupdesc: pg_sys::TupleDesc,
    column: usize,
    vectors: &[Vec<f32>],
    function: &'static str,
) -> pg_sys::Datum {
    unsafe {
        let natts = (*tupdesc).natts as usize;
        let vector_type = pg_sys::get_element_type((*tupdesc).attrs.as_slice(natts)[column].atttypid);
        if vector_type == pg_sys::InvalidOid {
            internal(function, "the vectors column must be an array");
        }
        let (mut typlen, mut typbyval, mut typalign) = (0i16, false, 0 as std::ffi::c_char);
        pg_sys::get_typlenbyvalalign(vector_type, &mut typlen, &mut typbyval, &mut typalign);
        let mut datums: Vec<pg_sys::Datum> = vectors.iter().map(|v| f32_datum(v)).collect();
        pg_sys::Datum::from(pg_sys::construct_array(
            datums.as_mut_ptr(),
            datums.len() as i32,
            vector_type,
            typlen.into(),
            typbyval,
            typalign,
        ))
    }
}

/// A `text` datum.
fn text_datum(s: &str) -> pg_sys::Datum {
    pg_sys::Datum::from(unsafe { pg_sys::cstring_to_text_with_len(s.as_ptr().cast(), s.len() as i32) })
}

/// A one-dimensional `text[]`, None elements as NULL.
fn text_array<'s>(strings: impl ExactSizeIterator<Item = Option<&'s str>>) -> pg_sys::Datum {
    let n = strings.len();
    let (mut datums, mut nulls): (Vec<pg_sys::Datum>, Vec<bool>) =
        strings.map(|s| s.map_or((pg_sys::Datum::from(0usize), true), |s| (text_datum(s), false))).unzip();
    let (mut dims, mut lbs) = ([n as i32], [1i32]);
    pg_sys::Datum::from(unsafe {
        pg_sys::construct_md_array(
            datums.as_mut_ptr(),
            nulls.as_mut_ptr(),
            1,
            dims.as_mut_ptr(),
            lbs.as_mut_ptr(),
            pg_sys::TEXTOID,
            -1,
            false,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
        )
    })
}

/// A one-dimensional `integer[]`.
fn int4_array(values: impl Iterator<Item = i32>) -> pg_sys::Datum {
    let mut datums: Vec<pg_sys::Datum> = values.map(pg_sys::Datum::from).collect();
    pg_sys::Datum::from(unsafe {
        pg_sys::construct_array(
            datums.as_mut_ptr(),
            datums.len() as i32,
            pg_sys::INT4OID,
            4,
            true,
            pg_sys::TYPALIGN_INT as std::ffi::c_char,
        )
    })
}

fn parse_items(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let text = unsafe { jsonb_arg_text(fcinfo, PARSE_ITEMS) };
    let parsed = items::parse(text, collate)
        .unwrap_or_else(|e| Report::new(e.sqlstate, e.message).function(PARSE_ITEMS).raise());
    if parsed.record_ids.len() > i32::MAX as usize {
        internal(PARSE_ITEMS, "too many items");
    }
    unsafe {
        let tupdesc = result_row(fcinfo, 2, PARSE_ITEMS, "OUT record_ids text[], OUT vectors vector[]");
        let ids = text_array(parsed.record_ids.iter().map(|id| Some(id.as_str())));
        let vecs = vector_array(tupdesc, 1, &parsed.vectors, PARSE_ITEMS);
        let mut values = [ids, vecs];
        let mut nulls = [false, false];
        let tuple = pg_sys::heap_form_tuple(tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data)
    }
}

// `strata._parse_vector_entries(lists jsonb, OUT records integer[], OUT properties text[],
// OUT similarities text[], OUT vectors vector[], OUT error_record integer, OUT error_sqlstate
// text, OUT error_message text, OUT error_hint text)`: the vector entries of
// `strata.insert_records`, one list per record (or null), parsed by strata_byov::entries from
// jsonb's text form into one array element per entry. The first invalid list or entry comes
// back in the error columns (NULL when there is none) for insert_records to raise when its
// loop over the records reaches error_record. A V1 function for the same reason as
// strata_parse_items.
pg_v1! {
    fn strata_parse_vector_entries(fcinfo) { parse_vector_entries(fcinfo) }
}

const PARSE_VECTOR_ENTRIES: &str = "strata._parse_vector_entries";

fn parse_vector_entries(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let text = unsafe { jsonb_arg_text(fcinfo, PARSE_VECTOR_ENTRIES) };
    let parsed = entries::parse(text, collate)
        .unwrap_or_else(|e| Report::new(e.sqlstate, e.message).function(PARSE_VECTOR_ENTRIES).raise());
    let e = &parsed.entries;
    // Record indexes are those of a jsonb array, whose length fits in 28 bits.
    let index =
        |i: usize| i32::try_from(i).unwrap_or_else(|_| internal(PARSE_VECTOR_ENTRIES, "record index out of range"));
    if e.records.len() > i32::MAX as usize {
        internal(PARSE_VECTOR_ENTRIES, "too many entries");
    }
    unsafe {
        let tupdesc = result_row(
            fcinfo,
            8,
            PARSE_VECTOR_ENTRIES,
            "OUT records integer[], OUT properties text[], OUT similarities text[], OUT vectors vector[], \
             OUT error_record integer, OUT error_sqlstate text, OUT error_message text, OUT error_hint text",
        );
        let none = pg_sys::Datum::from(0usize);
        let mut values = [
            int4_array(e.records.iter().map(|&i| index(i))),
            text_array(e.properties.iter().map(|p| Some(p.as_str()))),
            text_array(e.similarities.iter().map(|s| s.as_deref())),
            vector_array(tupdesc, 3, &e.vectors, PARSE_VECTOR_ENTRIES),
            none,
            none,
            none,
            none,
        ];
        let mut nulls = [false, false, false, false, true, true, true, true];
        if let Some(err) = &parsed.error {
            values[4] = pg_sys::Datum::from(index(err.record));
            values[5] = text_datum(err.sqlstate.code());
            values[6] = text_datum(&err.message);
            nulls[4..7].fill(false);
            if let Some(hint) = &err.hint {
                values[7] = text_datum(hint);
                nulls[7] = false;
            }
        }
        let tuple = pg_sys::heap_form_tuple(tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data)
    }
}
