//! `private_key_jwt` (RFC 7523) for service accounts, driven by Authlib (a client Twofold did
//! not write, tests/oidc/service_jwt.py): a token with an RS256 and an ES256 assertion, and
//! the attacks refused: a replayed assertion, a key that is not registered, an expired one,
//! one for another server, a tampered one, a guessed secret.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use twofold_testkit::{Env, api, stderr, stdout};

use crate::BIN;

fn script(args: &[&str]) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc/service_jwt.py");
    let out = Command::new("python3").arg(path).args(args).output().expect("python3 with authlib (.ci/run)");
    assert!(out.status.success(), "service_jwt.py failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[tokio::test]
async fn a_service_account_authenticates_with_a_signed_assertion_once() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&[]).await;
        let issuer = server.url.replace("127.0.0.1", "localhost");
        let keys = env.path("keys");
        let keys = keys.to_str().unwrap();
        script(&["keygen", keys]);

        // A private key is refused with the reason, and nothing is created.
        std::fs::write(format!("{keys}/private.json"), r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#)
            .unwrap();
        let refused = env.cli(&[
            "service-account",
            "add",
            "Leaky",
            "--scope",
            "a",
            "--jwks-file",
            &format!("{keys}/private.json"),
        ]);
        assert!(!refused.status.success(), "{b}");
        assert!(stderr(&refused).contains("private key"), "{b}: {}", stderr(&refused));
        let listed: Value =
            serde_json::from_slice(&env.cli(&["service-account", "list", "--format", "json"]).stdout).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 0, "{b}");

        let account = env.cli_json(&[
            "service-account",
            "add",
            "Key job",
            "--scope",
            "reports:read",
            "--jwks-file",
            &format!("{keys}/public.jwks.json"),
        ]);
        assert_eq!(account["client_secret"], Value::Null, "{b}: no secret exists to steal");
        assert_eq!(account["token_endpoint_auth_method"], "private_key_jwt", "{b}");
        let client_id = account["client_id"].as_str().unwrap();

        let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            discovery["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&"private_key_jwt".into())
        );

        let result: Value =
            serde_json::from_slice(&script(&["token", &issuer, client_id, keys, "reports:read"])).unwrap();
        assert_eq!(result["token"]["token_type"], "Bearer", "{b}: {result}");
        assert_eq!(result["token"]["scope"], "reports:read", "{b}");
        assert_eq!(result["token"]["expires_in"], 3600, "{b}");
        assert_eq!(result["es256"], 200, "{b}: the P-256 key named by kid");
        assert_eq!(result["replay"][0], 200, "{b}");
        assert_eq!(result["replay"][1], 401, "{b}: an assertion works once");
        assert!(result["replay"][2].as_str().unwrap().contains("replay"), "{b}: {result}");
        for attack in ["unregistered", "expired", "other_audience", "tampered", "secret_instead"] {
            assert_eq!(result[attack], 401, "{b}: {attack}: {result}");
        }

        // Refusals are audited.
        let log = env.audit_log();
        assert!(log.matches("oidc.token_refused").count() >= 6, "{b}");
    }
}

