//! Rows far from the rest, inserted after CREATE INDEX, stay findable
//! through the index after the background merge, after `strata_optimize`
//! and after a fresh build (the reproduction: 6,000 clustered 32-d
//! rows, then 300 rows along a far line; before the fix 1 of 300 found
//! itself after a merge at ef_search 100), and 200 copies of one row's
//! vector all come back for `LIMIT 200`.

use std::time::{Duration, Instant};
use strata_integration::Server;

const DIMS: usize = 32;
const FAR: i64 = 300;
const FAR_BASE: i64 = 100_000;
const DUP_BASE: i64 = 200_000;

fn text(v: &[f32]) -> String {
    format!("[{}]", v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","))
}

/// Deterministic clustered rows: 8 centres, uniform noise.
fn clustered(n: i64) -> Vec<(i64, String)> {
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    let centres: Vec<Vec<f32>> = (0..8).map(|_| (0..DIMS).map(|_| next() * 4.0 - 2.0).collect()).collect();
    (0..n)
        .map(|i| {
            let c = &centres[(i % 8) as usize];
            (i, text(&c.iter().map(|x| x + next() - 0.5).collect::<Vec<_>>()))
        })
        .collect()
}

/// Row i of the far line: `10 + i + 0.001 j` in dimension j.
fn far_row(i: i64) -> String {
    text(&(0..DIMS).map(|j| 10.0 + i as f32 + 0.001 * j as f32).collect::<Vec<_>>())
}

fn insert(c: &mut postgres::Client, rows: &[(i64, String)], per_transaction: usize) {
    for chunk in rows.chunks(per_transaction) {
        let values: Vec<String> = chunk.iter().map(|(id, v)| format!("({id}, '{v}')")).collect();
        c.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(","))).unwrap();
    }
}

/// How many of `ids` come back first for their own vector through the index.
fn self_found(c: &mut postgres::Client, rows: &[(i64, String)]) -> usize {
    c.batch_execute("SET enable_seqscan = off; SET strata.ef_search = 40").unwrap();
    let stmt = c.prepare("SELECT id FROM items ORDER BY emb <-> $1::text::vector LIMIT 1").unwrap();
    let found = rows.iter().filter(|(id, v)| c.query_one(&stmt, &[v]).unwrap().get::<_, i64>(0) == *id).count();
    c.batch_execute("RESET enable_seqscan; RESET strata.ef_search").unwrap();
    found
}

