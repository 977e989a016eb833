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
        let mut admin = self.connect("postgres");
        // Separate statements: DROP/CREATE DATABASE refuse to run in the
        // implicit transaction of a multi-statement batch.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{dbname}\" WITH (FORCE)"))
            .expect("drop test database");
        admin.batch_execute(&format!("CREATE DATABASE \"{dbname}\"")).expect("create test database");
        let mut client = self.connect(dbname);
        client.batch_execute("CREATE EXTENSION strata").expect("create extension");
        client
    }
}

/// A deterministic vector literal of `dims` dimensions for row `id`: a
/// splitmix64 hash of (id, dimension), so distinct rows get distinct vectors.
pub fn test_vector(id: i64, dims: u64) -> String {
    let parts: Vec<String> = (0..dims)
        .map(|j| {
            let mut z = (id as u64).wrapping_mul(dims).wrapping_add(j).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            format!("{}", (z % 100_000) as f32 / 1000.0)
        })
        .collect();
    format!("[{}]", parts.join(","))
}
