//! Second factors end to end, with codes from `oathtool` (Debian's oath-toolkit), an
//! authenticator the project did not write (enrolment's test code comes from the harness, the
//! core's own RFC 6238 code): enrolment with a test authentication, the
//! second sign-in step, replay and guessing attacks, recovery codes, the verify API, and
//! what is stored at rest.

use serde_json::{Value, json};
use twofold_testkit::html::{between, form_action_before, hidden};
use twofold_testkit::{Env, SmtpSink, api};

use crate::BIN;

#[tokio::test]
async fn an_authenticator_app_is_enrolled_then_required_at_sign_in_and_codes_work_once() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let client = server.browser();
        assert_eq!(client.password_step("bob").await, "/account/security?return_to=/account", "{b}: guided enrolment");
        let app = client.enrol_totp_app().await;
        let (secret, confirming_code) = (app.secret, app.confirming_code);
        client.sign_out().await;

        let next = client.password_step("bob").await;
        assert_eq!(next, "/login/mfa?return_to=/account", "{b}");
        let pending = client.get_path("/account").await;
        assert_eq!(
            pending.headers()["location"],
            "/login/mfa?return_to=/account",
            "{b}: the password alone opens nothing"
        );

        // The code used to confirm enrolment is spent: replaying it fails (the very same code,
        // so a 30-second step ending meanwhile cannot turn the replay into a fresh code).
        let replay = client.second_step("code", &confirming_code).await;
        assert_eq!(replay.status(), 401, "{b}: replayed code");
        let next_code = env.clock.oathtool(&secret, 30);
        let done = client.second_step("code", &next_code).await;
        assert_eq!(done.status(), 303, "{b}");
        let account = client.page("/account").await;
        assert!(account.contains("Password and authenticator app or token"), "{b}: amr recorded");

        // A second sign-in cannot reuse the code that was just accepted.
        client.sign_out().await;
        client.password_step("bob").await;
        assert_eq!(client.second_step("code", &next_code).await.status(), 401, "{b}: a code works once");

        let log = env.audit_log();
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
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let client = server.browser();
        client.password_step("carol").await;
        client.enrol_totp().await;
        // The first method's test authentication is the session's second factor: recovery
        // codes follow at once, without asking for a code again seconds later.
        let codes = client.recovery_codes().await;
        assert_eq!(codes.len(), 10, "{b}");
        client.sign_out().await;

        client.password_step("carol").await;
        assert_eq!(client.second_step("recovery_code", &codes[0].to_uppercase()).await.status(), 303, "{b}");
        client.sign_out().await;
        client.password_step("carol").await;
        assert_eq!(client.second_step("recovery_code", &codes[0]).await.status(), 401, "{b}: used once");
        assert_eq!(client.second_step("recovery_code", &codes[1]).await.status(), 303, "{b}");
        let security = client.page("/account/security").await;
        assert!(security.contains("8 unused"), "{b}");
        assert!(
            security.contains("Recommended setup") && security.contains("Still to do: </span>A second sign-in method"),
            "{b}: one app plus codes is not the full setup"
        );

        let stored =
            twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT code_hash FROM recovery_codes").await;
        let stored = String::from_utf8(stored.concat()).unwrap();
        for code in &codes {
            assert!(!stored.contains(&code.replace('-', "")), "{b}: codes are stored only as keyed hashes");
        }
        let log = env.audit_log();
        assert!(log.contains(r#""action":"recovery_code.use""#) && log.contains(r#"\"remaining\":8"#), "{b}");
    }
}

