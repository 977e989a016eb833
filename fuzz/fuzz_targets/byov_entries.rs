//! strata.insert_records' vector entries (strata_byov::entries::parse, which
//! strata._parse_vector_entries calls on jsonb's text of one list per record) on arbitrary text.
//! It must never panic. Input that is not an array of lists is refused with 22P02 or 22023;
//! otherwise the first invalid list or entry is 22023, 22003 or 22P02 with a message naming its
//! record, and the entries before it come back in order, each with its record's index, its
//! `propertyName`, `similarityFunction` (else `similarity`) and a finite vector as long as its
//! JSON array, as the serde_json tree of the same text says (when it is shallow enough for
//! serde_json's recursion limit).
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use strata_byov::entries::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = match parse(text, |a, b| a.cmp(b)) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(["22023", "22P02"].contains(&e.sqlstate.code()), "{e}");
            assert!(!e.message.is_empty());
            return;
        }
    };
    let e = &parsed.entries;
    let n = e.records.len();
    assert!(e.properties.len() == n && e.similarities.len() == n && e.vectors.len() == n);
    assert!(e.records.windows(2).all(|w| w[0] <= w[1]), "entries out of record order");
    assert!(e.vectors.iter().flatten().all(|x| x.is_finite()));
    if let Some(err) = &parsed.error {
        assert!(["22023", "22003", "22P02"].contains(&err.sqlstate.code()), "{err:?}");
        assert!(err.message.starts_with(&format!("records[{}]", err.record)), "{err:?}");
        assert!(e.records.last().is_none_or(|&r| r <= err.record));
    }
    let Ok(tree) = serde_json::from_str::<Value>(text) else { return };
    let lists = tree.as_array().expect("accepted lists are an array");
    if let Some(err) = &parsed.error {
        assert!(err.record < lists.len());
    }
    // The accepted entries are those of the lists up to the failing one, in order.
    let last = parsed.error.as_ref().map_or(lists.len(), |err| err.record + 1);
    let mut k = 0;
    for (i, list) in lists.iter().enumerate().take(last) {
        let Some(list) = list.as_array() else {
            assert!(list.is_null() || (parsed.error.is_some() && i + 1 == last), "records[{i}] accepted");
            continue;
        };
        for entry in list {
            if k == n {
                assert!(parsed.error.as_ref().is_some_and(|err| err.record == i), "records[{i}]: an entry is missing");
                return;
            }
            assert_eq!(e.records[k], i);
            assert_eq!(entry["propertyName"].as_str(), Some(e.properties[k].as_str()));
            let similarity = entry["similarityFunction"].as_str().or(entry["similarity"].as_str());
            assert_eq!(e.similarities[k].as_deref(), similarity);
            let v = entry["vector"].as_array().expect("an accepted vector is an array");
            assert_eq!(e.vectors[k].len(), v.len());
            assert!(!v.is_empty() && v.iter().all(Value::is_number));
            k += 1;
        }
    }
    assert_eq!(k, n, "more entries than the lists hold");
});
