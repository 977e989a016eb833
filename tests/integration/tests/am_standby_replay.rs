//! Queries on a hot standby while it replays a backlog of merges, page reuse
//! and VACUUM. Merges put the old segments' pages on free lists, and inserts
//! and later merges reuse them as soon as the *primary's* snapshots allow; a
//! standby query still reading those pages must be waited for or cancelled
//! (40001, retryable) before replay overwrites them. It must never see the
//! overwritten pages and report a healthy index as corrupted (XX002).

use postgres::error::SqlState;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use strata_integration::cluster::Cluster;
use strata_integration::{test_vector, wait_for_replay};

const DIMS: u64 = 64;

fn vector_of(id: i64) -> String {
    test_vector(id, DIMS)
}

fn insert_rows(c: &mut postgres::Client, ids: impl Iterator<Item = i64>) {
    let values: Vec<String> = ids.map(|id| format!("({id}, '{}')", vector_of(id))).collect();
    c.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(","))).unwrap();
}

/// What the standby's readers saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    /// 40001: canceled by a recovery conflict (allowed, an application retries).
    conflicts: u64,
    /// Of those, raised by a scan that found the index changed under it
    /// (strata's own check; the conflict records should leave it nothing).
    changed: u64,
    /// XX002 "index is corrupted" with its detail (never allowed).
    corrupted: Vec<String>,
    other: Vec<String>,
}

fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} {}: {}", d.code().code(), d.message(), d.detail().unwrap_or("")),
        None => e.to_string(),
    }
}

/// Runs index scans on the standby until `stop` is set: LIMIT 1, LIMIT 10
/// and, reading many more pages while replay goes on, LIMIT 500 in turn.
fn reader(standby: &Cluster, seed: u64, stop: &AtomicBool, done: &AtomicU64) -> Tally {
    let connect = || {
        let mut c = standby.connect("postgres");
        c.batch_execute("SET enable_seqscan = off").unwrap();
        c
    };
    let mut c = connect();
    let mut tally = Tally::default();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let limit = [1, 10, 500][(i % 3) as usize];
        let q = vector_of(((seed * 7919 + i * 104_729) % 40_000) as i64);
        match c.query(&format!("SELECT id FROM items ORDER BY emb <-> '{q}' LIMIT {limit}"), &[]) {
            Ok(rows) => {
                assert_eq!(rows.len(), limit, "an index scan returned too few rows");
                tally.ok += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => match e.code() {
                Some(&SqlState::T_R_SERIALIZATION_FAILURE) => {
                    tally.conflicts += 1;
                    tally.changed += describe(&e).contains("changed during recovery") as u64;
                }
                Some(&SqlState::INDEX_CORRUPTED) => tally.corrupted.push(describe(&e)),
                _ => tally.other.push(describe(&e)),
            },
        }
        if c.is_closed() {
            c = connect();
        }
        i += 1;
    }
    tally
}

fn top10(c: &mut postgres::Client, id: i64) -> Vec<i64> {
    let q = vector_of(id);
    c.query(&format!("SELECT id FROM items ORDER BY emb <-> '{q}' LIMIT 10"), &[]).unwrap().iter().map(|r| r.get(0)).collect()
}

