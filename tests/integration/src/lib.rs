//! Helpers for integration tests. `scripts/test` starts a throwaway cluster
//! and exports where it is; each test gets a database of its own so tests can
//! run in parallel without seeing each other's tables.

pub mod cluster;

use postgres::{Client, NoTls};
use std::path::PathBuf;

pub struct Server {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub pg_bin: PathBuf,
}

impl Server {
    /// The cluster started by `scripts/test`. Panics with a clear message when
    /// the tests are run outside it.
    pub fn from_env() -> Server {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: run the integration tests through scripts/test")
            })
        };
        Server {
            host: var("STRATA_TEST_HOST"),
            port: var("STRATA_TEST_PORT").parse().expect("STRATA_TEST_PORT is a port"),
            data_dir: var("STRATA_TEST_DATA").into(),
            pg_bin: var("STRATA_PG_BIN").into(),
        }
    }

    pub fn connect(&self, dbname: &str) -> Client {
        Client::connect(
            &format!("host={} port={} user=postgres dbname={dbname}", self.host, self.port),
            NoTls,
        )
        .unwrap_or_else(|e| panic!("connect to {dbname}: {e}"))
    }

    /// Drops and creates `dbname` with the extension installed, and returns a
    /// connection to it.
    pub fn fresh_database(&self, dbname: &str) -> Client {
        let mut client = self.empty_database(dbname);
        client.batch_execute("CREATE EXTENSION strata").expect("create extension");
        client
    }

    /// Drops and creates `dbname` without the extension (for tests that pick
    /// its version or restore a dump into it), and returns a connection to it.
    pub fn empty_database(&self, dbname: &str) -> Client {
        let mut admin = self.connect("postgres");
        // Separate statements: DROP/CREATE DATABASE refuse to run in the
        // implicit transaction of a multi-statement batch.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{dbname}\" WITH (FORCE)"))
            .expect("drop test database");
        admin.batch_execute(&format!("CREATE DATABASE \"{dbname}\"")).expect("create test database");
        self.connect(dbname)
    }
}

/// splitmix64's finaliser: spreads the bits of a counter over the word.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic vector literal of `dims` dimensions for row `id`: a
/// splitmix64 hash of (id, dimension), so distinct rows get distinct vectors.
pub fn test_vector(id: i64, dims: u64) -> String {
    let parts: Vec<String> = (0..dims)
        .map(|j| {
            let z = mix64((id as u64).wrapping_mul(dims).wrapping_add(j).wrapping_add(0x9E37_79B9_7F4A_7C15));
            format!("{}", (z % 100_000) as f32 / 1000.0)
        })
        .collect();
    format!("[{}]", parts.join(","))
}

/// Like [`test_vector`], with elements in [-1, 1): both signs, so that
/// `binarize` gives mixed bits and every type's cast has work to do.
pub fn signed_test_vector(id: i64, dims: u64) -> String {
    let parts: Vec<String> = (0..dims)
        .map(|j| {
            let z = mix64((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(j.wrapping_mul(0xD1B5_4A32_D192_ED03)));
            format!("{}", (z % 2000) as f32 / 1000.0 - 1.0)
        })
        .collect();
    format!("[{}]", parts.join(","))
}

/// Waits (up to a minute) until `standby` has replayed all WAL `primary` had
/// inserted when called.
pub fn wait_for_replay(primary: &mut Client, standby: &mut Client) {
    let lsn: String = primary.query_one("SELECT pg_current_wal_insert_lsn()::text", &[]).unwrap().get(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !standby.query_one(&format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"), &[]).unwrap().get::<_, bool>(0) {
        assert!(std::time::Instant::now() < deadline, "standby did not replay up to {lsn}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
