//! Bring Your Own Vectors under concurrency: several connections upserting the same record ids
//! (last write wins, one vector per record, no deadlocks), upserts racing deletes (never a
//! vector without its record, never a deadlock), and the first writers of a new index (the
//! status flip never makes them wait for each other).

use postgres::error::SqlState;
use postgres::Client;
use std::collections::HashMap;
use strata_integration::Server;

const RECORDS: i32 = 200;
const THREADS: usize = 6;
const CALLS_PER_THREAD: usize = 25;

/// Small deterministic generator (no extra dependencies): xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The vector a call writes for a record: unique per (call, record), exact in f32.
fn payload(call: i32, id: i32) -> String {
    format!("[{call},{id},1,0]")
}

fn setup(client: &mut Client) -> i64 {
    client
        .batch_execute(&format!(
            "CREATE TABLE doc (id int PRIMARY KEY, body text);
             INSERT INTO doc SELECT g, 'doc ' || g FROM generate_series(1, {RECORDS}) g;
             CREATE TABLE upsert_log (call int PRIMARY KEY, ticket bigint NOT NULL);
             CREATE SEQUENCE ticket;"
        ))
        .unwrap();
    client
        .query_one("SELECT id FROM strata.create_index('doc', 'body', 4)", &[])
        .unwrap()
        .get(0)
}

