//! Security regressions at the OpenID Connect provider, each test performing one attack
//! against the real server on every backend: PKCE downgrade, code and refresh-token replay
//! (and what they must end), another client's refresh token, a refresh widening its scope,
//! a client authenticating another way than it registered, introspection of other clients'
//! and disabled people's tokens, and RP-initiated logout with someone else's ID token.

use serde_json::Value;
use twofold_testkit::html::hidden;
use twofold_testkit::{Browser, Env, Server, stderr};

use crate::BIN;
use crate::oidc::{REDIRECT, code_for, exchange, post_form, register_client};

/// A code from an authorization request without `code_challenge` (allowed for a
/// confidential client).
async fn code_without_pkce(web: &Browser, client_id: &str) -> String {
    let response = web
        .get(format!("{}/oauth2/authorize", web.url()))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{REDIRECT}?code=")), "{location}");
    location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned()
}

/// The token endpoint's answer to a code exchange with exactly these form fields.
async fn exchange_form(url: &str, client: &(String, String), form: &[(&str, &str)]) -> (u16, Value) {
    post_form(&format!("{url}/oauth2/token"), client, form).await
}

async fn userinfo_status(url: &str, access: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{url}/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn refresh(url: &str, client: &(String, String), token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend(scope.map(|s| ("scope", s)));
    post_form(&format!("{url}/oauth2/token"), client, &form).await
}

async fn introspect(url: &str, client: &(String, String), token: &str) -> Value {
    let (status, body) = post_form(&format!("{url}/oauth2/introspect"), client, &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// dave signed in with a password in a fresh browser, and the tokens of one code exchange.
async fn signed_in_tokens(server: &Server, client: &(String, String)) -> (Browser, Value) {
    let url = &server.url;
    let web = server.browser();
    web.password_step("dave").await;
    let verifier = "t".repeat(50);
    let code = code_for(&web, &client.0, &verifier).await;
    let (status, tokens) = exchange(url, client, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    (web, tokens)
}

fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("{key} in {value}")).to_owned()
}

/// Attack: PKCE downgrade (RFC 9700 §2.1.1). An attacker injects a stolen code that was
/// issued without `code_challenge` and sends a `code_verifier` of its own choosing, hoping
/// the server checks PKCE only when the code had a challenge. Also: a code issued with a
/// challenge is exchanged without any verifier.
#[tokio::test]
async fn a_verifier_for_a_code_issued_without_challenge_is_refused() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = register_client(&env);
        let web = server.browser();
        web.password_step("dave").await;

        let code = code_without_pkce(&web, &client.0).await;
        let (status, body) = exchange(url, &client, &code, &"v".repeat(50), REDIRECT).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: downgrade: {body}");
        assert!(body["error_description"].as_str().unwrap().contains("without code_challenge"), "{b}: {body}");

        let verifier = "w".repeat(50);
        let code = code_for(&web, &client.0, &verifier).await;
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
        let (status, body) = exchange_form(url, &client, &form).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: no verifier: {body}");

        // Without PKCE on either side, a confidential client's exchange still works.
        let code = code_without_pkce(&web, &client.0).await;
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT)];
        let (status, body) = exchange_form(url, &client, &form).await;
        assert_eq!(status, 200, "{b}: {body}");
    }
}

/// Attack: authorization code replay (RFC 6749 §4.1.2). An attacker who got hold of a code
/// after the app exchanged it replays it; the replay is refused, and the tokens the first
/// exchange issued — the refresh token family and the access token — must stop working.
#[tokio::test]
async fn a_replayed_code_revokes_the_tokens_of_its_first_exchange() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = register_client(&env);
        let web = server.browser();
        web.password_step("dave").await;
        let verifier = "r".repeat(50);
        let code = code_for(&web, &client.0, &verifier).await;
        let (status, first) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        assert_eq!(status, 200, "{b}: {first}");
        let (access, refresh_token) = (s(&first, "access_token"), s(&first, "refresh_token"));
        assert_eq!(userinfo_status(url, &access).await, 200, "{b}");

        // Someone else holding the leaked, spent code (another registered app) replays it:
        // refused, and it revokes nothing of dave's.
        let other = register_client(&env);
        let (status, _) = exchange(url, &other, &code, &verifier, REDIRECT).await;
        assert_eq!(status, 400, "{b}");
        assert_eq!(userinfo_status(url, &access).await, 200, "{b}: another client's replay ends nothing");

        let (status, body) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: the replay: {body}");
        assert_eq!(userinfo_status(url, &access).await, 401, "{b}: the first exchange's access token is revoked");
        assert_eq!(introspect(url, &client, &access).await, serde_json::json!({"active": false}), "{b}");
        let (status, body) = refresh(url, &client, &refresh_token, None).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: its refresh token too");

        let log = env.audit_log();
        assert!(log.contains(r#""action":"oidc.token_family_revoke""#), "{b}: the revocation is audited");
        assert!(log.contains("authorization code reused"), "{b}");
    }
}

