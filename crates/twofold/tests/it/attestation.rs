//! Attested hardware keys (strength `phrh`): with a trusted key maker configured, a
//! privileged account's new passkey must carry "packed" attestation chaining to that maker's
//! root; the key then signs in at `phrh`. The authenticator is a software FIDO2 device
//! (tests/webauthn/authenticator.py) holding an attestation certificate from a test CA.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use twofold_testkit::html::hidden;
use twofold_testkit::{Browser, Env};

use crate::BIN;

pub fn authenticator(args: &[&str], input: &Value) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/webauthn/authenticator.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with the cryptography package is required (.ci/run installs it)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "authenticator.py {args:?} failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// POSTs JSON with the page's CSRF token in `X-CSRF-Token`.
async fn post_json(client: &reqwest::Client, url: &str, csrf: &str, body: &Value) -> (u16, Value) {
    let response = client.post(url).header("x-csrf-token", csrf).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Registers a passkey from the Security info page; returns the answer's status and body.
pub async fn register(client: &Browser, origin: &str, key_dir: &Path, attest: bool) -> (u16, Value) {
    let url = client.url();
    let (csrf, _) = client.csrf("/account/security").await;
    let (status, options) =
        post_json(client, &format!("{url}/account/security/passkey/options"), &csrf, &json!({})).await;
    assert_eq!(status, 200, "{options}");
    let dir = key_dir.to_str().unwrap();
    let mut args = vec!["create", dir, origin];
    if !attest {
        args.push("none");
    }
    let credential = authenticator(&args, &options["options"]);
    let answer = json!({"ceremony": options["ceremony"], "name": "Security key", "credential": credential});
    post_json(client, &format!("{url}/account/security/passkey"), &csrf, &answer).await
}

/// Makes the test CA and its key model in `attestation/` beside the data directory, and a
/// configuration that trusts exactly them for the privileged tier; returns the key's directory,
/// the configuration file and the trusted AAGUID.
fn trusted_maker(env: &Env) -> (PathBuf, PathBuf, String) {
    let dir = env.path("attestation");
    let made = authenticator(&["ca", dir.to_str().unwrap()], &json!({}));
    let aaguid = made["aaguid"].as_str().unwrap().to_owned();
    let config = dir.join("twofold.toml");
    std::fs::write(
        &config,
        format!(
            "[webauthn]\nattested_tiers = [\"privileged\"]\n\n[[webauthn.trusted_key_makers]]\ndescription = \"Test keys\"\nca_file = \"{}\"\naaguids = [\"{aaguid}\"]\n",
            dir.join("ca.pem").display(),
        ),
    )
    .unwrap();
    (dir, config, aaguid)
}

#[tokio::test]
async fn privileged_accounts_register_only_attested_keys_and_reach_phrh() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let (dir, config, _) = trusted_maker(&env);
        let server = env.serve(&["--demo", "--config", config.to_str().unwrap()]).await;
        let url = &server.url;
        let origin = url.replace("127.0.0.1", "localhost");

        // alice is privileged: a passkey without attestation is refused, and nothing is stored.
        let alice = server.browser();
        alice.password_step("alice").await;
        let (status, body) = register(&alice, &origin, &dir, false).await;
        assert_eq!(status, 422, "{b}: {body}");
        assert!(body["detail"].as_str().unwrap_or_default().contains("trusted maker"), "{b}: {body}");
        let page = alice.page("/account/security").await;
        assert!(!page.contains("data-label=\"Method\">Passkey or security key"), "{b}: the refused key was not added");

        // An attested key from the trusted maker is accepted.
        let (status, body) = register(&alice, &origin, &dir, true).await;
        assert_eq!(status, 200, "{b}: {body}");

        // Signing in with it reaches phrh.
        alice.sign_out().await;
        assert_eq!(alice.password_step("alice").await, "/login/mfa?return_to=/account", "{b}");
        passkey_second_step(&alice, &origin, &dir).await;
        let account = alice.page("/account").await;
        assert!(account.contains("Phishing-resistant, with an attested security key"), "{b}: strength phrh recorded");

        // bob (standard tier) is not held to attestation: his options ask for none.
        let bob = server.browser();
        bob.password_step("bob").await;
        let page = bob.page("/account/security").await;
        let csrf = hidden(&page, "csrf");
        let (_, options) = post_json(&bob, &format!("{url}/account/security/passkey/options"), &csrf, &json!({})).await;
        assert_ne!(options["options"]["attestation"], "direct", "{b}");

        let log = env.audit_log();
        let enrolled = log
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|e| e["action"] == "authenticator.enrol_start" && e["actor_name"] == "alice")
            .unwrap_or_else(|| panic!("{b}: no enrolment of alice's key in {log}"));
        assert!(enrolled.to_string().contains("attested"), "{b}: {enrolled}");
        assert_eq!(after_state(&enrolled)["attested"], true, "{b}: the audit log records the key as attested");
    }
}

