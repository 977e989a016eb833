//! strata.search's filter compiler (strata_byov::filter::compile) on arbitrary JSON: the
//! input is parsed with serde_json as strata._compile_filter receives it, then compiled against
//! a label with a column of each kind the compiler distinguishes (text, number, boolean,
//! timestamp, jsonb, text[], jsonb[], a name needing quotes). It must never panic; a rejected
//! filter is 42703 or 22023 with a message; an accepted one is a condition whose parentheses
//! balance outside quoted names and literals (so no operand or name escapes its quotes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_byov::filter::{compile, Column, Relation};

fn column(name: &str, type_name: &str, element: Option<&str>, jsonb: bool, category: char) -> Column {
    Column {
        name: name.into(),
        type_name: type_name.into(),
        element_type_name: element.map(str::to_string),
        base_is_jsonb: jsonb,
        category,
    }
}

/// Parenthesis depth never negative and zero at the end, skipping '…' and "…" (with doubled
/// quotes inside, as the compiler writes them).
fn balanced(sql: &str) -> bool {
    let (mut depth, mut quote) = (0i64, None::<char>);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                if chars.peek() == Some(&q) {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                }
                _ => {}
            },
        }
    }
    depth == 0 && quote.is_none()
}

fuzz_target!(|data: &[u8]| {
    let Ok(filter) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let rel = Relation {
        display_name: "public.job".into(),
        record_key: "id".into(),
        columns: vec![
            column("id", "bigint", None, false, 'N'),
            column("title", "text", None, false, 'S'),
            column("price", "numeric", None, false, 'N'),
            column("active", "boolean", None, false, 'B'),
            column("born", "timestamp with time zone", None, false, 'D'),
            column("meta", "jsonb", None, true, 'U'),
            column("tags", "text[]", Some("text"), false, 'S'),
            column("docs", "jsonb[]", Some("jsonb"), true, 'U'),
            column("it's \"odd\"", "text", None, false, 'S'),
        ],
    };
    match compile(Some(&filter), &rel, "$2") {
        Ok(sql) => assert!(balanced(&sql), "unbalanced SQL for {filter}: {sql}"),
        Err(e) => {
            assert!(["42703", "22023"].contains(&e.sqlstate.code()), "{e}");
            assert!(!e.message.is_empty());
        }
    }
});
