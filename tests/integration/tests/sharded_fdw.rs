//! A table hash-partitioned over two shard servers as postgres_fdw foreign
//! partitions, each shard with a `vectors` index: the distance ORDER BY and
//! the WHERE go down to every shard, each shard answers from its index, the
//! coordinator merges the sorted streams, and the results match one server
//! holding all the rows.
//!
//! What PostgreSQL 15 does and does not push down (pinned below):
//! - ORDER BY the distance, when the foreign server lists `strata` in its
//!   `extensions` option (otherwise the operator is not shippable and every
//!   shard sends every row for a local sort);
//! - WHERE on plain columns;
//! - not the LIMIT: over a partitioned table the planner puts the LIMIT
//!   above the Merge Append. Each shard runs its query as a cursor and sends
//!   `fetch_size` rows per round trip, so a LIMIT 10 costs each shard about
//!   one batch (the coordinator stops pulling once it has 10 rows).

use postgres::Client;
use strata_integration::cluster::Cluster;
use strata_integration::{signed_test_vector, Server};

const DIMS: u64 = 16;
const ROWS: i64 = 3000;
const QUERIES: i64 = 40;
const FETCH: usize = 50;

fn ids(c: &mut Client, sql: &str) -> Vec<i32> {
    c.query(sql, &[]).unwrap().iter().map(|r| r.get(0)).collect()
}

fn plan(c: &mut Client, sql: &str) -> String {
    c.query(&format!("EXPLAIN (VERBOSE, COSTS OFF) {sql}"), &[]).unwrap().iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
}

fn recall(got: &[i32], exact: &[i32]) -> f64 {
    got.iter().filter(|id| exact.contains(id)).count() as f64 / exact.len().max(1) as f64
}

