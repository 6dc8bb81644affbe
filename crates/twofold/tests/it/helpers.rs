//! Starting servers and running the CLI against the same database.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use twofold_testkit::TestDatabase;

pub const BIN: &str = env!("CARGO_BIN_EXE_twofold");

/// A database and data directory shared by servers and CLI runs of one test.
#[derive(Debug, Clone)]
pub struct Env {
    pub backend: &'static str,
    /// Empty means "the default": the SQLite file in the data directory.
    pub database_url: String,
    pub data_dir: PathBuf,
}

impl Env {
    pub fn new(db: &TestDatabase) -> Self {
        // reqwest is built with rustls but no provider of its own (see twofold-mail).
        twofold_mail::install_crypto_provider();
        Self { backend: db.backend, database_url: db.url.clone(), data_dir: db.dir.join("data") }
    }

    /// Every configured backend, fresh.
    pub async fn all() -> Vec<Self> {
        twofold_testkit::databases().await.iter().map(Self::new).collect()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_remove("TWOFOLD_CONFIG")
            .env_remove("TWOFOLD_LISTEN")
            .env_remove("TWOFOLD_PUBLIC_URL")
            .env("TWOFOLD_DATA_DIR", &self.data_dir)
            .env("TWOFOLD_LOG", "warn");
        if self.database_url.is_empty() {
            command.env_remove("TWOFOLD_DATABASE_URL");
        } else {
            command.env("TWOFOLD_DATABASE_URL", &self.database_url);
        }
        command
    }

    /// Runs an admin verb to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().expect("run twofold")
    }

    /// Runs an admin verb with `input` on standard input.
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

    /// A fresh admin API key's token.
    pub fn admin_token(&self) -> String {
        self.token_with_role("admin")
    }

    pub fn token_with_role(&self, role: &str) -> String {
        let out = self.cli(&["apikey", "create", "--name", "test", "--role", role, "--format", "json"]);
        assert!(out.status.success(), "apikey create: {}", stderr(&out));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        value["token"].as_str().expect("token").to_owned()
    }

    /// Starts `twofold serve` on a random port and waits until it is ready.
    pub async fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            while let Some(Ok(line)) = lines.next() {
                if !sent && let Some(addr) = line.strip_prefix("Twofold is listening on ") {
                    tx.send(addr.trim().to_owned()).ok();
                    sent = true;
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("{}: server did not announce its address", self.backend)
        });
        let server = Server { child, url };
        server.wait_ready().await;
        server
    }
}

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
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

    pub fn pid(&self) -> u32 {
        self.child.id()
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

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An HTTP client that keeps cookies and does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// A client with `Authorization: Bearer token`.
pub fn api(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    headers.insert(reqwest::header::USER_AGENT, "twofold-tests/1".parse().expect("header"));
    reqwest::Client::builder().default_headers(headers).build().expect("client")
}

/// The number of audit events, as `twofold audit verify --format json` reports them.
pub fn audit_event_count(env: &Env) -> i64 {
    let out = env.cli(&["audit", "verify", "--format", "json"]);
    assert!(out.status.success(), "{}: audit verify failed: {}{}", env.backend, stdout(&out), stderr(&out));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(value["status"], "intact");
    value["events"].as_i64().expect("events")
}

/// A real SMTP server (aiosmtpd, tests/smtp/sink.py) that keeps what it receives.
pub struct SmtpSink {
    child: Child,
    pub url: String,
    pub dir: PathBuf,
}

impl SmtpSink {
    /// Starts the sink on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = twofold_testkit::scratch_dir("mail");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd is required (pip install aiosmtpd; .ci/run does)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("listening"), "SMTP sink did not start: {line:?}");
        Self { child, url: format!("smtp://127.0.0.1:{port}"), dir }
    }

    /// Every message received so far, as text (soft line breaks unfolded), oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        // Quoted-printable soft line breaks are undone so texts can be searched whole.
        files.iter().map(|p| std::fs::read_to_string(p).unwrap().replace("=\r\n", "")).collect()
    }

    /// Waits (up to 10 s) for a message whose text contains `needle`.
    pub async fn wait_for(&self, needle: &str) -> String {
        for _ in 0..400 {
            if let Some(found) = self.messages().into_iter().find(|m| m.contains(needle)) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no mail containing {needle:?}; received: {:#?}", self.messages());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One webhook call: the JSON body and the `Authorization` header.
type SmsReceived = (serde_json::Value, Option<String>);

/// An SMS provider's webhook: an HTTP server on a free port that keeps each JSON body it is
/// posted, with the `Authorization` header it came with.
pub struct SmsSink {
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<SmsReceived>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmsSink {
    pub async fn start() -> Self {
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&received);
        let app = axum::Router::new().route(
            "/send",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<serde_json::Value>| {
                    let kept = std::sync::Arc::clone(&kept);
                    async move {
                        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
                        kept.lock().unwrap().push((body, auth));
                        axum::http::StatusCode::ACCEPTED
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/send", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, received, task }
    }

    /// Waits (up to 10 s) for the `n`th message (counting from 1): its body and header.
    pub async fn wait_for(&self, n: usize) -> (serde_json::Value, Option<String>) {
        for _ in 0..400 {
            if let Some(found) = self.received.lock().unwrap().get(n - 1).cloned() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("SMS {n} never arrived; received: {:?}", self.received.lock().unwrap());
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

impl Drop for SmsSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}
