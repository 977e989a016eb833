//! A streaming standby replays the `vectors` index build and later inserts
//! and deletes, and answers the same queries as the primary through the index.

use strata_integration::cluster::Cluster;
use strata_integration::wait_for_replay;
use std::time::{Duration, Instant};

fn vector_of(id: i64) -> String {
    let parts: Vec<String> = (0..16).map(|j| format!("{}", ((id * 31 + j * 17) % 101) as f32 / 10.0)).collect();
    format!("[{}]", parts.join(","))
}

fn top10(client: &mut postgres::Client, q: &str) -> Vec<i64> {
    client
        .query(&format!("SELECT id FROM items ORDER BY emb <=> '{q}' LIMIT 10"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn standby_replays_build_inserts_and_deletes() {
    let primary = Cluster::create("replica_primary", 54351, "wal_level = replica\nmax_wal_senders = 4");
    let mut p = primary.connect("postgres");
    p.batch_execute("CREATE EXTENSION strata; CREATE TABLE items (id bigint PRIMARY KEY, emb vector(16));").unwrap();
    let standby = Cluster::standby_of(&primary, "replica_standby", 54352);
    let mut s = standby.connect("postgres");

    for id in 0..3000i64 {
        p.execute(&format!("INSERT INTO items VALUES ({id}, '{}')", vector_of(id)), &[]).unwrap();
    }
    p.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_cos_ops)").unwrap();
    for id in 3000..3300i64 {
        p.execute(&format!("INSERT INTO items VALUES ({id}, '{}')", vector_of(id)), &[]).unwrap();
    }
    p.batch_execute("DELETE FROM items WHERE id % 10 = 0").unwrap();
    p.batch_execute("VACUUM items").unwrap();
    wait_for_replay(&mut p, &mut s);

    for c in [&mut p, &mut s] {
        c.batch_execute("SET enable_seqscan = off").unwrap();
    }
    let plan: Vec<String> = s
        .query(&format!("EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY emb <=> '{}' LIMIT 10", vector_of(5)), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(plan.iter().any(|l| l.contains("Index Scan using items_emb")), "standby plan: {plan:?}");
    for q in [1i64, 77, 3001, 3299, 12345] {
        let query = vector_of(q);
        let on_primary = top10(&mut p, &query);
        let on_standby = top10(&mut s, &query);
        assert_eq!(on_primary.len(), 10);
        assert_eq!(on_primary, on_standby, "query {q}");
        assert!(on_standby.iter().all(|id| id % 10 != 0), "standby returned a deleted row: {on_standby:?}");
    }
    // The row inserted last on the primary is found on the standby.
    let found: i64 = s
        .query_one(&format!("SELECT id FROM items ORDER BY emb <=> '{}', id LIMIT 1", vector_of(3299)), &[])
        .unwrap()
        .get(0);
    let expected: i64 = p
        .query_one(&format!("SELECT id FROM items ORDER BY emb <=> '{}', id LIMIT 1", vector_of(3299)), &[])
        .unwrap()
        .get(0);
    assert_eq!(found, expected);
    drop(standby);
}
