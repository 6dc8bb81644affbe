//! Rollout campaigns through the CLI on the demo directory: a three-phase campaign applied
//! (a draft only reports), started (the pilot's deadline and grace have passed, so it
//! enforces), every identity's state in the compliance report (CSV and JSON), the progress
//! with its adoption curve, and a broken file refused with its lines.

use serde_json::Value;
use twofold_testkit::{Env, stderr, stdout};

use crate::BIN;

/// The demo organisation's three-phase campaign, its dates around the test clock's today: the
/// pilot past its deadline and grace (enforced), finance before its deadline (enforced once 90 %
/// registered), support past its deadline (only reporting).
pub(crate) fn campaign_file(env: &Env) -> String {
    format!(
        r#"name = "MFA for everyone"
target = {{ percent = 95, within_days = 90 }}

[[phase]]
name = "pilot"
cohort = {{ groups = ["pilot"] }}
starts = "{}"
deadline = "{}"
grace_days = 5
enforce_on = "{}"

[[phase]]
name = "finance"
cohort = {{ groups = ["finance"] }}
starts = "{}"
deadline = "{}"
grace_days = 14
enforce_at_percent = 90

[[phase]]
name = "support"
cohort = {{ departments = ["IT Support"] }}
starts = "{}"
deadline = "{}"
grace_days = 30
"#,
        env.date(-20),
        env.date(-10),
        env.date(-10),
        env.date(-5),
        env.date(10),
        env.date(-30),
        env.date(-5)
    )
}