#[test]
fn standby_queries_during_replay_of_page_reuse_see_no_false_corruption() {
    let started = Instant::now();
    // wal_keep_size: the WAL of the cycles stays for pg_waldump below.
    let primary =
        Cluster::create("reuse_primary", 54381, "wal_level = replica\nmax_wal_senders = 4\nautovacuum = off\nwal_keep_size = 1GB");
    let mut p = primary.connect("postgres");
    p.batch_execute(&format!("CREATE EXTENSION strata; CREATE TABLE items (id bigint PRIMARY KEY, emb vector({DIMS}))")).unwrap();
    for chunk in 0..20i64 {
        insert_rows(&mut p, chunk * 1000..(chunk + 1) * 1000);
    }
    p.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops) WITH (max_writing_size = 1000)").unwrap();
    // The defaults, spelled out: the primary does not know the standby's
    // snapshots, and replay waits up to 30 s for a conflicting query.
    let standby = Cluster::standby_with(&primary, "reuse_standby", 54382, "hot_standby_feedback = off\nmax_standby_streaming_delay = 30s");
    let mut s = standby.connect("postgres");
    wait_for_replay(&mut p, &mut s);

    eprintln!("setup: {:.1} s", started.elapsed().as_secs_f64());
    let wal_start: String = p.query_one("SELECT pg_current_wal_insert_lsn()::text", &[]).unwrap().get(0);
    let mut total = Tally::default();
    for cycle in 0..3i64 {
        let cycle_started = Instant::now();
        s.query_one("SELECT pg_wal_replay_pause()", &[]).unwrap();
        // A backlog: 4,000 rows in transactions of 1 to 10 rows with an
        // explicit merge after every 1,000 (plus the background merges of
        // each handed-over writing segment), then deletions and VACUUM.
        let base = 20_000 + cycle * 4000;
        let (mut next, mut k) = (base, 0i64);
        while next < base + 4000 {
            let n = (1 + (k * 7) % 10).min(base + 4000 - next);
            insert_rows(&mut p, next..next + n);
            if (next + n - base) / 1000 > (next - base) / 1000 {
                p.query_one("SELECT strata_optimize('items_emb')", &[]).unwrap();
            }
            next += n;
            k += 1;
        }
        p.batch_execute(&format!("DELETE FROM items WHERE id >= {base} AND id < {} AND id % 20 = 0", base + 4000)).unwrap();
        p.batch_execute("VACUUM items").unwrap();
        let backlog_done = Instant::now();

        // Readers start on the paused standby's (old) index state, then
        // replay catches up under them.
        let stop = AtomicBool::new(false);
        let done = AtomicU64::new(0);
        let tallies: Vec<Tally> = std::thread::scope(|scope| {
            let readers: Vec<_> = (0..3u64).map(|r| scope.spawn({
                let (standby, stop, done) = (&standby, &stop, &done);
                move || reader(standby, cycle as u64 * 3 + r, stop, done)
            })).collect();
            let deadline = Instant::now() + Duration::from_secs(60);
            while done.load(Ordering::Relaxed) < 6 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let before_resume = done.load(Ordering::Relaxed);
            s.query_one("SELECT pg_wal_replay_resume()", &[]).unwrap();
            wait_for_replay(&mut p, &mut s);
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, Ordering::Relaxed);
            let tallies: Vec<Tally> = readers.into_iter().map(|h| h.join().unwrap()).collect();
            assert!(before_resume >= 6, "the readers did not get going before replay resumed");
            tallies
        });
        let mut cycle_tally = Tally::default();
        for t in tallies {
            cycle_tally.ok += t.ok;
            cycle_tally.conflicts += t.conflicts;
            cycle_tally.changed += t.changed;
            cycle_tally.corrupted.extend(t.corrupted);
            cycle_tally.other.extend(t.other);
        }
        eprintln!(
            "cycle {cycle} ({:.1} s backlog, {:.1} s catch-up): {} queries answered, {} canceled by recovery conflicts (40001; {} of them by the changed-index check), {} XX002, {} other errors",
            (backlog_done - cycle_started).as_secs_f64(),
            backlog_done.elapsed().as_secs_f64(),
            cycle_tally.ok,
            cycle_tally.conflicts,
            cycle_tally.changed,
            cycle_tally.corrupted.len(),
            cycle_tally.other.len()
        );
        total.ok += cycle_tally.ok;
        total.conflicts += cycle_tally.conflicts;
        total.corrupted.extend(cycle_tally.corrupted);
        total.other.extend(cycle_tally.other);
    }
    assert!(total.corrupted.is_empty(), "{} false XX002 on the standby, e.g. {:?}", total.corrupted.len(), &total.corrupted[..total.corrupted.len().min(5)]);
    assert!(total.other.is_empty(), "unexpected errors on the standby: {:?}", &total.other[..total.other.len().min(5)]);
    // The scans' own check (a restart, or 40001 after rows were returned)
    // also keeps XX002 away, so the conflict records are checked directly:
    // pages were reused, and each reuse was announced to the standby.
    // Switching WAL files flushes everything up to the returned position.
    let wal_end: String = p.query_one("SELECT pg_switch_wal()::text", &[]).unwrap().get(0);
    let filenode: u32 = p.query_one("SELECT pg_relation_filenode('items_emb')::oid", &[]).unwrap().get(0);
    let wal = primary.waldump(&["-s", &wal_start, "-e", &wal_end, "-r", "Btree"]);
    let reuse_records = wal.lines().filter(|l| l.contains("REUSE_PAGE") && l.contains(&format!("/{filenode};"))).count();
    eprintln!("{reuse_records} reuse-conflict records for items_emb");
    assert!(reuse_records >= 3, "no recovery-conflict records before page reuse in the primary's WAL:\n{}", &wal[..wal.len().min(2000)]);

    // After catch-up the standby answers exactly as the primary does.
    for c in [&mut p, &mut s] {
        c.batch_execute("SET enable_seqscan = off").unwrap();
    }
    for id in (0..32_000i64).step_by(1601) {
        assert_eq!(top10(&mut s, id), top10(&mut p, id), "top 10 for row {id}'s vector");
    }
    let zero = format!("[{}]", vec!["0"; DIMS as usize].join(","));
    let through_index = format!("SELECT count(*) FROM (SELECT id FROM items ORDER BY emb <-> '{zero}') s");
    let on_standby: i64 = s.query_one(&through_index, &[]).unwrap().get(0);
    let in_table: i64 = p.query_one("SELECT count(*) FROM items", &[]).unwrap().get(0);
    assert_eq!(in_table, 20_000 + 3 * (4000 - 200));
    assert_eq!(on_standby, in_table, "rows through the standby's index");
    drop(standby);
}

