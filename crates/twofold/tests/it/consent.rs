//! The consent screen of third-party apps, over HTTP: asked once per set of scopes, again
//! for new scopes or `prompt=consent`, never for first-party apps; `prompt=none` answers
//! `consent_required`; Deny answers `access_denied`; a forged form changes nothing.

use serde_json::Value;
use twofold_testkit::html::{between, hidden};
use twofold_testkit::{Browser, Env, location, stderr};

use crate::BIN;

const REDIRECT: &str = "http://localhost:9999/callback";

fn add_client(env: &Env, extra: &[&str]) -> String {
    let mut args = vec!["client", "add", "Partner Wiki", "--redirect-uri", REDIRECT, "--format", "json"];
    args.extend_from_slice(extra);
    let out = env.cli(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    value["client_id"].as_str().unwrap().to_owned()
}

async fn authorize(web: &Browser, client_id: &str, scope: &str, prompt: Option<&str>) -> reqwest::Response {
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st"),
    ];
    if let Some(prompt) = prompt {
        query.push(("prompt", prompt));
    }
    web.get(format!("{}/oauth2/authorize", web.url())).query(&query).send().await.unwrap()
}

async fn answer(web: &Browser, page: &str, csrf: &str, decision: &str) -> reqwest::Response {
    let request = hidden(page, "request").replace("&#38;", "&").replace("&amp;", "&");
    web.post_form("/oauth2/consent", &[("csrf", csrf), ("request", request.as_str()), ("decision", decision)]).await
}

#[tokio::test]
async fn third_party_apps_ask_for_consent_once_per_scope_set() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let partner = add_client(&env, &["--third-party"]);
        let own = add_client(&env, &[]);
        let web = server.browser();
        web.password_step("bob").await;

        // A first-party app never asks.
        let direct = authorize(&web, &own, "openid email", None).await;
        assert!(location(&direct).starts_with(&format!("{REDIRECT}?code=")), "{b}");

        // The third-party app: prompt=none cannot show the page.
        let silent = authorize(&web, &partner, "openid email", Some("none")).await;
        assert!(location(&silent).starts_with(&format!("{REDIRECT}?error=consent_required")), "{b}");
        let shown = authorize(&web, &partner, "openid email", None).await;
        assert_eq!(shown.status(), 200, "{b}");
        let page = shown.text().await.unwrap();
        assert!(page.contains("Allow Partner Wiki?") && page.contains("see your email address"), "{b}");
        let csrf = hidden(&page, "csrf");

        // A forged form (no session token) changes nothing; Deny tells the app.
        assert_eq!(answer(&web, &page, "forged", "allow").await.status(), 403, "{b}");
        let denied = answer(&web, &page, &csrf, "deny").await;
        assert!(location(&denied).starts_with(&format!("{REDIRECT}?error=access_denied&state=st")), "{b}");
        let still = authorize(&web, &partner, "openid email", None).await;
        assert_eq!(still.status(), 200, "{b}: a denial is not remembered as consent");

        // Allow: back to the authorization endpoint, which now issues the code.
        let allowed = answer(&web, &page, &csrf, "allow").await;
        let next = location(&allowed);
        assert!(next.starts_with("/oauth2/authorize?"), "{b}: {next}");
        let code = web.get_path(&next).await;
        assert!(location(&code).starts_with(&format!("{REDIRECT}?code=")), "{b}");
        let again = authorize(&web, &partner, "openid email", None).await;
        assert!(location(&again).starts_with(&format!("{REDIRECT}?code=")), "{b}: asked once");

        // New scopes, or prompt=consent, ask again.
        let more = authorize(&web, &partner, "openid email groups", None).await;
        assert_eq!(more.status(), 200, "{b}");
        assert!(between(&more.text().await.unwrap(), "<ul>", "</ul>").contains("groups"), "{b}");
        assert_eq!(authorize(&web, &partner, "openid email", Some("consent")).await.status(), 200, "{b}");

        let log = env.audit_log();
        assert_eq!(log.matches("consent.grant").count(), 1, "{b}");

        // Browsers hold the redirects after a form to its page's CSP form-action: the sign-in
        // page allows the app's registered origin, and nothing an attacker names.
        let csp = |return_to: String| {
            let web = server.browser();
            let url = url.clone();
            async move {
                let page = web.get(format!("{url}/login")).query(&[("return_to", return_to)]).send().await.unwrap();
                page.headers()["content-security-policy"].to_str().unwrap().to_owned()
            }
        };
        let encoded = |uri: &str| uri.replace(':', "%3A").replace('/', "%2F");
        let registered = csp(format!("/oauth2/authorize?client_id={partner}&redirect_uri={}", encoded(REDIRECT))).await;
        assert!(registered.contains("form-action 'self' http://localhost:9999;"), "{b}: {registered}");
        let evil =
            csp(format!("/oauth2/authorize?client_id={partner}&redirect_uri={}", encoded("https://evil.example/cb")))
                .await;
        assert!(evil.contains("form-action 'self';"), "{b}: {evil}");
    }
}

/// The apps a person allowed are listed on their account page, and removing one's access
/// withdraws the consent (the app asks again) and revokes the tokens it holds for them.
#[tokio::test]
async fn a_person_removes_an_apps_access_from_their_account_page() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let out = env.cli(&[
            "client",
            "add",
            "Partner Wiki",
            "--redirect-uri",
            REDIRECT,
            "--third-party",
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        let made: Value = serde_json::from_slice(&out.stdout).unwrap();
        let client =
            (made["client_id"].as_str().unwrap().to_owned(), made["client_secret"].as_str().unwrap().to_owned());
        let web = server.browser();
        web.password_step("bob").await;
        let shown = authorize(&web, &client.0, "openid email", None).await;
        let page = shown.text().await.unwrap();
        let allowed = answer(&web, &page, &hidden(&page, "csrf"), "allow").await;
        assert_eq!(allowed.status(), 303, "{b}");
        let code = crate::oidc::code_for(&web, &client.0, "a-verifier-that-is-long-enough-for-pkce-rules-43").await;
        let (status, tokens) = crate::oidc::exchange(
            &server.url,
            &client,
            &code,
            "a-verifier-that-is-long-enough-for-pkce-rules-43",
            REDIRECT,
        )
        .await;
        assert_eq!(status, 200, "{b}: {tokens}");

        let account = web.page("/account").await;
        assert!(account.contains("Apps you allowed") && account.contains("Remove access for Partner Wiki"), "{b}");
        let removed = web
            .post_form("/account/apps/withdraw", &[("csrf", hidden(&account, "csrf")), ("client_id", client.0.clone())])
            .await;
        assert_eq!(location(&removed), "/account?withdrawn=1", "{b}");
        let after = web.page("/account?withdrawn=1").await;
        assert!(after.contains("that app no longer has access") && !after.contains("Remove access for"), "{b}");
        assert_eq!(authorize(&web, &client.0, "openid email", None).await.status(), 200, "{b}: it asks again");
        let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
        let refreshed = reqwest::Client::new()
            .post(format!("{}/oauth2/token", server.url))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), 400, "{b}: its refresh token no longer works");
        let again = web
            .post_form("/account/apps/withdraw", &[("csrf", hidden(&after, "csrf")), ("client_id", client.0.clone())])
            .await;
        assert_eq!(again.status(), 404, "{b}: nothing left to withdraw");
        assert_eq!(env.audit_log().matches("\"consent.revoke\"").count(), 1, "{b}");
    }
}
