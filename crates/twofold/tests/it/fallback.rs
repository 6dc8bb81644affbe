//! Email and SMS codes, the transitional fallbacks: enrolment with a test code delivered
//! through a real SMTP server and an SMS webhook, sign-in with each, resend and guess
//! limits, the tier ban and the end date, and what is stored.

use twofold_testkit::html::{form_action_before, hidden};
use twofold_testkit::{Env, SmsSink, SmtpSink};

use crate::BIN;

const SMS_AUTH: &str = "Bearer sms-provider-secret";

fn config(dir: &std::path::Path, sms_url: &str, sms_until: Option<&str>) -> String {
    let path = dir.join(format!("fallback-{}.toml", sms_until.unwrap_or("open")));
    let until = sms_until.map(|d| format!("until = {d}\n")).unwrap_or_default();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        &path,
        format!(
            "[email_otp]\nenabled = true\n\n[sms_otp]\nenabled = true\n{until}webhook_url = \"{sms_url}\"\nwebhook_authorization = \"{SMS_AUTH}\"\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// The six-digit code in a message.
fn code_in(text: &str) -> String {
    let at = text.find("verification code is ").expect("a code message") + "verification code is ".len();
    text[at..at + 6].to_owned()
}

#[tokio::test]
async fn email_and_sms_codes_enrol_sign_in_and_obey_their_limits() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let sms = SmsSink::start().await;
        let config_file = config(&env.path("config"), &sms.url, None);
        let server = env.serve(&["--demo", "--config", &config_file, "--smtp-url", &smtp.url]).await;

        // alice is privileged: email and SMS codes are forbidden for her tier by default.
        let alice = server.browser();
        alice.password_step("alice").await;
        let (csrf, page) = alice.csrf("/account/security").await;
        assert!(!page.contains("Add email codes") && !page.contains("Add text message codes"), "{b}");
        let (status, body) = alice.submit("/account/security/email", &[("csrf", &csrf)]).await;
        assert_eq!(status, 403, "{b}: {body}");
        assert!(body.contains("not allowed for privileged accounts"), "{b}: {body}");

        // bob sets up an app, then signs in with it so adding methods is allowed.
        let client = server.browser();
        client.password_step("bob").await;
        let secret = client.enrol_totp().await;
        client.sign_out().await;
        client.sign_in_with_totp("bob", &secret).await;

        // Email: the test code arrives over SMTP; a wrong one does not finish enrolment.
        let (csrf, page) = client.csrf("/account/security").await;
        assert!(page.contains("Add email codes") && page.contains("Add text message codes"), "{b}");
        let (status, page) = client.submit("/account/security/email", &[("csrf", &csrf)]).await;
        assert_eq!(status, 200, "{b}: {page}");
        assert!(page.contains("We sent a code to b•••@demo.twofold.test"), "{b}: {page}");
        let id = hidden(&page, "id");
        let mail = smtp.wait_for("confirm this contact method").await;
        assert!(mail.contains("To: bob@demo.twofold.test"), "{b}");
        let email_code = code_in(&mail);
        let wrong = if email_code == "000000" { "111111" } else { "000000" };
        let confirm = |code: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("id", id.clone()),
                ("code", code.to_owned()),
                ("channel", "email address".into()),
            ]
        };
        let (status, _) = client.submit("/account/security/fallback/confirm", &confirm(wrong)).await;
        assert_eq!(status, 422, "{b}: a wrong test code");
        let (status, page) = client.submit("/account/security/fallback/confirm", &confirm(&email_code)).await;
        assert_eq!(status, 200, "{b}: {page}");
        assert!(page.contains("Added.") && page.contains("Email code"), "{b}");
        smtp.wait_for("Email code: Email").await;

        // SMS: a number must be international; the code goes to the configured webhook.
        let (status, page) =
            client.submit("/account/security/sms", &[("csrf", csrf.as_str()), ("phone", "07700 900123")]).await;
        assert_eq!(status, 422, "{b}: {page}");
        assert!(page.contains("international form"), "{b}");
        let (status, page) =
            client.submit("/account/security/sms", &[("csrf", csrf.as_str()), ("phone", "+44 7700 900123")]).await;
        assert_eq!(status, 200, "{b}: {page}");
        assert!(page.contains("•••• 0123"), "{b}");
        let (message, authorization) = sms.wait_for(1).await;
        assert_eq!(message["to"], "+447700900123", "{b}");
        assert_eq!(authorization.as_deref(), Some(SMS_AUTH), "{b}: the provider's header is sent");
        let sms_id = hidden(&page, "id");
        let code = code_in(message["text"].as_str().unwrap());
        let form = [("csrf", csrf.as_str()), ("id", sms_id.as_str()), ("code", code.as_str())];
        let (status, page) = client.submit("/account/security/fallback/confirm", &form).await;
        assert_eq!(status, 200, "{b}: {page}");
        assert!(page.contains("Text message code"), "{b}");

        // The app is bob's only strong method: it cannot be removed while email and SMS remain.
        let (_, page) = client.csrf("/account/security").await;
        let remove_app = form_action_before(&page, "Remove Phone");
        let (status, page) = client.submit(&remove_app, &[("csrf", csrf.as_str()), ("confirmed", "yes")]).await;
        assert_eq!(status, 409, "{b}: {page}");
        assert!(page.contains("email and SMS codes alone are not enough"), "{b}");

        // Sign-in with an email code: offered under "use another method"; resends wait.
        client.sign_out().await;
        client.password_step("bob").await;
        let (csrf, page) = client.csrf("/login/mfa").await;
        assert!(page.contains("Email me a code at b•••@demo.twofold.test"), "{b}");
        assert!(page.contains("Text me a code at •••• 0123"), "{b}");
        let email_method = page_value_after(&page, "Email me a code");
        let sms_method = page_value_after(&page, "Text me a code");
        let send = |method: &str| vec![("csrf", csrf.clone()), ("authenticator", method.to_owned())];
        let (status, page) = client.submit("/login/mfa/send", &send(&email_method)).await;
        assert_eq!(status, 200, "{b}: {page}");
        assert!(page.contains("We sent a code to b•••@demo.twofold.test"), "{b}");
        let (status, page) = client.submit("/login/mfa/send", &send(&email_method)).await;
        assert_eq!(status, 429, "{b}: an immediate resend is refused");
        assert!(page.contains("Try again in"), "{b}");
        let mail = smtp.wait_for("Use it to sign in").await;
        let code = code_in(&mail);
        assert_eq!(client.second_step("code", &code).await.status(), 303, "{b}");
        let account = client.page("/account").await;
        assert!(account.contains("Password and authenticator app or token"), "{b}: amr");

        // A used code never works again; five wrong guesses void a live code.
        client.sign_out().await;
        client.password_step("bob").await;
        assert_eq!(client.second_step("code", &code).await.status(), 401, "{b}: a code works once");
        let (csrf, _) = client.csrf("/login/mfa").await;
        let send = |method: &str| vec![("csrf", csrf.clone()), ("authenticator", method.to_owned())];
        let (status, _) = client.submit("/login/mfa/send", &send(&sms_method)).await;
        assert_eq!(status, 200, "{b}");
        let (message, _) = sms.wait_for(2).await;
        let sms_code = code_in(message["text"].as_str().unwrap());
        let wrong = if sms_code == "000000" { "111111" } else { "000000" };
        for _ in 0..4 {
            assert_eq!(client.second_step("code", wrong).await.status(), 401, "{b}");
        }
        // Five failures in a row (counting the replay) delay attempts and tell bob.
        smtp.wait_for("Failed sign-in attempts on your account").await;
        // The test clock moves past each delay (2 s, then 4 s) instead of waiting for it.
        env.advance(3);
        assert_eq!(client.second_step("code", wrong).await.status(), 401, "{b}");
        env.advance(5);
        assert_eq!(
            client.second_step("code", &sms_code).await.status(),
            401,
            "{b}: the right code after five wrong guesses is refused"
        );

        // Nothing about a code is stored in clear, and every send is audited.
        for hash in twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT code_hash FROM one_time_codes").await
        {
            let stored = String::from_utf8_lossy(&hash).into_owned();
            assert!(!stored.contains(&email_code) && !stored.contains(&sms_code), "{b}: hashed at rest");
        }
        let log = env.audit_log();
        assert_eq!(log.matches(r#""action":"one_time_code.send""#).count(), 4, "{b}");
        assert!(!log.contains("+447700900123") && log.contains("•••• 0123"), "{b}: numbers are masked in the log");
        drop(server);

        // After the SMS end date, SMS codes are no longer offered or sent. (bob's seven
        // failures in a row ask for a 4 s wait before his next attempt: the clock moves past it.)
        env.advance(5);
        let ended = config(&env.path("config"), &sms.url, Some("2020-01-01"));
        let server = env.serve(&["--config", &ended, "--smtp-url", &smtp.url]).await;
        let client = server.browser();
        client.password_step("bob").await;
        let (csrf, page) = client.csrf("/login/mfa").await;
        assert!(page.contains("Email me a code") && !page.contains("Text me a code"), "{b}: {page}");
        let (status, _) = client.submit("/login/mfa/send", &[("csrf", &csrf), ("authenticator", &sms_method)]).await;
        assert_eq!(status, 404, "{b}: an ended channel sends nothing");
        assert_eq!(sms.count(), 2, "{b}");
    }
}

