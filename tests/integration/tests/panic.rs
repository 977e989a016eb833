//! A Rust panic anywhere in strata (the backend's own thread, or a worker
//! thread like the engine's build threads) becomes an ordinary ERROR with
//! SQLSTATE XX000 for that statement: the session goes on, the transaction
//! can be rolled back, and the server does not restart. The panic is raised
//! on purpose by `strata_debug_panic(place)` (superusers only).

use strata_integration::Server;

fn start_time(c: &mut postgres::Client) -> String {
    c.query_one("SELECT pg_postmaster_start_time()::text", &[]).unwrap().get(0)
}

#[test]
fn a_panic_is_an_error_and_the_server_keeps_running() {
    let server = Server::from_env();
    let mut c = server.fresh_database("it_panic");
    let started = start_time(&mut c);
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);

    for place in ["backend", "thread"] {
        let e = c
            .query_one(&format!("SELECT strata_debug_panic('{place}')"), &[])
            .expect_err("strata_debug_panic returned");
        let db = e.as_db_error().expect("a server error");
        assert_eq!(db.code().code(), "XX000", "{place}: {e}");
        assert!(db.message().contains("panic"), "{place}: {}", db.message());
        // The same session goes on.
        assert_eq!(c.query_one("SELECT 41 + 1", &[]).unwrap().get::<_, i32>(0), 42, "{place}");
    }
    // The default place is the backend thread.
    let e = c.query_one("SELECT strata_debug_panic()", &[]).unwrap_err();
    assert_eq!(e.code().unwrap().code(), "XX000");

    // Inside a transaction: it aborts like any ERROR, and rolls back.
    c.batch_execute("CREATE TABLE t (x int)").unwrap();
    c.batch_execute("BEGIN; INSERT INTO t VALUES (1)").unwrap();
    let e = c.batch_execute("SELECT strata_debug_panic('thread')").unwrap_err();
    assert_eq!(e.code().unwrap().code(), "XX000");
    let e = c.batch_execute("SELECT 1").unwrap_err();
    assert_eq!(e.code().unwrap().code(), "25P02", "the transaction is aborted: {e}");
    c.batch_execute("ROLLBACK").unwrap();
    assert_eq!(c.query_one("SELECT count(*) FROM t", &[]).unwrap().get::<_, i64>(0), 0);

    // Not for ordinary users.
    c.batch_execute(
        "DROP ROLE IF EXISTS strata_panic_user; CREATE ROLE strata_panic_user;
         GRANT USAGE ON SCHEMA public TO strata_panic_user; SET ROLE strata_panic_user",
    )
    .unwrap();
    let e = c.batch_execute("SELECT strata_debug_panic()").unwrap_err();
    assert_eq!(e.code().unwrap().code(), "42501", "{e}");
    c.batch_execute("RESET ROLE; DROP OWNED BY strata_panic_user; DROP ROLE strata_panic_user").unwrap();

    // Same backend, same postmaster: nothing crashed or restarted.
    assert_eq!(c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get::<_, i32>(0), pid);
    let mut other = server.connect("it_panic");
    assert_eq!(start_time(&mut other), started, "the server restarted");
}
