//! The consent screen of third-party apps, over HTTP: asked once per set of scopes, again
//! for new scopes or `prompt=consent`, never for first-party apps; `prompt=none` answers
//! `consent_required`; Deny answers `access_denied`; a forged form changes nothing.

use serde_json::Value;

use crate::helpers::{Env, browser, stderr};
use crate::mfa::{between, hidden, password_step};

const REDIRECT: &str = "http://localhost:9999/callback";

fn add_client(env: &Env, extra: &[&str]) -> String {
    let mut args = vec!["client", "add", "Partner Wiki", "--redirect-uri", REDIRECT, "--format", "json"];
    args.extend_from_slice(extra);
    let out = env.cli(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    value["client_id"].as_str().unwrap().to_owned()
}

async fn authorize(
    web: &reqwest::Client,
    url: &str,
    client_id: &str,
    scope: &str,
    prompt: Option<&str>,
) -> reqwest::Response {
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
    web.get(format!("{url}/oauth2/authorize")).query(&query).send().await.unwrap()
}

#[track_caller]
fn location(response: &reqwest::Response) -> String {
    match response.headers().get("location") {
        Some(value) => value.to_str().unwrap().to_owned(),
        None => panic!("no redirect: {} {:?}", response.status(), response.headers()),
    }
}

async fn answer(web: &reqwest::Client, url: &str, page: &str, csrf: &str, decision: &str) -> reqwest::Response {
    let request = hidden(page, "request").replace("&#38;", "&").replace("&amp;", "&");
    web.post(format!("{url}/oauth2/consent"))
        .form(&[("csrf", csrf), ("request", request.as_str()), ("decision", decision)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn third_party_apps_ask_for_consent_once_per_scope_set() {
    for env in Env::all().await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let partner = add_client(&env, &["--third-party"]);
        let own = add_client(&env, &[]);
        let web = browser();
        password_step(&web, url, "bob").await;

        // A first-party app never asks.
        let direct = authorize(&web, url, &own, "openid email", None).await;
        assert!(location(&direct).starts_with(&format!("{REDIRECT}?code=")), "{b}");

        // The third-party app: prompt=none cannot show the page.
        let silent = authorize(&web, url, &partner, "openid email", Some("none")).await;
        assert!(location(&silent).starts_with(&format!("{REDIRECT}?error=consent_required")), "{b}");
        let shown = authorize(&web, url, &partner, "openid email", None).await;
        assert_eq!(shown.status(), 200, "{b}");
        let page = shown.text().await.unwrap();
        assert!(page.contains("Allow Partner Wiki?") && page.contains("see your email address"), "{b}");
        let csrf = hidden(&page, "csrf");

        // A forged form (no session token) changes nothing; Deny tells the app.
        assert_eq!(answer(&web, url, &page, "forged", "allow").await.status(), 403, "{b}");
        let denied = answer(&web, url, &page, &csrf, "deny").await;
        assert!(location(&denied).starts_with(&format!("{REDIRECT}?error=access_denied&state=st")), "{b}");
        let still = authorize(&web, url, &partner, "openid email", None).await;
        assert_eq!(still.status(), 200, "{b}: a denial is not remembered as consent");

        // Allow: back to the authorization endpoint, which now issues the code.
        let allowed = answer(&web, url, &page, &csrf, "allow").await;
        let next = location(&allowed);
        assert!(next.starts_with("/oauth2/authorize?"), "{b}: {next}");
        let code = web.get(format!("{url}{next}")).send().await.unwrap();
        assert!(location(&code).starts_with(&format!("{REDIRECT}?code=")), "{b}");
        let again = authorize(&web, url, &partner, "openid email", None).await;
        assert!(location(&again).starts_with(&format!("{REDIRECT}?code=")), "{b}: asked once");

        // New scopes, or prompt=consent, ask again.
        let more = authorize(&web, url, &partner, "openid email groups", None).await;
        assert_eq!(more.status(), 200, "{b}");
        assert!(between(&more.text().await.unwrap(), "<ul>", "</ul>").contains("groups"), "{b}");
        assert_eq!(authorize(&web, url, &partner, "openid email", Some("consent")).await.status(), 200, "{b}");

        let log = String::from_utf8_lossy(&env.cli(&["audit", "export"]).stdout).into_owned();
        assert_eq!(log.matches("consent.grant").count(), 1, "{b}");

        // Browsers hold the redirects after a form to its page's CSP form-action: the sign-in
        // page allows the app's registered origin, and nothing an attacker names.
        let csp = |return_to: String| {
            let web = browser();
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
