//! pg_dump -Fc / pg_restore of a database using every strata type: plain, typmod'ed and array
//! columns (with NULLs), `vectors` indexes of every operator class (one with reloptions, one
//! with a pgvecto.rs options string), and a Bring Your Own Vectors registration with its
//! vectors. The restored database returns the same rows, answers the same top-k queries through
//! the same indexes, and the BYOV index keeps searching and maintaining its vectors.

use std::process::Command;
use strata_integration::{signed_test_vector, Server};

/// Every vector type strata has: its name, SQL turning the `vector` expression `{v}` into a
/// value of the type, and its `vectors` operator classes with their distance operators.
/// Adding a type to the extension is adding its line here.
const TYPES: &[(&str, &str, &[(&str, &str)])] = &[
    ("vector", "{v}", &[("vector_l2_ops", "<->"), ("vector_dot_ops", "<#>"), ("vector_cos_ops", "<=>")]),
    ("vecf16", "{v}::vecf16", &[("vecf16_l2_ops", "<->"), ("vecf16_dot_ops", "<#>"), ("vecf16_cos_ops", "<=>")]),
    (
        "bvector",
        "binarize({v})",
        &[("bvector_l2_ops", "<->"), ("bvector_dot_ops", "<#>"), ("bvector_cos_ops", "<=>"), ("bvector_jaccard_ops", "<~>")],
    ),
    ("svector", "{v}::svector", &[("svector_l2_ops", "<->"), ("svector_dot_ops", "<#>"), ("svector_cos_ops", "<=>")]),
    ("veci8", "{v}::veci8", &[("veci8_l2_ops", "<->"), ("veci8_dot_ops", "<#>"), ("veci8_cos_ops", "<=>")]),
];

const DIMS: u64 = 16;
const ROWS: i64 = 300;

fn value(expr: &str, id: i64) -> String {
    expr.replace("{v}", &format!("'{}'::vector", signed_test_vector(id, DIMS)))
}

fn setup(c: &mut postgres::Client) {
    c.batch_execute("CREATE EXTENSION strata").unwrap();
    for (ty, expr, opclasses) in TYPES {
        c.batch_execute(&format!(
            "CREATE TABLE t_{ty} (id int PRIMARY KEY, plain {ty}, sized {ty}({DIMS}) NOT NULL, arr {ty}[], sized_arr {ty}({DIMS})[])"
        ))
        .unwrap();
        for id in 0..ROWS {
            let (a, b) = (value(expr, id), value(expr, id + 100_000));
            let plain = if id % 7 == 0 { "NULL".to_string() } else { a.clone() };
            let arr = if id % 5 == 0 { "NULL".to_string() } else { format!("ARRAY[{a}, {b}, NULL]") };
            c.batch_execute(&format!("INSERT INTO t_{ty} VALUES ({id}, {plain}, {a}, {arr}, ARRAY[{b}])")).unwrap();
        }
        for (i, (opclass, _)) in opclasses.iter().enumerate() {
            let with = match i {
                0 => " WITH (m = 8, ef_construction = 40)",
                1 => " WITH (options = $$\n[algorithm.hnsw]\nm = 12\nef = 48\n$$)",
                _ => "",
            };
            c.batch_execute(&format!("CREATE INDEX t_{ty}_{opclass} ON t_{ty} USING vectors (sized {opclass}){with}"))
                .unwrap();
        }
        // Rows written after the index was built (in its writing segment) are dumped too.
        for id in ROWS..ROWS + 20 {
            c.batch_execute(&format!("INSERT INTO t_{ty} VALUES ({id}, NULL, {}, NULL, NULL)", value(expr, id))).unwrap();
        }
    }
    c.batch_execute(
        "CREATE TABLE doc (id int PRIMARY KEY, body text);
         INSERT INTO doc SELECT i, 'doc ' || i FROM generate_series(1, 60) i;
         SELECT strata.create_index('doc', 'body', 16, 'euclidean');
         SELECT strata.create_index('doc', 'body', 16, 'cosine');
         SELECT strata.create_index('doc', 'body', 2);
         SELECT strata.drop_index(3);",
    )
    .unwrap();
    let ids: Vec<i32> = (1..=60).collect();
    let vecs: Vec<String> = ids.iter().map(|i| signed_test_vector(*i as i64, DIMS)).collect();
    for index in [1i64, 2] {
        c.execute("SELECT strata.upsert_vectors($1, $2::int[], $3::text[]::vector[])", &[&index, &ids, &vecs]).unwrap();
    }
}

/// Distances in order, and the ids of every row not tied with the last one (whose choice
/// among equals is arbitrary), sorted by (distance, id).
fn canonical(rows: Vec<(i32, String)>) -> Vec<String> {
    let last = rows.last().map(|r| r.1.clone());
    let mut out: Vec<String> = rows.iter().map(|r| format!("d {}", r.1)).collect();
    let mut ids: Vec<&(i32, String)> = rows.iter().filter(|r| Some(&r.1) != last.as_ref()).collect();
    ids.sort_by(|a, b| a.1.parse::<f64>().unwrap().total_cmp(&b.1.parse::<f64>().unwrap()).then(a.0.cmp(&b.0)));
    out.extend(ids.iter().map(|r| format!("id {} at {}", r.0, r.1)));
    out
}