/// Attack: a forged or unvetted security key for a privileged account. Attestation that chains
/// to a root the server does not trust (a look-alike CA with the trusted root's name, vouching
/// for the trusted AAGUID) is refused, and so is a key model (AAGUID) the trusted maker was not
/// listed for, even with a certificate from the trusted root. Nothing is stored; as a control,
/// the trusted maker's listed model is accepted afterwards.
#[tokio::test]
async fn attestation_from_an_untrusted_root_or_an_unlisted_key_model_is_refused() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let (dir, config, aaguid) = trusted_maker(&env);
        let keys = dir.join("..");
        let rogue_root = keys.join("rogue-root");
        authenticator(&["ca", rogue_root.to_str().unwrap(), "--aaguid", &aaguid], &json!({}));
        let unlisted_model = keys.join("unlisted-model");
        let unlisted =
            authenticator(&["ca", unlisted_model.to_str().unwrap(), "--issuer", dir.to_str().unwrap()], &json!({}));
        assert_ne!(unlisted["aaguid"], aaguid.as_str());
        let server = env.serve(&["--demo", "--config", config.to_str().unwrap()]).await;
        let url = &server.url;
        let origin = url.replace("127.0.0.1", "localhost");

        let alice = server.browser();
        alice.password_step("alice").await;
        // Each is refused for its own reason (webauthn-rs's words), not for a malformed answer.
        for (key_dir, what, reason) in [
            (&rogue_root, "an untrusted root", "is not trusted by one of the selected CA certificates"),
            (&unlisted_model, "an unlisted AAGUID", "limits the aaguids allowed"),
        ] {
            let (status, body) = register(&alice, &origin, key_dir, true).await;
            assert_eq!(status, 422, "{b}: {what}: {body}");
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("trusted maker") && detail.contains(reason), "{b}: {what}: {body}");
            let page = alice.page("/account/security").await;
            assert!(
                !page.contains("data-label=\"Method\">Passkey or security key"),
                "{b}: {what}: the refused key was not added"
            );
        }
        let stored = twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT name FROM authenticators").await;
        assert!(stored.is_empty(), "{b}: nothing stored: {stored:?}");

        let (status, body) = register(&alice, &origin, &dir, true).await;
        assert_eq!(status, 200, "{b}: control: the trusted maker's listed key is accepted: {body}");
    }
}

/// An event's after-state, whether exported as an object or as JSON text.
fn after_state(event: &Value) -> Value {
    match &event["after"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    }
}

/// Answers the second step (or a step-up) with the passkey held in `key_dir`.
pub async fn passkey_second_step(client: &Browser, origin: &str, key_dir: &Path) {
    let url = client.url();
    let (csrf, _) = client.csrf("/login/mfa").await;
    let (status, options) = post_json(client, &format!("{url}/login/mfa/passkey/options"), &csrf, &json!({})).await;
    assert_eq!(status, 200, "{options}");
    let assertion = authenticator(&["get", key_dir.to_str().unwrap(), origin], &options["options"]);
    let answer = json!({"ceremony": options["ceremony"], "credential": assertion});
    let (status, body) = post_json(client, &format!("{url}/login/mfa/passkey"), &csrf, &answer).await;
    assert_eq!(status, 200, "{body}");
}
