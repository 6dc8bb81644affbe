//! Configuration and start-up faults: one clear line each, never a panic.

use twofold_testkit::{Env, stderr, stdout};

use crate::BIN;

fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TWOFOLD_") {
            command.env_remove(name);
        }
    }
    command.args(args);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn one_error_line(out: &std::process::Output) -> String {
    assert!(!out.status.success());
    let err = stderr(out);
    let lines: Vec<_> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_owned()
}

#[test]
fn config_check_lists_every_problem_with_its_key() {
    let dir = twofold_testkit::scratch_dir("config");
    let file = dir.join("twofold.toml");
    std::fs::write(&file, "listen = \"everywhere\"\ndatabase_url = \"mysql://db\"\nsurprise = true\n").unwrap();
    let out = run(&["config", "check", file.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let report = stdout(&out);
    assert!(report.contains("surprise: unknown key"), "{report}");
    // An unknown key and a wrong type no longer hide the bad values beside them.
    for key in ["listen:", "database_url:"] {
        assert!(report.contains(key), "{key} beside an unknown key, in {report}");
    }
    std::fs::write(
        &file,
        "listen = \"everywhere\"\nexception_max_days = \"ninety\"\nsurprise = 1\n[session]\nabsolute_timeout_secs = 10\n",
    )
    .unwrap();
    let report = stdout(&run(&["config", "check", file.to_str().unwrap()], &[]));
    for key in [
        "listen:",
        "exception_max_days: must be an integer, not a string",
        "surprise: unknown key",
        "session.absolute_timeout_secs: 10 is too short",
    ] {
        assert!(report.contains(key), "{key} in {report}");
    }
    std::fs::write(&file, "listen = \"everywhere\"\ndatabase_url = \"mysql://db\"\n[session]\nidle_timeout_secs = 5\n")
        .unwrap();
    let report = stdout(&run(&["config", "check", file.to_str().unwrap()], &[]));
    for key in ["listen:", "database_url:", "session.idle_timeout_secs:"] {
        assert!(report.contains(key), "{key} in {report}");
    }
    let generated = run(&["config", "generate"], &[]);
    std::fs::write(&file, generated.stdout).unwrap();
    assert!(run(&["config", "check", file.to_str().unwrap()], &[]).status.success());
}

#[test]
fn an_unknown_config_key_stops_the_server_with_one_line() {
    let dir = twofold_testkit::scratch_dir("config");
    let file = dir.join("twofold.toml");
    std::fs::write(&file, "listn = \"127.0.0.1:1\"\n").unwrap();
    let line =
        one_error_line(&run(&["serve", "--config", file.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()], &[]));
    assert!(line.contains("listn: unknown key"), "{line}");
}

#[test]
fn an_unreachable_database_gives_one_clear_line() {
    let dir = twofold_testkit::scratch_dir("config");
    let out = run(
        &[
            "user",
            "list",
            "--data-dir",
            dir.to_str().unwrap(),
            "--database-url",
            "postgres://nobody:secret@127.0.0.1:1/none",
        ],
        &[],
    );
    let line = one_error_line(&out);
    assert!(line.starts_with("error: cannot open the database"), "{line}");
    assert!(!line.contains("secret"), "the password is redacted: {line}");
}

#[test]
fn a_data_dir_that_cannot_be_used_gives_one_clear_line() {
    let dir = twofold_testkit::scratch_dir("config");
    let not_a_dir = dir.join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let line = one_error_line(&run(&["serve", "--data-dir", not_a_dir.to_str().unwrap()], &[]));
    assert!(line.contains("is not a directory"), "{line}");
    // /proc refuses new entries even to root: a read-only place for the data directory.
    let line = one_error_line(&run(&["serve", "--data-dir", "/proc/twofold-read-only-test"], &[]));
    assert!(line.contains("cannot create data directory /proc/twofold-read-only-test"), "{line}");
}

#[tokio::test]
async fn serve_starts_on_an_empty_data_dir_and_stops_gracefully_on_sigterm() {
    let mut env = Env::sqlite(BIN);
    env.database_url = String::new();
    assert!(!env.data_dir.exists());
    let mut server = env.serve(&[]).await;
    let key = std::fs::metadata(env.data_dir.join("master.key")).unwrap();
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777, 0o600);
    assert!(env.data_dir.join("twofold.db").exists());
    let status = server.signal_and_wait("TERM");
    assert!(status.success(), "graceful shutdown exits 0: {status}");
}

/// Graceful shutdown finishes the requests it accepted: every sign-in sent before SIGTERM
/// either completes with a full answer or was never accepted (connection refused); none
/// is cut off half-way.
#[tokio::test]
async fn sigterm_finishes_in_flight_requests() {
    let env = Env::sqlite(BIN);
    let mut server = env.serve(&["--demo"]).await;
    let url = server.url.clone();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let csrf = "c".repeat(43);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    // Spread over the demo's people: attempts in flight for one username count against its
    // throttle, and this is about shutting down, not about one person's burst.
    for n in 0..24 {
        let (client, url, csrf, done) = (client.clone(), url.clone(), csrf.clone(), done_tx.clone());
        let username = ["alice", "bob", "carol", "dave", "erin"][n % 5];
        tokio::spawn(async move {
            let result = client
                .post(format!("{url}/login"))
                .header("cookie", format!("twofold_csrf={csrf}"))
                .form(&[("username", username), ("password", "twofold-demo-pass"), ("csrf", csrf.as_str())])
                .send()
                .await;
            done.send(result).ok();
        });
    }
    drop(done_tx);
    // Once the first sign-in has finished the others are queued behind the password hasher.
    let first = done_rx.recv().await.unwrap();
    let status = tokio::task::spawn_blocking(move || server.signal_and_wait("TERM")).await.unwrap();
    assert!(status.success(), "{status}");
    let mut answered = 0;
    for result in std::iter::once(first).chain(std::iter::from_fn(|| done_rx.try_recv().ok())) {
        match result {
            Ok(response) => {
                assert_eq!(response.status(), 303, "a started sign-in completes");
                answered += 1;
            }
            Err(e) => assert!(e.is_connect(), "a request was cut off mid-way: {e}"),
        }
    }
    assert!(answered > 1, "sign-ins were in flight at SIGTERM and completed ({answered})");
    eprintln!("{answered} of 24 sign-ins were in flight at SIGTERM and completed");
}

/// An admin verb pointed at a data directory or database where there is no Twofold database
/// yet (a typo, a wrong mount) says where it looked and makes nothing; `migrate` (or `serve`)
/// makes one, and then the same verb works.
#[tokio::test]
async fn an_admin_verb_never_makes_an_empty_database() {
    let dir = twofold_testkit::scratch_dir("nodb").join("data");
    let data = dir.to_str().unwrap();
    let out = run(&["user", "list"], &[("TWOFOLD_DATA_DIR", data)]);
    let line = one_error_line(&out);
    assert!(line.contains("there is no Twofold database at") && line.contains(data), "{line}");
    assert!(!dir.join("twofold.db").exists(), "no empty database was made");
    assert!(run(&["migrate"], &[("TWOFOLD_DATA_DIR", data)]).status.success());
    assert!(run(&["user", "list"], &[("TWOFOLD_DATA_DIR", data)]).status.success(), "a made database is used");

    if let Some(server) = twofold_testkit::postgres_url() {
        let empty = twofold_testkit::postgres(&server).await;
        let out = run(&["user", "list"], &[("TWOFOLD_DATABASE_URL", &empty.url), ("TWOFOLD_DATA_DIR", data)]);
        let line = one_error_line(&out);
        assert!(line.contains("there is no Twofold database at postgres://"), "{line}");
        let tables = twofold_testkit::fetch_column_bytes(
            &empty.url,
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .await;
        assert!(tables.is_empty(), "no schema was made in an empty PostgreSQL database: {tables:?}");
    }
}
