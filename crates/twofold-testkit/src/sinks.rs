//! Real endpoints for what the server sends: an SMTP server (aiosmtpd) that keeps each
//! message as a file, and an SMS provider's webhook that keeps each call.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A real SMTP server (aiosmtpd, tests/smtp/sink.py) that keeps what it receives.
pub struct SmtpSink {
    child: Child,
    /// The server's address, for `--smtp-url` (`smtp://127.0.0.1:PORT`).
    pub url: String,
    /// Where the messages are kept (one `.eml` file each).
    pub dir: PathBuf,
}

impl SmtpSink {
    /// Starts the sink on a free port and waits until it accepts connections.
    #[must_use]
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = crate::database::scratch_dir("mail");
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
    #[must_use]
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
    /// The webhook's URL, for `sms_otp.webhook_url`.
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<SmsReceived>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmsSink {
    /// Starts the webhook on a free port.
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

    /// How many messages have arrived.
    #[must_use]
    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

impl Drop for SmsSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}