#[test]
fn concurrent_upserts_of_the_same_ids_last_write_wins() {
    let server = Server::from_env();
    let db = "it_byov_concurrent_upserts";
    let mut client = server.fresh_database(db);
    let index = setup(&mut client);

    // Each call upserts a random subset of the records, in random order, through either API
    // form. Inside its transaction, after the upsert (which holds the rows' locks until commit),
    // it takes a ticket from a sequence: a later writer of the same record has to wait for this
    // commit before its own upsert returns, so it gets a larger ticket. The last write of a
    // record is therefore the one with the largest ticket among the calls that wrote it.
    let calls: Vec<(i32, Vec<i32>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let server = &server;
                s.spawn(move || {
                    let mut c = server.connect(db);
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                    let mut done = Vec::new();
                    for n in 0..CALLS_PER_THREAD {
                        let call = (t * 1000 + n) as i32;
                        let mut ids: Vec<i32> = (1..=RECORDS).filter(|_| rng.below(3) > 0).collect();
                        for i in (1..ids.len()).rev() {
                            ids.swap(i, rng.below(i as u64 + 1) as usize);
                        }
                        let mut tx = c.transaction().unwrap();
                        let written: i64 = if n % 2 == 0 {
                            let vecs: Vec<String> = ids.iter().map(|&id| payload(call, id)).collect();
                            tx.query_one(
                                "SELECT strata.upsert_vectors($1, $2::int[], $3::text[]::vector[])",
                                &[&index, &ids, &vecs],
                            )
                        } else {
                            let items: Vec<String> = ids
                                .iter()
                                .map(|&id| format!(r#"{{"recordId": {id}, "vector": {}}}"#, payload(call, id)))
                                .collect();
                            tx.query_one(
                                "SELECT strata.upsert_vectors($1, $2::text::jsonb)",
                                &[&index, &format!("[{}]", items.join(","))],
                            )
                        }
                        .unwrap_or_else(|e| panic!("call {call}: {e}"))
                        .get(0);
                        assert_eq!(written, ids.len() as i64);
                        tx.execute("INSERT INTO upsert_log VALUES ($1, nextval('ticket'))", &[&call]).unwrap();
                        tx.commit().unwrap();
                        done.push((call, ids));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });

    let tickets: HashMap<i32, i64> = client
        .query("SELECT call, ticket FROM upsert_log", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(tickets.len(), THREADS * CALLS_PER_THREAD);
    let mut last: HashMap<i32, (i64, i32)> = HashMap::new();
    for (call, ids) in &calls {
        let ticket = tickets[call];
        for &id in ids {
            let e = last.entry(id).or_insert((ticket, *call));
            if ticket > e.0 {
                *e = (ticket, *call);
            }
        }
    }

    let vector_table = format!("strata.vectors_{index}");
    let row = client
        .query_one(&format!("SELECT count(*), count(DISTINCT record_id) FROM {vector_table}"), &[])
        .unwrap();
    let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(rows, distinct, "one vector per record");
    assert_eq!(rows, last.len() as i64, "every record written at least once has exactly one vector");
    for row in client.query(&format!("SELECT record_id, vec::text FROM {vector_table}"), &[]).unwrap() {
        let id: i32 = row.get(0);
        let stored: String = row.get(1);
        let (_, call) = last[&id];
        assert_eq!(stored, payload(call, id), "record {id}: the last committed write wins");
    }
    let status: String = client
        .query_one("SELECT status FROM strata.indexes WHERE id = $1", &[&index])
        .unwrap()
        .get(0);
    assert_eq!(status, "ready");
}

#[test]
fn upserts_racing_deletes_leave_no_orphans() {
    let server = Server::from_env();
    let db = "it_byov_upserts_vs_deletes";
    let mut client = server.fresh_database(db);
    let index = setup(&mut client);

    let (written, refused) = std::thread::scope(|s| {
        // Writers upsert every record, over and over.
        let writers: Vec<_> = (0..3)
            .map(|t| {
                let server = &server;
                s.spawn(move || {
                    let mut c = server.connect(db);
                    let (mut ok, mut refused) = (0, 0);
                    for n in 0..30 {
                        let call = (t * 1000 + n) as i32;
                        let ids: Vec<i32> = (1..=RECORDS).collect();
                        let vecs: Vec<String> = ids.iter().map(|&id| payload(call, id)).collect();
                        match c.query_one(
                            "SELECT strata.upsert_vectors($1, $2::int[], $3::text[]::vector[])",
                            &[&index, &ids, &vecs],
                        ) {
                            Ok(_) => ok += 1,
                            // A record deleted meanwhile (checked up front or by the lock).
                            // Never a deadlock: writers lock records before vectors, as a
                            // DELETE of records does.
                            Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => refused += 1,
                            Err(e) => panic!("upsert: {e}"),
                        }
                    }
                    (ok, refused)
                })
            })
            .collect();
        // A deleter removes records and inserts them again, in one transaction or (so that
        // writers find them missing) in two.
        let deleter = s.spawn(|| {
            let mut c = server.connect(db);
            let mut rng = Rng(42);
            for n in 0..150 {
                let id = 1 + rng.below(RECORDS as u64) as i32;
                let mut tx = c.transaction().unwrap();
                match tx.execute("DELETE FROM doc WHERE id = $1", &[&id]) {
                    Ok(_) if n % 2 == 0 => {
                        tx.execute("INSERT INTO doc VALUES ($1, 'again')", &[&id]).unwrap();
                        tx.commit().unwrap();
                    }
                    Ok(_) => {
                        tx.commit().unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        c.execute("INSERT INTO doc VALUES ($1, 'again')", &[&id]).unwrap();
                    }
                    Err(e) => panic!("delete: {e}"),
                }
            }
        });
        deleter.join().unwrap();
        writers.into_iter().map(|h| h.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    eprintln!("upserts racing deletes: {written} written, {refused} refused");
    assert_eq!(written + refused, 90);
    assert!(written > 0, "some upserts succeed");

    let orphans: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM strata.vectors_{index} v WHERE NOT EXISTS (SELECT FROM doc WHERE id = v.record_id)"
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(orphans, 0, "no vector outlives its record");
    let dupes: i64 = client
        .query_one(
            &format!("SELECT count(*) - count(DISTINCT record_id) FROM strata.vectors_{index}"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(dupes, 0);
}

/// The scenario of a 40P01 on the first load: A upserts record 1 into an index still
/// `awaiting_vectors` and stays open; B upserts record 2; A upserts record 2. B must not wait
/// for A (it used to, on A's status flip, while A went on to wait for B's record 2).
#[test]
fn first_writers_of_a_new_index_do_not_wait_for_each_other() {
    let server = Server::from_env();
    let db = "it_byov_first_writers";
    let mut client = server.fresh_database(db);
    let index = setup(&mut client);
    let upsert = |c: &mut Client, id: i32, v: &str| {
        c.query_one(
            "SELECT strata.upsert_vectors($1, ARRAY[$2::int], ARRAY[$3::text::vector])",
            &[&index, &id, &v],
        )
        .map(|r| r.get::<_, i64>(0))
    };
    let mut a = server.connect(db);
    let mut b = server.connect(db);
    a.batch_execute("BEGIN").unwrap();
    assert_eq!(upsert(&mut a, 1, "[1,0,0,0]").unwrap(), 1);
    // Waiting for A here would run into lock_timeout (55P03) instead of passing.
    b.batch_execute("BEGIN; SET LOCAL lock_timeout = '20s'").unwrap();
    assert_eq!(upsert(&mut b, 2, "[0,1,0,0]").unwrap(), 1, "B writes while A is open");
    std::thread::scope(|s| {
        // A now waits for B's record 2 (a real conflict), until B commits.
        let a_writes = s.spawn(|| {
            let r = upsert(&mut a, 2, "[0,0,1,0]");
            a.batch_execute("COMMIT").unwrap();
            r
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        b.batch_execute("COMMIT").unwrap();
        let r = a_writes.join().unwrap();
        assert!(r.is_ok(), "A's second upsert: {:?}", r.err());
    });
    let row = client
        .query_one(
            &format!(
                "SELECT (SELECT status FROM strata.indexes WHERE id = $1),
                        (SELECT string_agg(record_id || '=' || vec::text, ' ' ORDER BY record_id) FROM strata.vectors_{index})"
            ),
            &[&index],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "ready");
    assert_eq!(row.get::<_, String>(1), "1=[1,0,0,0] 2=[0,0,1,0]", "A's later write of record 2 wins");
}

/// A writer that flipped the status rolls back while another writer's vectors commit: the
/// index is still reported ready (derived from its vectors), and the next write stores it.
#[test]
fn status_is_ready_when_the_writer_that_flipped_it_rolls_back() {
    let server = Server::from_env();
    let db = "it_byov_flip_rollback";
    let mut client = server.fresh_database(db);
    let index = setup(&mut client);
    let mut a = server.connect(db);
    let mut b = server.connect(db);
    a.batch_execute("BEGIN").unwrap();
    a.execute("SELECT strata.upsert_vectors($1, ARRAY[1], ARRAY['[1,0,0,0]']::vector[])", &[&index]).unwrap();
    b.batch_execute("SET lock_timeout = '20s'").unwrap();
    b.execute("SELECT strata.upsert_vectors($1, ARRAY[2], ARRAY['[0,1,0,0]']::vector[])", &[&index]).unwrap();
    a.batch_execute("ROLLBACK").unwrap();
    let status = |c: &mut Client| -> (String, String) {
        let r = c
            .query_one(
                "SELECT c.status, i.status FROM strata.indexes_catalog c JOIN strata.indexes i USING (id) WHERE id = $1",
                &[&index],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(status(&mut client), ("awaiting_vectors".into(), "ready".into()));
    b.execute("SELECT strata.upsert_vectors($1, ARRAY[3], ARRAY['[0,0,1,0]']::vector[])", &[&index]).unwrap();
    assert_eq!(status(&mut client), ("ready".into(), "ready".into()));
}