/// Attack: enrolment hijack. With only the password, an attacker cannot add their own
/// authenticator to an account that has one, nor remove the owner's.
#[tokio::test]
async fn the_password_alone_cannot_change_sign_in_methods() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo"]).await;
    let owner = server.browser();
    owner.password_step("dave").await;
    owner.enrol_totp().await;

    let attacker = server.browser();
    attacker.password_step("dave").await;
    let security = attacker.get_path("/account/security").await;
    assert_eq!(security.headers()["location"], "/login/mfa?return_to=/account/security");
    let page = attacker.page("/login/mfa").await;
    let add = attacker
        .post_form("/account/security/totp", &[("name", "Mallory"), ("csrf", hidden(&page, "csrf").as_str())])
        .await;
    assert_eq!(add.status(), 303, "refused: sent to the second factor");
    let methods = twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT name FROM authenticators").await;
    assert_eq!(methods, vec![b"Phone".to_vec()], "nothing was added");
}

#[tokio::test]
async fn the_last_factor_cannot_be_removed_and_a_removed_one_stops_working() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo"]).await;
    let client = server.browser();
    client.password_step("erin").await;
    let first = client.enrol_totp().await;
    let page = client.page("/account/security").await;
    let first_id = twofold_testkit::html::first_method_id(&page);
    // The first app's test authentication is the session's fresh second factor, so the first
    // app has used no step after its enrolment's: a code from its next step would still pass.
    // Remove asks first, and says at once why the last method cannot go.
    let asked =
        client.post_form(&format!("/account/security/{first_id}/remove"), &[("csrf", hidden(&page, "csrf"))]).await;
    assert_eq!(asked.status(), 200);
    let asked = asked.text().await.unwrap();
    assert!(asked.contains("Remove Phone?") && asked.contains("add another method before removing your last one"));
    assert!(!asked.contains("name=\"confirmed\""), "no button to remove it");
    let refused = client
        .post_form(
            &format!("/account/security/{first_id}/remove"),
            &[("csrf", hidden(&page, "csrf")), ("confirmed", "yes".into())],
        )
        .await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("add another method before removing your last one"));

    // Replace the phone: add the new app, then retire the old one; the old one stops working at once.
    let second = client.enrol_totp().await;
    let page = client.page("/account/security").await;
    let asked =
        client.post_form(&format!("/account/security/{first_id}/remove"), &[("csrf", hidden(&page, "csrf"))]).await;
    let asked = asked.text().await.unwrap();
    assert!(asked.contains("will stop working for signing in") && asked.contains("Cancel, keep it"), "{asked}");
    assert!(client.page("/account/security").await.contains(&first_id), "asking removed nothing");
    let removed = client
        .post_form(
            &format!("/account/security/{first_id}/remove"),
            &[("csrf", hidden(&page, "csrf")), ("confirmed", "yes".into())],
        )
        .await;
    assert_eq!(removed.status(), 200);
    assert!(removed.text().await.unwrap().contains("Removed. It no longer works for signing in."));
    client.sign_out().await;
    client.password_step("erin").await;
    assert_eq!(
        client.second_step("code", &env.clock.oathtool(&first, 30)).await.status(),
        401,
        "the old app no longer works, though this code is in its window and newer than its last"
    );
    assert_eq!(client.second_step("code", &env.clock.oathtool(&second, 30)).await.status(), 303);
}

/// Attack: OTP brute force. After a handful of wrong codes the factor is throttled.
#[tokio::test]
async fn wrong_codes_are_throttled() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo"]).await;
    let client = server.browser();
    client.password_step("bob").await;
    let secret = client.enrol_totp().await;
    client.sign_out().await;
    client.password_step("bob").await;
    for guess in ["111111", "222222", "333333", "444444", "555555", "666666"] {
        assert_eq!(client.second_step("code", guess).await.status(), 401);
    }
    let throttled = client.second_step("code", &env.clock.oathtool(&secret, 30)).await;
    assert_eq!(throttled.status(), 429, "even the right code waits");
}

