//! CREATE INDEX reports its phases in pg_stat_progress_create_index, and
//! while the engine builds the graph, tuples_done counts the rows inserted
//! into it (it used to sit at 0 until the graph was done).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strata_integration::Server;

#[test]
fn create_index_reports_progress_phases() {
    let server = Server::from_env();
    let mut c = server.fresh_database("it_progress");
    c.batch_execute(
        "CREATE TABLE items (id int, emb vector(32));
         INSERT INTO items SELECT i, (SELECT array_agg(sin(i * 0.7 + j * 1.3)::real) FROM generate_series(1, 32) j)
           FROM generate_series(1, 60000) i;",
    )
    .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        let mut w = server.connect("it_progress");
        std::thread::spawn(move || {
            let mut phases = BTreeSet::new();
            let mut saw_total = false;
            let mut building_done = BTreeSet::new();
            while !done.load(Ordering::Relaxed) {
                for row in w
                    .query(
                        "SELECT phase, tuples_total, tuples_done FROM pg_stat_progress_create_index WHERE datname = 'it_progress'",
                        &[],
                    )
                    .unwrap()
                {
                    let phase = row.get::<_, String>(0);
                    saw_total |= row.get::<_, i64>(1) == 60000;
                    if phase.contains("building HNSW graph") {
                        building_done.insert(row.get::<_, i64>(2));
                    }
                    phases.insert(phase);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (phases, saw_total, building_done)
        })
    };
    c.batch_execute("CREATE INDEX ON items USING vectors (emb vector_l2_ops)").unwrap();
    done.store(true, Ordering::Relaxed);
    let (phases, saw_total, building_done) = watcher.join().unwrap();
    assert!(phases.contains("building index: building HNSW graph"), "phases seen: {phases:?}");
    assert!(saw_total, "tuples_total never showed the 60000 rows; phases seen: {phases:?}");
    // The graph takes seconds to build; polled every 5 ms, some counts in
    // between must show.
    let between = building_done.iter().filter(|&&d| d > 0 && d < 60000).count();
    assert!(between >= 2, "tuples_done while building the graph: {building_done:?}");
}