/// The standby's own check (a scan whose segments left the metapage during
/// recovery restarts or fails with 40001) does not hide real corruption: on
/// a standby whose index did not change, a damaged page is still XX002.
#[test]
fn damaged_page_on_a_standby_is_still_reported_as_corrupted() {
    let primary = Cluster::create("damaged_primary", 54383, "wal_level = replica\nmax_wal_senders = 4\nautovacuum = off");
    let mut p = primary.connect("postgres");
    p.batch_execute("CREATE EXTENSION strata; CREATE TABLE items (id bigint PRIMARY KEY, emb vector(16))").unwrap();
    let values: Vec<String> = (0..2000i64).map(|id| format!("({id}, '{}')", test_vector(id, 16))).collect();
    p.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(","))).unwrap();
    p.batch_execute("CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops)").unwrap();
    let standby = Cluster::standby_of(&primary, "damaged_standby", 54384);
    let mut s = standby.connect("postgres");
    // A checkpoint replayed on the standby, so that its clean shutdown's
    // restartpoint lies after every full-page image of the index and the
    // restart replays nothing over the damage.
    p.batch_execute("CHECKPOINT").unwrap();
    wait_for_replay(&mut p, &mut s);
    let path: String = s.query_one("SELECT pg_relation_filepath('items_emb')", &[]).unwrap().get(0);
    drop(s);
    standby.stop_fast();
    // The file's last block is a page of the sealed segment CREATE INDEX wrote.
    let file = format!("{}/{path}", standby.data());
    let mut bytes = std::fs::read(&file).unwrap();
    let len = bytes.len();
    bytes[len - 8192..].fill(0);
    std::fs::write(&file, &bytes).unwrap();
    standby.start();

    let mut s = standby.connect("postgres");
    let in_recovery: bool = s.query_one("SELECT pg_is_in_recovery()", &[]).unwrap().get(0);
    assert!(in_recovery);
    s.batch_execute("SET enable_seqscan = off").unwrap();
    let zero = format!("[{}]", vec!["0"; 16].join(","));
    let err = s.query(&format!("SELECT id FROM items ORDER BY emb <-> '{zero}'"), &[]).expect_err("a full scan reads the damaged page");
    assert_eq!(err.code(), Some(&SqlState::INDEX_CORRUPTED), "{}", describe(&err));
    drop(standby);
}
