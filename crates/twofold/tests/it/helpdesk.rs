//! The help desk that cannot be social-engineered, driven through the real binary on every
//! backend: support cases worked from the CLI, identity verification by a code to the
//! address on file (read from a real SMTP server) and by a code from the person's own app,
//! temporary access passes, retiring a lost phone on every node, and the first-method rule.

use serde_json::Value;
use twofold_testkit::{Env, SmtpSink, api, stderr, stdout};

use crate::BIN;

pub(crate) const PASSWORD: &str = "twofold-demo-pass";

pub(crate) fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// Runs an admin verb that sends mail through `smtp` (as an operator's console would, with
/// TWOFOLD_SMTP_URL set).
pub(crate) fn cli_mailing(env: &Env, smtp: &SmtpSink, args: &[&str]) -> std::process::Output {
    env.command(args).env("TWOFOLD_SMTP_URL", &smtp.url).output().unwrap()
}

/// Opens a case about `user` and returns its id.
pub(crate) fn open_case(env: &Env, user: &str, kind: &str) -> String {
    let case = json(&env.cli(&[
        "case",
        "open",
        "--user",
        user,
        "--kind",
        kind,
        "--summary",
        "lost my phone",
        "--format",
        "json",
    ]));
    case["case"]["id"].as_str().unwrap().to_owned()
}

/// The six-digit code in the last mail to `to` that mentions the help desk.
pub(crate) async fn code_mailed_to(smtp: &SmtpSink, to: &str, needle: &str) -> String {
    let mail = smtp.wait_for(needle).await;
    assert!(mail.contains(to), "{mail}");
    let text = mail.split("read them this code: ").nth(1).or_else(|| mail.split("code is ").nth(1)).unwrap();
    text.chars().filter(char::is_ascii_digit).take(6).collect()
}

/// Signs in at `/login/access-pass` in `browser`: the status (303 signed in, 401 refused).
pub(crate) async fn sign_in_with_pass(browser: &twofold_testkit::Browser, username: &str, passcode: &str) -> u16 {
    let (csrf, _) = browser.csrf("/login/access-pass").await;
    let form = [("username", username), ("passcode", passcode), ("csrf", csrf.as_str())];
    browser.post_form("/login/access-pass", &form).await.status().as_u16()
}

