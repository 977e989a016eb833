//! Private clusters for tests that crash or replicate a server, so they never
//! disturb the shared cluster of `scripts/test`. Each lives in its own
//! directory under the test base directory, runs as the `postgres` OS user on
//! its own port and socket directory, and is stopped and removed on drop.

use postgres::{Client, NoTls};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    pg_bin: PathBuf,
}

fn as_postgres(pg_bin: &Path, tool: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new("runuser")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .args(["-u", "postgres", "--"])
        .arg(pg_bin.join(tool))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    out
}

fn run_ok(pg_bin: &Path, tool: &str, args: &[&str]) {
    let out = as_postgres(pg_bin, tool, args);
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    fn base() -> (PathBuf, PathBuf) {
        let base = std::env::var("STRATA_TEST_BASE").expect("STRATA_TEST_BASE is not set: run through scripts/test");
        let pg_bin = std::env::var("STRATA_PG_BIN").expect("STRATA_PG_BIN is not set: run through scripts/test");
        (PathBuf::from(base), PathBuf::from(pg_bin))
    }

    fn layout(name: &str, port: u16) -> Cluster {
        let (base, pg_bin) = Self::base();
        let dir = base.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().unwrap();
        assert!(status.success());
        Cluster { dir, port, pg_bin }
    }

    fn configure(&self, extra_conf: &str) {
        let conf = format!(
            "\nport = {}\nlisten_addresses = ''\nunix_socket_directories = '{}'\nlc_messages = 'C'\nfsync = on\n{extra_conf}\n",
            self.port,
            self.dir.join("sock").display()
        );
        let path = self.dir.join("data/postgresql.conf");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&conf);
        std::fs::write(&path, text).unwrap();
    }

    /// initdb and start a new cluster.
    pub fn create(name: &str, port: u16, extra_conf: &str) -> Cluster {
        let c = Self::layout(name, port);
        let data = c.data();
        run_ok(&c.pg_bin, "initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"]);
        c.configure(extra_conf);
        c.start();
        c
    }

    /// A streaming standby of `primary`, made with pg_basebackup, started.
    /// The backup starts with a fast checkpoint: a spread one paces its
    /// writes over minutes when the primary has much unwritten data.
    pub fn standby_of(primary: &Cluster, name: &str, port: u16) -> Cluster {
        Self::standby_with(primary, name, port, "")
    }

    /// Like [`Cluster::standby_of`], with extra settings for the standby.
    pub fn standby_with(primary: &Cluster, name: &str, port: u16, extra_conf: &str) -> Cluster {
        let c = Self::layout(name, port);
        let data = c.data();
        let sock = primary.sock();
        let pport = primary.port.to_string();
        run_ok(&c.pg_bin, "pg_basebackup", &["-h", &sock, "-p", &pport, "-U", "postgres", "-D", &data, "-R", "-X", "stream", "-c", "fast"]);
        c.configure(extra_conf);
        c.start();
        c
    }

    pub fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    pub fn sock(&self) -> String {
        self.dir.join("sock").display().to_string()
    }

    pub fn start(&self) {
        let log = self.dir.join("server.log").display().to_string();
        run_ok(&self.pg_bin, "pg_ctl", &["-D", &self.data(), "-l", &log, "-w", "-t", "120", "start"]);
    }

    /// Stops the server cleanly (a standby writes a restartpoint first).
    pub fn stop_fast(&self) {
        run_ok(&self.pg_bin, "pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub fn stop(&self) {
        let _ = as_postgres(&self.pg_bin, "pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }

    pub fn postmaster_pid(&self) -> i32 {
        let text = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).expect("postmaster.pid");
        text.lines().next().unwrap().trim().parse().unwrap()
    }

    /// `kill -9` the postmaster and every process it started, as a power
    /// loss would, and wait until they are gone.
    pub fn kill9(&self) {
        let pid = self.postmaster_pid();
        let children = Command::new("pgrep").args(["-P", &pid.to_string()]).output().unwrap();
        let mut pids: Vec<String> = String::from_utf8_lossy(&children.stdout).split_whitespace().map(String::from).collect();
        pids.push(pid.to_string());
        let _ = Command::new("kill").arg("-9").args(&pids).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while pids.iter().any(|p| Path::new(&format!("/proc/{p}")).exists()) {
            assert!(Instant::now() < deadline, "processes {pids:?} survived kill -9");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// pg_waldump's output over this cluster's pg_wal with `args`.
    pub fn waldump(&self, args: &[&str]) -> String {
        let wal = self.dir.join("data/pg_wal").display().to_string();
        let mut all = vec!["-p", wal.as_str()];
        all.extend_from_slice(args);
        let out = as_postgres(&self.pg_bin, "pg_waldump", &all);
        assert!(out.status.success(), "pg_waldump {all:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn connect(&self, dbname: &str) -> Client {
        Client::connect(&format!("host={} port={} user=postgres dbname={dbname}", self.sock(), self.port), NoTls)
            .unwrap_or_else(|e| panic!("connect to {dbname} on port {}: {e}", self.port))
    }

    pub fn try_connect(&self, dbname: &str) -> Result<Client, postgres::Error> {
        Client::connect(&format!("host={} port={} user=postgres dbname={dbname}", self.sock(), self.port), NoTls)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