/// Attack: refresh-token theft (RFC 9700 §4.14.2). The thief and the app both use the same
/// refresh token; the second use is detected as reuse and revokes the family — and the
/// access tokens already issued from that family (to the thief, or to the app) must die with
/// it, or the theft keeps paying off for an hour.
#[tokio::test]
async fn a_reused_refresh_token_ends_the_access_tokens_of_its_family() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = register_client(&env);
        let (_web, first) = signed_in_tokens(&server, &client).await;
        let (first_access, stolen) = (s(&first, "access_token"), s(&first, "refresh_token"));
        let (status, second) = refresh(url, &client, &stolen, None).await;
        assert_eq!(status, 200, "{b}: {second}");
        let (second_access, rotated) = (s(&second, "access_token"), s(&second, "refresh_token"));
        assert_eq!(userinfo_status(url, &second_access).await, 200, "{b}");

        let (status, body) = refresh(url, &client, &stolen, None).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: reuse: {body}");
        for (name, access) in [("first", &first_access), ("rotated", &second_access)] {
            assert_eq!(userinfo_status(url, access).await, 401, "{b}: the {name} access token is revoked");
            assert_eq!(introspect(url, &client, access).await["active"], false, "{b}: {name}");
        }
        assert_eq!(refresh(url, &client, &rotated, None).await.0, 400, "{b}: the rotated refresh token too");
        let log = env.audit_log();
        assert!(log.contains("refresh token reused"), "{b}: the revocation is audited");
    }
}

/// Attack: denial of service through another client's refresh token. A client that learnt
/// someone else's refresh token (a log, a shared proxy) presents it as its own; it must be
/// refused ("issued to another client") without revoking — or even spending — the owner's
/// token, whose family must keep working.
#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused_without_revoking() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let owner = register_client(&env);
        let other = register_client(&env);
        let (_web, tokens) = signed_in_tokens(&server, &owner).await;
        let (access, token) = (s(&tokens, "access_token"), s(&tokens, "refresh_token"));

        for _ in 0..2 {
            let (status, body) = refresh(url, &other, &token, None).await;
            assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{b}: {body}");
            assert!(body["error_description"].as_str().unwrap().contains("another client"), "{b}: {body}");
        }
        assert_eq!(userinfo_status(url, &access).await, 200, "{b}: the owner's access token still works");
        let (status, body) = refresh(url, &owner, &token, None).await;
        assert_eq!(status, 200, "{b}: the owner's refresh token still works: {body}");
        let rotated = s(&body, "refresh_token");
        assert_eq!(refresh(url, &owner, &rotated, None).await.0, 200, "{b}: and so does its family");
    }
}

/// Attack: scope escalation on refresh (RFC 6749 §6). A client refreshes asking for more
/// than the person granted (`profile` on a grant of `openid email`); it must get
/// `invalid_scope`, not a silently narrowed answer, and the refresh token is not spent by
/// the refusal. Asking for less is allowed and narrows the new access token only.
#[tokio::test]
async fn a_refresh_asking_for_a_wider_scope_is_invalid_scope() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = register_client(&env);
        let (_web, tokens) = signed_in_tokens(&server, &client).await;
        assert_eq!(tokens["scope"], "openid email", "{b}");
        let token = s(&tokens, "refresh_token");

        let (status, body) = refresh(url, &client, &token, Some("openid email profile")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{b}: {body}");
        let (status, narrowed) = refresh(url, &client, &token, Some("openid")).await;
        assert_eq!(status, 200, "{b}: the refusal did not spend the token: {narrowed}");
        assert_eq!(narrowed["scope"], "openid", "{b}");
        let (status, again) = refresh(url, &client, &s(&narrowed, "refresh_token"), None).await;
        assert_eq!((status, again["scope"].as_str()), (200, Some("openid email")), "{b}: the grant is kept: {again}");
    }
}

