//! Actions apps declare (RFC 9396 rich authorization requests): an OpenID Connect app says a
//! sign-in is for an `export`, conditional access holds it to the export rules (step-up to a
//! passkey), and the granted details come back in the token response, the access token and
//! introspection. Unknown types are refused, never ignored.

use base64::Engine;
use serde_json::{Value, json};
use twofold_testkit::{Browser, Env, location, stderr};

use crate::BIN;
use crate::oidc::{REDIRECT, exchange, register_client};

const POLICY: &str = r#"
[[rule]]
name = "exports need a passkey"
what = { actions = ["export"] }
outcome = "require"
strength = "phr"
"#;

fn challenge(verifier: &str) -> String {
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Where the authorization endpoint sends `web` for a request carrying `details`.
async fn authorize(web: &Browser, client_id: &str, details: Option<&Value>, verifier: &str) -> String {
    let mut query = vec![
        ("response_type", "code".to_owned()),
        ("client_id", client_id.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("scope", "openid".to_owned()),
        ("state", "s1".to_owned()),
        ("code_challenge", challenge(verifier)),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if let Some(details) = details {
        query.push(("authorization_details", details.to_string()));
    }
    let response = web.get(format!("{}/oauth2/authorize", web.url())).query(&query).send().await.unwrap();
    assert_eq!(response.status(), 303);
    location(&response)
}

fn code_in(location: &str) -> String {
    assert!(location.starts_with(&format!("{REDIRECT}?code=")), "{location}");
    location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_export_rule_fires_for_an_oidc_app_that_declares_an_export_and_details_are_echoed() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let client = register_client(&env);
        let applied = env.cli(&["policy", "apply", &env.write("policy.toml", POLICY)]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));
        let discovery: Value =
            reqwest::get(format!("{url}/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
        assert_eq!(discovery["authorization_details_types_supported"], json!(["twofold_action"]), "{b}");

        let web = server.browser();
        web.password_step("bob").await;
        let secret = web.enrol_totp().await;
        web.sign_out().await;
        web.sign_in_with_totp("bob", &secret).await;
        let verifier = "v".repeat(43);

        // Reading needs nothing more than bob's two-step sign-in.
        code_in(&authorize(&web, &client.0, None, &verifier).await);
        // An export is held to the export rule: a passkey, which bob does not have.
        let export = json!([{"type": "twofold_action", "action": "export", "resource": "reports/q3"}]);
        let refused = authorize(&web, &client.0, Some(&export), &verifier).await;
        assert!(
            !refused.starts_with(&format!("{REDIRECT}?code=")),
            "{b}: no code for an export with a code: {refused}"
        );
        assert!(
            refused.contains("strength=phr") || refused.contains("unmet_authentication_requirements"),
            "{b}: {refused}"
        );
        // Unknown or malformed details are refused to the app, not ignored.
        for bad in [json!([{"type": "payment_initiation"}]), json!([{"type": "twofold_action", "action": "delete"}])] {
            let answer = authorize(&web, &client.0, Some(&bad), &verifier).await;
            assert!(
                answer.starts_with(REDIRECT) && answer.contains("error=invalid_authorization_details"),
                "{b}: {answer}"
            );
        }

        // A modify (no rule about it here) is granted; its details come back everywhere.
        let modify = json!([{"type": "twofold_action", "action": "modify", "resource": "forecast/emea"}]);
        let code = code_in(&authorize(&web, &client.0, Some(&modify), &verifier).await);
        let (status, tokens) = exchange(url, &client, &code, &verifier, REDIRECT).await;
        assert_eq!(status, 200, "{b}: {tokens}");
        assert_eq!(tokens["authorization_details"], modify, "{b}: in the token response (RFC 9396 §7)");
        let access = tokens["access_token"].as_str().unwrap();
        let payload: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(payload["authorization_details"], modify, "{b}: in the access token");
        let introspected: Value = reqwest::Client::new()
            .post(format!("{url}/oauth2/introspect"))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[("token", access)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["authorization_details"], modify, "{b}: in introspection");
        // And it survives a refresh.
        let refreshed: Value = reqwest::Client::new()
            .post(format!("{url}/oauth2/token"))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(refreshed["authorization_details"], modify, "{b}: after a refresh: {refreshed}");
    }
}

/// RFC 8707 resource indicators: a service account's token names the resource server it is
/// for, only one the account registered; such a token is no good at Twofold's own API.
#[tokio::test]
async fn a_service_account_token_names_only_a_registered_resource_as_its_audience() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&[]).await;
        let url = &server.url;
        let out = env.cli(&[
            "service-account",
            "add",
            "Nightly upload",
            "--scope",
            "mfa:verify",
            "--resource",
            "https://uploads.example.com/",
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        let account: Value = serde_json::from_slice(&out.stdout).unwrap();
        let (id, secret) = (account["client_id"].as_str().unwrap(), account["client_secret"].as_str().unwrap());
        let bad = env.cli(&["service-account", "add", "Bad", "--scope", "mfa:verify", "--resource", "https://x/#frag"]);
        assert!(!bad.status.success() && stderr(&bad).contains("RFC 8707"), "{b}: {}", stderr(&bad));
        let token = |resource: Option<&'static str>| async move {
            let mut form = vec![("grant_type", "client_credentials")];
            if let Some(resource) = resource {
                form.push(("resource", resource));
            }
            let response = reqwest::Client::new()
                .post(format!("{url}/oauth2/token"))
                .basic_auth(id, Some(secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        };
        let aud = |tokens: &Value| -> Value {
            let access = tokens["access_token"].as_str().unwrap();
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap());
            serde_json::from_slice::<Value>(&payload.unwrap()).unwrap()["aud"].clone()
        };
        let (status, for_uploads) = token(Some("https://uploads.example.com/")).await;
        assert_eq!(status, 200, "{b}: {for_uploads}");
        assert_eq!(aud(&for_uploads), "https://uploads.example.com/", "{b}");
        let (status, refused) = token(Some("https://payroll.example.com/")).await;
        assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_target")), "{b}: {refused}");
        let (status, plain) = token(None).await;
        assert_eq!(status, 200, "{b}");
        let issuer = url.replace("127.0.0.1", "localhost");
        assert_eq!(aud(&plain), issuer.as_str(), "{b}: without a resource, for Twofold's own API");

        // At Twofold's own API only the token meant for it works.
        let verify = |bearer: String| async move {
            reqwest::Client::new()
                .post(format!("{url}/api/v1/verify"))
                .bearer_auth(bearer)
                .json(&json!({"username": "nobody", "code": "123456"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        };
        assert_eq!(
            verify(for_uploads["access_token"].as_str().unwrap().to_owned()).await,
            401,
            "{b}: another audience"
        );
        assert_ne!(verify(plain["access_token"].as_str().unwrap().to_owned()).await, 401, "{b}");
        let log = env.audit_log();
        assert!(log.contains("oidc.token_refused") && log.contains("invalid_target"), "{b}: the refusal is audited");
    }
}
