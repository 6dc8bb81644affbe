//! Second factors end to end, with codes from `oathtool` (Debian's oath-toolkit), an
//! authenticator the project did not write: enrolment with a test authentication, the
//! second sign-in step, replay and guessing attacks, recovery codes, the verify API, and
//! what is stored at rest.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{Env, api, browser};

/// The TOTP code `oathtool` computes for `secret` at now + `offset_secs`. The wall clock is
/// right here: the server under test runs on it.
#[allow(clippy::disallowed_methods)]
pub fn oathtool(secret: &str, offset_secs: i64) -> String {
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 + offset_secs;
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
        .output()
        .expect("oathtool is required (Debian package oathtool; .ci/run installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start} in {html}")) + start.len();
    &html[from..from + html[from..].find(end).unwrap()]
}

pub fn hidden(html: &str, name: &str) -> String {
    between(html, &format!(r#"name="{name}" value=""#), "\"").to_owned()
}

/// Signs in with the password; returns where the server sent the browser.
pub async fn password_step(client: &reqwest::Client, url: &str, username: &str) -> String {
    let page = client.get(format!("{url}/login")).send().await.unwrap().text().await.unwrap();
    let response = client
        .post(format!("{url}/login"))
        .form(&[("username", username), ("password", "twofold-demo-pass"), ("csrf", &hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "password step for {username}");
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Posts the second-factor form; returns the response.
pub async fn second_step(client: &reqwest::Client, url: &str, field: &str, code: &str) -> reqwest::Response {
    let page = client.get(format!("{url}/login/mfa")).send().await.unwrap().text().await.unwrap();
    client
        .post(format!("{url}/login/mfa"))
        .form(&[(field, code), ("csrf", &hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap()
}

/// Adds an authenticator app on the Security info page; returns its base32 key.
pub async fn enrol_totp(client: &reqwest::Client, url: &str) -> String {
    enrol_totp_with_code(client, url).await.0
}

/// As [`enrol_totp`], also returning the code that confirmed it (to replay it exactly).
pub async fn enrol_totp_with_code(client: &reqwest::Client, url: &str) -> (String, String) {
    let page = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    let enrol = client
        .post(format!("{url}/account/security/totp"))
        .form(&[("name", "Phone"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(enrol.status(), 200);
    let html = enrol.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("QR code"), "a server-rendered QR code");
    let secret = between(&html, r#"<code id="secret">"#, "</code>").to_owned();
    let id = hidden(&html, "id");
    let wrong = client
        .post(format!("{url}/account/security/totp/confirm"))
        .form(&[("id", id.as_str()), ("code", "000000"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422, "a wrong test code does not finish enrolment");
    assert!(!wrong.text().await.unwrap().contains(&secret), "the key is never shown twice");
    let code = oathtool(&secret, 0);
    let confirmed = client
        .post(format!("{url}/account/security/totp/confirm"))
        .form(&[("id", id.as_str()), ("code", &code), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    assert!(confirmed.text().await.unwrap().contains("Authenticator app added."));
    (secret, code)
}

pub async fn sign_out(client: &reqwest::Client, url: &str) {
    let page = client.get(format!("{url}/account")).send().await.unwrap().text().await.unwrap();
    client.post(format!("{url}/logout")).form(&[("csrf", hidden(&page, "csrf"))]).send().await.unwrap();
}

#[tokio::test]
async fn an_authenticator_app_is_enrolled_then_required_at_sign_in_and_codes_work_once() {
    for env in Env::all().await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = browser();
        assert_eq!(
            password_step(&client, url, "bob").await,
            "/account/security?return_to=/account",
            "{b}: guided enrolment"
        );
        let (secret, confirming_code) = enrol_totp_with_code(&client, url).await;
        sign_out(&client, url).await;

        let next = password_step(&client, url, "bob").await;
        assert_eq!(next, "/login/mfa?return_to=/account", "{b}");
        let pending = client.get(format!("{url}/account")).send().await.unwrap();
        assert_eq!(
            pending.headers()["location"],
            "/login/mfa?return_to=/account",
            "{b}: the password alone opens nothing"
        );

        // The code used to confirm enrolment is spent: replaying it fails (the very same code,
        // so a 30-second step ending meanwhile cannot turn the replay into a fresh code).
        let replay = second_step(&client, url, "code", &confirming_code).await;
        assert_eq!(replay.status(), 401, "{b}: replayed code");
        let next_code = oathtool(&secret, 30);
        let done = second_step(&client, url, "code", &next_code).await;
        assert_eq!(done.status(), 303, "{b}");
        let account = client.get(format!("{url}/account")).send().await.unwrap().text().await.unwrap();
        assert!(account.contains("pwd, otp, mfa"), "{b}: amr recorded");

        // A second sign-in cannot reuse the code that was just accepted.
        sign_out(&client, url).await;
        password_step(&client, url, "bob").await;
        assert_eq!(second_step(&client, url, "code", &next_code).await.status(), 401, "{b}: a code works once");

        let log = String::from_utf8_lossy(&env.cli(&["audit", "export"]).stdout).into_owned();
        for action in ["authenticator.enrol_start", "authenticator.add", "signin.first_factor"] {
            assert!(log.contains(&format!(r#""action":"{action}""#)), "{b}: {action} audited");
        }
        assert!(log.contains("replayed_code"), "{b}: the replay is recorded");

        // At rest: the seed is sealed; neither its bytes nor its base32 form are stored.
        let raw =
            twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT sealed_secret FROM authenticators").await;
        let seed = data_encoding_decode(&secret);
        assert_eq!(raw.len(), 1);
        assert!(!raw[0].windows(seed.len()).any(|w| w == seed.as_slice()), "{b}: no seed in clear");
        assert!(!log.contains(&secret), "{b}: no seed in the audit log");
    }
}

fn data_encoding_decode(base32: &str) -> Vec<u8> {
    // A small independent base32 decoder, so the check does not trust Twofold's.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in base32.chars() {
        bits = (bits << 5) | alphabet.find(c).unwrap() as u64;
        count += 5;
        if count >= 8 {
            out.push((bits >> (count - 8)) as u8);
            count -= 8;
        }
    }
    out
}

#[tokio::test]
async fn recovery_codes_are_shown_once_work_once_and_are_replaced_as_a_set() {
    for env in Env::all().await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = browser();
        password_step(&client, url, "carol").await;
        enrol_totp(&client, url).await;
        // The first method's test authentication is the session's second factor: recovery
        // codes follow at once, without asking for a code again seconds later.
        let page = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
        let codes_page = client
            .post(format!("{url}/account/security/recovery-codes"))
            .form(&[("csrf", hidden(&page, "csrf"))])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let codes: Vec<String> =
            codes_page.split("<li><code>").skip(1).map(|c| c.split('<').next().unwrap().to_owned()).collect();
        assert_eq!(codes.len(), 10, "{b}");
        sign_out(&client, url).await;

        password_step(&client, url, "carol").await;
        assert_eq!(second_step(&client, url, "recovery_code", &codes[0].to_uppercase()).await.status(), 303, "{b}");
        sign_out(&client, url).await;
        password_step(&client, url, "carol").await;
        assert_eq!(second_step(&client, url, "recovery_code", &codes[0]).await.status(), 401, "{b}: used once");
        assert_eq!(second_step(&client, url, "recovery_code", &codes[1]).await.status(), 303, "{b}");
        let security = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
        assert!(security.contains("8 unused"), "{b}");
        assert!(
            security.contains("still missing: a second sign-in method"),
            "{b}: one app plus codes is not the full setup"
        );

        let stored =
            twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT code_hash FROM recovery_codes").await;
        let stored = String::from_utf8(stored.concat()).unwrap();
        for code in &codes {
            assert!(!stored.contains(&code.replace('-', "")), "{b}: codes are stored only as keyed hashes");
        }
        let log = String::from_utf8_lossy(&env.cli(&["audit", "export"]).stdout).into_owned();
        assert!(log.contains(r#""action":"recovery_code.use""#) && log.contains(r#"\"remaining\":8"#), "{b}");
    }
}

/// Attack: enrolment hijack. With only the password, an attacker cannot add their own
/// authenticator to an account that has one, nor remove the owner's.
#[tokio::test]
async fn the_password_alone_cannot_change_sign_in_methods() {
    let env = Env::new(&twofold_testkit::sqlite());
    let server = env.serve(&["--demo"]).await;
    let url = &server.url;
    let owner = browser();
    password_step(&owner, url, "dave").await;
    enrol_totp(&owner, url).await;

    let attacker = browser();
    password_step(&attacker, url, "dave").await;
    let security = attacker.get(format!("{url}/account/security")).send().await.unwrap();
    assert_eq!(security.headers()["location"], "/login/mfa?return_to=/account/security");
    let page = attacker.get(format!("{url}/login/mfa")).send().await.unwrap().text().await.unwrap();
    let add = attacker
        .post(format!("{url}/account/security/totp"))
        .form(&[("name", "Mallory"), ("csrf", hidden(&page, "csrf").as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(add.status(), 303, "refused: sent to the second factor");
    let methods = twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT name FROM authenticators").await;
    assert_eq!(methods, vec![b"Phone".to_vec()], "nothing was added");
}

#[tokio::test]
async fn the_last_factor_cannot_be_removed_and_a_removed_one_stops_working() {
    let env = Env::new(&twofold_testkit::sqlite());
    let server = env.serve(&["--demo"]).await;
    let url = &server.url;
    let client = browser();
    password_step(&client, url, "erin").await;
    let first = enrol_totp(&client, url).await;
    let page = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
    let first_id = between(&page, r#"action="/account/security/"#, "/rename").to_owned();
    // The first app's test authentication is the session's fresh second factor, so the first
    // app has used no step after its enrolment's: a code from its next step would still pass.
    let refused = client
        .post(format!("{url}/account/security/{first_id}/remove"))
        .form(&[("csrf", hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("add another method before removing your last one"));

    // Replace the phone: add the new app, then retire the old one; the old one stops working at once.
    let second = enrol_totp(&client, url).await;
    let page = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
    let removed = client
        .post(format!("{url}/account/security/{first_id}/remove"))
        .form(&[("csrf", hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    sign_out(&client, url).await;
    password_step(&client, url, "erin").await;
    assert_eq!(
        second_step(&client, url, "code", &oathtool(&first, 30)).await.status(),
        401,
        "the old app no longer works, though this code is in its window and newer than its last"
    );
    assert_eq!(second_step(&client, url, "code", &oathtool(&second, 30)).await.status(), 303);
}

/// Attack: OTP brute force. After a handful of wrong codes the factor is throttled.
#[tokio::test]
async fn wrong_codes_are_throttled() {
    let env = Env::new(&twofold_testkit::sqlite());
    let server = env.serve(&["--demo"]).await;
    let url = &server.url;
    let client = browser();
    password_step(&client, url, "bob").await;
    let secret = enrol_totp(&client, url).await;
    sign_out(&client, url).await;
    password_step(&client, url, "bob").await;
    for guess in ["111111", "222222", "333333", "444444", "555555", "666666"] {
        assert_eq!(second_step(&client, url, "code", guess).await.status(), 401);
    }
    let throttled = second_step(&client, url, "code", &oathtool(&secret, 30)).await;
    assert_eq!(throttled.status(), 429, "even the right code waits");
}

#[tokio::test]
async fn the_verify_api_checks_a_code_once_for_a_gateway() {
    for env in Env::all().await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = browser();
        password_step(&client, url, "bob").await;
        let secret = enrol_totp(&client, url).await;
        let gateway = api(&env.admin_token());
        let verify = |body: Value| {
            let gateway = gateway.clone();
            let url = url.clone();
            async move { gateway.post(format!("{url}/api/v1/verify")).json(&body).send().await.unwrap() }
        };
        let code = oathtool(&secret, 30);
        let ok: Value = verify(json!({"username": "bob", "code": code})).await.json().await.unwrap();
        assert_eq!(ok["valid"], true, "{b}");
        let replay: Value = verify(json!({"username": "bob", "code": code})).await.json().await.unwrap();
        assert_eq!(replay["valid"], false, "{b}: the same code never works twice");
        let unknown: Value = verify(json!({"username": "nobody", "code": "123456"})).await.json().await.unwrap();
        assert_eq!(unknown, json!({"valid": false}), "{b}: unknown users look like wrong codes");
        assert_eq!(verify(json!({"username": "bob"})).await.status(), 400, "{b}");
        let auditor = api(&env.token_with_role("auditor"));
        let forbidden = auditor
            .post(format!("{url}/api/v1/verify"))
            .json(&json!({"username": "bob", "code": "1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(forbidden.status(), 403, "{b}");
        for _ in 0..5 {
            verify(json!({"username": "bob", "code": "000000"})).await;
        }
        assert_eq!(
            verify(json!({"username": "bob", "code": oathtool(&secret, 0)})).await.status(),
            429,
            "{b}: guessing is throttled"
        );
        let log = String::from_utf8_lossy(&env.cli(&["audit", "export"]).stdout).into_owned();
        assert!(log.contains("(verify for bob)"), "{b}: verifications are audited with the gateway as actor");
    }
}

#[tokio::test]
async fn the_user_is_emailed_when_a_method_is_added_or_removed_or_a_recovery_code_is_used() {
    let sink = crate::helpers::SmtpSink::start();
    let env = Env::new(&twofold_testkit::sqlite());
    let server = env.serve(&["--demo", "--smtp-url", &sink.url, "--mail-from", "Twofold <mfa@example.test>"]).await;
    let url = &server.url;
    let client = browser();
    password_step(&client, url, "bob").await;
    let first = enrol_totp(&client, url).await;
    let added = sink.wait_for("A sign-in method was added").await;
    assert!(added.contains("X-Envelope-To: bob@demo.twofold.test"), "{added}");
    assert!(
        added.contains("From: Twofold <mfa@example.test>") && added.contains("Authenticator app: Phone"),
        "{added}"
    );
    assert!(!added.contains(&first), "no secret in mail");

    assert_eq!(second_step(&client, url, "code", &oathtool(&first, 30)).await.status(), 303, "step-up");
    enrol_totp(&client, url).await;
    let page = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
    let first_id = between(&page, r#"action="/account/security/"#, "/rename").to_owned();
    client
        .post(format!("{url}/account/security/{first_id}/remove"))
        .form(&[("csrf", hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap();
    sink.wait_for("A sign-in method was removed").await;

    let codes_page = client
        .post(format!("{url}/account/security/recovery-codes"))
        .form(&[("csrf", hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = between(&codes_page, "<li><code>", "<").to_owned();
    sign_out(&client, url).await;
    password_step(&client, url, "bob").await;
    assert_eq!(second_step(&client, url, "recovery_code", &code).await.status(), 303);
    let used = sink.wait_for("A recovery code was used").await;
    assert!(used.contains("9 unused code(s) remain"), "{used}");
}

#[tokio::test]
async fn a_trusted_device_skips_the_second_step_until_forgotten_but_never_for_privileged_tiers() {
    for env in Env::all().await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = browser();
        password_step(&client, url, "bob").await;
        let secret = enrol_totp(&client, url).await;
        sign_out(&client, url).await;

        assert!(password_step(&client, url, "bob").await.starts_with("/login/mfa"), "{b}");
        let page = client.get(format!("{url}/login/mfa")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Trust this device for 30 days"), "{b}");
        let trusted = client
            .post(format!("{url}/login/mfa"))
            .form(&[("code", oathtool(&secret, 30).as_str()), ("trust_device", "1"), ("csrf", &hidden(&page, "csrf"))])
            .send()
            .await
            .unwrap();
        assert_eq!(trusted.status(), 303, "{b}");
        sign_out(&client, url).await;
        assert_eq!(
            password_step(&client, url, "bob").await,
            "/account",
            "{b}: the trusted browser skips the second step"
        );
        assert!(password_step(&browser(), url, "bob").await.starts_with("/login/mfa"), "{b}: another browser does not");

        let security = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
        let device = between(&security, r#"action="/account/security/devices/"#, "/forget").to_owned();
        let forgotten = client
            .post(format!("{url}/account/security/devices/{device}/forget"))
            .form(&[("csrf", hidden(&security, "csrf"))])
            .send()
            .await
            .unwrap();
        assert_eq!(forgotten.status(), 200, "{b}");
        sign_out(&client, url).await;
        assert!(password_step(&client, url, "bob").await.starts_with("/login/mfa"), "{b}: forgotten devices ask again");

        // A privileged identity is never offered, nor granted, a trusted device.
        let admin = browser();
        password_step(&admin, url, "alice").await;
        let alice_secret = enrol_totp(&admin, url).await;
        sign_out(&admin, url).await;
        password_step(&admin, url, "alice").await;
        let page = admin.get(format!("{url}/login/mfa")).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("Trust this device"), "{b}: not offered to the privileged tier");
        admin
            .post(format!("{url}/login/mfa"))
            .form(&[
                ("code", oathtool(&alice_secret, 30).as_str()),
                ("trust_device", "1"),
                ("csrf", &hidden(&page, "csrf")),
            ])
            .send()
            .await
            .unwrap();
        sign_out(&admin, url).await;
        assert!(password_step(&admin, url, "alice").await.starts_with("/login/mfa"), "{b}: nor granted when forced");

        let log = String::from_utf8_lossy(&env.cli(&["audit", "export"]).stdout).into_owned();
        assert!(log.contains(r#""action":"device.trust""#) && log.contains(r#""action":"device.forget""#), "{b}");
        assert!(log.contains("trusted_device"), "{b}: the sign-in event names the trusted device");
    }
}

/// Attack: a lost phone keeps signing in. Replacing the phone retires the old app in the same
/// flow: afterwards a code from the old app that it would otherwise accept (the next step, newer
/// than any it has used) is refused, while the same kind of code from an app that was not
/// replaced still signs in.
#[tokio::test]
async fn replacing_a_phone_retires_the_old_app_in_the_same_flow() {
    for env in Env::all().await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        // Control: carol enrols the same way and keeps her app; her next-step code signs in.
        let control = browser();
        password_step(&control, url, "carol").await;
        let control_secret = enrol_totp(&control, url).await;
        sign_out(&control, url).await;

        let client = browser();
        password_step(&client, url, "bob").await;
        // Enrolment's test code uses the current step; every later code is from a newer step.
        let old_secret = enrol_totp(&client, url).await;
        // The enrolment upgraded the session: recovery codes follow at once. One of them, not the
        // old app, gives the fresh second factor for the replacement, so the old app has used no
        // step after its enrolment's.
        let page = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
        let codes_page = client
            .post(format!("{url}/account/security/recovery-codes"))
            .form(&[("csrf", hidden(&page, "csrf"))])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let recovery = codes_page.split("<li><code>").nth(1).unwrap().split('<').next().unwrap().to_owned();
        sign_out(&client, url).await;
        password_step(&client, url, "bob").await;
        assert_eq!(second_step(&client, url, "recovery_code", &recovery).await.status(), 303, "{b}");

        // "Replace Phone" leads to enrolling the new app with the old one named.
        let page = client.get(format!("{url}/account/security")).send().await.unwrap().text().await.unwrap();
        let csrf = hidden(&page, "csrf");
        let action = {
            let end = page.find("Replace Phone").unwrap();
            let start = page[..end].rfind(r#"action=""#).unwrap() + r#"action=""#.len();
            page[start..start + page[start..].find('"').unwrap()].to_owned()
        };
        let replace = client.post(format!("{url}{action}")).form(&[("csrf", &csrf)]).send().await.unwrap();
        assert_eq!(replace.status(), 200, "{b}");
        let replace = replace.text().await.unwrap();
        assert!(replace.contains("As soon as it works, <strong>Phone</strong>"), "{b}");
        let old_id = hidden(&replace, "replaces");
        let enrol = client
            .post(format!("{url}/account/security/totp"))
            .form(&[("name", "New phone"), ("csrf", &csrf), ("replaces", &old_id)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let new_secret = between(&enrol, r#"<code id="secret">"#, "</code>").to_owned();
        let new_id = hidden(&enrol, "id");
        assert_eq!(hidden(&enrol, "replaces"), old_id, "{b}: the old method rides along to the confirmation");
        let done = client
            .post(format!("{url}/account/security/totp/confirm"))
            .form(&[
                ("id", new_id.as_str()),
                ("code", &oathtool(&new_secret, 0)),
                ("csrf", &csrf),
                ("replaces", &old_id),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(done.contains("no longer works"), "{b}");
        assert!(done.contains("New phone") && !done.contains("Replace Phone<"), "{b}: only the new app is listed");

        // The old app stops working at once; the new one signs in.
        sign_out(&client, url).await;
        password_step(&client, url, "bob").await;
        assert_eq!(second_step(&client, url, "code", &oathtool(&old_secret, 60)).await.status(), 401, "{b}");
        // The old app's next-step code: inside the window and newer than its last used step, so
        // only the retirement can refuse it.
        assert_eq!(
            second_step(&client, url, "code", &oathtool(&old_secret, 30)).await.status(),
            401,
            "{b}: the old app's otherwise valid code is refused"
        );
        password_step(&control, url, "carol").await;
        assert_eq!(
            second_step(&control, url, "code", &oathtool(&control_secret, 30)).await.status(),
            303,
            "{b}: control: the same kind of code from an app that was not replaced signs in"
        );
        assert_eq!(second_step(&client, url, "code", &oathtool(&new_secret, 30)).await.status(), 303, "{b}");
        let log = String::from_utf8_lossy(&env.cli(&["audit", "export"]).stdout).into_owned();
        assert!(log.contains(r#""action":"authenticator.remove""#), "{b}: the retirement is audited");
    }
}
