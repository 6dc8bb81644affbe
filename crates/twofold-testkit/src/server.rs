//! A running `twofold serve`: started on a random port, ready before it is handed out, killed
//! when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::browser::{Api, Browser};
use crate::clock::{TEST_CLOCK_VAR, TestClock};
use crate::env::Env;

/// One `twofold serve` process of an [`Env`].
#[derive(Debug)]
pub struct Server {
    /// The process.
    pub child: Child,
    /// Where it listens (`http://127.0.0.1:PORT`, or `https://` with `--tls-cert`).
    pub url: String,
    clock: TestClock,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `twofold serve --listen 127.0.0.1:0 extra...` in `env` and waits for `/readyz`.
    pub(crate) async fn start(env: &Env, extra: &[&str]) -> Self {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = env
            .command(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let printed = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&printed);
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            while let Some(Ok(line)) = lines.next() {
                if !sent && let Some(addr) = line.strip_prefix("Twofold is listening on ") {
                    tx.send(addr.trim().to_owned()).ok();
                    sent = true;
                }
                kept.lock().expect("stdout lines").push(line);
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        forward_stderr(child.stderr.take().expect("stderr"), Arc::clone(&stderr));
        let url = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("{}: server did not announce its address", env.backend)
        });
        let server = Self { child, url, clock: env.clock.clone(), stderr, stdout: printed };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        // A server with --tls-cert presents the tests' own CA's certificate; readiness is all
        // this asks, so its chain is not checked here (the TLS tests check it with requests).
        let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build().expect("client");
        for _ in 0..200 {
            if client.get(format!("{}/readyz", self.url)).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server at {} never became ready", self.url);
    }

    /// A browser with its own cookie jar, bound to this server and on the test's clock.
    #[must_use]
    pub fn browser(&self) -> Browser {
        Browser::new(&self.url, &self.clock)
    }

    /// An admin API client for this server holding the key `token` (see [`Env::token_with_role`]).
    #[must_use]
    pub fn api(&self, token: &str) -> Api {
        Api::new(&self.url, token)
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server has written to standard error so far, one entry a line. (Lines are
    /// also passed on to the test's own output, which shows them when the test fails.)
    #[must_use]
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lines").clone()
    }

    /// What the server has printed on standard output so far (the start-up announcement).
    #[must_use]
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().expect("stdout lines").clone()
    }

    /// Sends a signal by name (`TERM`, `KILL`) and waits for the process to exit.
    pub fn signal_and_wait(&mut self, signal: &str) -> std::process::ExitStatus {
        Command::new("kill").args([format!("-{signal}"), self.pid().to_string()]).status().expect("kill");
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps the server's standard error and passes each line on to the test's output (captured
/// by the test harness, shown for a failing test) — except the warning every server on a test
/// clock gives at start-up, which the harness asked for.
fn forward_stderr(stderr: std::process::ChildStderr, kept: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !line.contains(&format!("{TEST_CLOCK_VAR} is set")) {
                eprintln!("{line}");
            }
            kept.lock().expect("stderr lines").push(line);
        }
    });
}