#[test]
fn sharded_top_k_pushes_down_and_matches_one_server() {
    let server = Server::from_env();
    let shards: Vec<Cluster> = (0..2).map(|i| Cluster::create(&format!("shard{i}"), 54391 + i as u16, "")).collect();
    for s in &shards {
        let mut c = s.connect("postgres");
        c.batch_execute(&format!(
            "CREATE EXTENSION strata;
             CREATE TABLE items (id int PRIMARY KEY, cat int NOT NULL, emb vector({DIMS}) NOT NULL);
             CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops);"
        ))
        .unwrap();
    }

    let mut coord = server.fresh_database("it_sharded_fdw");
    coord.batch_execute("CREATE EXTENSION postgres_fdw").unwrap();
    for (i, s) in shards.iter().enumerate() {
        coord
            .batch_execute(&format!(
                "CREATE SERVER shard{i} FOREIGN DATA WRAPPER postgres_fdw
                     OPTIONS (host '{}', port '{}', dbname 'postgres', extensions 'strata', fetch_size '{FETCH}');
                 CREATE USER MAPPING FOR CURRENT_USER SERVER shard{i} OPTIONS (user 'postgres');",
                s.sock(),
                s.port
            ))
            .unwrap();
    }
    coord
        .batch_execute(&format!(
            "CREATE TABLE items (id int NOT NULL, cat int NOT NULL, emb vector({DIMS}) NOT NULL) PARTITION BY HASH (id);
             CREATE FOREIGN TABLE items_0 PARTITION OF items FOR VALUES WITH (MODULUS 2, REMAINDER 0)
                 SERVER shard0 OPTIONS (table_name 'items');
             CREATE FOREIGN TABLE items_1 PARTITION OF items FOR VALUES WITH (MODULUS 2, REMAINDER 1)
                 SERVER shard1 OPTIONS (table_name 'items');
             -- One server with every row, for comparison.
             CREATE TABLE single (id int PRIMARY KEY, cat int NOT NULL, emb vector({DIMS}) NOT NULL);"
        ))
        .unwrap();
    // Rows go through the coordinator (routed to their shard) and into the
    // single table, in batches.
    for start in (0..ROWS).step_by(500) {
        let values: Vec<String> =
            (start..(start + 500).min(ROWS)).map(|id| format!("({id}, {}, '{}')", id % 10, signed_test_vector(id, DIMS))).collect();
        let values = values.join(",");
        coord.batch_execute(&format!("INSERT INTO items VALUES {values}; INSERT INTO single VALUES {values};")).unwrap();
    }
    coord.batch_execute("CREATE INDEX single_emb ON single USING vectors (emb vector_l2_ops); ANALYZE single;").unwrap();
    for s in &shards {
        let mut c = s.connect("postgres");
        let n: i64 = c.query_one("SELECT count(*) FROM items", &[]).unwrap().get(0);
        assert!(n > ROWS / 3, "a shard got only {n} of {ROWS} rows");
        // Fold the rows into a sealed segment, as the background merge would.
        c.batch_execute("SELECT strata_optimize('items_emb'); ANALYZE items;").unwrap();
    }

    let q0 = signed_test_vector(1_000_000, DIMS);
    let knn = |table: &str, filter: &str, q: &str| format!("SELECT id FROM {table} {filter} ORDER BY emb <-> '{q}' LIMIT 10");

    // The plan: a Merge Append of the shards' sorted streams; the distance
    // ORDER BY and the filter are in each shard's Remote SQL, the LIMIT is not.
    let p = plan(&mut coord, &knn("items", "WHERE cat = 3", &q0));
    assert!(p.contains("Merge Append"), "{p}");
    let remote: Vec<&str> = p.lines().filter(|l| l.contains("Remote SQL")).collect();
    assert_eq!(remote.len(), 2, "{p}");
    for r in &remote {
        assert!(r.contains("ORDER BY (emb OPERATOR(public.<->) '["), "distance ORDER BY not pushed down: {r}");
        assert!(r.contains("WHERE ((cat = 3))"), "filter not pushed down: {r}");
        assert!(!r.contains("LIMIT"), "PostgreSQL 15 pushed a LIMIT down after all (update the module comment): {r}");
    }
    // Each shard answers the unfiltered query from its vectors index
    // (postgres_fdw runs it as a cursor, which the planner costs for a fast
    // start). With the filter, the shard's planner weighs the index stream
    // against sorting the matching rows, as on one server (am_cost.sql).
    let p = plan(&mut coord, &knn("items", "", &q0));
    let remote_sql = p.lines().find(|l| l.contains("Remote SQL")).unwrap().split("Remote SQL: ").nth(1).unwrap().trim().to_string();
    let mut shard0 = shards[0].connect("postgres");
    let shard_plan: String = {
        let mut t = shard0.transaction().unwrap();
        let rows = t.query(&format!("EXPLAIN (COSTS OFF) DECLARE c CURSOR FOR {remote_sql}"), &[]).unwrap();
        rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
    };
    assert!(shard_plan.contains("Index Scan using items_emb"), "the shard does not use its index: {shard_plan}");

    // Without `extensions 'strata'` the operator is not shippable: the
    // ORDER BY stays on the coordinator, and every row comes over.
    coord.batch_execute("ALTER SERVER shard0 OPTIONS (DROP extensions)").unwrap();
    let p = plan(&mut coord, &knn("items", "", &q0));
    assert!(p.lines().filter(|l| l.contains("Remote SQL")).any(|l| !l.contains("ORDER BY")), "{p}");
    coord.batch_execute("ALTER SERVER shard0 OPTIONS (ADD extensions 'strata')").unwrap();

    // Results: recall against the exact top 10 within 0.01 of one server's,
    // unfiltered and filtered.
    for filter in ["", "WHERE cat = 3"] {
        let (mut r_sharded, mut r_single) = (0.0, 0.0);
        for i in 0..QUERIES {
            let q = signed_test_vector(2_000_000 + i, DIMS);
            coord.batch_execute("SET enable_indexscan = off").unwrap();
            let exact = ids(&mut coord, &knn("single", filter, &q));
            coord.batch_execute("RESET enable_indexscan").unwrap();
            let single = ids(&mut coord, &knn("single", filter, &q));
            let sharded = ids(&mut coord, &knn("items", filter, &q));
            assert_eq!(sharded.len(), 10, "query {i} {filter}: {} rows", sharded.len());
            r_single += recall(&single, &exact);
            r_sharded += recall(&sharded, &exact);
        }
        let (r_single, r_sharded) = (r_single / QUERIES as f64, r_sharded / QUERIES as f64);
        eprintln!("recall@10 {filter:?}: one server {r_single:.3}, two shards {r_sharded:.3}");
        assert!(r_sharded >= r_single - 0.01, "{filter:?}: two shards {r_sharded:.3} vs one server {r_single:.3}");
    }
    // Index scans, not exact sorts, answered the single-server queries.
    assert!(plan(&mut coord, &knn("single", "", &q0)).contains("Index Scan using single_emb"));
}
