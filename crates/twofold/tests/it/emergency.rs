//! Emergency access and break-glass accounts through the real binary on every backend: a
//! bypass approved by another admin with their own code, every sign-in under it mailed to the
//! security team (read from a real SMTP server), its end recorded by itself with a review left
//! open until completed; a break-glass sign-in opens a review and mails every admin, and an
//! untested account is reported overdue.

use serde_json::Value;
use twofold_testkit::{Env, SmtpSink, stderr, stdout};

use crate::BIN;

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// THREATS: standing bypasses — emergency access is approved by an admin other than the
/// requester with a fresh code, lets the password in for hours only (and never changes
/// methods), alerts the security team at each use, ends by itself and leaves a review open.
#[tokio::test]
async fn emergency_access_is_approved_monitored_ends_by_itself_and_leaves_a_review() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let config = env.write("emergency.toml", "[emergency]\nsecurity_team = \"soc@example.com\"\nmax_hours = 4\n");
        let server = env.serve(&["--demo", "--smtp-url", &smtp.url, "--config", &config]).await;
        let cli = |args: &[&str]| {
            env.command(args).env("TWOFOLD_SMTP_URL", &smtp.url).env("TWOFOLD_CONFIG", &config).output().unwrap()
        };

        let bob = server.browser();
        bob.password_step("bob").await;
        bob.enrol_totp().await;
        let alice = server.browser();
        alice.password_step("alice").await;
        let alices_app = alice.enrol_totp().await;
        let erin = server.browser();
        erin.password_step("erin").await;
        let erins_app = erin.enrol_totp().await;

        let too_long = cli(&["emergency", "request", "--user", "bob", "--reason", "phone lost abroad", "--hours", "5"]);
        assert!(stderr(&too_long).contains("hours, not days"), "{b}: {}", stderr(&too_long));
        let dave = cli(&["emergency", "request", "--user", "dave", "--reason", "x", "--hours", "2"]);
        assert!(stderr(&dave).contains("help the person enrol"), "{b}: only enrolled people: {}", stderr(&dave));
        let access = json(&cli(&[
            "emergency",
            "request",
            "--user",
            "bob",
            "--reason",
            "phone lost abroad",
            "--hours",
            "2",
            "--format",
            "json",
        ]));
        let id = access["id"].as_str().unwrap().to_owned();

        // Before approval the password alone still meets the second step.
        let early = server.browser();
        assert!(early.password_step("bob").await.starts_with("/login/mfa"), "{b}");
        env.advance(30);
        let helpdesk = cli(&["emergency", "approve", &id, "--approver", "erin", "--code", &env.totp(&erins_app, 0)]);
        assert!(stderr(&helpdesk).contains("only an admin"), "{b}: {}", stderr(&helpdesk));
        let wrong = cli(&["emergency", "approve", &id, "--approver", "alice", "--code", "000000"]);
        assert!(!wrong.status.success(), "{b}: the approver's own code is asked");
        let approved = cli(&["emergency", "approve", &id, "--approver", "alice", "--code", &env.totp(&alices_app, 0)]);
        assert!(approved.status.success(), "{b}: {}", stderr(&approved));
        smtp.wait_for("Emergency access approved for bob").await;

        // The password alone lets bob in, at mfa for apps, and the security team hears of it.
        let bob = server.browser();
        assert_eq!(bob.password_step("bob").await, "/account", "{b}: no second step under emergency access");
        let account = bob.page("/account").await;
        assert!(account.contains("Password and emergency access"), "{b}: the session says how it was let in");
        let alert = smtp.wait_for("Sign-in under emergency access: bob").await;
        assert!(alert.contains("soc@example.com"), "{b}");
        // ... but it is no second factor for changing methods.
        let (csrf, _) = bob.csrf("/account/security").await;
        let adding = bob.post_form("/account/security/totp", &[("name", "Another"), ("csrf", &csrf)]).await;
        assert_eq!(adding.status(), 303, "{b}: sent to prove a method first");

        // It ends by itself, once, and a review stays open until completed with findings.
        env.advance(2 * 60 * 60 + 60);
        // This run or the server's own minute scheduler records it: either way, once.
        assert!(cli(&["emergency", "run-jobs"]).status.success(), "{b}");
        let again = cli(&["emergency", "run-jobs"]);
        assert!(stdout(&again).contains("0 emergency access(es) ended, 0 review(s) opened"), "{b}");
        let listed = json(&cli(&["emergency", "list", "--format", "json"]));
        assert_eq!(
            (listed[0]["state"].as_str(), listed[0]["end_reason"].as_str()),
            (Some("ended"), Some("expired")),
            "{b}"
        );
        assert_eq!(env.audit_log().matches("\"action\":\"emergency.end\"").count(), 1, "{b}: ended once");
        smtp.wait_for("Review due: emergency access for bob").await;
        let later = server.browser();
        assert!(later.password_step("bob").await.starts_with("/login/mfa"), "{b}: the bypass is over");
        let open = json(&cli(&["review", "list", "--open", "--format", "json"]));
        assert_eq!(open.as_array().map(Vec::len), Some(1), "{b}: {open}");
        let review = open[0]["id"].as_str().unwrap().to_owned();
        let short = cli(&["review", "complete", &review, "--findings", "ok"]);
        assert!(!short.status.success(), "{b}: findings say something");
        let done = cli(&["review", "complete", &review, "--findings", "Travelled; no misuse in the sign-in log."]);
        assert!(done.status.success(), "{b}: {}", stderr(&done));
        assert_eq!(
            json(&cli(&["review", "list", "--open", "--format", "json"])).as_array().map(Vec::len),
            Some(0),
            "{b}"
        );

        let audit = env.audit_log();
        for action in [
            "emergency.request",
            "emergency.approve",
            "emergency.use",
            "emergency.end",
            "review.open",
            "review.complete",
        ] {
            assert!(audit.contains(&format!("\"action\":\"{action}\"")), "{b}: {action} in the log");
        }
    }
}

