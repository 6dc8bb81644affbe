//! Enrolment hijack (THREATS: enrolment left half-open): an attacker with only the password
//! signs in while the person has no second factor, starts an authenticator-app enrolment and
//! keeps its key; the person later sets up their own app; the attacker, on the old session,
//! tries to finish the pending enrolment replacing the person's app, to open Security info
//! changes, and to sign in to apps. Each must be refused until that session steps up, and a
//! pending enrolment expires.

use std::sync::Arc;

use twofold_app::{Actor, App, AppError, AppSettings, Refusal, RequestMeta, SecretKeys};
use twofold_core::Timestamp;
use twofold_core::clock::FixedClock;
use twofold_core::factors::authenticator::PENDING_ENROLMENT_SECS;
use twofold_core::identity::NewUser;
use twofold_store::SqlStore;
use twofold_testkit::html::{between, hidden};
use twofold_testkit::{Browser, Env, SmsSink, api};

use crate::BIN;

#[tokio::test]
async fn a_password_only_session_cannot_finish_an_old_enrolment_or_replace_the_persons_app() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;

        // The attacker signs in with bob's password while bob has no second factor and starts
        // an enrolment, keeping its key.
        let attacker = server.browser();
        attacker.password_step("bob").await;
        let (attacker_csrf, _) = attacker.csrf("/account/security").await;
        let started = attacker
            .post_form("/account/security/totp", &[("name", "Attacker"), ("csrf", &attacker_csrf)])
            .await
            .text()
            .await
            .unwrap();
        let attacker_secret = between(&started, r#"<code id="secret" class="key">"#, "</code>").replace(' ', "");
        let attacker_id = hidden(&started, "id");

        // ... and signs in to an app with the password alone, keeping its refresh token.
        let app = crate::oidc::register_client(&env);
        let verifier = "p".repeat(50);
        let code = crate::oidc::code_for(&attacker, &app.0, &verifier).await;
        let (status, tokens) = crate::oidc::exchange(url, &app, &code, &verifier, crate::oidc::REDIRECT).await;
        assert_eq!(status, 200, "{b}: {tokens}");
        let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

        // bob sets up his own app on his own session.
        let bob = server.browser();
        bob.password_step("bob").await;
        let bob_secret = bob.enrol_totp().await;
        let security = bob.get_path("/account/security").await;
        assert_eq!(security.status(), 200, "{b}: bob's own session counts his test authentication");
        let security = security.text().await.unwrap();
        let bobs_app = twofold_testkit::html::first_method_id(&security);

        // The attacker tries to finish the old enrolment, replacing bob's app.
        let hijack = attacker
            .post_form(
                "/account/security/totp/confirm",
                &[
                    ("id", attacker_id.as_str()),
                    ("code", &env.totp(&attacker_secret, 0)),
                    ("csrf", &attacker_csrf),
                    ("replaces", &bobs_app),
                ],
            )
            .await;
        assert_eq!(hijack.status(), 303, "{b}: sent to sign in again instead");
        assert!(hijack.headers()["location"].to_str().unwrap().starts_with("/login"), "{b}");
        let without_replacing = attacker
            .post_form(
                "/account/security/totp/confirm",
                &[("id", attacker_id.as_str()), ("code", &env.totp(&attacker_secret, 0)), ("csrf", &attacker_csrf)],
            )
            .await;
        assert_eq!(without_replacing.status(), 303, "{b}: nor may it add the attacker's app");

        // The old session no longer opens changes or apps: it must prove a second factor.
        let another =
            attacker.post_form("/account/security/totp", &[("name", "Attacker 2"), ("csrf", &attacker_csrf)]).await;
        assert_eq!(another.status(), 303, "{b}: no new enrolment either");
        let account = attacker.get_path("/account").await;
        assert_eq!(account.status(), 303, "{b}: the old session ended when bob set up his app");
        assert!(account.headers()["location"].to_str().unwrap().starts_with("/login"), "{b}");

        // The app's password-only grant dies with it.
        let (status, body) = crate::oidc::post_form(
            &format!("{url}/oauth2/token"),
            &app,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())],
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: {body}");

        // bob's app still works and is still his only one.
        let methods = bob.page("/account/security").await;
        assert!(methods.contains("Replace Phone") && !methods.contains("Replace Attacker"), "{b}: {methods}");
        let verify = api(&env.admin_token())
            .post(format!("{url}/api/v1/verify"))
            .json(&serde_json::json!({"username": "bob", "code": env.totp(&bob_secret, 30)}))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(verify["valid"], true, "{b}: bob's app was not replaced");
    }
}