fn uses_index(c: &mut postgres::Client) {
    c.batch_execute("SET enable_seqscan = off").unwrap();
    let plan: Vec<String> = c
        .query(&format!("EXPLAIN SELECT id FROM items ORDER BY emb <-> '{}' LIMIT 1", far_row(0)), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    c.batch_execute("RESET enable_seqscan").unwrap();
    assert!(plan.iter().any(|l| l.contains("Index Scan using items_idx")), "not an index scan: {plan:?}");
}

fn segments(c: &mut postgres::Client) -> (usize, usize, i64) {
    let r = c
        .query_one(
            "SELECT cardinality(idx_sealed), cardinality(idx_growing), idx_write FROM pg_vector_index_stat WHERE indexname = 'items_idx'",
            &[],
        )
        .unwrap();
    (r.get::<_, i32>(0) as usize, r.get::<_, i32>(1) as usize, r.get(2))
}

#[test]
fn far_rows_inserted_after_the_build_stay_findable() {
    let server = Server::from_env();
    let mut c = server.fresh_database("it_reachability");
    c.batch_execute(&format!("CREATE TABLE items (id bigint PRIMARY KEY, emb vector({DIMS}))")).unwrap();
    let base = clustered(6000);
    insert(&mut c, &base, 1000);
    c.batch_execute("CREATE INDEX items_idx ON items USING vectors (emb vector_l2_ops) WITH (max_writing_size = 100)").unwrap();
    uses_index(&mut c);

    // 300 far rows in transactions of 20: the writing segment fills three
    // times over, so growing segments form and the background worker merges
    // them into sealed segments.
    let far: Vec<(i64, String)> = (0..FAR).map(|i| (FAR_BASE + i, far_row(i))).collect();
    insert(&mut c, &far, 20);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, growing, _) = segments(&mut c);
        if growing == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the background merge did not fold the growing segments in 120 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (sealed, _, writing) = segments(&mut c);
    assert!(sealed >= 1 && writing < FAR, "the far rows were not merged into sealed segments ({sealed} sealed, {writing} in the writing segment)");
    let sample: Vec<(i64, String)> = base.iter().step_by(20).cloned().collect();
    let found = self_found(&mut c, &far);
    eprintln!("after background merges: {found} of {FAR} far rows find themselves at ef_search 40");
    assert_eq!(found, FAR as usize, "far rows hidden after the background merge");

    // strata_optimize folds everything into one sealed segment.
    c.query_one("SELECT strata_optimize('items_idx')", &[]).unwrap();
    assert_eq!(segments(&mut c), (1, 0, 0), "strata_optimize did not leave one sealed segment");
    let found = self_found(&mut c, &far);
    eprintln!("after strata_optimize: {found} of {FAR} far rows");
    assert_eq!(found, FAR as usize, "far rows hidden after strata_optimize");
    let near = self_found(&mut c, &sample);
    assert!(near * 100 >= sample.len() * 98, "only {near} of {} clustered rows find themselves", sample.len());

    // A fresh build over all rows.
    c.batch_execute("REINDEX INDEX items_idx").unwrap();
    let found = self_found(&mut c, &far);
    eprintln!("after REINDEX: {found} of {FAR} far rows");
    assert_eq!(found, FAR as usize, "far rows hidden after a fresh build");

    // DELETE + VACUUM marks rows deleted (still traversed); a merge drops
    // them and repairs the lists: the remaining far rows stay findable.
    c.batch_execute(&format!("DELETE FROM items WHERE id % 5 = 0 AND id < {DUP_BASE}")).unwrap();
    c.batch_execute("VACUUM items").unwrap();
    let kept: Vec<(i64, String)> = far.iter().filter(|(id, _)| id % 5 != 0).cloned().collect();
    assert_eq!(self_found(&mut c, &kept), kept.len(), "far rows hidden after VACUUM");
    c.query_one("SELECT strata_optimize('items_idx')", &[]).unwrap();
    let found = self_found(&mut c, &kept);
    eprintln!("after deleting 20% and merging: {found} of {} far rows", kept.len());
    assert_eq!(found, kept.len(), "far rows hidden after a merge that dropped deleted rows");

    // 200 copies of one row's vector among the normal rows: LIMIT 200
    // returns 200 rows at distance 0 (the copies and the row itself).
    let dup = base[17].1.clone();
    let copies: Vec<(i64, String)> = (0..200).map(|i| (DUP_BASE + i, dup.clone())).collect();
    insert(&mut c, &copies, 50);
    c.query_one("SELECT strata_optimize('items_idx')", &[]).unwrap();
    let dup_count = |c: &mut postgres::Client| -> i64 {
        c.batch_execute("SET enable_seqscan = off; SET strata.ef_search = 40").unwrap();
        let n = c
            .query_one(&format!("SELECT count(*) FROM (SELECT emb <-> '{dup}' AS d FROM items ORDER BY emb <-> '{dup}' LIMIT 200) s WHERE d = 0"), &[])
            .unwrap()
            .get(0);
        c.batch_execute("RESET enable_seqscan; RESET strata.ef_search").unwrap();
        n
    };
    assert_eq!(dup_count(&mut c), 200, "LIMIT 200 for a vector with 200 copies after a merge");

    c.batch_execute("REINDEX INDEX items_idx").unwrap();
    assert_eq!(dup_count(&mut c), 200, "LIMIT 200 for a vector with 200 copies after a build");
}
