//! The sign-in and account pages in headless Chromium (tests/browser/signin.mjs, with
//! Playwright driving Debian's /usr/bin/chromium). Needs `npm ci` in tests/browser and
//! the chromium package; `.ci/run` installs both. Missing tools fail the test: no skip.

use std::path::PathBuf;
use std::process::Command;

use twofold_testkit::{Env, SmtpSink, stderr};

use crate::BIN;

/// Runs one script of tests/browser against a fresh demo server; returns its report.
async fn run_script(script: &str) -> String {
    run_script_with(script, &[], &[]).await
}

/// Runs a script against a demo server started with `serve_args`, passing `script_args` after
/// the base URL and the screenshot directory.
async fn run_script_with(script: &str, serve_args: &[&str], script_args: &[&str]) -> String {
    let script_args: Vec<String> = script_args.iter().map(|a| (*a).to_owned()).collect();
    run_script_after(script, serve_args, move |_| script_args).await
}

/// Runs a script against a demo server started with `serve_args`, after `setup` (which gets
/// the environment and returns the script's arguments after the base URL and screenshot
/// directory).
async fn run_script_after(script: &str, serve_args: &[&str], setup: impl FnOnce(&Env) -> Vec<String>) -> String {
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        scripts.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci` in {} (bash .ci/run does)",
        scripts.display()
    );
    let env = Env::sqlite(BIN);
    let mut args = vec!["--demo"];
    args.extend_from_slice(serve_args);
    let server = env.serve(&args).await;
    let script_args = setup(&env);
    let url = server.url.replace("127.0.0.1", "localhost");
    let output = Command::new("node")
        .arg(scripts.join(script))
        .arg(&url)
        .arg(env.data_dir.parent().unwrap())
        .args(&script_args)
        .output()
        .expect("node is required for the browser tests");
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "browser test {script} failed:\n{report}");
    report
}

#[tokio::test]
async fn a_person_signs_in_and_out_in_chromium() {
    let report = run_script("signin.mjs").await;
    assert!(report.contains("7 passed, 0 failed"), "{report}");
}

#[tokio::test]
async fn a_person_reads_the_pages_in_german_and_switches_to_english_in_chromium() {
    let report = run_script("language.mjs").await;
    assert!(report.contains("6 passed, 0 failed"), "{report}");
}

#[tokio::test]
async fn a_person_enrols_an_authenticator_app_and_uses_codes_in_chromium() {
    let report = run_script("mfa.mjs").await;
    assert!(report.contains("6 passed, 0 failed"), "{report}");
}

#[tokio::test]
async fn a_person_adds_a_passkey_and_signs_in_with_it_in_chromium() {
    let report = run_script("passkey.mjs").await;
    assert!(report.contains("7 passed, 0 failed"), "{report}");
}

#[tokio::test]
async fn a_person_adds_email_codes_and_signs_in_with_one_in_chromium() {
    let smtp = SmtpSink::start();
    let config = twofold_testkit::scratch_dir("email-config").join("twofold.toml");
    std::fs::write(&config, "[email_otp]\nenabled = true\n").unwrap();
    let config = config.display().to_string();
    let mail_dir = smtp.dir.display().to_string();
    let report = run_script_with("email.mjs", &["--config", &config, "--smtp-url", &smtp.url], &[&mail_dir]).await;
    assert!(report.contains("5 passed, 0 failed"), "{report}");
}

#[tokio::test]
async fn a_person_allows_a_third_party_app_on_the_consent_screen_in_chromium() {
    let report = run_script_after("consent.mjs", &[], |env| {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let callback = format!("http://localhost:{port}/callback");
        let out = env.cli(&[
            "client",
            "add",
            "Partner Wiki",
            "--redirect-uri",
            &callback,
            "--third-party",
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let client: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        vec![client["client_id"].as_str().unwrap().to_owned(), callback]
    })
    .await;
    assert!(report.contains("6 passed, 0 failed"), "{report}");
}

/// An app's "re-authenticate now" before a sensitive action (`acr_values=phr&max_age=0`, and
/// `prompt=login`) is answered by one passkey use and returns to the app with a code.
#[tokio::test]
async fn an_app_asks_for_a_fresh_passkey_before_a_sensitive_action_in_chromium() {
    let report = run_script_after("stepup.mjs", &[], |env| {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let callback = format!("http://localhost:{port}/callback");
        let out = env.cli(&["client", "add", "Forecasts", "--redirect-uri", &callback, "--format", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let client: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let field = |name: &str| client[name].as_str().unwrap().to_owned();
        vec![field("client_id"), field("client_secret"), callback]
    })
    .await;
    assert!(report.contains("4 passed, 0 failed"), "{report}");
}

/// The example forecast app (examples/forecast) raises a +15% change for approval; a finance
/// approver approves with a passkey; the app verifies the receipt and only then applies it.
#[tokio::test]
async fn a_supervisor_approves_a_forecast_change_with_a_passkey_and_the_app_applies_it_in_chromium() {
    let report = run_script_after("approvals.mjs", &[], |env| {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let app = format!("http://localhost:{port}");
        let out = env.cli(&["client", "add", "Forecast", "--redirect-uri", &format!("{app}/callback"), "--format", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let client: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let field = |name: &str| client[name].as_str().unwrap().to_owned();
        let rules = env.write(
            "approvals.toml",
            "[[rule]]\nname = \"forecast-over-10-percent\"\naction = \"adjust_forecast\"\npercent_above = 10\napprovers = \"finance\"\nstrength = \"phr\"\n",
        );
        assert!(env.cli(&["approvals", "rules", "apply", &rules]).status.success());
        let callback = format!("{app}/approvals/callback");
        assert!(env.cli(&["approvals", "callbacks", &field("client_id"), &callback]).status.success());
        vec![field("client_id"), field("client_secret"), port.to_string()]
    })
    .await;
    assert!(report.contains("8 passed, 0 failed"), "{report}");
}

/// An auditor opens the console with a passkey and searches the audit log.
#[tokio::test]
async fn an_auditor_searches_the_audit_log_in_the_console_in_chromium() {
    let report = run_script_after("console.mjs", &[], |env| {
        let out = env.cli_with_stdin(
            &["user", "add", "audrey", "--email", "audrey@example.com", "--role", "auditor", "--password-stdin"],
            "twofold-demo-pass\n",
        );
        assert!(out.status.success(), "{}", stderr(&out));
        Vec::new()
    })
    .await;
    assert!(report.contains("4 passed, 0 failed"), "{report}");
}

#[tokio::test]
async fn an_operator_verifies_a_caller_and_the_caller_signs_in_with_a_pass_in_chromium() {
    let smtp = SmtpSink::start();
    let mail_dir = smtp.dir.display().to_string();
    let report = run_script_with("helpdesk.mjs", &["--smtp-url", &smtp.url], &[&mail_dir]).await;
    assert!(report.contains("7 passed, 0 failed"), "{report}");
}