/// Attack: client authentication downgrade. A client registered for
/// `client_secret_basic` (the default) sends its secret in the form body
/// (`client_secret_post`), and one registered for `client_secret_post` uses Basic; only the
/// registered `token_endpoint_auth_method` is accepted (401 invalid_client), at the token and
/// the introspection endpoints.
#[tokio::test]
async fn a_client_authenticates_only_with_its_registered_method() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&[]).await;
        let url = &server.url;
        let token_url = format!("{url}/oauth2/token");
        let add = |name: &str, method: Option<&str>| -> (String, String) {
            let mut args = vec!["service-account", "add", name, "--scope", "x", "--format", "json"];
            if let Some(method) = method {
                args.extend(["--token-endpoint-auth-method", method]);
            }
            let out = env.cli(&args);
            assert!(out.status.success(), "{b}: {}", stderr(&out));
            let made: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(made["token_endpoint_auth_method"], method.unwrap_or("client_secret_basic"), "{b}");
            (s(&made, "client_id"), s(&made, "client_secret"))
        };
        let in_form = |account: &(String, String), endpoint: &str, extra: (&'static str, &'static str)| {
            let (id, secret, url) = (account.0.clone(), account.1.clone(), format!("{url}{endpoint}"));
            async move {
                let response = reqwest::Client::new()
                    .post(url)
                    .form(&[("client_id", id.as_str()), ("client_secret", secret.as_str()), extra])
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let basic = add("Basic job", None);
        let (status, body) = in_form(&basic, "/oauth2/token", ("grant_type", "client_credentials")).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{b}: post for basic: {body}");
        let (status, _) = in_form(&basic, "/oauth2/introspect", ("token", "x")).await;
        assert_eq!(status, 401, "{b}: at introspection too");
        assert_eq!(post_form(&token_url, &basic, &[("grant_type", "client_credentials")]).await.0, 200, "{b}");

        let post = add("Post job", Some("client_secret_post"));
        let (status, body) = post_form(&token_url, &post, &[("grant_type", "client_credentials")]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{b}: basic for post: {body}");
        let (status, body) = in_form(&post, "/oauth2/token", ("grant_type", "client_credentials")).await;
        assert_eq!(status, 200, "{b}: {body}");

        // An app registered through the API without a method is client_secret_basic.
        let admin = server.api(&env.admin_token());
        let app: Value = admin
            .post_json("/api/v1/clients", &serde_json::json!({"client_name": "Wiki", "redirect_uris": [REDIRECT]}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(app["token_endpoint_auth_method"], "client_secret_basic", "{b}");
        let app = (s(&app, "client_id"), s(&app, "client_secret"));
        let (status, _) = in_form(&app, "/oauth2/token", ("grant_type", "refresh_token")).await;
        assert_eq!(status, 401, "{b}: an app's secret in the form");
    }
}

/// Attack: token scanning through introspection (RFC 7662 §4). Any confidential client asks
/// about tokens issued to another client and learns whose they are and what they allow; and
/// the access token of a person who has been disabled is reported active. Only the client
/// the token was issued to (or one registered `--may-introspect`, a resource server) gets an
/// answer; a disabled person's tokens are inactive.
#[tokio::test]
async fn introspection_answers_only_the_issued_to_client_and_not_for_disabled_people() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let owner = register_client(&env);
        let nosy = register_client(&env);
        let gateway =
            env.cli_json(&["service-account", "add", "API gateway", "--scope", "introspect", "--may-introspect"]);
        assert_eq!(gateway["may_introspect"], true, "{b}");
        let gateway = (s(&gateway, "client_id"), s(&gateway, "client_secret"));
        let (_web, tokens) = signed_in_tokens(&server, &owner).await;
        let (access, refresh_token) = (s(&tokens, "access_token"), s(&tokens, "refresh_token"));

        let inactive = serde_json::json!({"active": false});
        assert_eq!(introspect(url, &nosy, &access).await, inactive, "{b}: another client's access token");
        assert_eq!(introspect(url, &nosy, &refresh_token).await, inactive, "{b}: another client's refresh token");
        assert_eq!(introspect(url, &owner, &access).await["active"], true, "{b}: its own");
        let seen = introspect(url, &gateway, &access).await;
        assert_eq!((seen["active"].as_bool(), seen["client_id"].as_str()), (Some(true), Some(owner.0.as_str())), "{b}");

        let out = env.cli(&["user", "disable", "dave"]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        assert_eq!(userinfo_status(url, &access).await, 401, "{b}");
        assert_eq!(introspect(url, &owner, &access).await, inactive, "{b}: a disabled person's access token");
        assert_eq!(introspect(url, &gateway, &access).await, inactive, "{b}");
        assert_eq!(introspect(url, &owner, &refresh_token).await, inactive, "{b}: and refresh token");
    }
}

/// Attack: forced sign-out with someone else's ID token (RP-Initiated Logout 1.0 §2–3). A
/// site sends bob's browser to the logout endpoint with an `id_token_hint` that is a valid ID
/// token — of another person (carol). Bob's session must not end silently: he is asked
/// "Sign out of Twofold?" (a CSRF-protected form), as without any hint. With his own ID token
/// (GET or POST) the session ends at once.
#[tokio::test]
async fn an_id_token_of_someone_else_does_not_sign_this_browser_out() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = register_client(&env);
        let verifier = "l".repeat(50);
        let carols = {
            let web = server.browser();
            web.password_step("carol").await;
            let code = code_for(&web, &client.0, &verifier).await;
            s(&exchange(url, &client, &code, &verifier, REDIRECT).await.1, "id_token")
        };
        let bob = server.browser();
        bob.password_step("bob").await;
        let code = code_for(&bob, &client.0, &verifier).await;
        let bobs = s(&exchange(url, &client, &code, &verifier, REDIRECT).await.1, "id_token");
        let signed_in = |web: &Browser| {
            let web = web.clone();
            async move { web.get_path("/account").await.status() == 200 }
        };

        let logout = format!("{url}/oauth2/logout");
        let forced = bob
            .get(&logout)
            .query(&[("id_token_hint", carols.as_str()), ("post_logout_redirect_uri", REDIRECT)])
            .send()
            .await
            .unwrap();
        assert_eq!(forced.status(), 200, "{b}");
        let page = forced.text().await.unwrap();
        assert!(page.contains("Sign out of Twofold?") && page.contains(">Sign out</button>"), "{b}: {page}");
        assert!(signed_in(&bob).await, "{b}: carol's ID token did not end bob's session");
        let forced_post = bob.post(&logout).form(&[("id_token_hint", carols.as_str())]).send().await.unwrap();
        assert_eq!(forced_post.status(), 200, "{b}: POST is supported and asks too");
        assert!(signed_in(&bob).await, "{b}");
        let forged = bob.post(&logout).form(&[("csrf", "guess")]).send().await.unwrap();
        assert_eq!(forged.status(), 200, "{b}: a forged confirmation only asks again");
        assert!(signed_in(&bob).await, "{b}");

        let by_link = bob.get(&logout).query(&[("csrf", hidden(&page, "csrf").as_str())]).send().await.unwrap();
        assert_eq!(by_link.status(), 200, "{b}: a link cannot carry the confirmation");
        assert!(signed_in(&bob).await, "{b}");

        // Bob confirms on the page: signed out, and back at the app.
        let confirm = bob
            .post(&logout)
            .form(&[
                ("csrf", hidden(&page, "csrf").as_str()),
                ("id_token_hint", carols.as_str()),
                ("post_logout_redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(confirm.status(), 303, "{b}");
        assert_eq!(confirm.headers()["location"].to_str().unwrap(), REDIRECT, "{b}");
        assert!(!signed_in(&bob).await, "{b}: confirmed, the session ended");

        // His own ID token, by POST (form-encoded): ends his session without asking.
        bob.password_step("bob").await;
        assert!(signed_in(&bob).await, "{b}");
        let own = bob
            .post(&logout)
            .form(&[("id_token_hint", bobs.as_str()), ("post_logout_redirect_uri", REDIRECT), ("state", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(own.headers()["location"].to_str().unwrap(), format!("{REDIRECT}?state=x"), "{b}");
        assert!(!signed_in(&bob).await, "{b}");
    }
}
