//! One test's world: a database, a data directory and a clock, shared by every server and
//! admin verb the test runs, so the CLI acts on what the servers serve.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use twofold_core::Timestamp;

use crate::clock::{TEST_CLOCK_VAR, TestClock};
use crate::database::{TestDatabase, databases, sqlite};
use crate::server::Server;

/// A database, a data directory and a [`TestClock`] for one test, and the binary to run.
#[derive(Debug, Clone)]
pub struct Env {
    /// `sqlite` or `postgres`, for assertion messages.
    pub backend: &'static str,
    /// The database every process of the test uses.
    pub database_url: String,
    /// The data directory (master key; for SQLite also the database file).
    pub data_dir: PathBuf,
    /// The test's own scratch directory (the data directory is inside it).
    pub dir: PathBuf,
    /// The time every process of the test runs on.
    pub clock: TestClock,
    bin: PathBuf,
    /// Set once the database has Twofold's schema (admin verbs refuse a database that is not
    /// there yet; only `serve` and `migrate` make one).
    migrated: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Env {
    /// A world over `db`, running the `twofold` binary at `bin`.
    #[must_use]
    pub fn new(db: &TestDatabase, bin: &str) -> Self {
        // reqwest is built with rustls but no provider of its own (see twofold-mail).
        twofold_mail::install_crypto_provider();
        Self {
            backend: db.backend,
            database_url: db.url.clone(),
            data_dir: db.dir.join("data"),
            dir: db.dir.clone(),
            clock: TestClock::new(db.dir.join("clock-offset")),
            bin: PathBuf::from(bin),
            migrated: std::sync::Arc::default(),
        }
    }

    /// A world on a fresh SQLite database only.
    #[must_use]
    pub fn sqlite(bin: &str) -> Self {
        Self::new(&sqlite(), bin)
    }

    /// A world on every configured backend, each fresh.
    pub async fn all(bin: &str) -> Vec<Self> {
        databases().await.iter().map(|db| Self::new(db, bin)).collect()
    }

    /// A path in the test's scratch directory (beside the data directory), for files a test
    /// writes: configurations, campaign and policy files.
    #[must_use]
    pub fn path(&self, name: &str) -> PathBuf {
        std::fs::create_dir_all(&self.dir).expect("scratch dir");
        self.dir.join(name)
    }

    /// Writes `contents` to [`Env::path`]`(name)`; returns the path as text, for arguments.
    #[must_use]
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, contents).expect("write scratch file");
        path.display().to_string()
    }

    /// The binary with `args`, pointed at this world's database, data directory and clock
    /// (and at nothing the developer's own environment sets).
    #[must_use]
    pub fn command(&self, args: &[&str]) -> Command {
        // An admin verb as a test's first step works on the test's database, made as an
        // operator would make it (`twofold migrate`); `serve` and `migrate` make it themselves.
        let makes_database = matches!(args.first(), Some(&("serve" | "migrate" | "config")));
        if makes_database {
            self.migrated.store(true, std::sync::atomic::Ordering::SeqCst);
        } else if !self.migrated.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let made = self.bare_command(&["migrate"]).stdin(Stdio::null()).output().expect("run twofold migrate");
            assert!(made.status.success(), "twofold migrate: {}", String::from_utf8_lossy(&made.stderr));
        }
        self.bare_command(args)
    }

    fn bare_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        // Nothing of the test run's own TWOFOLD_* environment (the test command's knobs, a
        // developer's settings) reaches the process: it sees only what the test sets.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TWOFOLD_") {
                command.env_remove(name);
            }
        }
        command
            .args(args)
            .env("TWOFOLD_DATA_DIR", &self.data_dir)
            .env(TEST_CLOCK_VAR, self.clock.file())
            .env("TWOFOLD_LOG", "warn");
        if self.database_url.is_empty() {
            command.env_remove("TWOFOLD_DATABASE_URL");
        } else {
            command.env("TWOFOLD_DATABASE_URL", &self.database_url);
        }
        command
    }

    /// Runs an admin verb to completion.
    #[must_use]
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().expect("run twofold")
    }

    /// Runs an admin verb on a terminal of its own (a pseudo-terminal through util-linux
    /// `script`), as an admin at a console would; returns what the terminal showed, standard
    /// output and error together.
    #[must_use]
    pub fn cli_on_terminal(&self, args: &[&str]) -> String {
        let inner = self.command(args);
        let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
        let line: Vec<String> = std::iter::once(self.bin.display().to_string())
            .chain(args.iter().map(|a| (*a).to_owned()))
            .map(|a| quote(&a))
            .collect();
        let mut outer = Command::new("script");
        outer.args(["-qec", &line.join(" "), "/dev/null"]).env("TERM", "xterm");
        for (name, value) in inner.get_envs() {
            match value {
                Some(value) => outer.env(name, value),
                None => outer.env_remove(name),
            };
        }
        let out = outer.stdin(Stdio::null()).output().expect("run script (util-linux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs an admin verb with `input` on standard input.
    #[must_use]
    pub fn cli_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs an admin verb that must succeed (`--format json` is added) and parses what it prints.
    #[must_use]
    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let out = self.cli(&all);
        assert!(out.status.success(), "{}: twofold {}: {}{}", self.backend, args.join(" "), stdout(&out), stderr(&out));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", self.backend, stdout(&out)))
    }

    /// The audit log as `audit export` writes it (JSON lines).
    #[must_use]
    pub fn audit_log(&self) -> String {
        stdout(&self.cli(&["audit", "export"]))
    }

    /// The number of audit events, as `twofold audit verify --format json` reports them;
    /// asserts the chain is intact.
    #[must_use]
    pub fn audit_event_count(&self) -> i64 {
        let value = self.cli_json(&["audit", "verify"]);
        assert_eq!(value["status"], "intact", "{}", self.backend);
        value["events"].as_i64().expect("events")
    }

    /// A fresh admin API key's token.
    #[must_use]
    pub fn admin_token(&self) -> String {
        self.token_with_role("admin")
    }

    /// A fresh API key's token with `role` (admin, helpdesk, auditor).
    #[must_use]
    pub fn token_with_role(&self, role: &str) -> String {
        let value = self.cli_json(&["apikey", "create", "--name", "test", "--role", role]);
        value["token"].as_str().expect("token").to_owned()
    }

    /// An API client holding a fresh key with `role`.
    #[must_use]
    pub fn api(&self, role: &str) -> reqwest::Client {
        crate::api(&self.token_with_role(role))
    }

    /// Starts `twofold serve` on a random port (plus `extra` arguments) and waits until it is
    /// ready.
    pub async fn serve(&self, extra: &[&str]) -> Server {
        Server::start(self, extra).await
    }

    /// Moves the time of every server and admin verb of this world by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }

    /// The time the processes of this world see now.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The TOTP code for the base32 `secret` at this world's time moved by `offset_secs`.
    #[must_use]
    pub fn totp(&self, secret: &str, offset_secs: i64) -> String {
        self.clock.totp(secret, offset_secs)
    }

    /// `YYYY-MM-DD`, `days` from this world's today (UTC).
    #[must_use]
    pub fn date(&self, days: i64) -> String {
        self.clock.date(days)
    }

    /// The binary this world runs.
    #[must_use]
    pub fn bin(&self) -> &Path {
        &self.bin
    }
}

/// A finished process's standard output, as text.
#[must_use]
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A finished process's standard error, as text.
#[must_use]
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