/// An enrolment waits at most ten minutes for its test authentication: a key shown long ago
/// (to a stolen session, say) can no longer be confirmed, and the pending method is removed.
/// Run in process on a clock the test moves.
#[tokio::test]
async fn a_pending_enrolment_expires() {
    for db in twofold_testkit::databases().await {
        let b = db.backend;
        let store = Arc::new(SqlStore::open(&db.url).await.unwrap());
        let clock = Arc::new(FixedClock::new(Timestamp::parse("2027-01-04T09:00:00Z").unwrap()));
        let keys = SecretKeys { seal: [7; 32], recovery: [8; 32] };
        // The first method is enrolled on the password alone here, as in the demo: this test
        // is about the pending enrolment's age, not about the first-method rule.
        let password_only = twofold_core::factors::first_enrolment::FirstEnrolmentPolicy {
            rule: twofold_core::factors::first_enrolment::FirstMethodRule::Password,
            networks: Vec::new(),
        };
        let app = App::builder(store, clock.clone(), AppSettings::default(), Some(keys))
            .with_first_enrolment(password_only)
            .build();
        let (actor, meta) = (Actor::system("test"), RequestMeta::default());
        let new_user = NewUser { username: "erin".into(), ..NewUser::default() };
        app.identity()
            .create_user(&actor, &meta, new_user, Some("a long enough password".into()), vec![])
            .await
            .unwrap();
        let signed_in = app.signin().sign_in("erin", "a long enough password".into(), &meta).await.unwrap();
        let current = app.signin().authenticate_session(&signed_in.token).await.unwrap().unwrap();
        let enrolment = app.factors().begin_totp_enrolment(&current, "Phone", &meta).await.unwrap();
        let secret = twofold_core::factors::otp::base32_decode(&enrolment.secret_base32).unwrap();

        clock.advance_seconds(twofold_core::factors::authenticator::PENDING_ENROLMENT_SECS + 1);
        let current = app.signin().authenticate_session(&signed_in.token).await.unwrap().unwrap();
        let code =
            twofold_core::factors::otp::totp(&secret, app.now(), twofold_core::factors::otp::TotpParams::default());
        let late = app.factors().confirm_totp(&current, enrolment.authenticator.id, &code, None, &meta).await;
        assert!(matches!(late, Err(AppError::Refused(Refusal::EnrolmentExpired))), "{b}: {late:?}");
        let info = app.factors().security_info(current.user.id).await.unwrap();
        assert!(info.authenticators.is_empty(), "{b}: the expired enrolment is gone");
    }
}

/// The same against the real server: the test clock moves past the ten minutes, and the key's
/// right code for the moved time is refused (the page says only that something changed) and
/// nothing is stored; as a control, a new enrolment confirmed at once is added.
#[tokio::test]
async fn a_pending_enrolment_expires_on_the_servers_clock() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let erin = server.browser();
        erin.password_step("erin").await;
        let (csrf, _) = erin.csrf("/account/security").await;
        let started = erin.post_form("/account/security/totp", &[("name", "Phone"), ("csrf", &csrf)]).await;
        assert_eq!(started.status(), 200, "{b}");
        let started = started.text().await.unwrap();
        let secret = between(&started, r#"<code id="secret" class="key">"#, "</code>").replace(' ', "");
        let id = hidden(&started, "id");

        env.advance(PENDING_ENROLMENT_SECS + 1);
        let code = env.totp(&secret, 0);
        let late = erin
            .post_form("/account/security/totp/confirm", &[("id", id.as_str()), ("code", &code), ("csrf", &csrf)])
            .await;
        assert_eq!(late.status(), 409, "{b}");
        let page = late.text().await.unwrap();
        assert!(page.contains("waited too long and has expired"), "{b}: the person is told why: {page}");
        let stored = twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT name FROM authenticators").await;
        assert!(stored.is_empty(), "{b}: the expired enrolment is gone: {stored:?}");
        assert!(!erin.enrol_totp().await.is_empty(), "{b}: control: a fresh enrolment confirmed at once is added");
    }
}

