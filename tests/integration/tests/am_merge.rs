//! Merges run while inserts continue and lose nothing, also when the server
//! is killed in the middle of one.

use std::time::{Duration, Instant};
use strata_integration::cluster::Cluster;
use strata_integration::Server;

fn vector_of(id: i64) -> String {
    strata_integration::test_vector(id, 16)
}

fn load(c: &mut postgres::Client, ids: std::ops::Range<i64>) {
    let values: Vec<String> = ids.map(|id| format!("({id}, '{}')", vector_of(id))).collect();
    for chunk in values.chunks(1000) {
        c.batch_execute(&format!("INSERT INTO items VALUES {}", chunk.join(","))).unwrap();
    }
}

/// No row is lost or duplicated: a full index scan (which streams until the
/// graph is exhausted) returns exactly the table's ids. And the graph stays
/// navigable: almost every sampled row is the nearest neighbour of its own
/// vector (HNSW is approximate, so a rare miss is not a lost row).
fn assert_all_found(c: &mut postgres::Client, ids: impl Iterator<Item = i64>) {
    c.batch_execute("SET enable_seqscan = off").unwrap();
    let mut through_index: Vec<i64> = c
        .query("SELECT id FROM items ORDER BY emb <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let (mut hits, mut total) = (0usize, 0usize);
    for id in ids {
        let found: i64 = c
            .query_one(&format!("SELECT id FROM items ORDER BY emb <-> '{}' LIMIT 1", vector_of(id)), &[])
            .unwrap()
            .get(0);
        total += 1;
        hits += (found == id) as usize;
    }
    c.batch_execute("RESET enable_seqscan").unwrap();
    let mut in_table: Vec<i64> = c.query("SELECT id FROM items", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    through_index.sort_unstable();
    in_table.sort_unstable();
    assert_eq!(through_index.len(), in_table.len(), "rows through the index vs in the table");
    assert!(through_index == in_table, "the index scan's ids differ from the table's");
    assert!(hits as f64 >= 0.98 * total as f64, "only {hits} of {total} rows are their own nearest neighbour");
}

#[test]
fn concurrent_inserts_during_merges_lose_no_rows() {
    let server = Server::from_env();
    let mut c = server.fresh_database("it_merge_concurrent");
    c.batch_execute("CREATE TABLE items (id bigint PRIMARY KEY, emb vector(16))").unwrap();
    load(&mut c, 0..5000);
    c.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops) WITH (max_writing_size = 300)")
        .unwrap();

    let writers: Vec<_> = (0..4i64)
        .map(|w| {
            let mut client = server.connect("it_merge_concurrent");
            std::thread::spawn(move || {
                for id in (10_000 + w * 1000)..(10_000 + w * 1000 + 600) {
                    client.execute(&format!("INSERT INTO items VALUES ({id}, '{}')", vector_of(id)), &[]).unwrap();
                }
            })
        })
        .collect();
    // Explicit merges race with the inserts and with the background merges.
    let mut merges = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        if c.query_one("SELECT strata_optimize('items_emb')", &[]).unwrap().get::<_, bool>(0) {
            merges += 1;
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    assert!(merges >= 1, "no merge overlapped the inserts");
    let inserted = (0..4i64).flat_map(|w| (10_000 + w * 1000)..(10_000 + w * 1000 + 600));
    assert_all_found(&mut c, (0..5000).step_by(7).chain(inserted));
    c.query_one("SELECT strata_optimize('items_emb')", &[]).unwrap();
    let sealed: Vec<i64> = c
        .query_one("SELECT idx_sealed FROM pg_vector_index_stat WHERE indexname = 'items_emb'", &[])
        .unwrap()
        .get(0);
    assert_eq!(sealed, vec![7400]);
}

#[test]
fn kill_9_during_a_merge_loses_nothing() {
    let cluster = Cluster::create("merge_crash", 54361, "");
    let mut c = cluster.connect("postgres");
    c.batch_execute("CREATE EXTENSION strata; CREATE TABLE items (id bigint PRIMARY KEY, emb vector(16));").unwrap();
    load(&mut c, 0..40_000);
    c.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops) WITH (max_writing_size = 100000)")
        .unwrap();
    load(&mut c, 40_000..45_000);

    let merger = {
        let mut m = cluster.connect("postgres");
        std::thread::spawn(move || m.query_one("SELECT strata_optimize('items_emb')", &[]).is_ok())
    };
    // Kill the server once the merge is under way.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running: i64 = c
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT strata_optimize%' AND state = 'active'", &[])
            .unwrap()
            .get(0);
        if running > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the merge never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    cluster.kill9();
    let merge_finished = merger.join().unwrap();
    drop(c);
    assert!(!merge_finished, "the merge finished before the crash; the test proves nothing");

    cluster.start();
    let mut c = cluster.connect("postgres");
    assert_all_found(&mut c, (0..45_000).step_by(11).chain(40_000..45_000));
    // The index still takes inserts and merges after recovery.
    load(&mut c, 45_000..45_100);
    assert!(c.query_one("SELECT strata_optimize('items_emb')", &[]).unwrap().get::<_, bool>(0));
    assert_all_found(&mut c, (45_000..45_100).chain(0..100));
}

fn index_size(c: &mut postgres::Client) -> (i64, i64, usize) {
    let r = c
        .query_one("SELECT idx_size, idx_free_pages, cardinality(idx_growing) FROM pg_vector_index_stat WHERE indexname = 'wide_emb'", &[])
        .unwrap();
    (r.get(0), r.get(1), r.get::<_, i32>(2) as usize)
}

/// Rows arriving for a long time, merged by the background worker as they
/// come, must not make the index grow without bound: pages of merged-away
/// writing, growing and sealed segments are reused.
#[test]
fn sustained_inserts_reuse_freed_pages() {
    let server = Server::from_env();
    let mut c = server.fresh_database("it_merge_growth");
    let row = |id: i64| format!("({id}, '{}')", strata_integration::test_vector(id, 128));
    c.batch_execute("CREATE TABLE wide (id bigint PRIMARY KEY, emb vector(128)) WITH (autovacuum_enabled = false)").unwrap();
    let insert = |c: &mut postgres::Client, ids: std::ops::Range<i64>| {
        let values: Vec<String> = ids.map(row).collect();
        for chunk in values.chunks(100) {
            c.batch_execute(&format!("INSERT INTO wide VALUES {}", chunk.join(","))).unwrap();
        }
    };
    insert(&mut c, 0..3000);
    c.batch_execute("CREATE INDEX wide_emb ON wide USING vectors (emb vector_l2_ops) WITH (max_writing_size = 300)").unwrap();
    let mut next = 3000;
    let mut sizes = Vec::new();
    for _round in 0..16 {
        insert(&mut c, next..next + 600);
        next += 600;
        let deadline = Instant::now() + Duration::from_secs(60);
        while index_size(&mut c).2 > 0 {
            assert!(Instant::now() < deadline, "the background merge did not catch up");
            std::thread::sleep(Duration::from_millis(20));
        }
        sizes.push(index_size(&mut c));
    }
    c.batch_execute("REINDEX INDEX wide_emb").unwrap();
    let rebuilt = index_size(&mut c).0;
    eprintln!("sizes per round (bytes, free pages): {sizes:?}; after REINDEX {rebuilt}");
}
