//! The `vectors` index survives `kill -9` of the server: every committed row
//! is found through the index after recovery, and the recovered index answers
//! with the recall of a freshly rebuilt one.

use strata_integration::cluster::Cluster;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A deterministic, distinct 8-dimensional vector for row `id`.
fn vector_of(id: i64) -> String {
    strata_integration::test_vector(id, 8)
}

fn recall_at_10(client: &mut postgres::Client) -> f64 {
    let mut hits = 0usize;
    for q in 0..20i64 {
        let query = vector_of(1_000_000 + q);
        client.batch_execute("SET enable_indexscan = off; SET enable_seqscan = on").unwrap();
        let exact: Vec<i64> = client
            .query(&format!("SELECT id FROM items ORDER BY emb <-> '{query}' LIMIT 10"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        client.batch_execute("SET enable_indexscan = on; SET enable_seqscan = off").unwrap();
        let got: Vec<i64> = client
            .query(&format!("SELECT id FROM items ORDER BY emb <-> '{query}' LIMIT 10"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        hits += got.iter().filter(|id| exact.contains(id)).count();
    }
    client.batch_execute("RESET enable_indexscan; RESET enable_seqscan").unwrap();
    hits as f64 / 200.0
}

#[test]
fn committed_rows_survive_kill_9_of_the_postmaster() {
    let cluster = Cluster::create("crash", 54341, "");
    let mut c = cluster.connect("postgres");
    c.batch_execute(
        "CREATE EXTENSION strata;
         CREATE TABLE items (id bigint PRIMARY KEY, emb vector(8));",
    )
    .unwrap();
    for id in 0..2000i64 {
        c.execute(&format!("INSERT INTO items VALUES ({id}, '{}')", vector_of(id)), &[]).unwrap();
    }
    c.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops)").unwrap();

    // Two connections insert one row per transaction and record what committed.
    let committed = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2i64)
        .map(|w| {
            let committed = committed.clone();
            let stop = stop.clone();
            let mut client = cluster.connect("postgres");
            std::thread::spawn(move || {
                let mut id = 10_000 + w * 1_000_000;
                while !stop.load(Ordering::Relaxed) {
                    match client.execute(&format!("INSERT INTO items VALUES ({id}, '{}')", vector_of(id)), &[]) {
                        Ok(_) => committed.lock().unwrap().push(id),
                        Err(_) => break, // the server is gone
                    }
                    id += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    cluster.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    drop(c);
    let committed = committed.lock().unwrap().clone();
    assert!(committed.len() > 20, "only {} rows were committed before the crash", committed.len());

    cluster.start();
    let mut c = cluster.connect("postgres");
    c.batch_execute("SET enable_seqscan = off").unwrap();
    let plan: Vec<String> = c
        .query(&format!("EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY emb <-> '{}' LIMIT 1", vector_of(0)), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(plan.iter().any(|l| l.contains("Index Scan using items_emb")), "plan: {plan:?}");
    for id in committed.iter().chain([0i64, 1999].iter()) {
        let found: i64 = c
            .query_one(&format!("SELECT id FROM items ORDER BY emb <-> '{}' LIMIT 1", vector_of(*id)), &[])
            .unwrap()
            .get(0);
        assert_eq!(found, *id, "row {id} committed before the crash is not found through the index");
    }
    c.batch_execute("RESET enable_seqscan").unwrap();

    let recovered = recall_at_10(&mut c);
    c.batch_execute("REINDEX INDEX items_emb").unwrap();
    let rebuilt = recall_at_10(&mut c);
    assert!(recovered >= 0.95, "recall after recovery {recovered}");
    assert!(recovered + 0.03 >= rebuilt, "recall after recovery {recovered}, after REINDEX {rebuilt}");
}