#[tokio::test]
async fn clients_and_service_accounts_are_registered_through_the_admin_api() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&[]).await;
        let url = &server.url;
        let admin = server.api(&env.admin_token());
        let helpdesk = server.api(&env.token_with_role("helpdesk"));

        let app = serde_json::json!({
            "client_name": "Wiki",
            "redirect_uris": ["https://wiki.example.com/cb"],
            "scope": "openid email",
            "third_party": true
        });
        let refused = helpdesk.post_json("/api/v1/clients", &app).await;
        assert_eq!(refused.status(), 403, "{b}");
        let bad = serde_json::json!({"client_name": "Wiki", "redirect_uris": ["http://wiki.example.com/cb"]});
        let invalid = admin.post_json("/api/v1/clients", &bad).await;
        assert_eq!(invalid.status(), 422, "{b}: plain http to another host");
        assert!(invalid.text().await.unwrap().contains("redirect_uri"), "{b}");
        let typo = serde_json::json!({"client_name": "Wiki", "redirect_uri": ["https://wiki.example.com/cb"]});
        assert_eq!(admin.post_json("/api/v1/clients", &typo).await.status(), 400, "{b}");

        let created = admin.post_json("/api/v1/clients", &app).await;
        assert_eq!(created.status(), 201, "{b}");
        let created: Value = created.json().await.unwrap();
        assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic", "{b}");
        assert_eq!(created["consent_required"], true, "{b}");
        assert_eq!(created["client_secret"].as_str().unwrap().len(), 43, "{b}: 256 bits, shown once");

        let account =
            serde_json::json!({"client_name": "Exporter", "scope": "reports:read", "access_token_lifetime": 600});
        let made: Value = admin.post_json("/api/v1/service-accounts", &account).await.json().await.unwrap();
        let (id, secret) = (made["client_id"].as_str().unwrap(), made["client_secret"].as_str().unwrap());
        let token = client_credentials(url, id, secret).await;
        assert_eq!(token["expires_in"], 600, "{b}: {token}");

        let listed = admin.get_path("/api/v1/clients").await.text().await.unwrap();
        assert!(listed.contains("Wiki") && listed.contains("Exporter"), "{b}");
        assert!(!listed.contains(secret) && !listed.contains("secret_hash"), "{b}: no secret is ever listed");
        let accounts: Value = admin.get_json("/api/v1/service-accounts").await;
        assert_eq!(accounts["service_accounts"].as_array().unwrap().len(), 1, "{b}");

        // The report shows the grant just made, and a rotation whose old secret still works.
        let unused = env.cli(&["service-account", "add", "Forgotten", "--scope", "x"]);
        assert!(unused.status.success(), "{b}");
        let report = |env: &Env| -> Value {
            let out = env.cli(&["report", "service-accounts", "--format", "json"]);
            assert!(out.status.success(), "{}", stderr(&out));
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let find = |report: &Value, name: &str| -> Value {
            report["service_accounts"].as_array().unwrap().iter().find(|l| l["name"] == name).unwrap().clone()
        };
        let before = report(&env);
        assert!(find(&before, "Exporter")["last_used_at"].as_i64().is_some(), "{b}: {before}");
        assert!(find(&before, "Forgotten")["last_used_at"].is_null(), "{b}");
        assert_eq!(find(&before, "Exporter")["secret_age_days"], 0, "{b}");
        assert_eq!(find(&before, "Exporter")["findings"], serde_json::json!([]), "{b}");
        assert!(env.cli(&["service-account", "rotate-secret", id, "--overlap", "3600"]).status.success(), "{b}");
        let after = report(&env);
        let findings = find(&after, "Exporter")["findings"].to_string();
        assert!(findings.contains("the previous secret still works until"), "{b}: {findings}");
        let table = stdout(&env.cli(&["report", "service-accounts"]));
        assert!(table.contains("Forgotten") && table.contains("never"), "{b}: {table}");
    }
}

