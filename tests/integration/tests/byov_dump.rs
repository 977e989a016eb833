//! Bring Your Own Vectors through pg_dump and restore: registrations (an extension
//! configuration table), the id counter, the vector tables (ordinary tables created after
//! CREATE EXTENSION), their policies and the label's triggers all come back and keep working.

use std::process::Command;
use strata_integration::Server;

#[test]
fn indexes_survive_dump_and_restore() {
    let server = Server::from_env();
    let (src, dst) = ("it_byov_dump_src", "it_byov_dump_dst");
    let mut client = server.fresh_database(src);
    client
        .batch_execute(
            "CREATE TABLE doc (id int PRIMARY KEY, body text);
             INSERT INTO doc VALUES (1, 'a'), (2, 'b'), (3, 'c');
             SELECT strata.create_index('doc', 'body', 2);
             SELECT strata.create_index('doc', 'body', 2, 'euclidean');
             SELECT strata.drop_index(2);
             SELECT strata.upsert_vectors(1, ARRAY[1, 2, 3], ARRAY['[1,0]', '[0,1]', '[1,1]']::vector[]);",
        )
        .unwrap();

    let dump = Command::new(server.pg_bin.join("pg_dump"))
        .args(["-h", &server.host, "-p", &server.port.to_string(), "-U", "postgres", "-d", src])
        .output()
        .expect("run pg_dump");
    assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
    let script = String::from_utf8(dump.stdout).unwrap();

    let mut admin = server.connect("postgres");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {dst} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {dst}")).unwrap();
    let mut restore = Command::new(server.pg_bin.join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &server.host, "-p", &server.port.to_string()])
        .args(["-U", "postgres", "-d", dst])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run psql");
    use std::io::Write;
    restore.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = restore.wait_with_output().unwrap();
    assert!(out.status.success(), "restore: {}", String::from_utf8_lossy(&out.stderr));

    let mut c = server.connect(dst);
    let row = c
        .query_one("SELECT id, status, records, vectors, vector_table::text FROM strata.indexes", &[])
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    assert_eq!(row.get::<_, String>(1), "ready");
    assert_eq!(row.get::<_, Option<i64>>(2), Some(3));
    assert_eq!(row.get::<_, Option<i64>>(3), Some(3));
    assert_eq!(row.get::<_, String>(4), "strata.vectors_1");
    let top: String = c
        .query_one("SELECT record_id FROM strata.search('doc', 'body', '[0, 1]', k => 1)", &[])
        .unwrap()
        .get(0);
    assert_eq!(top, "2");
    // The triggers and the id counter came back too.
    c.batch_execute("DELETE FROM doc WHERE id = 2").unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM strata.vectors_1", &[]).unwrap().get(0);
    assert_eq!(n, 2, "deleting a record deletes its vector after restore");
    let next: i64 = c.query_one("SELECT id FROM strata.create_index('doc', 'body', 3)", &[]).unwrap().get(0);
    assert_eq!(next, 3, "ids continue after the dumped counter");
    c.batch_execute("TRUNCATE doc").unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM strata.vectors_1", &[]).unwrap().get(0);
    assert_eq!(n, 0, "truncating the label empties the index after restore");
}
