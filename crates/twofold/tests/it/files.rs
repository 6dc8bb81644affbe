//! What Twofold leaves on disk: a private data directory, database and master key.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use twofold_testkit::{Env, stderr};

use crate::BIN;

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// `twofold ARGS` as `env` runs it, but under `sh -c 'umask 000; exec ...'`: whatever Twofold
/// creates gets exactly the mode it asks for, nothing taken away by a umask.
fn without_umask(env: &Env, args: &[&str]) -> Command {
    let template = env.command(args);
    let mut command = Command::new("sh");
    command.arg("-c").arg("umask 000 && exec \"$0\" \"$@\"").arg(BIN).args(template.get_args());
    for (name, value) in template.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
}

/// Starts `serve` (no umask) and waits for its address; its standard error lines are sent on.
fn serve_without_umask(env: &Env) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = without_umask(env, &["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let (lines, received) = std::sync::mpsc::channel();
    let errors = child.stderr.take().expect("stderr");
    let to_errors = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(errors).lines().map_while(Result::ok) {
            to_errors.send(format!("stderr: {line}")).ok();
        }
    });
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            lines.send(format!("stdout: {line}")).ok();
        }
    });
    (child, received)
}

/// Waits up to 30 s for a line containing `needle`; returns every line seen until then.
fn wait_for_line(received: &std::sync::mpsc::Receiver<String>, needle: &str) -> Result<Vec<String>, Vec<String>> {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match received.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return Ok(seen);
                }
            }
            Err(_) => break,
        }
    }
    Err(seen)
}

/// Attack: reading the database off the disk. On a shared host (or through a backup job, a
/// log shipper, a compromised low-privilege service) any local user could read
/// `twofold.db` and its WAL, created 0644: every password hash, sealed seed and session,
/// and the audit log. Started on a fresh data directory even with a umask of 000, Twofold
/// makes the directory 0700 and the database, its `-wal`/`-shm` companions and the master
/// key 0600; PostgreSQL's data directory still holds the master key, private.
#[tokio::test]
async fn a_fresh_data_directory_is_private_whatever_the_umask() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        assert!(!env.data_dir.exists(), "{b}");
        let (mut child, received) = serve_without_umask(&env);
        let started = wait_for_line(&received, "Twofold is listening on");
        let _ = child.kill();
        let _ = child.wait();
        let seen = started.unwrap_or_else(|seen| panic!("{b}: serve did not start: {seen:#?}"));
        assert!(!seen.iter().any(|l| l.contains("readable by the group or others")), "{b}: {seen:#?}");

        assert_eq!(mode(&env.data_dir), 0o700, "{b}: data directory");
        assert_eq!(mode(&env.data_dir.join("master.key")), 0o600, "{b}: master key");
        if env.database_url.is_empty() {
            assert_eq!(mode(&env.data_dir.join("twofold.db")), 0o600, "{b}: database");
            for companion in ["twofold.db-wal", "twofold.db-shm"] {
                let path = env.data_dir.join(companion);
                if path.exists() {
                    assert_eq!(mode(&path), 0o600, "{b}: {companion}");
                }
            }
        }

        // An admin verb on the same data directory adds nothing readable either.
        let out = without_umask(&env, &["group", "add", "ops"]).stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        for entry in std::fs::read_dir(&env.data_dir).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(mode(&path) & 0o077, 0, "{b}: {} is private", path.display());
        }
    }
}

/// Attack: a database left readable by an older version or a careless copy
/// (`cp twofold.db` under umask 022, an unpacked backup). Twofold does not silently run on
/// it: the server and every admin verb warn on standard error, naming the file and its mode.
#[tokio::test]
async fn a_database_readable_by_others_is_warned_about_at_start() {
    let mut env = Env::sqlite(BIN);
    env.database_url = String::new();
    let out = env.cli(&["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let database = env.data_dir.join("twofold.db");
    assert_eq!(mode(&database), 0o600);
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();

    let (mut child, received) = serve_without_umask(&env);
    let warned = wait_for_line(&received, "readable by the group or others");
    let _ = child.kill();
    let _ = child.wait();
    let seen = warned.unwrap_or_else(|seen| panic!("no warning at start: {seen:#?}"));
    let warning = seen.last().unwrap();
    assert!(warning.starts_with("stderr:") && warning.contains("twofold.db") && warning.contains("0644"), "{warning}");
    assert_eq!(mode(&database), 0o644, "an operator's file is reported, not changed behind their back");

    let out = env.cli(&["user", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("readable by the group or others"), "{}", stderr(&out));

    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.cli(&["user", "list"]);
    assert!(!stderr(&out).contains("readable by the group or others"), "{}", stderr(&out));
}