/// The token endpoint's answer to a client-credentials grant with client_secret_basic.
async fn client_credentials(url: &str, id: &str, secret: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{url}/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A service account's access token from the client-credentials grant.
async fn service_token(url: &str, env: &Env, scope: &str) -> (String, String, String) {
    let out = env.cli(&["service-account", "add", "Gateway", "--scope", scope, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let account: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (id, secret) = (account["client_id"].as_str().unwrap(), account["client_secret"].as_str().unwrap());
    let token = client_credentials(url, id, secret).await;
    (token["access_token"].as_str().unwrap().to_owned(), id.to_owned(), secret.to_owned())
}

#[tokio::test]
async fn a_gateway_service_account_with_mfa_verify_checks_codes() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let web = server.browser();
        web.password_step("bob").await;
        let secret = web.enrol_totp().await;

        let (token, id, client_secret) = service_token(url, &env, "mfa:verify").await;
        let gateway = server.api(&token);
        let check = |code: String| {
            let gateway = gateway.clone();
            async move {
                let response =
                    gateway.post_json("/api/v1/verify", &serde_json::json!({"username": "bob", "code": code})).await;
                (response.status().as_u16(), response.text().await.unwrap())
            }
        };
        let (status, body) = check(env.totp(&secret, 30)).await;
        assert_eq!(status, 200, "{b}: {body}");
        assert!(body.contains("\"valid\":true"), "{b}: {body}");
        // Its token opens nothing else, and one without the scope opens not even this.
        assert_eq!(gateway.get_path("/api/v1/users").await.status(), 403, "{b}");
        let (other, _, _) = service_token(url, &env, "reports:read").await;
        let refused = api(&other)
            .post(format!("{url}/api/v1/verify"))
            .json(&serde_json::json!({"username": "bob", "code": "123456"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{b}");
        // A revoked token stops working at once.
        let revoked = reqwest::Client::new()
            .post(format!("{url}/oauth2/revoke"))
            .basic_auth(&id, Some(&client_secret))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200, "{b}");
        assert_eq!(check("123456".into()).await.0, 401, "{b}");
        // The check is audited with the service account as the actor.
        let log = env.audit_log();
        assert!(log.contains("service:Gateway"), "{b}");
    }
}

#[tokio::test]
async fn mutual_tls_authenticates_a_service_account_and_binds_its_tokens() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        std::fs::create_dir_all(&env.data_dir).unwrap();
        let dir = env.path("tls");
        let dir = dir.to_str().unwrap();
        let tool = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/tls/mtls.py");
        let made = Command::new("python3").arg(&tool).args(["certs", dir]).status().expect("python3 with cryptography");
        assert!(made.success(), "{b}");
        let file = |name: &str| format!("{dir}/{name}");
        let server = env
            .serve(&[
                "--demo",
                "--tls-cert",
                &file("server.pem"),
                "--tls-key",
                &file("server.key"),
                "--client-ca",
                &file("ca.pem"),
            ])
            .await;
        assert!(server.url.starts_with("https://"), "{b}: {}", server.url);

        let account = env.cli_json(&[
            "service-account",
            "add",
            "Gateway",
            "--scope",
            "mfa:verify",
            "--tls-client-cert",
            &file("gateway.pem"),
        ]);
        assert_eq!(account["client_secret"], Value::Null, "{b}");
        assert_eq!(account["token_endpoint_auth_method"], "tls_client_auth", "{b}");
        let client_id = account["client_id"].as_str().unwrap();

        let run = Command::new("python3").arg(&tool).args(["run", &server.url, client_id, dir]).output().unwrap();
        assert!(run.status.success(), "{b}: {}", String::from_utf8_lossy(&run.stderr));
        let result: Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(result["healthz_without_certificate"], 200, "{b}: browsers need no certificate: {result}");
        assert_eq!(result["token"], 200, "{b}: {result}");
        assert_eq!(result["cnf"]["x5t#S256"], result["expected_x5t"], "{b}: the token is bound to the certificate");
        assert_eq!(result["without_certificate"], 401, "{b}");
        assert_eq!(result["other_clients_certificate"], 401, "{b}: pinned to its own certificate");
        assert_eq!(result["rogue_certificate"], "handshake refused", "{b}: not from the client CA: {result}");
        assert_eq!(result["bound_token_with_certificate"], 200, "{b}");
        assert_eq!(result["bound_token_without_certificate"], 401, "{b}: a stolen token alone is useless");
        assert_eq!(result["bound_token_with_other_certificate"], 401, "{b}");
    }
}

/// Attack: a stolen integration secret used from elsewhere. A policy holds the nightly upload
/// to the integration network; before the fix, service-account rules were accepted and never
/// evaluated, so the secret worked from any address. Now the token endpoint refuses it from
/// outside (through a trusted proxy's X-Forwarded-For, as deployed), audits and counts the
/// refusal, and still serves it from inside; another account is not touched by the rule.
#[tokio::test]
async fn a_service_account_gets_no_token_from_outside_its_network() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--trusted-proxy", "127.0.0.1/32"]).await;
        let account = |name: &str| -> (String, String) {
            let out = env.cli(&["service-account", "add", name, "--scope", "upload", "--format", "json"]);
            assert!(out.status.success(), "{b}: {}", stderr(&out));
            let made: Value = serde_json::from_slice(&out.stdout).unwrap();
            (made["client_id"].as_str().unwrap().to_owned(), made["client_secret"].as_str().unwrap().to_owned())
        };
        let (upload, upload_secret) = account("Nightly upload");
        let (other, other_secret) = account("Reporting");
        let policy = env.write(
            "integration.toml",
            &format!(
                "[zones]\nintegration = [\"10.20.0.0/16\"]\n\n[[rule]]\nname = \"nightly upload from the integration network only\"\n\
                 who = {{ service_accounts = [\"{upload}\"] }}\nwhen = {{ outside_zones = [\"integration\"] }}\noutcome = \"block\"\n"
            ),
        );
        let applied = env.cli(&["policy", "apply", &policy]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));
        let ask = |id: String, secret: String, from: &'static str| {
            let url = server.url.clone();
            async move {
                let response = reqwest::Client::new()
                    .post(format!("{url}/oauth2/token"))
                    .basic_auth(&id, Some(&secret))
                    .header("x-forwarded-for", from)
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.json::<Value>().await.unwrap())
            }
        };
        let (status, refused) = ask(upload.clone(), upload_secret.clone(), "203.0.113.9").await;
        assert_eq!((status, refused["error"].as_str()), (400, Some("unauthorized_client")), "{b}: {refused}");
        assert!(refused.get("access_token").is_none(), "{b}");
        let reason = refused["error_description"].as_str().unwrap_or_default();
        assert!(reason.contains("nightly upload from the integration network only"), "{b}: {reason}");
        let (status, inside) = ask(upload.clone(), upload_secret, "10.20.7.1").await;
        assert_eq!(status, 200, "{b}: {inside}");
        assert!(inside["access_token"].as_str().is_some(), "{b}");
        let (status, untouched) = ask(other, other_secret, "203.0.113.9").await;
        assert_eq!(status, 200, "{b}: the rule names one account: {untouched}");

        let log = env.audit_log();
        let refusals: Vec<&str> =
            log.lines().filter(|l| l.contains("\"oidc.token_refused\"") && l.contains(&upload)).collect();
        assert_eq!(refusals.len(), 1, "{b}: {log}");
        assert!(refusals[0].contains("203.0.113.9"), "{b}: the refusal names the address: {}", refusals[0]);
        let metrics = reqwest::get(format!("{}/metrics", server.url)).await.unwrap().text().await.unwrap();
        assert!(metrics.contains("twofold_service_token_refusals_total{reason=\"policy\"} 1"), "{b}: {metrics}");
    }
}