/// Everything the test compares across the dump: per type, the table contents, the indexes'
/// definitions, and per operator class the top 10 through its index (checked in the plan) and
/// by an exact scan; then the BYOV registrations and searches.
fn observe(c: &mut postgres::Client) -> Vec<String> {
    let mut out = Vec::new();
    for (ty, expr, opclasses) in TYPES {
        let content: String = c
            .query_one(&format!("SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM t_{ty} t"), &[])
            .unwrap()
            .get(0);
        out.push(format!("{ty} content {content}"));
        for r in c
            .query(&format!("SELECT indexdef FROM pg_indexes WHERE tablename = 't_{ty}' ORDER BY indexname"), &[])
            .unwrap()
        {
            out.push(r.get(0));
        }
        let types: Vec<String> = c
            .query(
                &format!("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't_{ty}'::regclass AND attnum > 0 ORDER BY attnum"),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        out.push(format!("{ty} columns {types:?}"));
        let q = value(expr, -3);
        for (opclass, op) in opclasses.iter() {
            let sql = format!("SELECT id, (sized {op} {q})::text FROM t_{ty} ORDER BY sized {op} {q} LIMIT 10");
            c.batch_execute("SET enable_seqscan = off; SET strata.ef_search = 1000").unwrap();
            let plan: Vec<String> =
                c.query(&format!("EXPLAIN (COSTS OFF) {sql}"), &[]).unwrap().iter().map(|r| r.get(0)).collect();
            let index = format!("t_{ty}_{opclass}");
            assert!(
                plan.iter().any(|l| l.contains(&format!("Index Scan using {index} "))),
                "{sql} does not use {index}:\n{}",
                plan.join("\n")
            );
            let by_index = canonical(c.query(&sql, &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect());
            c.batch_execute("SET enable_seqscan = on; SET enable_indexscan = off").unwrap();
            let exact = canonical(c.query(&sql, &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect());
            c.batch_execute("RESET enable_seqscan; RESET enable_indexscan; RESET strata.ef_search").unwrap();
            assert_eq!(by_index, exact, "{index}: index scan and exact scan disagree");
            out.push(format!("{index} top10 {by_index:?}"));
        }
    }
    for r in c
        .query("SELECT id, label::text, property::text, similarity, dimensions, status, records, vectors, vector_table::text FROM strata.indexes ORDER BY id", &[])
        .unwrap()
    {
        out.push(format!(
            "byov {} {} {} {} {} {} {:?} {:?} {}",
            r.get::<_, i64>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2),
            r.get::<_, String>(3),
            r.get::<_, i32>(4),
            r.get::<_, String>(5),
            r.get::<_, Option<i64>>(6),
            r.get::<_, Option<i64>>(7),
            r.get::<_, String>(8)
        ));
    }
    for sim in ["euclidean", "cosine"] {
        let rows: Vec<String> = c
            .query(
                &format!(
                    "SELECT record_id, score::text FROM strata.search('doc', 'body', '{}', k => 5, similarity => '{sim}')",
                    signed_test_vector(-3, DIMS)
                ),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect();
        out.push(format!("byov search {sim} {rows:?}"));
    }
    out
}

#[test]
fn every_type_index_and_byov_registration_survives_pg_dump_fc_and_pg_restore() {
    let server = Server::from_env();
    let (src, dst) = ("it_dump_all_src", "it_dump_all_dst");
    let mut s = server.empty_database(src);
    setup(&mut s);
    let before = observe(&mut s);

    let file = std::env::temp_dir().join(format!("strata_dump_all_types_{}.dump", std::process::id()));
    let port = server.port.to_string();
    let dump = Command::new(server.pg_bin.join("pg_dump"))
        .args(["-Fc", "-h", &server.host, "-p", &port, "-U", "postgres", "-d", src, "-f"])
        .arg(&file)
        .output()
        .expect("run pg_dump");
    assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));

    drop(server.empty_database(dst));
    let restore = Command::new(server.pg_bin.join("pg_restore"))
        .args(["--exit-on-error", "-h", &server.host, "-p", &port, "-U", "postgres", "-d", dst])
        .arg(&file)
        .output()
        .expect("run pg_restore");
    let _ = std::fs::remove_file(&file);
    assert!(restore.status.success(), "pg_restore: {}", String::from_utf8_lossy(&restore.stderr));

    let mut d = server.connect(dst);
    let after = observe(&mut d);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "differs after pg_restore");
    }

    // The restored BYOV indexes are maintained and writable, and their id counter continues.
    d.batch_execute("DELETE FROM doc WHERE id <= 10").unwrap();
    let n: i64 = d.query_one("SELECT vectors FROM strata.indexes WHERE id = 1", &[]).unwrap().get(0);
    assert_eq!(n, 50, "deleting records deletes their vectors after the restore");
    let written: i64 = d
        .query_one(&format!("SELECT strata.upsert_vectors(2, ARRAY[11], ARRAY['{}'::vector])", signed_test_vector(0, DIMS)), &[])
        .unwrap()
        .get(0);
    assert_eq!(written, 1);
    let next: i64 = d.query_one("SELECT id FROM strata.create_index('doc', 'body', 4)", &[]).unwrap().get(0);
    assert_eq!(next, 4, "ids continue after the dumped counter");
    // The restored vectors indexes take new rows.
    let (ty, expr, _) = TYPES[0];
    d.batch_execute(&format!("INSERT INTO t_{ty} VALUES (999999, NULL, {}, NULL, NULL)", value(expr, 424242))).unwrap();
    d.batch_execute("SET enable_seqscan = off").unwrap();
    let near: i32 = d
        .query_one(&format!("SELECT id FROM t_{ty} ORDER BY sized <-> {} LIMIT 1", value(expr, 424242)), &[])
        .unwrap()
        .get(0);
    assert_eq!(near, 999999);
}
