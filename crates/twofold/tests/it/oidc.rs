//! The OpenID Connect provider with a relying party Twofold did not write (Authlib, in
//! tests/oidc/rp.py): discovery, the code flow with PKCE, an RS256 ID token verified from
//! the JWKS with the right acr/amr, userinfo; and the protocol attacks refused per the
//! specifications: wrong client secret, bad PKCE verifier, reused code, mismatched redirect
//! URI, unregistered redirect, forged token; step-up that cannot be met; key rotation.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use serde_json::Value;
use sha2::Digest;
use twofold_testkit::{Browser, Env, stderr};

use crate::BIN;

pub(crate) const REDIRECT: &str = "http://localhost:9999/callback";

pub(crate) fn register_client(env: &Env) -> (String, String) {
    let out = env.cli(&["client", "add", "Demo app", "--redirect-uri", REDIRECT, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    (value["client_id"].as_str().unwrap().to_owned(), value["client_secret"].as_str().unwrap().to_owned())
}

/// Runs Authlib's sign-ins (one per `acr_rounds` entry, comma-separated) as `username`.
fn relying_party(
    issuer: &str,
    client: &(String, String),
    username: &str,
    code: &str,
    acr_rounds: &str,
    passkey_dir: Option<&str>,
) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc/rp.py");
    let mut args = vec![issuer, &client.0, &client.1, REDIRECT, username, "twofold-demo-pass", code, acr_rounds];
    args.extend(passkey_dir);
    let out = Command::new("python3").arg(script).args(&args).output().expect("python3 with authlib (.ci/run)");
    assert!(out.status.success(), "rp.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Starts an authorization with a signed-in browser; returns the code from the redirect.
pub(crate) async fn code_for(client: &Browser, client_id: &str, verifier: &str) -> String {
    let response = client
        .get(format!("{}/oauth2/authorize", client.url()))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("state", "s1"),
            ("code_challenge", &challenge(verifier)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{REDIRECT}?code=")) && location.contains("state=s1"), "{location}");
    location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned()
}

pub(crate) async fn exchange(
    url: &str,
    client: &(String, String),
    code: &str,
    verifier: &str,
    redirect: &str,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/oauth2/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_stock_relying_party_signs_in_with_password_and_totp_and_attacks_are_refused() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let issuer = url.replace("127.0.0.1", "localhost");
        let client = register_client(&env);

        let discovery: Value =
            reqwest::get(format!("{url}/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
        assert_eq!(discovery["issuer"], issuer.as_str(), "{b}");
        assert_eq!(discovery["code_challenge_methods_supported"], serde_json::json!(["S256"]), "{b}");
        assert_eq!(discovery["acr_values_supported"], serde_json::json!(["pwd", "mfa", "phr", "phrh"]), "{b}");

        // bob sets up an authenticator app; Authlib then signs him in with password + code.
        let web = server.browser();
        web.password_step("bob").await;
        let secret = web.enrol_totp().await;
        let result = relying_party(&issuer, &client, "bob", &env.totp(&secret, 30), "mfa", None);
        let result = &result["rounds"][0];
        let claims = &result["claims"];
        assert_eq!(claims["acr"], "mfa", "{b}: {result}");
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]), "{b}");
        assert_eq!(claims["email"], "bob@demo.twofold.test", "{b}");
        assert!(claims["groups"].as_array().unwrap().iter().any(|g| g == "engineering"), "{b}: {claims}");
        assert!(claims["auth_time"].as_i64().unwrap() > 0, "{b}");
        assert_eq!(result["userinfo"]["sub"], claims["sub"], "{b}");
        assert_eq!(result["token"]["expires_in"], 3600, "{b}");

        // Step-up to a passkey bob does not have is refused to the app, not looped.
        let to_phr = web
            .get(format!("{url}/oauth2/authorize"))
            .query(&[
                ("response_type", "code"),
                ("client_id", client.0.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("acr_values", "phr"),
                ("code_challenge", &challenge(&"v".repeat(43))),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        let location = to_phr.headers()["location"].to_str().unwrap();
        assert!(location.contains("error=unmet_authentication_requirements"), "{b}: {location}");
        // His browser session proved the app's code when he set it up (mfa): asking for mfa
        // issues a code at once. A fresh browser that has only his password is sent to the
        // second step first.
        let mfa_authorize = format!(
            "{url}/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&acr_values=mfa&code_challenge={}&code_challenge_method=S256",
            client.0,
            challenge(&"v".repeat(43))
        );
        let to_mfa = web.get(&mfa_authorize).send().await.unwrap();
        assert!(to_mfa.headers()["location"].to_str().unwrap().starts_with(REDIRECT), "{b}");
        let fresh = server.browser();
        assert_eq!(fresh.password_step("bob").await, "/login/mfa?return_to=/account", "{b}");
        let pending = fresh.get(&mfa_authorize).send().await.unwrap();
        let location = pending.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/login"), "{b}: {location}");

        // Attacks on the exchange.
        let verifier = "a".repeat(50);
        let code = code_for(&web, &client.0, &verifier).await;
        let wrong_secret = (client.0.clone(), "not-the-secret".to_owned());
        let (status, body) = exchange(url, &wrong_secret, &code, &verifier, REDIRECT).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{b}");
        let (status, body) = exchange(url, &client, &code, &"b".repeat(50), REDIRECT).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: bad PKCE verifier");
        let (status, body) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{b}: the code died with the bad attempt"
        );

        let code = code_for(&web, &client.0, &verifier).await;
        let (status, body) = exchange(url, &client, &code, &verifier, "http://localhost:9999/other").await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: redirect_uri mismatch");

        let code = code_for(&web, &client.0, &verifier).await;
        let (status, tokens) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        assert_eq!(status, 200, "{b}: {tokens}");
        let (status, body) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: a code works once");
        // The replay revoked what the code's first exchange issued (RFC 6749 §4.1.2): a new one.
        let access = tokens["access_token"].as_str().unwrap();
        let info =
            reqwest::Client::new().get(format!("{url}/oauth2/userinfo")).bearer_auth(access).send().await.unwrap();
        assert_eq!(info.status(), 401, "{b}: revoked with the replay");
        let code = code_for(&web, &client.0, &verifier).await;
        let (status, tokens) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        assert_eq!(status, 200, "{b}: {tokens}");

        // A forged access token (claims changed, signature kept) is refused by userinfo.
        let access = tokens["access_token"].as_str().unwrap();
        let parts: Vec<&str> = access.split('.').collect();
        let forged_claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"someone-else"}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        let info =
            reqwest::Client::new().get(format!("{url}/oauth2/userinfo")).bearer_auth(&forged).send().await.unwrap();
        assert_eq!(info.status(), 401, "{b}");
        let info =
            reqwest::Client::new().get(format!("{url}/oauth2/userinfo")).bearer_auth(access).send().await.unwrap();
        assert_eq!(info.status(), 200, "{b}");

        // An unregistered redirect URI is never redirected to.
        let evil = web
            .get(format!("{url}/oauth2/authorize?response_type=code&client_id={}&redirect_uri=https://evil.example/cb&scope=openid", client.0))
            .send()
            .await
            .unwrap();
        assert_eq!(evil.status(), 400, "{b}");
        assert!(evil.headers().get("location").is_none(), "{b}");
        // prompt=none without a session answers login_required at the app.
        let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let none = anonymous
            .get(format!("{url}/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&prompt=none&state=z", client.0))
            .send()
            .await
            .unwrap();
        let location = none.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with(REDIRECT) && location.contains("error=login_required") && location.contains("state=z"),
            "{b}: {location}"
        );

        // Rotation: the new key signs, the old one stays published for its tokens' lifetime.
        assert!(env.cli(&["keys", "rotate"]).status.success(), "{b}");
        let jwks: Value = reqwest::get(format!("{url}/oauth2/jwks")).await.unwrap().json().await.unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 6, "{b}: RS256, ES256 and EdDSA, new and retired: {jwks}");
        assert_eq!(keys.iter().filter(|k| k["kty"] == "EC" && k["crv"] == "P-256").count(), 2, "{b}");
        let info =
            reqwest::Client::new().get(format!("{url}/oauth2/userinfo")).bearer_auth(access).send().await.unwrap();
        assert_eq!(info.status(), 200, "{b}: tokens signed by the retired key still verify");

        let log = env.audit_log();
        for action in ["client.create", "oidc.token", "oidc.token_refused", "signing_key.rotate"] {
            assert!(log.contains(&format!(r#""action":"{action}""#)), "{b}: {action} audited");
        }
    }
}

#[tokio::test]
async fn a_relying_party_steps_up_from_mfa_to_a_passkey() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let issuer = url.replace("127.0.0.1", "localhost");
        let client = register_client(&env);
        let key_dir = env.path("carol-key");
        std::fs::create_dir_all(&key_dir).unwrap();
        let key_dir = key_dir.to_str().unwrap();

        // carol's first method is a passkey; with it she steps up to add an authenticator app.
        let web = server.browser();
        web.password_step("carol").await;
        let (status, body) = crate::attestation::register(&web, &issuer, std::path::Path::new(key_dir), false).await;
        assert_eq!(status, 200, "{b}: {body}");
        crate::attestation::passkey_second_step(&web, &issuer, std::path::Path::new(key_dir)).await;
        let secret = web.enrol_totp().await;

        // Round 1 asks for mfa (a code does); round 2, in the same browser, asks for phr:
        // Twofold asks for the passkey only, then issues an ID token that proves it.
        let result = relying_party(&issuer, &client, "carol", &env.totp(&secret, 30), "mfa,phr", Some(key_dir));
        let (first, second) = (&result["rounds"][0]["claims"], &result["rounds"][1]["claims"]);
        assert_eq!(first["acr"], "mfa", "{b}: {result}");
        assert_eq!(first["amr"], serde_json::json!(["pwd", "otp", "mfa"]), "{b}");
        assert_eq!(second["acr"], "phr", "{b}: {result}");
        assert_eq!(second["amr"], serde_json::json!(["pwd", "hwk", "mfa"]), "{b}");
        assert!(second["auth_time"].as_i64() >= first["auth_time"].as_i64(), "{b}: the step-up renewed auth_time");
        assert_eq!(first["sub"], second["sub"], "{b}");
    }
}

pub(crate) async fn post_form(url: &str, client: &(String, String), form: &[(&str, &str)]) -> (u16, Value) {
    let response =
        reqwest::Client::new().post(url).basic_auth(&client.0, Some(&client.1)).form(form).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn refresh_tokens_rotate_reuse_revokes_the_family_and_tokens_can_be_revoked_and_introspected() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = register_client(&env);
        let web = server.browser();
        web.password_step("dave").await;
        let verifier = "c".repeat(60);
        let code = code_for(&web, &client.0, &verifier).await;
        let (status, first) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        assert_eq!(status, 200, "{b}: {first}");
        let (access, refresh) = (first["access_token"].as_str().unwrap(), first["refresh_token"].as_str().unwrap());

        // Introspection (RFC 7662) by the confidential client.
        let introspect = format!("{url}/oauth2/introspect");
        let (status, info) = post_form(&introspect, &client, &[("token", access)]).await;
        assert_eq!(status, 200, "{b}");
        assert_eq!(
            (info["active"].as_bool(), info["client_id"].as_str()),
            (Some(true), Some(client.0.as_str())),
            "{b}"
        );
        assert_eq!(info["acr"], "pwd", "{b}: dave signed in with a password only");
        let (_, info) = post_form(&introspect, &client, &[("token", refresh)]).await;
        assert_eq!(info["token_type"], "refresh_token", "{b}: {info}");
        let (_, info) = post_form(&introspect, &client, &[("token", "nonsense")]).await;
        assert_eq!(info, serde_json::json!({"active": false}), "{b}");
        let (status, _) = post_form(&introspect, &(client.0.clone(), "wrong".into()), &[("token", access)]).await;
        assert_eq!(status, 401, "{b}: introspection needs the client's secret");

        // Rotation: a refresh gives a new refresh token; the old one presented again revokes
        // the whole family, including the new one.
        let token_url = format!("{url}/oauth2/token");
        let (status, second) =
            post_form(&token_url, &client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!(status, 200, "{b}: {second}");
        let rotated = second["refresh_token"].as_str().unwrap();
        assert_ne!(rotated, refresh, "{b}");
        assert!(second["id_token"].is_string(), "{b}");
        let (status, body) =
            post_form(&token_url, &client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: reuse");
        let (status, _) =
            post_form(&token_url, &client, &[("grant_type", "refresh_token"), ("refresh_token", rotated)]).await;
        assert_eq!(status, 400, "{b}: the family was revoked with the reuse");

        // Revocation (RFC 7009): an access token stops working; a refresh token's family ends.
        let code = code_for(&web, &client.0, &verifier).await;
        let (_, third) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        let (access, refresh) = (third["access_token"].as_str().unwrap(), third["refresh_token"].as_str().unwrap());
        let revoke = format!("{url}/oauth2/revoke");
        assert_eq!(post_form(&revoke, &client, &[("token", access)]).await.0, 200, "{b}");
        let userinfo =
            reqwest::Client::new().get(format!("{url}/oauth2/userinfo")).bearer_auth(access).send().await.unwrap();
        assert_eq!(userinfo.status(), 401, "{b}: a revoked access token");
        assert_eq!(post_form(&introspect, &client, &[("token", access)]).await.1["active"], false, "{b}");
        assert_eq!(post_form(&revoke, &client, &[("token", refresh)]).await.0, 200, "{b}");
        let (status, _) =
            post_form(&token_url, &client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!(status, 400, "{b}: a revoked refresh token");
        assert_eq!(
            post_form(&revoke, &client, &[("token", "unknown")]).await.0,
            200,
            "{b}: unknown tokens are no error"
        );

        let log = env.audit_log();
        assert!(log.contains(r#""action":"oidc.revoke""#), "{b}");
        assert!(log.contains("every token of its family is revoked"), "{b}: the reuse is audited");
    }
}

#[tokio::test]
async fn service_accounts_get_short_lived_tokens_with_only_their_scopes_and_rotate_secrets() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&[]).await;
        let url = &server.url;
        let created = env.cli_json(&[
            "service-account",
            "add",
            "Nightly report",
            "--scope",
            "reports:read",
            "--scope",
            "mfa:verify",
        ]);
        let account =
            (created["client_id"].as_str().unwrap().to_owned(), created["client_secret"].as_str().unwrap().to_owned());
        let token_url = format!("{url}/oauth2/token");

        // client_secret_basic, all granted scopes, one hour.
        let (status, token) = post_form(&token_url, &account, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, 200, "{b}: {token}");
        assert_eq!((token["expires_in"].as_i64(), token["token_type"].as_str()), (Some(3600), Some("Bearer")), "{b}");
        assert_eq!(token["scope"], "mfa:verify reports:read", "{b}");
        assert!(token.get("refresh_token").is_none() && token.get("id_token").is_none(), "{b}: {token}");
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token["access_token"].as_str().unwrap().split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "ES256", "{b}: high-volume tokens use the cheap algorithm");

        // A subset of scopes; a scope not granted is refused.
        let (status, subset) =
            post_form(&token_url, &account, &[("grant_type", "client_credentials"), ("scope", "reports:read")]).await;
        assert_eq!(status, 200, "{b}: {subset}");
        assert_eq!(subset["scope"], "reports:read", "{b}");
        // An account registered for client_secret_post sends its secret in the form.
        let poster = env.cli_json(&[
            "service-account",
            "add",
            "Poster",
            "--scope",
            "reports:read",
            "--token-endpoint-auth-method",
            "client_secret_post",
        ]);
        assert_eq!(poster["token_endpoint_auth_method"], "client_secret_post", "{b}");
        let post = reqwest::Client::new()
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", poster["client_id"].as_str().unwrap()),
                ("client_secret", poster["client_secret"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 200, "{b}");
        let (status, body) =
            post_form(&token_url, &account, &[("grant_type", "client_credentials"), ("scope", "admin")]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{b}");
        let wrong = (account.0.clone(), "guess".to_owned());
        assert_eq!(post_form(&token_url, &wrong, &[("grant_type", "client_credentials")]).await.0, 401, "{b}");

        // Introspection by the account itself shows what the token carries.
        let (_, info) = post_form(
            &format!("{url}/oauth2/introspect"),
            &account,
            &[("token", subset["access_token"].as_str().unwrap())],
        )
        .await;
        assert_eq!(
            (info["active"].as_bool(), info["sub"].as_str()),
            (Some(true), Some(account.0.as_str())),
            "{b}: {info}"
        );

        // An app client may not use client_credentials; a service account has no code flow.
        let app = register_client(&env);
        let (status, body) = post_form(&token_url, &app, &[("grant_type", "client_credentials")]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")), "{b}");

        // Rotation: both secrets work during the overlap, then only the new one (the test
        // clock moves past the overlap's end).
        let rotated = env.cli_json(&["service-account", "rotate-secret", &account.0, "--overlap", "2"]);
        let new = (account.0.clone(), rotated["client_secret"].as_str().unwrap().to_owned());
        assert_eq!(post_form(&token_url, &new, &[("grant_type", "client_credentials")]).await.0, 200, "{b}");
        assert_eq!(
            post_form(&token_url, &account, &[("grant_type", "client_credentials")]).await.0,
            200,
            "{b}: overlap"
        );
        env.advance(3);
        assert_eq!(
            post_form(&token_url, &account, &[("grant_type", "client_credentials")]).await.0,
            401,
            "{b}: expired"
        );
        assert_eq!(post_form(&token_url, &new, &[("grant_type", "client_credentials")]).await.0, 200, "{b}");

        // Shorter lifetimes can be set, longer ones cannot.
        let short = env.cli(&[
            "service-account",
            "add",
            "Probe",
            "--scope",
            "x",
            "--token-lifetime",
            "600",
            "--format",
            "json",
        ]);
        let short: Value = serde_json::from_slice(&short.stdout).unwrap();
        let short =
            (short["client_id"].as_str().unwrap().to_owned(), short["client_secret"].as_str().unwrap().to_owned());
        assert_eq!(
            post_form(&token_url, &short, &[("grant_type", "client_credentials")]).await.1["expires_in"],
            600,
            "{b}"
        );
        assert!(
            !env.cli(&["service-account", "add", "Long", "--scope", "x", "--token-lifetime", "7200"]).status.success()
        );

        let log = env.audit_log();
        assert!(log.contains(r#""action":"service_account.token""#), "{b}: service-account activity is logged");
        assert!(log.contains(r#""action":"client.secret_rotate""#), "{b}");
        assert!(!log.contains(&account.1) && !log.contains(&new.1), "{b}: no secret in the log");
    }
}

#[tokio::test]
async fn a_clients_minimum_strength_holds_and_apps_can_sign_people_out() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let out =
            env.cli(&["client", "add", "Payroll", "--redirect-uri", REDIRECT, "--min-acr", "phr", "--format", "json"]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        let strict: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(strict["min_acr"], "phr", "{b}");
        assert!(!env.cli(&["client", "add", "X", "--redirect-uri", REDIRECT, "--min-acr", "strong"]).status.success());

        // bob has only an authenticator app: Payroll's floor (phr) cannot be met, even unasked.
        let web = server.browser();
        web.password_step("bob").await;
        web.enrol_totp().await;
        let answer = web
            .get(format!(
                "{url}/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&code_challenge={}&code_challenge_method=S256",
                strict["client_id"].as_str().unwrap(),
                challenge(&"v".repeat(43))
            ))
            .send()
            .await
            .unwrap();
        let location = answer.headers()["location"].to_str().unwrap();
        assert!(location.contains("error=unmet_authentication_requirements"), "{b}: {location}");

        // RP-initiated logout with the ID token as hint ends the session and returns to the app.
        let client = register_client(&env);
        let verifier = "d".repeat(50);
        let code = code_for(&web, &client.0, &verifier).await;
        let (_, tokens) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        let hint = tokens["id_token"].as_str().unwrap();
        let refused = web
            .get(format!("{url}/oauth2/logout"))
            .query(&[("id_token_hint", hint), ("post_logout_redirect_uri", "https://evil.example/")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400, "{b}: an unregistered post-logout URI");
        let no_hint = web.get_path("/oauth2/logout").await;
        assert_eq!(no_hint.status(), 200, "{b}: without a hint bob is asked");
        assert!(no_hint.text().await.unwrap().contains("Sign out of Twofold?"), "{b}: no one else can sign bob out");
        assert_eq!(web.get_path("/account").await.status(), 200, "{b}: still signed in");
        let out = web
            .get(format!("{url}/oauth2/logout"))
            .query(&[("id_token_hint", hint), ("post_logout_redirect_uri", REDIRECT), ("state", "bye")])
            .send()
            .await
            .unwrap();
        assert_eq!(out.headers()["location"].to_str().unwrap(), format!("{REDIRECT}?state=bye"), "{b}");
        let after = web.get_path("/account").await;
        assert!(after.headers()["location"].to_str().unwrap().starts_with("/login"), "{b}: the session ended");
    }
}

/// Attack: a stale password-only session riding `max_age`. An app asks `max_age=0` ("sign in
/// again now"); the sign-in page is sent `prompt=login`, so it asks for the password instead
/// of sending the old session straight back (where the request, answered, would issue a code
/// without a new sign-in). The way back carries neither `max_age` nor `prompt=login`: the new
/// sign-in answers them, once.
#[tokio::test]
async fn max_age_zero_asks_a_password_only_session_to_sign_in_again() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let (client_id, _) = register_client(&env);
        let web = server.browser();
        web.password_step("bob").await;
        let asked = web
            .get_path(&format!(
                "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}&scope=openid&state=s&max_age=0"
            ))
            .await;
        let login = twofold_testkit::location(&asked);
        assert!(login.starts_with("/login?") && login.ends_with("&prompt=login"), "{b}: {login}");
        assert!(!login.contains("max_age"), "{b}: the way back is answered by the sign-in: {login}");
        let page = web.get_path(&login).await;
        assert_eq!(page.status(), 200, "{b}: the sign-in page asks, it does not send the old session back");
        assert!(page.text().await.unwrap().contains("name=\"password\""), "{b}");
    }
}

/// Attack: keeping a password-only app grant past a promotion. bob, standard, signs in to an
/// app with his password alone and keeps its refresh token; made privileged, he (or whoever
/// holds his password) would keep refreshing a password-only grant for ever although such an
/// account gets no password-only session. The next refresh now ends the grant.
#[tokio::test]
async fn a_password_only_grant_ends_when_its_account_becomes_privileged() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let app = register_client(&env);
        let web = server.browser();
        web.password_step("bob").await;
        let verifier = "v".repeat(50);
        let code = code_for(&web, &app.0, &verifier).await;
        let (status, tokens) = exchange(url, &app, &code, &verifier, REDIRECT).await;
        assert_eq!(status, 200, "{b}: {tokens}");
        let refresh = |token: String| {
            let (url, app) = (url.clone(), app.clone());
            async move {
                post_form(
                    &format!("{url}/oauth2/token"),
                    &app,
                    &[("grant_type", "refresh_token"), ("refresh_token", &token)],
                )
                .await
            }
        };
        let (status, renewed) = refresh(tokens["refresh_token"].as_str().unwrap().to_owned()).await;
        assert_eq!(status, 200, "{b}: standard, the grant stands: {renewed}");
        let promoted = env.cli(&["user", "update", "bob", "--tier", "privileged"]);
        assert!(promoted.status.success(), "{b}: {}", stderr(&promoted));
        let (status, refused) = refresh(renewed["refresh_token"].as_str().unwrap().to_owned()).await;
        assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_grant")), "{b}: {refused}");
    }
}