/// Attack: enrolment hijack once the only method is retired. When SMS codes reach their end
/// date (or the person's tier may no longer use them), the password alone used to count as
/// "no second factor" and let anyone enrol their own app. Now any confirmed method counts:
/// adding one needs a step-up, which the retired channel may give for this alone.
#[tokio::test]
async fn a_retired_text_message_method_still_guards_enrolment() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let sms = SmsSink::start().await;
        let dir = env.path("config");
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, until: &str| {
            let path = dir.join(name);
            std::fs::write(&path, format!("[sms_otp]\nenabled = true\n{until}webhook_url = \"{}\"\n", sms.url))
                .unwrap();
            path.display().to_string()
        };
        let open = write("open.toml", "");
        let ended = write("ended.toml", "until = 2026-01-01\n");
        let code_in = |n: usize, text: &serde_json::Value| {
            let text = text["text"].as_str().unwrap();
            let at = text.find("code is ").unwrap_or_else(|| panic!("{n}: {text}")) + "code is ".len();
            text[at..at + 6].to_owned()
        };

        // bob sets up text-message codes while they are allowed.
        {
            let server = env.serve(&["--demo", "--config", &open]).await;
            let bob = server.browser();
            bob.password_step("bob").await;
            let (csrf, _) = bob.csrf("/account/security").await;
            let form = [("csrf", csrf.as_str()), ("phone", "+44 7700 900123")];
            let started = bob.post_form("/account/security/sms", &form).await;
            assert_eq!(started.status(), 200, "{b}");
            let id = hidden(&started.text().await.unwrap(), "id");
            let code = code_in(1, &sms.wait_for(1).await.0);
            let form = [("csrf", csrf.as_str()), ("id", id.as_str()), ("code", code.as_str())];
            let done = bob.post_form("/account/security/fallback/confirm", &form).await;
            assert_eq!(done.status(), 200, "{b}");
        }

        // Text messages have ended. The password alone no longer opens enrolment.
        let server = env.serve(&["--demo", "--config", &ended]).await;
        let attacker = server.browser();
        attacker.password_step("bob").await;
        let (csrf, _) = attacker.csrf("/account/security").await;
        let refused = attacker.post_form("/account/security/totp", &[("name", "Attacker"), ("csrf", &csrf)]).await;
        assert_eq!(refused.status(), 303, "{b}: a step-up first");
        assert!(refused.headers()["location"].to_str().unwrap().starts_with("/login/mfa"), "{b}");

        // bob proves his (retired) phone for this purpose, then replaces it with an app.
        let step_up = attacker.page("/login/mfa?return_to=/account/security").await;
        assert!(step_up.contains("Text me a code at"), "{b}: the retired channel is offered to replace it");
        let method = between(&step_up, r#"name="authenticator" value=""#, "\"").to_owned();
        let csrf = hidden(&step_up, "csrf");
        let sent = attacker
            .post_form(
                "/login/mfa/send",
                &[("csrf", csrf.as_str()), ("authenticator", method.as_str()), ("return_to", "/account/security")],
            )
            .await;
        assert_eq!(sent.status(), 200, "{b}");
        let code = code_in(2, &sms.wait_for(2).await.0);
        let proved = attacker
            .post_form(
                "/login/mfa",
                &[("csrf", csrf.as_str()), ("code", code.as_str()), ("return_to", "/account/security")],
            )
            .await;
        assert_eq!(proved.status(), 303, "{b}");
        let secret = attacker.enrol_totp().await;
        assert!(!secret.is_empty(), "{b}: with the phone proved, a replacement can be set up");
    }
}

/// A wrong first code keeps the QR code and key on screen for the session that started the
/// set-up, and for no other: another session (the person's own elsewhere, or whoever holds
/// their password) posting a wrong code for that set-up, even with the first page's token,
/// never sees the key.
#[tokio::test]
async fn a_wrong_code_shows_the_key_again_only_to_the_session_that_started_it() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let mine = server.browser();
        mine.password_step("bob").await;
        let (csrf, _) = mine.csrf("/account/security").await;
        let started = mine.post_form("/account/security/totp", &[("name", "Phone"), ("csrf", &csrf)]).await;
        let started = started.text().await.unwrap();
        let id = hidden(&started, "id");
        let view = hidden(&started, "view");
        let key = between(&started, r#"<code id="secret" class="key">"#, "</code>").to_owned();
        let wrong = |client: &Browser, csrf: String, view: String| {
            let id = id.clone();
            let client = client.clone();
            async move {
                let form = [("id", id.as_str()), ("code", "000000"), ("csrf", csrf.as_str()), ("view", view.as_str())];
                client.post_form("/account/security/totp/confirm", &form).await.text().await.unwrap()
            }
        };
        let again = wrong(&mine, csrf.clone(), view.clone()).await;
        assert!(again.contains(&key) && again.contains("<svg"), "{b}: the same session sees it again");
        let elsewhere = server.browser();
        elsewhere.password_step("bob").await;
        let (other_csrf, _) = elsewhere.csrf("/account/security").await;
        let stolen = wrong(&elsewhere, other_csrf.clone(), view.clone()).await;
        assert!(!stolen.contains(&key) && !stolen.contains("<svg"), "{b}: another session with the token sees nothing");
        let bare = wrong(&elsewhere, other_csrf, String::new()).await;
        assert!(!bare.contains(&key), "{b}");
    }
}