#[tokio::test]
async fn the_verify_api_checks_a_code_once_for_a_gateway() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = server.browser();
        client.password_step("bob").await;
        let secret = client.enrol_totp().await;
        let gateway = api(&env.admin_token());
        let verify = |body: Value| {
            let gateway = gateway.clone();
            let url = url.clone();
            async move { gateway.post(format!("{url}/api/v1/verify")).json(&body).send().await.unwrap() }
        };
        let code = env.clock.oathtool(&secret, 30);
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
            verify(json!({"username": "bob", "code": env.clock.oathtool(&secret, 0)})).await.status(),
            429,
            "{b}: guessing is throttled"
        );
        let log = env.audit_log();
        assert!(log.contains("(verify for bob)"), "{b}: verifications are audited with the gateway as actor");
    }
}

#[tokio::test]
async fn the_user_is_emailed_when_a_method_is_added_or_removed_or_a_recovery_code_is_used() {
    let sink = SmtpSink::start();
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo", "--smtp-url", &sink.url, "--mail-from", "Twofold <mfa@example.test>"]).await;
    let client = server.browser();
    client.password_step("bob").await;
    let first = client.enrol_totp().await;
    let added = sink.wait_for("A sign-in method was added").await;
    assert!(added.contains("X-Envelope-To: bob@demo.twofold.test"), "{added}");
    assert!(
        added.contains("From: Twofold <mfa@example.test>") && added.contains("Authenticator app: Phone"),
        "{added}"
    );
    assert!(!added.contains(&first), "no secret in mail");

    assert_eq!(client.second_step("code", &env.clock.oathtool(&first, 30)).await.status(), 303, "step-up");
    client.enrol_totp().await;
    let page = client.page("/account/security").await;
    let first_id = twofold_testkit::html::first_method_id(&page);
    client
        .post_form(
            &format!("/account/security/{first_id}/remove"),
            &[("csrf", hidden(&page, "csrf")), ("confirmed", "yes".into())],
        )
        .await;
    sink.wait_for("A sign-in method was removed").await;

    let code = client.recovery_codes().await.swap_remove(0);
    client.sign_out().await;
    client.password_step("bob").await;
    assert_eq!(client.second_step("recovery_code", &code).await.status(), 303);
    let used = sink.wait_for("A recovery code was used").await;
    assert!(used.contains("9 unused code(s) remain"), "{used}");
}