pub(crate) async fn verify_api(url: &str, token: &str, username: &str, code: &str) -> bool {
    let body: Value = api(token)
        .post(format!("{url}/api/v1/verify"))
        .json(&serde_json::json!({"username": username, "code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["valid"] == true
}

/// THREATS: social engineering of the help desk — a caller who knows only the password and
/// personal facts gets nothing: no pass, no retirement, no reset, however the operator notes
/// it; notes never count as verification.
#[tokio::test]
async fn a_caller_with_only_a_password_and_facts_gets_no_change() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let _server = env.serve(&["--demo"]).await;
        let id = open_case(&env, "bob", "all_methods_lost");
        assert!(
            env.cli(&["case", "note", &id, "caller gave his password, date of birth and manager's name"])
                .status
                .success()
        );
        for attempt in [
            vec!["case", "pass", id.as_str()],
            vec!["case", "reset", id.as_str()],
            vec!["case", "retire", id.as_str(), "--method", "00000000-0000-0000-0000-000000000000"],
        ] {
            let out = env.cli(&attempt);
            assert!(!out.status.success(), "{b}: {attempt:?} must be refused");
            assert!(stderr(&out).contains("not verified yet"), "{b}: {}", stderr(&out));
        }
        let closing = env.cli(&["case", "close", &id, "--resolution", "resolved", "--changes", "none", "--confirmed"]);
        assert!(
            !closing.status.success() && stderr(&closing).contains("verify the caller"),
            "{b}: {}",
            stderr(&closing)
        );
        let shown = json(&env.cli(&["case", "show", &id, "--format", "json"]));
        assert_eq!(shown["verification"]["steps_met"], false, "{b}");
        let audit = env.audit_log();
        assert!(!audit.contains("access_pass.issue") && !audit.contains("authenticator.remove"), "{b}");
        assert!(audit.contains("case.open") && audit.contains("case.note"), "{b}");

        // The address on file changed since the case opened (by whoever edits the directory):
        // no code goes to it.
        let carols = open_case(&env, "carol", "lost_device");
        assert!(env.cli(&["user", "update", "carol", "--email", "attacker@evil.example"]).status.success(), "{b}");
        let moved = env.cli(&["case", "verify", &carols, "--channel", "email_code"]);
        assert!(stderr(&moved).contains("changed since the case opened"), "{b}: {}", stderr(&moved));

        // Guessing bob's own code through cases: each case spends the channel after three
        // failures, and bob's sign-in throttle counts every guess across cases.
        let mut throttled = false;
        for _ in 0..3 {
            let case = open_case(&env, "bob", "totp_drift");
            for _ in 0..3 {
                let guess = env
                    .cli_with_stdin(&["case", "verify", &case, "--channel", "factor_proof", "--code", "-"], "123456\n");
                assert!(!guess.status.success(), "{b}");
                throttled |= stderr(&guess).contains("too many attempts");
            }
        }
        assert!(throttled, "{b}: the person's throttle stops the guessing");
        assert!(env.audit_log().contains("(verify for bob)"), "{b}: each guess is a recorded attempt");

        // Break-glass and machine identities are not served at all; an unknown person neither.
        let out = env.cli(&["case", "open", "--user", "breakglass", "--kind", "locked_out", "--summary", "x"]);
        assert!(!out.status.success() && stderr(&out).contains("does not serve break_glass"), "{b}: {}", stderr(&out));
        let kind = env.cli(&["case", "open", "--user", "bob", "--kind", "forgot_password", "--summary", "x"]);
        assert!(!kind.status.success() && stderr(&kind).contains("lost_device"), "{b}");
    }
}

/// A lost-phone case from open to closed: the caller reads back a code mailed to the address
/// on file (a wrong one first, recorded), the old phone is retired and stops working on both
/// nodes, a single-use pass lets the person in to Security info only, they enrol a new phone,
/// and the case closes with its checklist. The metrics and the audit log say what happened.
#[tokio::test]
async fn a_lost_phone_case_ends_with_the_old_phone_dead_everywhere_and_a_new_one_enrolled() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let node_a = env.serve(&["--demo", "--smtp-url", &smtp.url]).await;
        let node_b = env.serve(&["--smtp-url", &smtp.url]).await;
        let token = env.admin_token();

        let bob = node_a.browser();
        bob.password_step("bob").await;
        let old_phone = bob.enrol_totp().await;
        let methods = json(&env.cli(&["user", "show", "bob", "--format", "json"]));
        let old_id = methods["methods"][0]["id"].as_str().unwrap().to_owned();

        // An app on the lost phone holds a refresh token.
        let app = crate::oidc::register_client(&env);
        let verifier = "v".repeat(50);
        let code = crate::oidc::code_for(&bob, &app.0, &verifier).await;
        let (status, tokens) = crate::oidc::exchange(&node_a.url, &app, &code, &verifier, crate::oidc::REDIRECT).await;
        assert_eq!(status, 200, "{b}: {tokens}");
        let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

        let id = open_case(&env, "bob", "lost_device");
        let sent = cli_mailing(&env, &smtp, &["case", "verify", &id, "--channel", "email_code"]);
        assert!(sent.status.success(), "{b}: {}", stderr(&sent));
        assert!(stderr(&sent).contains("b•••@demo.twofold.test"), "{b}: the address is masked: {}", stderr(&sent));
        let code = code_mailed_to(&smtp, "bob@demo.twofold.test", "read them this code").await;
        let wrong = env.cli(&["case", "verify", &id, "--channel", "email_code", "--code", "000000"]);
        assert!(!wrong.status.success() && stderr(&wrong).contains("verification failed"), "{b}");
        let right = env.cli(&["case", "verify", &id, "--channel", "email_code", "--code", &code]);
        assert!(right.status.success(), "{b}: {}", stderr(&right));

        // The phone is bob's only method: retiring it leaves nothing, which is a reset, so
        // the reset's stronger verification is asked — here his manager's confirmation.
        let alone = env.cli(&["case", "retire", &id, "--method", &old_id]);
        assert!(stderr(&alone).contains("approval by the person's manager"), "{b}: {}", stderr(&alone));
        let alice = node_a.browser();
        alice.password_step("alice").await;
        let alices_phone = alice.enrol_totp().await;
        assert!(cli_mailing(&env, &smtp, &["case", "ask", &id, "--reviewer", "manager"]).status.success(), "{b}");
        smtp.wait_for("Please confirm a help-desk request").await;
        alice.sign_out().await;
        env.advance(30);
        alice.sign_in_with_totp("alice", &alices_phone).await;
        let review = format!("/cases/{id}/review");
        let (csrf, _) = alice.csrf(&review).await;
        assert_eq!(alice.submit(&review, &[("decision", "confirm"), ("csrf", &csrf)]).await.0, 200, "{b}");

        let retired = cli_mailing(&env, &smtp, &["case", "retire", &id, "--method", &old_id]);
        assert!(retired.status.success(), "{b}: {}", stderr(&retired));
        env.advance(30);
        for node in [&node_a.url, &node_b.url] {
            assert!(
                !verify_api(node, &token, "bob", &env.totp(&old_phone, 0)).await,
                "{b}: the old phone is dead on {node}"
            );
        }
        assert_eq!(bob.get_path("/account").await.status(), 303, "{b}: the lost phone's sessions ended");
        let (status, body) = crate::oidc::post_form(
            &format!("{}/oauth2/token", node_b.url),
            &app,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{b}: the phone's app tokens died too"
        );

        let pass = json(&cli_mailing(&env, &smtp, &["case", "pass", &id, "--minutes", "30", "--format", "json"]));
        let passcode = pass["passcode"].as_str().unwrap().to_owned();
        assert_eq!(passcode.len(), 19, "{b}: {passcode}");
        smtp.wait_for("A temporary access pass was issued").await;
        assert!(!env.audit_log().contains(&passcode), "{b}: the passcode never enters the log");

        // bob, on his new phone's browser, signs in with the pass: to Security info only.
        let new = node_b.browser();
        assert_eq!(sign_in_with_pass(&new, "bob", &passcode).await, 303, "{b}");
        let security = new.page("/account/security").await;
        assert!(security.contains("signed in with a temporary access pass"), "{b}: {security}");
        smtp.wait_for("A temporary access pass was used").await;
        let authorize = new.authorize(&app.0, crate::oidc::REDIRECT).await;
        assert!(authorize.starts_with("/login"), "{b}: the pass opens no app: {authorize}");
        let login = new.page(&authorize).await;
        assert!(login.contains("opens only Security info"), "{b}: the sign-in page says why, and does not loop");

        let new_phone = new.enrol_totp().await;
        env.advance(30);
        assert!(verify_api(&node_a.url, &token, "bob", &env.totp(&new_phone, 0)).await, "{b}: the new phone works");

        // The pass was single use: a second sign-in with it fails like a wrong one.
        let again = node_a.browser();
        assert_eq!(sign_in_with_pass(&again, "bob", &passcode).await, 401, "{b}: single use");

        let closed = env.cli(&[
            "case",
            "close",
            &id,
            "--resolution",
            "resolved",
            "--changes",
            "old phone retired; pass issued; new phone enrolled",
            "--confirmed",
        ]);
        assert!(closed.status.success(), "{b}: {}", stderr(&closed));
        let metrics = json(&env.cli(&["case", "metrics", "--format", "json"]));
        assert_eq!((metrics["opened"].as_u64(), metrics["closed"].as_u64()), (Some(1), Some(1)), "{b}: {metrics}");
        assert_eq!(metrics["verification_failures"], 1, "{b}");
        assert_eq!(metrics["verified_by_channel"]["email_code"], 1, "{b}");
        assert_eq!(metrics["by_kind"]["lost_device"], 1, "{b}");

        let audit = env.audit_log();
        for action in [
            "case.open",
            "case.step_start",
            "case.verify_fail",
            "case.verify",
            "authenticator.remove",
            "access_pass.issue",
            "access_pass.use",
            "case.action",
            "case.close",
        ] {
            assert!(audit.contains(&format!("\"action\":\"{action}\"")), "{b}: {action} in the log");
        }
        let on_case = audit.lines().filter(|l| l.contains(&format!("\\\"case\\\":\\\"{id}\\\""))).count();
        assert!(on_case >= 3, "{b}: the removal, the pass and its use name the case ({on_case})");
        assert!(env.cli(&["audit", "verify"]).status.success(), "{b}");
    }
}