fn states(env: &Env) -> Vec<(String, String, String)> {
    let out = env.cli(&["report", "compliance", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut rows: Vec<_> = value["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["username"].as_str().unwrap().to_owned(),
                r["phase"].as_str().unwrap().to_owned(),
                r["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(user: &str, phase: &str, state: &str) -> (String, String, String) {
    (user.into(), phase.into(), state.into())
}

/// Where the organisation asks for it (`done_means = "recommended_setup"`), one authenticator
/// app is not done: bob, past the pilot's grace, stays blocked until he has a second method and
/// recovery codes, and the report says which part he holds.
#[tokio::test]
async fn a_campaign_that_asks_for_the_recommended_setup_does_not_count_one_method_as_done() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let web = server.browser();
        web.password_step("bob").await;
        web.enrol_totp().await;
        let file = env.path("campaign.toml");
        std::fs::write(&file, format!("done_means = \"recommended_setup\"\n{}", campaign_file(&env))).unwrap();
        assert!(env.cli(&["campaign", "apply", file.to_str().unwrap()]).status.success(), "{b}");
        assert!(env.cli(&["campaign", "start", "MFA for everyone"]).status.success(), "{b}");
        let bob = |env: &Env| {
            let csv = stdout(&env.cli(&["report", "compliance", "--format", "csv"]));
            csv.lines().find(|l| l.starts_with("bob,")).map(str::to_owned).unwrap_or_default()
        };
        let one_method = bob(&env);
        assert!(one_method.starts_with("bob,MFA for everyone,pilot,blocked,"), "{b}: {one_method}");
        assert!(one_method.contains(",totp,mfa,no,") && one_method.ends_with(",no"), "{b}: {one_method}");
        let status: Value =
            serde_json::from_slice(&env.cli(&["campaign", "status", "MFA for everyone", "--format", "json"]).stdout)
                .unwrap();
        assert_eq!(status["registered"].as_u64(), Some(0), "{b}: nobody holds the whole setup: {status:#}");

        // Blocked, his session still reaches Security info, which leads him to the rest.
        let page = web.page("/account/security").await;
        assert!(page.contains("Save recovery codes now"), "{b}: the checklist leads on");
        assert!(!web.recovery_codes().await.is_empty(), "{b}");
        assert!(bob(&env).contains(",blocked,"), "{b}: codes without a second method are not the setup");
        web.enrol_totp().await;
        assert!(env.cli(&["campaign", "run-jobs"]).status.success(), "{b}");
        let done = bob(&env);
        assert!(done.starts_with("bob,MFA for everyone,pilot,compliant,") && done.ends_with(",yes"), "{b}: {done}");
    }
}

#[tokio::test]
async fn a_three_phase_campaign_reports_every_identity_and_enforces_once_started() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        // bob registers an authenticator app; nobody else has a method.
        let web = server.browser();
        web.password_step("bob").await;
        let bob_key = web.enrol_totp().await;
        // carol, an approver, has one too (she is in the finance phase, before its deadline).
        let web = server.browser();
        web.password_step("carol").await;
        let carol_key = web.enrol_totp().await;

        let file = env.path("campaign.toml");
        std::fs::write(&file, campaign_file(&env)).unwrap();
        let checked = env.cli(&["campaign", "check", file.to_str().unwrap()]);
        assert!(stdout(&checked).contains("3 phases, no problems"), "{b}: {}{}", stdout(&checked), stderr(&checked));
        let applied = env.cli(&["campaign", "apply", file.to_str().unwrap()]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));

        // A draft reports: alice, past the pilot's deadline and grace, is only overdue.
        let draft = states(&env);
        assert!(draft.contains(&row("alice", "pilot", "overdue")), "{b}: {draft:?}");

        assert!(env.cli(&["campaign", "start", "MFA for everyone"]).status.success(), "{b}");
        assert_eq!(
            states(&env),
            [
                row("alice", "pilot", "blocked"),
                row("bob", "pilot", "compliant"),
                row("carol", "finance", "compliant"),
                row("dave", "finance", "pending"),
                row("erin", "support", "overdue"),
            ],
            "{b}: the pilot enforces on its date; finance is before its deadline; support only reports"
        );
        let pending = stdout(&env.cli(&["report", "compliance", "--state", "pending", "--format", "csv"]));
        let lines: Vec<&str> = pending.lines().collect();
        assert_eq!(
            lines[0],
            "username,campaign,phase,state,days_left,tier,department,methods,strongest,weak_for_tier,since,last_mfa,recommended_setup",
            "{b}"
        );
        assert_eq!(lines.len(), 2, "{b}: dave: {pending}");
        assert!(
            lines[1].starts_with("dave,MFA for everyone,finance,pending,10,external,Finance,-,-,no"),
            "{b}: {pending}"
        );

        let status: Value =
            serde_json::from_slice(&env.cli(&["campaign", "status", "MFA for everyone", "--format", "json"]).stdout)
                .unwrap();
        assert_eq!((status["in_scope"].as_u64(), status["registered"].as_u64()), (Some(5), Some(2)), "{b}: {status:#}");
        assert_eq!(status["status"], "running", "{b}");
        assert_eq!(status["phases"][0]["mode"], "enforce", "{b}");
        assert_eq!(status["phases"][1]["mode"], "report_only", "{b}: 1 of 2 is below 90 %");
        assert_eq!(status["curve"].as_array().unwrap().len(), 1, "{b}: today's snapshot");
        let words = stdout(&env.cli(&["campaign", "status", "MFA for everyone"]));
        assert!(words.contains("2 of 5 in scope registered (40.0 %), target 95 %"), "{b}: {words}");

        // An exception for alice, asked by erin: only another approver decides, with a code.
        let asked = env.cli(&[
            "exception",
            "request",
            "--user",
            "alice",
            "--reason",
            "new phone arrives Monday",
            "--until",
            &env.date(14),
            "--requested-by",
            "erin",
            "--format",
            "json",
        ]);
        assert!(asked.status.success(), "{b}: {}", stderr(&asked));
        let id = serde_json::from_slice::<Value>(&asked.stdout).unwrap()["id"].as_str().unwrap().to_owned();
        let too_long = env.cli(&[
            "exception",
            "request",
            "--user",
            "dave",
            "--reason",
            "x",
            "--until",
            &env.date(60),
            "--requested-by",
            "erin",
        ]);
        assert!(stderr(&too_long).contains("at most 30 days"), "{b}: never open-ended: {}", stderr(&too_long));
        let config = env.path("longer.toml");
        std::fs::write(&config, "exception_max_days = 90\n").unwrap();
        let longer = env.cli(&[
            "--config",
            config.to_str().unwrap(),
            "exception",
            "request",
            "--user",
            "dave",
            "--reason",
            "x",
            "--until",
            &env.date(60),
            "--requested-by",
            "erin",
        ]);
        assert!(longer.status.success(), "{b}: the maximum is configurable: {}", stderr(&longer));
        std::fs::write(&config, "exception_max_days = 0\n").unwrap();
        let checked = env.cli(&["config", "check", config.to_str().unwrap()]);
        assert!(stdout(&checked).contains("never open-ended") || stderr(&checked).contains("never open-ended"), "{b}");
        let by_bob = env.cli(&["exception", "approve", &id, "--approver", "bob", "--code", &env.totp(&bob_key, 30)]);
        assert!(stderr(&by_bob).contains("approver role"), "{b}: {}", stderr(&by_bob));
        let wrong = env.cli(&["exception", "approve", &id, "--approver", "carol", "--code", "000000"]);
        assert!(!wrong.status.success(), "{b}: a fresh second factor is required");
        let approved =
            env.cli(&["exception", "approve", &id[..23], "--approver", "carol", "--code", &env.totp(&carol_key, 30)]);
        assert!(stdout(&approved).contains(": approved"), "{b}: {}{}", stdout(&approved), stderr(&approved));
        assert!(states(&env).contains(&row("alice", "pilot", "exempt")), "{b}");
        let exempt = stdout(&env.cli(&["report", "compliance", "--state", "exempt", "--format", "json"]));
        assert!(exempt.contains(&id), "{b}: the exception is named: {exempt}");
        server.browser().password_step("alice").await;
        let log = env.audit_log();
        assert!(log.lines().any(|l| l.contains("\"exception.use\"") && l.contains(&id)), "{b}: a sign-in under it");
        assert!(stdout(&env.cli(&["exception", "revoke", &id])).contains(": revoked"), "{b}");
        assert!(states(&env).contains(&row("alice", "pilot", "blocked")), "{b}: revoked, she is blocked again");

        // The scheduler's run records the states every entry point enforces: alice signs in
        // only to set up a method; apps refuse her, naming the campaign.
        let jobs = stdout(&env.cli(&["campaign", "run-jobs"]));
        assert!(jobs.contains("1 running campaign(s): 5 transition(s) recorded, 0 reminder(s) sent"), "{b}: {jobs}");
        let listed: Value =
            serde_json::from_slice(&env.cli(&["report", "compliance", "--format", "json"]).stdout).unwrap();
        assert!(
            listed["identities"].as_array().unwrap().iter().all(|r| r["since"].is_i64()),
            "{b}: entered at: {listed:#}"
        );
        let client =
            env.cli(&["client", "add", "Wiki", "--redirect-uri", "http://localhost:9999/cb", "--format", "json"]);
        let client_id =
            serde_json::from_slice::<Value>(&client.stdout).unwrap()["client_id"].as_str().unwrap().to_owned();
        let web = server.browser();
        let next = web.password_step("alice").await;
        assert!(next.starts_with("/account/security"), "{b}: {next}");
        let page = web.page(&next).await;
        assert!(page.contains("Set up two-step sign-in to sign in to your apps again"), "{b}");
        assert!(!page.contains("Skip for now"), "{b}: past the grace period there is no skipping");
        let location = web.authorize(&client_id, "http://localhost:9999/cb").await;
        assert!(location.contains("error=access_denied") && location.contains("campaign"), "{b}: {location}");

        // Advancing enforces the next started phase that only reports: finance, then support.
        let advanced = stdout(&env.cli(&["campaign", "advance", "MFA for everyone"]));
        assert!(advanced.contains("phase 'finance' enforces from today"), "{b}: {advanced}");
        assert!(states(&env).contains(&row("dave", "finance", "pending")), "{b}: before its deadline still");
        let advanced = stdout(&env.cli(&["campaign", "advance", "MFA for everyone"]));
        assert!(advanced.contains("phase 'support' enforces from today"), "{b}: {advanced}");
        assert!(states(&env).contains(&row("erin", "support", "limited")), "{b}: past the deadline, in grace");
        let done = env.cli(&["campaign", "advance", "MFA for everyone"]);
        assert!(stderr(&done).contains("enforces already"), "{b}: {}", stderr(&done));

        let paused = env.cli(&["campaign", "pause", "MFA for everyone"]);
        assert!(paused.status.success(), "{b}");
        assert!(states(&env).contains(&row("alice", "pilot", "overdue")), "{b}: paused, nothing is enforced");
        let log = env.audit_log();
        assert!(
            log.lines().any(|l| l.contains("\"exception.approve\"") && l.contains("\"actor_name\":\"carol\"")),
            "{b}"
        );
        for action in ["campaign.apply", "campaign.start", "campaign.pause", "exception.request", "exception.revoke"] {
            assert!(log.contains(&format!("\"{action}\"")), "{b}: {action} audited");
        }

        let broken = env.path("broken.toml");
        std::fs::write(
            &broken,
            campaign_file(&env).replace("[\"finance\"]", "[\"ghosts\"]").replace(&env.date(10), "someday"),
        )
        .unwrap();
        let refused = env.cli(&["campaign", "apply", broken.to_str().unwrap()]);
        assert!(!refused.status.success(), "{b}");
        let checked = env.cli(&["campaign", "check", broken.to_str().unwrap()]);
        assert_eq!(checked.status.code(), Some(1), "{b}");
        let problems = stderr(&checked);
        assert!(
            problems.contains("line 12 (phase 'finance'): phase[1].cohort: group 'ghosts' does not exist"),
            "{b}: {problems}"
        );
        assert!(problems.contains("phase[1].deadline: 'someday' is not a date"), "{b}: {problems}");
    }
}