/// The `authenticator` value of the form whose button says `label`.
fn page_value_after(page: &str, label: &str) -> String {
    let end = page.find(label).unwrap_or_else(|| panic!("no {label}"));
    let form = &page[..end];
    let start = form.rfind(r#"name="authenticator" value=""#).unwrap() + r#"name="authenticator" value=""#.len();
    form[start..start + form[start..].find('"').unwrap()].to_owned()
}

/// Attack: toll fraud and spam through enrolment. A session with only the password (the
/// person has no second factor yet) asked for six text-message enrolments in a second to six
/// premium-range international numbers (`+88216100000N`) and seven email enrolments in two
/// seconds, and each sent a code at once. Now premium ranges are refused unless the
/// organisation allows them, sends are claimed per person and per source across all methods
/// and enrolments, and every refusal is counted and audited.
#[tokio::test]
async fn enrolment_cannot_be_used_to_send_texts_and_mails_in_bulk() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let sms = SmsSink::start().await;
        let config_file = config(&env.path("config"), &sms.url, None);
        let server = env.serve(&["--demo", "--config", &config_file, "--smtp-url", &smtp.url]).await;
        let url = &server.url;
        let client = server.browser();
        client.password_step("bob").await;
        let (csrf, _) = client.csrf("/account/security").await;

        for n in 1..=6 {
            let phone = format!("+88216100000{n}");
            let (status, page) =
                client.submit("/account/security/sms", &[("csrf", csrf.as_str()), ("phone", &phone)]).await;
            assert_eq!(status, 403, "{b}: {page}");
            assert!(page.contains("numbers starting +882 are not allowed"), "{b}");
        }
        let mut statuses = Vec::new();
        for n in 1..=6 {
            let phone = format!("+44 7700 90012{n}");
            statuses
                .push(client.submit("/account/security/sms", &[("csrf", csrf.as_str()), ("phone", &phone)]).await.0);
        }
        assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{b}: one text, not six: {statuses:?}");
        assert!(statuses.iter().all(|&s| s == 200 || s == 429 || s == 409), "{b}: {statuses:?}");
        let mut statuses = Vec::new();
        for _ in 0..7 {
            statuses.push(client.submit("/account/security/email", &[("csrf", &csrf)]).await.0);
        }
        assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{b}: one mail, not seven: {statuses:?}");
        // Nothing else went out: one text, and (besides no other code) one code mail.
        smtp.wait_for("confirm this contact method").await;
        assert_eq!(sms.count(), 1, "{b}: the provider saw one text");
        let code_mails = smtp.messages().iter().filter(|m| m.contains("confirm this contact method")).count();
        assert_eq!(code_mails, 1, "{b}");
        let log = env.audit_log();
        let refused = log.matches(r#""action":"one_time_code.refused""#).count();
        assert_eq!(refused, 6 + 5 + 6, "{b}: every refusal audited");
        assert!(log.contains(r#"\"reason\":\"number_not_allowed\""#), "{b}");
        let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("twofold_one_time_codes_refused_total"), "{b}: refusals are counted");
    }
}

/// An organisation that lists the countries it texts refuses the rest.
#[tokio::test]
async fn texts_go_only_to_the_calling_codes_an_organisation_allows() {
    let env = Env::sqlite(BIN);
    let sms = SmsSink::start().await;
    let dir = env.path("config");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("uk-only.toml");
    std::fs::write(
        &path,
        format!("[sms_otp]\nenabled = true\nallowed_calling_codes = [\"44\"]\nwebhook_url = \"{}\"\n", sms.url),
    )
    .unwrap();
    let server = env.serve(&["--demo", "--config", path.to_str().unwrap()]).await;
    let client = server.browser();
    client.password_step("bob").await;
    let (csrf, _) = client.csrf("/account/security").await;
    let (status, page) =
        client.submit("/account/security/sms", &[("csrf", csrf.as_str()), ("phone", "+1 555 555 0123")]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("numbers starting +155 are not allowed"), "{page}");
    let (status, page) =
        client.submit("/account/security/sms", &[("csrf", csrf.as_str()), ("phone", "+44 7700 900123")]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(sms.wait_for(1).await.0["to"], "+447700900123");
}