/// THREATS: temporary access pass abuse — one active pass per person (a new one revokes the
/// old), an expired pass signs nobody in, and a privileged person's case needs a second
/// operator who is not the one who opened it.
#[tokio::test]
async fn passes_are_one_per_person_expire_and_privileged_cases_need_two_people() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let config =
            env.write("privileged-desk.toml", "[helpdesk]\ntiers = [\"standard\", \"external\", \"privileged\"]\n");
        let server = env.serve(&["--demo", "--smtp-url", &smtp.url, "--config", &config]).await;
        let privileged_desk = &server;

        // carol's app proves her on the call (a code from the method she still has).
        let carol = server.browser();
        carol.password_step("carol").await;
        let app = carol.enrol_totp().await;
        env.advance(30);
        let id = open_case(&env, "carol", "new_phone");
        let proved = env.cli(&["case", "verify", &id, "--channel", "factor_proof", "--code", &env.totp(&app, 0)]);
        assert!(proved.status.success(), "{b}: {}", stderr(&proved));
        let replay = env.cli(&["case", "verify", &id, "--channel", "factor_proof", "--code", &env.totp(&app, 0)]);
        assert!(!replay.status.success(), "{b}: verified once; a used code is no proof");

        // Drift diagnosis: one code from a phone whose clock runs 90 s fast says so, and two
        // consecutive ones put the app back in step.
        let shown = json(&env.cli(&["user", "show", "carol", "--format", "json"]));
        let carols_id = shown["methods"][0]["id"].as_str().unwrap().to_owned();
        let diagnosis = env.cli(&["case", "diagnose", &id, "--method", &carols_id, "--code", &env.totp(&app, 90)]);
        assert!(stdout(&diagnosis).contains("3 steps (90 seconds) ahead of"), "{b}: {}", stdout(&diagnosis));
        let resync =
            env.cli(&["case", "resync", &id, "--method", &carols_id, &env.totp(&app, 120), &env.totp(&app, 150)]);
        assert!(resync.status.success(), "{b}: {}", stderr(&resync));

        let first = json(&env.cli(&["case", "pass", &id, "--format", "json"]))["passcode"].as_str().unwrap().to_owned();
        let second = json(&env.cli(&["case", "pass", &id, "--minutes", "10", "--format", "json"]))["passcode"]
            .as_str()
            .unwrap()
            .to_owned();
        let try_pass = |passcode: String| {
            let browser = server.browser();
            async move { sign_in_with_pass(&browser, "carol", &passcode).await }
        };
        assert_eq!(try_pass(first).await, 401, "{b}: the newer pass revoked the first");
        // A pass adds methods; it never takes carol's away.
        let with_pass = server.browser();
        assert_eq!(sign_in_with_pass(&with_pass, "carol", &second).await, 303, "{b}");
        let page = with_pass.page("/account/security").await;
        let carols_app = twofold_testkit::html::first_method_id(&page);
        let removal = with_pass
            .submit_from(
                "/account/security",
                &format!("/account/security/{carols_app}/remove"),
                &[("confirmed", "yes")],
            )
            .await;
        assert_eq!(removal.status(), 303, "{b}: sent to prove a method instead");
        assert!(with_pass.page("/account/security").await.contains("Replace Phone"), "{b}: carol's app is still there");
        let third = json(&env.cli(&["case", "pass", &id, "--minutes", "10", "--format", "json"]))["passcode"]
            .as_str()
            .unwrap()
            .to_owned();
        env.advance(11 * 60);
        assert_eq!(try_pass(third).await, 401, "{b}: a pass past its end signs nobody in");
        let too_long = env.cli(&["case", "pass", &id, "--minutes", "600"]);
        assert!(!too_long.status.success() && stderr(&too_long).contains("from 10 to 480 minutes"), "{b}");

        // alice is privileged: two channels, then a second operator who did not open the case.
        let alice = server.browser();
        alice.password_step("alice").await;
        let alices_app = alice.enrol_totp().await;
        env.advance(30);
        let id = open_case(&env, "alice", "lost_device");
        let proved =
            env.cli(&["case", "verify", &id, "--channel", "factor_proof", "--code", &env.totp(&alices_app, 0)]);
        assert!(proved.status.success(), "{b}: {}", stderr(&proved));
        assert!(cli_mailing(&env, &smtp, &["case", "verify", &id, "--channel", "email_code"]).status.success(), "{b}");
        let code = code_mailed_to(&smtp, "alice@demo.twofold.test", "read them this code").await;
        assert!(env.cli(&["case", "verify", &id, "--channel", "email_code", "--code", &code]).status.success(), "{b}");
        let refused = env.cli(&["case", "pass", &id]);
        assert!(stderr(&refused).contains("second operator"), "{b}: {}", stderr(&refused));
        // The console cannot be the second operator, whatever user it claims to run as.
        let own = env.cli(&["case", "approve", &id]);
        assert!(!own.status.success() && stderr(&own).contains("approves on the help-desk pages"), "{b}");
        let claimed = env.command(&["case", "approve", &id]).env("USER", "second-operator").output().unwrap();
        assert!(!claimed.status.success(), "{b}: $USER is no identity");
        // olga, a privileged help-desk operator, approves on the pages with her own passkey.
        let added = env.cli_with_stdin(
            &["user", "add", "olga", "--role", "helpdesk", "--tier", "privileged", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(added.status.success(), "{b}: {}", stderr(&added));
        let olga = privileged_desk.browser();
        let origin = privileged_desk.url.replace("127.0.0.1", "localhost");
        let key = env.path("olga-key");
        crate::attestation::authenticator(&["ca", key.to_str().unwrap()], &serde_json::json!({}));
        olga.password_step("olga").await;
        assert_eq!(crate::attestation::register(&olga, &origin, &key, false).await.0, 200, "{b}");
        olga.sign_out().await;
        olga.password_step("olga").await;
        crate::attestation::passkey_second_step(&olga, &origin, &key).await;
        let case_page = format!("/helpdesk/cases/{id}");
        let (csrf, page) = olga.csrf(&case_page).await;
        assert!(page.contains("Approve as second operator"), "{b}: {page}");
        let (status, approved) = olga.submit(&format!("{case_page}/approve"), &[("csrf", &csrf)]).await;
        assert_eq!(status, 200, "{b}: {approved}");
        let (status, refused) = olga.submit(&format!("{case_page}/pass"), &[("minutes", "30"), ("csrf", &csrf)]).await;
        assert_eq!(status, 403, "{b}: the approver does not also make the change: {refused}");
        assert!(env.cli(&["case", "pass", &id]).status.success(), "{b}: verified and approved");
    }
}

