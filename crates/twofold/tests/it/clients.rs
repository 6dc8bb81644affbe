//! Changing registered apps from the console, on every backend: `client update` (and bad
//! input that changes nothing), `client rotate-secret` with an overlap, and `client remove`,
//! which ends the app's refresh and access tokens.

use serde_json::Value;
use twofold_testkit::{Env, stderr, stdout};

use crate::BIN;
use crate::oidc::{code_for, exchange};

const REDIRECT: &str = "http://localhost:9999/callback";
const VERIFIER: &str = "a-verifier-that-is-long-enough-for-pkce-rules-43";

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn an_app_is_updated_given_a_new_secret_and_removed_with_its_tokens() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let made = json(&env.cli(&["client", "add", "Wiki", "--redirect-uri", REDIRECT, "--format", "json"]));
        let id = made["client_id"].as_str().unwrap().to_owned();
        let first_secret = made["client_secret"].as_str().unwrap().to_owned();

        // Update: a new name and a second redirect URI; removing the last one is refused whole.
        let updated = json(&env.cli(&[
            "client",
            "update",
            &id,
            "--name",
            "Team wiki",
            "--add-redirect-uri",
            "https://wiki.example.com/cb",
            "--min-acr",
            "mfa",
            "--format",
            "json",
        ]));
        assert_eq!(updated["name"], "Team wiki", "{b}");
        assert_eq!(updated["redirect_uris"].as_array().map(Vec::len), Some(2), "{b}");
        let refused = env.cli(&[
            "client",
            "update",
            &id,
            "--name",
            "Should not stick",
            "--remove-redirect-uri",
            REDIRECT,
            "--remove-redirect-uri",
            "https://wiki.example.com/cb",
        ]);
        assert!(!refused.status.success() && stderr(&refused).contains("at least one must remain"), "{b}");
        let listed = stdout(&env.cli(&["client", "list"]));
        assert!(listed.contains("Team wiki") && !listed.contains("Should not stick"), "{b}: {listed}");
        let bad = env.cli(&["client", "update", &id, "--min-acr", "strong"]);
        assert!(!bad.status.success() && stderr(&bad).contains("not one of: pwd, mfa, phr, phrh"), "{b}");

        // A new secret, the old one cut off at once (overlap 0).
        let rotated = json(&env.cli(&["client", "rotate-secret", &id, "--overlap", "0", "--format", "json"]));
        let secret = rotated["client_secret"].as_str().unwrap().to_owned();
        let web = server.browser();
        web.password_step("bob").await;
        // The app now asks for two-step sign-in: the first method's test authentication gives it.
        web.enrol_totp().await;
        let code = code_for(&web, &id, VERIFIER).await;
        let (status, _) = exchange(&server.url, &(id.clone(), first_secret), &code, VERIFIER, REDIRECT).await;
        assert_eq!(status, 401, "{b}: the old secret no longer works");
        let code = code_for(&web, &id, VERIFIER).await;
        let (status, tokens) = exchange(&server.url, &(id.clone(), secret.clone()), &code, VERIFIER, REDIRECT).await;
        assert_eq!(status, 200, "{b}: {tokens}");

        // Raising the app's minimum strength ends grants made below it.
        let raised = tokens["refresh_token"].as_str().unwrap().to_owned();
        assert!(env.cli(&["client", "update", &id, "--min-acr", "phr"]).status.success(), "{b}");
        env.advance(10);
        let refused = reqwest::Client::new()
            .post(format!("{}/oauth2/token", server.url))
            .basic_auth(&id, Some(&secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", raised.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400, "{b}");
        assert!(refused.text().await.unwrap().contains("stronger sign-in"), "{b}");
        assert!(env.cli(&["client", "update", &id, "--min-acr", "mfa"]).status.success(), "{b}");
        env.advance(10);
        let code = code_for(&web, &id, VERIFIER).await;
        let (status, tokens) = exchange(&server.url, &(id.clone(), secret.clone()), &code, VERIFIER, REDIRECT).await;
        assert_eq!(status, 200, "{b}: {tokens}");
        let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

        // Remove: asks for --yes; then the app and its tokens are gone.
        let unconfirmed = env.cli(&["client", "remove", &id]);
        assert!(!unconfirmed.status.success() && stderr(&unconfirmed).contains("--yes"), "{b}");
        assert!(env.cli(&["client", "remove", &id, "--yes"]).status.success(), "{b}");
        assert!(!stdout(&env.cli(&["client", "list"])).contains("Team wiki"), "{b}");
        env.advance(10);
        let refreshed = reqwest::Client::new()
            .post(format!("{}/oauth2/token", server.url))
            .basic_auth(&id, Some(&secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())])
            .send()
            .await
            .unwrap();
        assert!(refreshed.status().is_client_error(), "{b}: {}", refreshed.status());
        let again = env.cli(&["client", "remove", &id, "--yes"]);
        assert!(!again.status.success(), "{b}: nothing left to remove");
        let log = env.audit_log();
        assert_eq!(log.matches("\"client.update\"").count(), 3, "{b}");
        for action in ["\"client.secret_rotate\"", "\"client.remove\""] {
            assert_eq!(log.matches(action).count(), 1, "{b}: {action}");
        }
    }
}

/// `serve --demo` registers a demo app and prints an example that works as pasted: the
/// authorization address (bob signs in, and the browser is sent on with a code) and the token
/// request, which returns an ID token for bob. A restart keeps the same app.
#[tokio::test]
async fn the_demo_prints_a_sign_in_example_that_works_as_pasted() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let printed = server.stdout_lines();
        let find = |needle: &str| {
            printed
                .iter()
                .find(|l| l.contains(needle))
                .map(|l| l.trim().to_owned())
                .unwrap_or_else(|| panic!("{b}: {printed:?}"))
        };
        let authorize = find("/oauth2/authorize?");
        let curl = find("curl -s ");
        let web = server.browser();
        web.password_step("bob").await;
        // Printed with the public address (localhost, where passkeys work); the same server.
        let loopback = authorize.replacen("http://localhost:", "http://127.0.0.1:", 1);
        let path = loopback.strip_prefix(&server.url).unwrap_or_else(|| panic!("{b}: {authorize} {}", server.url));
        let sent = web.get_path(path).await;
        let to = twofold_testkit::location(&sent);
        assert!(to.starts_with("http://localhost:8000/callback?code="), "{b}: {} {to}", sent.status());
        let code = to.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();

        let (url, args) = curl.strip_prefix("curl -s ").unwrap().split_once(" -d ").unwrap();
        let form: Vec<(String, String)> = args
            .split(" -d ")
            .map(|pair| {
                let (k, v) = pair.trim().split_once('=').unwrap();
                (k.to_owned(), if v == "PASTE_CODE_HERE" { code.clone() } else { v.to_owned() })
            })
            .collect();
        let answer = reqwest::Client::new().post(url).form(&form).send().await.unwrap();
        let status = answer.status();
        let tokens: Value = answer.json().await.unwrap();
        assert_eq!(status, 200, "{b}: {tokens}");
        assert!(tokens["id_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{b}: {tokens}");

        drop(server);
        let again = env.serve(&["--demo"]).await;
        let query = authorize.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default();
        assert!(again.stdout_lines().iter().any(|l| l.contains(&query)), "{b}: the same app after a restart");
        let apps = stdout(&env.cli(&["client", "list"]));
        assert_eq!(apps.matches("Demo app").count(), 1, "{b}: {apps}");
    }
}
