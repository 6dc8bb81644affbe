//! The help desk's slower channels through the real binary on every backend: the manager's
//! confirmation on the review page, an HR step left unanswered and escalated by mail, and a
//! reset of every method followed by a pass.

use twofold_testkit::{Env, SmtpSink, stderr, stdout};

use crate::BIN;
use crate::helpdesk::{code_mailed_to, json, open_case, sign_in_with_pass, verify_api};

/// An all-methods-lost case: a code to the address on file and the manager's confirmation
/// (the manager signs in with her own second factor; a stranger with the link gets nothing),
/// then every method is reset and a pass lets the person enrol anew. An HR step left
/// unanswered past its deadline is marked overdue once and mailed to the team lead.
#[tokio::test]
async fn an_all_methods_lost_case_needs_the_manager_and_an_overdue_step_escalates_by_mail() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let config =
            env.write("helpdesk.toml", "[helpdesk]\nteam_lead = \"lead@example.com\"\nhr_email = \"hr@example.com\"\n");
        let server = env.serve(&["--demo", "--smtp-url", &smtp.url, "--config", &config]).await;
        let token = env.admin_token();
        let with_config = |args: &[&str]| {
            env.command(args).env("TWOFOLD_SMTP_URL", &smtp.url).env("TWOFOLD_CONFIG", &config).output().unwrap()
        };

        let bob = server.browser();
        bob.password_step("bob").await;
        let bobs_phone = bob.enrol_totp().await;
        let alice = server.browser();
        alice.password_step("alice").await;
        let alices_phone = alice.enrol_totp().await;
        let carol = server.browser();
        carol.password_step("carol").await;
        let carols_phone = carol.enrol_totp().await;

        let id = open_case(&env, "bob", "all_methods_lost");
        assert!(with_config(&["case", "verify", &id, "--channel", "email_code"]).status.success(), "{b}");
        let code = code_mailed_to(&smtp, "bob@demo.twofold.test", "read them this code").await;
        assert!(env.cli(&["case", "verify", &id, "--channel", "email_code", "--code", &code]).status.success(), "{b}");
        let early = env.cli(&["case", "reset", &id]);
        assert!(stderr(&early).contains("approval by the person's manager"), "{b}: {}", stderr(&early));

        let asked = with_config(&["case", "ask", &id, "--reviewer", "manager"]);
        assert!(asked.status.success(), "{b}: {}", stderr(&asked));
        let mail = smtp.wait_for("Please confirm a help-desk request").await;
        assert!(mail.contains("alice@demo.twofold.test"), "{b}: to the manager on record");
        let review = format!("/cases/{id}/review");
        assert!(mail.contains(&review), "{b}: {mail}");

        // The link alone is nothing: a stranger signed in with her own factor gets "not found".
        env.advance(30);
        carol.sign_out().await;
        carol.sign_in_with_totp("carol", &carols_phone).await;
        assert_eq!(carol.get_path(&review).await.status(), 404, "{b}");
        // The manager answers with her own second factor, proved just now.
        alice.sign_out().await;
        env.advance(30);
        alice.sign_in_with_totp("alice", &alices_phone).await;
        let (csrf, page) = alice.csrf(&review).await;
        assert!(page.contains("Confirm a help-desk request") && page.contains("bob"), "{b}: {page}");
        let (status, answered) = alice.submit(&review, &[("decision", "confirm"), ("csrf", &csrf)]).await;
        assert_eq!(status, 200, "{b}: {answered}");

        // HR is asked too and does not answer in time: the lead hears of it, once.
        assert!(with_config(&["case", "ask", &id, "--reviewer", "hr"]).status.success(), "{b}");
        env.advance(25 * 60 * 60);
        // This run or the server's own minute scheduler marks it: either way, once.
        assert!(with_config(&["case", "run-jobs"]).status.success(), "{b}");
        let overdue = smtp.wait_for("Overdue help-desk step for bob").await;
        assert!(overdue.contains("lead@example.com") && overdue.contains("attestation from HR"), "{b}: {overdue}");
        let again = with_config(&["case", "run-jobs"]);
        assert!(stdout(&again).contains("0 overdue step(s)"), "{b}: reported once");
        let shown = json(&env.cli(&["case", "show", &id, "--format", "json"]));
        let marks =
            shown["case"]["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["type"] == "overdue").count();
        assert_eq!(marks, 1, "{b}: marked once");

        // Verified for a reset: every method goes, and a pass lets bob enrol a new one.
        let reset = with_config(&["case", "reset", &id]);
        assert!(reset.status.success(), "{b}: {}", stderr(&reset));
        assert!(!verify_api(&server.url, &token, "bob", &env.totp(&bobs_phone, 0)).await, "{b}: the old app is gone");
        let shown = json(&env.cli(&["user", "show", "bob", "--format", "json"]));
        assert_eq!(shown["methods"].as_array().map(Vec::len), Some(0), "{b}: {shown}");
        let passcode = json(&with_config(&["case", "pass", &id, "--multi-use", "--format", "json"]))["passcode"]
            .as_str()
            .unwrap()
            .to_owned();
        let bob_with_pass = || async {
            let fresh = server.browser();
            (sign_in_with_pass(&fresh, "bob", &passcode).await, fresh)
        };
        let (status, fresh) = bob_with_pass().await;
        assert_eq!(status, 303, "{b}");
        fresh.enrol_totp().await;
        let (status, lingering) = bob_with_pass().await;
        assert_eq!(status, 303, "{b}: a multi-use pass works until it ends");
        let closed = env.cli(&[
            "case",
            "close",
            &id,
            "--resolution",
            "resolved",
            "--changes",
            "reset; new app enrolled",
            "--confirmed",
        ]);
        assert!(closed.status.success(), "{b}: {}", stderr(&closed));
        assert_eq!(bob_with_pass().await.0, 401, "{b}: closing the case ended the pass");
        assert_eq!(lingering.get_path("/account/security").await.status(), 303, "{b}: and its idle sessions");

        let metrics = json(&env.cli(&["case", "metrics", "--format", "json"]));
        assert_eq!(metrics["overdue"], 1, "{b}: {metrics}");
        assert_eq!(metrics["verified_by_channel"]["manager_approval"], 1, "{b}");
        let case = json(&env.cli(&["case", "show", &id, "--format", "json"]));
        let timeline = case["case"]["timeline"].to_string();
        assert!(timeline.contains("the manager alice confirmed"), "{b}: {timeline}");
    }
}