#[tokio::test]
async fn the_gap_report_finds_where_mfa_does_not_yet_protect() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let web = server.browser();
        web.password_step("bob").await;
        let bob_key = web.enrol_totp().await;
        let added = env.cli(&["service-account", "add", "Nightly report", "--scope", "reports:read"]);
        assert!(added.status.success(), "{b}: {}", stderr(&added));

        let gaps = env.cli_json(&["report", "gaps"]);
        assert_eq!(
            gaps["no_second_factor"],
            serde_json::json!(["alice", "breakglass", "carol", "dave", "erin"]),
            "{b}"
        );
        assert_eq!(gaps["admins_without_keys"], serde_json::json!(["alice", "breakglass"]), "{b}");
        assert_eq!(gaps["password_only_sign_ins"], serde_json::json!({"bob": 1}), "{b}: before he had a second factor");
        assert_eq!(gaps["break_glass_untested"], serde_json::json!([["breakglass", null]]), "{b}");
        // The service-account findings are `report service-accounts`' (tested with aged secrets there).
        assert_eq!(gaps["service_accounts"], serde_json::json!([]), "{b}: a fresh account needs nothing yet");
        let words = stdout(&env.cli(&["report", "gaps"]));
        assert!(words.contains("Admins without a passkey or security key: alice, breakglass"), "{b}: {words}");

        // Coverage: 1 of 5 people (break-glass left out) registered; one password-only sign-in,
        // one that proved the app; the wrong code is a failure by reason and method.
        web.sign_out().await;
        web.password_step("bob").await;
        assert_eq!(web.second_step("code", "000000").await.status(), 401, "{b}");
        let signed_in = web.second_step("code", &env.totp(&bob_key, 30)).await;
        assert_eq!(signed_in.status(), 303, "{b}");
        let coverage: Value =
            serde_json::from_slice(&env.cli(&["report", "coverage", "--format", "json"]).stdout).unwrap();
        assert_eq!(
            (coverage["people"].as_u64(), coverage["registered"].as_u64()),
            (Some(5), Some(1)),
            "{b}: {coverage:#}"
        );
        assert_eq!((coverage["sign_ins"].as_u64(), coverage["sign_ins_with_mfa"].as_u64()), (Some(2), Some(1)), "{b}");
        assert_eq!(coverage["effective_percent"], 50.0, "{b}");
        assert_eq!(coverage["failures"], serde_json::json!([["wrong_code", 1]]), "{b}");
        assert_eq!(coverage["failures_by_method"], serde_json::json!({"pwd otp": 1}), "{b}");
        assert_eq!(coverage["enrolments"], serde_json::json!({"totp": {"started": 1, "finished": 1}}), "{b}");
        // Enrolment drop-off: erin begins adding an authenticator app and never confirms it.
        let erin = server.browser();
        erin.password_step("erin").await;
        let begun = erin.submit_from("/account/security", "/account/security/totp", &[("name", "Phone")]).await;
        assert_eq!(begun.status(), 200, "{b}");
        let coverage: Value =
            serde_json::from_slice(&env.cli(&["report", "coverage", "--format", "json"]).stdout).unwrap();
        assert_eq!(coverage["enrolments"], serde_json::json!({"totp": {"started": 2, "finished": 1}}), "{b}");
    }
}

