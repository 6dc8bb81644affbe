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