#[tokio::test]
async fn a_trusted_device_skips_the_second_step_until_forgotten_but_never_for_privileged_tiers() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let client = server.browser();
        client.password_step("bob").await;
        let secret = client.enrol_totp().await;
        client.sign_out().await;

        assert!(client.password_step("bob").await.starts_with("/login/mfa"), "{b}");
        let page = client.page("/login/mfa").await;
        assert!(page.contains("Trust this device for 30 days"), "{b}");
        let trusted = client
            .post_form(
                "/login/mfa",
                &[
                    ("code", env.clock.oathtool(&secret, 30).as_str()),
                    ("trust_device", "1"),
                    ("csrf", &hidden(&page, "csrf")),
                ],
            )
            .await;
        assert_eq!(trusted.status(), 303, "{b}");
        client.sign_out().await;
        assert_eq!(client.password_step("bob").await, "/account", "{b}: the trusted browser skips the second step");
        assert!(server.browser().password_step("bob").await.starts_with("/login/mfa"), "{b}: another browser does not");

        let security = client.page("/account/security").await;
        let device = between(&security, r#"action="/account/security/devices/"#, "/forget").to_owned();
        let forgotten = client
            .post_form(&format!("/account/security/devices/{device}/forget"), &[("csrf", hidden(&security, "csrf"))])
            .await;
        assert_eq!(forgotten.status(), 200, "{b}");
        client.sign_out().await;
        assert!(client.password_step("bob").await.starts_with("/login/mfa"), "{b}: forgotten devices ask again");

        // A privileged identity is never offered, nor granted, a trusted device.
        let admin = server.browser();
        admin.password_step("alice").await;
        let alice_secret = admin.enrol_totp().await;
        admin.sign_out().await;
        admin.password_step("alice").await;
        let page = admin.page("/login/mfa").await;
        assert!(!page.contains("Trust this device"), "{b}: not offered to the privileged tier");
        admin
            .post_form(
                "/login/mfa",
                &[
                    ("code", env.clock.oathtool(&alice_secret, 30).as_str()),
                    ("trust_device", "1"),
                    ("csrf", &hidden(&page, "csrf")),
                ],
            )
            .await;
        admin.sign_out().await;
        assert!(admin.password_step("alice").await.starts_with("/login/mfa"), "{b}: nor granted when forced");

        let log = env.audit_log();
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
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        // Control: carol enrols the same way and keeps her app; her next-step code signs in.
        let control = server.browser();
        control.password_step("carol").await;
        let control_secret = control.enrol_totp().await;
        control.sign_out().await;

        let client = server.browser();
        client.password_step("bob").await;
        // Enrolment's test code uses the current step; every later code is from a newer step.
        let old_secret = client.enrol_totp().await;
        // The enrolment upgraded the session: recovery codes follow at once. One of them, not the
        // old app, gives the fresh second factor for the replacement, so the old app has used no
        // step after its enrolment's.
        let recovery = client.recovery_codes().await.swap_remove(0);
        client.sign_out().await;
        client.password_step("bob").await;
        assert_eq!(client.second_step("recovery_code", &recovery).await.status(), 303, "{b}");

        // "Replace Phone" leads to enrolling the new app with the old one named.
        let page = client.page("/account/security").await;
        let csrf = hidden(&page, "csrf");
        let action = form_action_before(&page, "Replace Phone");
        let replace = client.post_form(&action, &[("csrf", &csrf)]).await;
        assert_eq!(replace.status(), 200, "{b}");
        let replace = replace.text().await.unwrap();
        assert!(replace.contains("As soon as it works, <strong>Phone</strong>"), "{b}");
        let old_id = hidden(&replace, "replaces");
        let enrol = client
            .post_form("/account/security/totp", &[("name", "New phone"), ("csrf", &csrf), ("replaces", &old_id)])
            .await
            .text()
            .await
            .unwrap();
        let new_secret = between(&enrol, r#"<code id="secret" class="key">"#, "</code>").replace(' ', "");
        let new_id = hidden(&enrol, "id");
        assert_eq!(hidden(&enrol, "replaces"), old_id, "{b}: the old method rides along to the confirmation");
        let done = client
            .post_form(
                "/account/security/totp/confirm",
                &[
                    ("id", new_id.as_str()),
                    ("code", &env.clock.oathtool(&new_secret, 0)),
                    ("csrf", &csrf),
                    ("replaces", &old_id),
                ],
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(done.contains("no longer works"), "{b}");
        assert!(done.contains("New phone") && !done.contains("Replace Phone<"), "{b}: only the new app is listed");

        // The old app stops working at once; the new one signs in.
        client.sign_out().await;
        client.password_step("bob").await;
        assert_eq!(client.second_step("code", &env.clock.oathtool(&old_secret, 60)).await.status(), 401, "{b}");
        // The old app's next-step code: inside the window and newer than its last used step, so
        // only the retirement can refuse it.
        assert_eq!(
            client.second_step("code", &env.clock.oathtool(&old_secret, 30)).await.status(),
            401,
            "{b}: the old app's otherwise valid code is refused"
        );
        control.password_step("carol").await;
        assert_eq!(
            control.second_step("code", &env.clock.oathtool(&control_secret, 30)).await.status(),
            303,
            "{b}: control: the same kind of code from an app that was not replaced signs in"
        );
        assert_eq!(client.second_step("code", &env.clock.oathtool(&new_secret, 30)).await.status(), 303, "{b}");
        let log = env.audit_log();
        assert!(log.contains(r#""action":"authenticator.remove""#), "{b}: the retirement is audited");
    }
}