/// A break-glass sign-in opens a review and mails every admin; an account whose control test
/// is overdue is reported until a sign-in of it is reviewed as a test.
#[tokio::test]
async fn a_break_glass_sign_in_raises_alerts_and_an_overdue_control_test_is_reported() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let server = env.serve(&["--demo", "--smtp-url", &smtp.url]).await;
        let report = env.cli(&["report", "break-glass", "--format", "json"]);
        assert!(report.status.success(), "{b}: tested within 90 days of creation: {}", stdout(&report));

        let glass = server.browser();
        glass.password_step("breakglass").await;
        let mail = smtp.wait_for("Break-glass sign-in: breakglass").await;
        assert!(mail.contains("alice@demo.twofold.test"), "{b}: every admin is told: {mail}");
        let open = json(&env.cli(&["review", "list", "--open", "--format", "json"]));
        assert_eq!(open[0]["kind"], "break_glass_sign_in", "{b}: {open}");

        env.advance(91 * 24 * 60 * 60);
        let overdue = env.cli(&["report", "break-glass"]);
        assert!(!overdue.status.success() && stdout(&overdue).contains("OVERDUE"), "{b}: {}", stdout(&overdue));
        // The scheduler (this run or the server's own) asks the admins to test it, once per due date.
        let with_mail = |args: &[&str]| env.command(args).env("TWOFOLD_SMTP_URL", &smtp.url).output().unwrap();
        assert!(with_mail(&["emergency", "run-jobs"]).status.success(), "{b}");
        assert!(
            stdout(&with_mail(&["emergency", "run-jobs"])).contains("0 break-glass control test(s) asked for"),
            "{b}"
        );
        let tasks = json(&env.cli(&["review", "list", "--open", "--format", "json"]));
        let due = tasks.as_array().unwrap().iter().filter(|r| r["kind"] == "break_glass_test_due").count();
        assert_eq!(due, 1, "{b}: one task per due date: {tasks}");
        let asked = smtp.wait_for("Break-glass control test due: breakglass").await;
        assert!(asked.contains("alice@demo.twofold.test"), "{b}");
        let review = open[0]["id"].as_str().unwrap().to_owned();
        let tested = env.cli(&[
            "review",
            "complete",
            &review,
            "--control-test",
            "--findings",
            "Quarterly control test: key works, alerts arrived.",
        ]);
        assert!(tested.status.success(), "{b}: {}", stderr(&tested));
        let standing = json(&env.cli(&["report", "break-glass", "--format", "json"]));
        assert_eq!(standing[0]["overdue"], false, "{b}: {standing}");
        assert!(
            standing[0]["tested_by"].as_str().unwrap_or_default().starts_with("cli:"),
            "{b}: who tested is recorded"
        );
    }
}
