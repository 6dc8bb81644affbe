//! ID tokens signed per client with RS256 (default), ES256 or EdDSA, each verified by Authlib
//! (tests/oidc/verify_jwt.py) from the published JWKS; an algorithm Twofold does not sign with
//! (HS256: a shared-secret MAC) is refused at registration.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use serde_json::Value;
use sha2::Digest;
use twofold_testkit::{Env, stderr};

use crate::BIN;

const REDIRECT: &str = "http://localhost:9999/callback";

fn verified_by_authlib(jwks_url: &str, token: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc/verify_jwt.py");
    let out = Command::new("python3").arg(script).args([jwks_url, token]).output().expect("python3 with authlib");
    assert!(out.status.success(), "Authlib refused the token: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn each_client_gets_id_tokens_signed_with_its_algorithm() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let web = server.browser();
        web.password_step("bob").await;
        let hs = env.cli(&["client", "add", "Old", "--redirect-uri", REDIRECT, "--id-token-alg", "HS256"]);
        assert!(!hs.status.success() && stderr(&hs).contains("id_token_alg"), "{b}: {}", stderr(&hs));

        let discovery: Value =
            reqwest::get(format!("{url}/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
        assert_eq!(discovery["id_token_signing_alg_values_supported"], serde_json::json!(["RS256", "ES256", "EdDSA"]));

        for alg in ["RS256", "ES256", "EdDSA"] {
            let out =
                env.cli(&["client", "add", alg, "--redirect-uri", REDIRECT, "--id-token-alg", alg, "--format", "json"]);
            assert!(out.status.success(), "{b}: {}", stderr(&out));
            let client: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(client["id_token_signed_response_alg"], alg, "{b}");
            let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
            let verifier = "v".repeat(43);
            let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&verifier));
            let authorized = web
                .get(format!("{url}/oauth2/authorize"))
                .query(&[
                    ("response_type", "code"),
                    ("client_id", id),
                    ("redirect_uri", REDIRECT),
                    ("scope", "openid"),
                    ("nonce", "n-1"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ])
                .send()
                .await
                .unwrap();
            let location = authorized.headers()["location"].to_str().unwrap().to_owned();
            let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap();
            let tokens: Value = reqwest::Client::new()
                .post(format!("{url}/oauth2/token"))
                .basic_auth(id, Some(secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &verifier),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let verified = verified_by_authlib(&format!("{url}/oauth2/jwks"), tokens["id_token"].as_str().unwrap());
            assert_eq!(verified["alg"], alg, "{b}");
            assert_eq!(verified["claims"]["aud"], id, "{b}");
            assert_eq!(verified["claims"]["nonce"], "n-1", "{b}");
        }
    }
}
