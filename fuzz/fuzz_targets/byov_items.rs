//! strata.upsert_vectors' JSON items (strata_byov::items::parse, which strata._parse_items calls
//! on jsonb's text) on arbitrary text. It must never panic. A rejected batch is 22023, 22003 or
//! 22P02 (malformed JSON, which jsonb's text never is) with a message; an accepted one has one
//! record id and one vector per item, in order, each id the item's string or number text, each
//! vector as long as its JSON array with finite elements, as the serde_json tree of the same
//! text says (when it is shallow enough for serde_json's recursion limit).
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::{Number, Value};
use strata_byov::items::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse(text, |a, b| a.cmp(b)) {
        Ok(items) => {
            assert_eq!(items.record_ids.len(), items.vectors.len());
            assert!(items.vectors.iter().flatten().all(|x| x.is_finite()));
            let Ok(tree) = serde_json::from_str::<Value>(text) else { return };
            let list = match &tree {
                Value::Object(m) => &m["items"],
                other => other,
            };
            let list = list.as_array().expect("accepted items are an array");
            assert_eq!(list.len(), items.record_ids.len());
            for (i, item) in list.iter().enumerate() {
                match &item["recordId"] {
                    Value::String(s) => assert_eq!(&items.record_ids[i], s),
                    // The id is the number's text as written; serde_json's Number spells exponents
                    // its own way (1E5 as 1e+5), so compare after reading the id the same way.
                    Value::Number(n) => assert_eq!(&serde_json::from_str::<Number>(&items.record_ids[i]).unwrap(), n),
                    other => panic!("items[{i}]: recordId {other} accepted"),
                }
                let v = item["vector"].as_array().expect("an accepted vector is an array");
                assert_eq!(items.vectors[i].len(), v.len());
                assert!(!v.is_empty() && v.iter().all(Value::is_number));
            }
        }
        Err(e) => {
            assert!(["22023", "22003", "22P02"].contains(&e.sqlstate.code()), "{e}");
            assert!(!e.message.is_empty());
        }
    }
});