/// The same through the admin API: a campaign applied, started and read, compliance listed,
/// an exception requested, approved by an approver's code and revoked; help-desk keys read
/// but may not change.
#[tokio::test]
async fn campaigns_and_exceptions_through_the_admin_api() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo"]).await;
    let web = server.browser();
    web.password_step("carol").await;
    let carol_key = web.enrol_totp().await;
    let admin = server.api(&env.admin_token());
    let helpdesk = server.api(&env.token_with_role("helpdesk"));

    let bad = admin.post_json("/api/v1/campaigns", &serde_json::json!({"source": "name = 1"})).await;
    assert_eq!(bad.status(), 422);
    let refused = helpdesk.post_json("/api/v1/campaigns", &serde_json::json!({"source": campaign_file(&env)})).await;
    assert_eq!(refused.status(), 403, "help desk reads only");
    let applied = admin.post_json("/api/v1/campaigns", &serde_json::json!({"source": campaign_file(&env)})).await;
    assert_eq!(applied.status(), 201);
    assert_eq!(admin.post_path("/api/v1/campaigns/MFA%20for%20everyone/start").await.status(), 200);
    let status: Value = helpdesk.get_json("/api/v1/campaigns/MFA%20for%20everyone").await;
    assert_eq!((status["status"].as_str(), status["in_scope"].as_u64()), (Some("running"), Some(5)), "{status:#}");
    let blocked: Value = helpdesk.get_json("/api/v1/compliance?state=blocked").await;
    assert_eq!(blocked["identities"][0]["username"], "alice", "{blocked:#}");

    let request = serde_json::json!({
        "username": "alice", "reason": "key in the post", "until": env.date(7), "requested_by": "erin"
    });
    let asked = admin.post_json("/api/v1/exceptions", &request).await;
    assert_eq!(asked.status(), 201);
    let id = asked.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let approved = admin
        .post_json(
            &format!("/api/v1/exceptions/{id}/approve"),
            &serde_json::json!({"approver": "carol", "code": env.totp(&carol_key, 30)}),
        )
        .await;
    assert_eq!(approved.status(), 200, "{}", approved.text().await.unwrap());
    let list: Value = helpdesk.get_json("/api/v1/exceptions").await;
    assert_eq!(list["exceptions"][0]["state"], "approved");
    let exempt: Value = helpdesk.get_json("/api/v1/compliance?state=exempt").await;
    assert_eq!(exempt["identities"][0]["exception"], id.as_str());
    let bogus = admin
        .post_json(
            &format!("/api/v1/exceptions/{id}/bless"),
            &serde_json::json!({"approver": "carol", "code": "000000"}),
        )
        .await;
    assert_eq!(bogus.status(), 404, "only approve and reject are decisions");
    let not_manager = admin
        .post_json(
            &format!("/api/v1/exceptions/{id}/confirm"),
            &serde_json::json!({"manager": "erin", "code": "000000"}),
        )
        .await;
    assert_eq!(not_manager.status(), 403, "only alice's manager confirms her exceptions");
    assert_eq!(admin.post_path(&format!("/api/v1/exceptions/{id}/revoke")).await.status(), 200);
    let coverage: Value = helpdesk.get_json("/api/v1/reports/coverage").await;
    assert_eq!(coverage["exceptions"]["revoked"], 1, "{coverage:#}");
    let gaps: Value = helpdesk.get_json("/api/v1/reports/gaps").await;
    assert_eq!(gaps["admins_without_keys"], serde_json::json!(["alice", "breakglass"]));

    // A node's scheduler runs at start, then every minute, and publishes the coverage.
    let node = env.serve(&[]).await;
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = reqwest::get(format!("{}/metrics", node.url)).await.unwrap().text().await.unwrap();
        // The blocked count is the run's last figure.
        if metrics.contains(r#"state="blocked"}"#) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(metrics.contains(r#"twofold_campaign_in_scope{campaign="MFA for everyone"} 5"#), "{metrics}");
    assert!(metrics.contains(r#"twofold_campaign_registered{campaign="MFA for everyone"} 1"#), "{metrics}");
    assert!(
        metrics.contains(r#"twofold_campaign_identities{campaign="MFA for everyone",state="blocked"} 2"#),
        "{metrics}"
    );
}

/// `limited`, enforced: dave (no method) is in a phase that enforces from its deadline, two
/// days past it and within its three days' grace. He signs in and reaches only what `limit`
/// leaves open — reading the app the policy lists as low-sensitivity, and Twofold's own
/// Security info, with no "Skip for now" — while another app refuses him naming the campaign.
/// When the test clock moves past the end of grace and the scheduler runs, he is `blocked`:
/// the low-sensitivity app refuses him too, and sign-in leads only to setting up a method.
#[tokio::test]
async fn a_limited_person_reaches_only_low_sensitivity_apps_until_the_grace_period_ends() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let redirect = "http://localhost:9999/cb";
        let client = |name: &str| {
            let added = env.cli_json(&["client", "add", name, "--redirect-uri", redirect]);
            added["client_id"].as_str().unwrap().to_owned()
        };
        let (wiki, payroll) = (client("Wiki"), client("Payroll"));
        let policy = env.write("low.toml", &format!("[low_sensitivity]\napps = [\"{wiki}\"]\n"));
        let applied = env.cli(&["policy", "apply", &policy]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));
        let campaign = format!(
            "name = \"Externals\"\ntarget = {{ percent = 95, within_days = 90 }}\n\n[[phase]]\nname = \"dave\"\n\
             cohort = {{ users = [\"dave\"] }}\nstarts = \"{}\"\ndeadline = \"{}\"\ngrace_days = 3\nenforce_on = \"{}\"\n",
            env.date(-20),
            env.date(-2),
            env.date(-2)
        );
        let file = env.write("externals.toml", &campaign);
        assert!(env.cli(&["campaign", "apply", &file]).status.success(), "{b}");
        assert!(env.cli(&["campaign", "start", "Externals"]).status.success(), "{b}");
        assert!(env.cli(&["campaign", "run-jobs"]).status.success(), "{b}");
        assert_eq!(states(&env), [row("dave", "dave", "limited")], "{b}: past the deadline, within grace");
        let limited = env.cli_json(&["report", "compliance", "--state", "limited"]);
        assert_eq!(limited["identities"][0]["days_left"], 1, "{b}: a day of grace left: {limited:#}");

        let web = server.browser();
        let next = web.password_step("dave").await;
        assert!(next.starts_with("/account/security"), "{b}: {next}");
        let page = web.page(&next).await;
        assert!(page.contains("Your access is limited until you set up two-step sign-in."), "{b}: {page}");
        assert!(!page.contains("Skip for now"), "{b}: past the deadline there is no skipping");
        let low = web.authorize(&wiki, redirect).await;
        assert!(low.starts_with(&format!("{redirect}?code=")), "{b}: the low-sensitivity app is open: {low}");
        let other = web.authorize(&payroll, redirect).await;
        assert!(
            other.starts_with(&format!("{redirect}?error=access_denied")) && other.contains("Externals"),
            "{b}: any other app is refused, naming the campaign: {other}"
        );

        // Two days on, grace is over: once the scheduler has run, dave is blocked everywhere.
        env.advance(2 * 86_400);
        let jobs = stdout(&env.cli(&["campaign", "run-jobs"]));
        assert!(jobs.contains("1 transition(s) recorded"), "{b}: {jobs}");
        assert_eq!(states(&env), [row("dave", "dave", "blocked")], "{b}");
        let web = server.browser();
        let next = web.password_step("dave").await;
        assert!(next.starts_with("/account/security"), "{b}: {next}");
        let page = web.page(&next).await;
        assert!(page.contains("Set up two-step sign-in to sign in to your apps again"), "{b}: {page}");
        for app in [&wiki, &payroll] {
            let refused = web.authorize(app, redirect).await;
            assert!(
                refused.starts_with(&format!("{redirect}?error=access_denied")) && refused.contains("Externals"),
                "{b}: blocked, every app refuses: {refused}"
            );
        }
        let log = env.audit_log();
        let moves = log.lines().filter(|l| l.contains(r#""action":"compliance.transition""#)).count();
        assert_eq!(moves, 2, "{b}: entering as limited, then limited to blocked, each audited");
    }
}