/// THREATS: enrolment hijack — without --demo a first method needs more than the password:
/// a password-only session is refused, a code to the address on file opens it; and where the
/// organisation says passes only, the emailed code is not offered.
#[tokio::test]
async fn a_first_method_needs_more_than_a_phished_password() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let server = env.serve(&["--smtp-url", &smtp.url]).await;
        let added = env.cli_with_stdin(
            &["user", "add", "nina", "--email", "nina@example.com", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(added.status.success(), "{b}: {}", stderr(&added));

        let attacker = server.browser();
        attacker.password_step("nina").await;
        let page = attacker.page("/account/security").await;
        assert!(page.contains("Confirm it's you first") && !page.contains("Add authenticator app"), "{b}: {page}");
        let (csrf, _) = attacker.csrf("/account/security").await;
        let (status, refused) =
            attacker.submit("/account/security/totp", &[("name", "Attacker"), ("csrf", &csrf)]).await;
        assert_eq!(status, 403, "{b}: {refused}");
        assert!(refused.contains("first confirm the code we email"), "{b}");
        assert!(!env.audit_log().contains("authenticator.enrol_start"), "{b}: nothing was started");

        // nina herself reads the code from her mailbox on file.
        let (status, sent) = attacker.submit("/account/security/first-method/send", &[("csrf", &csrf)]).await;
        assert_eq!(status, 200, "{b}: {sent}");
        assert!(sent.contains("n•••@example.com"), "{b}");
        let code = code_mailed_to(&smtp, "nina@example.com", "set up the first sign-in method").await;
        let (status, _) =
            attacker.submit("/account/security/first-method/confirm", &[("code", "000000"), ("csrf", &csrf)]).await;
        assert_eq!(status, 422, "{b}: a wrong code proves nothing");
        let (status, confirmed) = attacker
            .submit("/account/security/first-method/confirm", &[("code", code.as_str()), ("csrf", &csrf)])
            .await;
        assert_eq!(status, 200, "{b}: {confirmed}");
        assert!(
            confirmed.contains("Now set up your first sign-in method") && confirmed.contains("Add authenticator app"),
            "{b}"
        );
        attacker.enrol_totp().await;

        // Passes only: the password is not enough, and the emailed code is not offered.
        let config = env.write("passes-only.toml", "[enrolment]\nfirst_method = \"access_pass\"\n");
        let strict = env.serve(&["--config", &config, "--smtp-url", &smtp.url]).await;
        let added = env.cli_with_stdin(
            &["user", "add", "olaf", "--email", "olaf@example.com", "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(added.status.success(), "{b}");
        let olaf = strict.browser();
        olaf.password_step("olaf").await;
        let page = olaf.page("/account/security").await;
        assert!(
            page.contains("Ask your help desk for a temporary access pass") && !page.contains("Email me a code"),
            "{b}"
        );
        let (csrf, _) = olaf.csrf("/account").await;
        let (status, _) = olaf.submit("/account/security/totp", &[("name", "Mine"), ("csrf", &csrf)]).await;
        assert_eq!(status, 403, "{b}");

        // With a pass from a verified case the same person enrols.
        let id = open_case(&env, "olaf", "lost_device");
        assert!(cli_mailing(&env, &smtp, &["case", "verify", &id, "--channel", "email_code"]).status.success(), "{b}");
        let code = code_mailed_to(&smtp, "olaf@example.com", "read them this code").await;
        assert!(env.cli(&["case", "verify", &id, "--channel", "email_code", "--code", &code]).status.success(), "{b}");
        let passcode =
            json(&env.cli(&["case", "pass", &id, "--format", "json"]))["passcode"].as_str().unwrap().to_owned();
        let with_pass = strict.browser();
        assert_eq!(sign_in_with_pass(&with_pass, "olaf", &passcode).await, 303, "{b}");
        with_pass.enrol_totp().await;
    }
}

/// The operator pages: only the help desk's role opens them, every step needs the operator's
/// own fresh passkey, operators never serve their own account or a tier or group outside their scope,
/// and a case is worked from open to a pass through the pages alone.
#[tokio::test]
async fn operators_work_cases_on_the_pages_with_their_own_fresh_passkey() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let scope = env.write("pilot-desk.toml", "[helpdesk]\ngroups = [\"pilot\"]\n");
        let server = env.serve(&["--demo", "--smtp-url", &smtp.url, "--config", &scope]).await;
        let origin = server.url.replace("127.0.0.1", "localhost");
        let key = env.path("erin-key");
        crate::attestation::authenticator(&["ca", key.to_str().unwrap()], &serde_json::json!({}));

        // erin (help desk) registers a security key, then signs in with it (phishing-resistant).
        let erin = server.browser();
        erin.password_step("erin").await;
        let (status, body) = crate::attestation::register(&erin, &origin, &key, false).await;
        assert_eq!(status, 200, "{b}: {body}");
        erin.sign_out().await;
        erin.password_step("erin").await;
        crate::attestation::passkey_second_step(&erin, &origin, &key).await;

        let bob = server.browser();
        bob.password_step("bob").await;
        assert_eq!(bob.get_path("/helpdesk").await.status(), 403, "{b}: not an operator");

        let (csrf, desk) = erin.csrf("/helpdesk").await;
        assert!(desk.contains("Open a case"), "{b}: {desk}");
        let open = |user: &'static str| {
            let erin = &erin;
            let csrf = csrf.clone();
            async move {
                erin.post_form(
                    "/helpdesk/cases",
                    &[("username", user), ("kind", "lost_device"), ("summary", "lost my phone"), ("csrf", &csrf)],
                )
                .await
            }
        };
        let own = open("erin").await;
        assert_eq!(own.status(), 403, "{b}");
        assert!(own.text().await.unwrap().contains("own account"), "{b}");
        let other_group = open("carol").await;
        assert!(
            other_group.text().await.unwrap().contains("none of the groups"),
            "{b}: carol is not in the pilot group"
        );
        let privileged = open("alice").await;
        assert!(privileged.text().await.unwrap().contains("outside the help desk"), "{b}: alice is privileged");
        let opened = open("bob").await;
        assert_eq!(opened.status(), 303, "{b}");
        let case = twofold_testkit::location(&opened);
        let page = erin.page(&case).await;
        assert!(page.contains("Changes become available once the caller"), "{b}: {page}");
        let (status, refused) = erin.submit(&format!("{case}/pass"), &[("minutes", "60"), ("csrf", &csrf)]).await;
        assert_eq!(status, 403, "{b}: no pass before verification: {refused}");
        // A case about someone outside erin's scope (alice, privileged) shows her nothing.
        let alices = open_case(&env, "alice", "lost_device");
        let hidden = erin.get_path(&format!("/helpdesk/cases/{alices}")).await;
        assert_eq!(hidden.status(), 403, "{b}");
        assert!(!hidden.text().await.unwrap().contains("lost my phone"), "{b}: not even the summary");

        let (status, _) = erin.submit(&format!("{case}/send-code"), &[("csrf", &csrf)]).await;
        assert_eq!(status, 200, "{b}");
        let code = code_mailed_to(&smtp, "bob@demo.twofold.test", "read them this code").await;
        let (_, wrong) = erin
            .submit(&format!("{case}/check-code"), &[("channel", "email_code"), ("code", "000000"), ("csrf", &csrf)])
            .await;
        assert!(wrong.contains("the failure is recorded"), "{b}");
        let (_, right) = erin
            .submit(
                &format!("{case}/check-code"),
                &[("channel", "email_code"), ("code", code.as_str()), ("csrf", &csrf)],
            )
            .await;
        assert!(right.contains("Verified: code to the email address on file"), "{b}: {right}");
        // One channel opens a pass, never a reset of everything.
        let (status, _) = erin.submit(&format!("{case}/reset"), &[("csrf", &csrf)]).await;
        assert_eq!(status, 422, "{b}: the reset asks to be confirmed");
        let (status, reset) = erin.submit(&format!("{case}/reset"), &[("confirmed", "on"), ("csrf", &csrf)]).await;
        assert_eq!(status, 403, "{b}: {reset}");
        assert!(reset.contains("approval by the person"), "{b}: the reset's stronger path is asked");
        let (status, issued) = erin.submit(&format!("{case}/pass"), &[("minutes", "30"), ("csrf", &csrf)]).await;
        assert_eq!(status, 200, "{b}: {issued}");
        let passcode = issued.split(r#"<code id="passcode">"#).nth(1).unwrap().split('<').next().unwrap().to_owned();
        assert_eq!(passcode.len(), 19, "{b}");
        assert!(!erin.page(&case).await.contains(&passcode), "{b}: shown once only");

        // Sixteen minutes on, the operator must prove her key again before anything else.
        env.advance(16 * 60);
        let stale = erin.get_path(&case).await;
        assert_eq!(stale.status(), 303, "{b}");
        let to = twofold_testkit::location(&stale);
        assert!(to.starts_with("/login/mfa"), "{b}: {to}");
    }
}
