//! The help desk through the API, on every backend: an operator working a case from open to
//! closed with their own session (never a key), in their own scope; and HR attesting by a
//! call signed with the HR system's Ed25519 key (made and signed by OpenSSL's command line,
//! not by our code).

use serde_json::{Value, json};
use twofold_testkit::{Browser, Env, SmtpSink, api, stderr};

use crate::BIN;
use crate::helpdesk::{code_mailed_to, json as cli_json, open_case, sign_in_with_pass, verify_api};

/// POSTs `body` to `/api/v1{path}` with the session's token in `X-CSRF-Token` (none when
/// `csrf` is empty): the status and the JSON answer.
async fn call(browser: &Browser, csrf: &str, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
    let mut request = browser.request(method, format!("{}/api/v1{path}", browser.url())).json(body);
    if !csrf.is_empty() {
        request = request.header("x-csrf-token", csrf);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Registers a software security key for `username` in `browser` and signs in with it;
/// returns the key's directory.
async fn sign_in_with_new_key(env: &Env, browser: &Browser, origin: &str, username: &str) -> std::path::PathBuf {
    let key = env.path(&format!("{username}-key"));
    crate::attestation::authenticator(&["ca", key.to_str().unwrap()], &json!({}));
    browser.password_step(username).await;
    let (status, body) = crate::attestation::register(browser, origin, &key, false).await;
    assert_eq!(status, 200, "{body}");
    browser.sign_out().await;
    browser.password_step(username).await;
    crate::attestation::passkey_second_step(browser, origin, &key).await;
    key
}

/// THREATS: social engineering of the help desk — through the API too, a case is worked only
/// by an operator's own fresh session (a key, a missing CSRF token or a stale passkey is
/// refused), in that operator's own scope, and nothing changes before verification.
#[tokio::test]
async fn an_operator_works_a_lost_phone_case_through_the_api_with_their_own_session() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        // erin serves Engineering only; other operators keep the common scope.
        let config =
            env.write("scoped.toml", "[[helpdesk.operators]]\nusername = \"erin\"\ndepartments = [\"Engineering\"]\n");
        let server = env.serve(&["--demo", "--smtp-url", &smtp.url, "--config", &config]).await;
        let origin = server.url.replace("127.0.0.1", "localhost");
        let token = env.admin_token();

        let bob = server.browser();
        bob.password_step("bob").await;
        let bobs_phone = bob.enrol_totp().await;
        let erin = server.browser();
        let erins_key = sign_in_with_new_key(&env, &erin, &origin, "erin").await;

        let (status, session) = call(&erin, "", reqwest::Method::GET, "/session", &json!({})).await;
        assert_eq!(status, 200, "{b}: {session}");
        assert_eq!(session["acr"], "phr", "{b}: {session}");
        let csrf = session["csrf_token"].as_str().unwrap().to_owned();
        let open = json!({"kind": "lost_device", "user": "bob", "summary": "lost my phone on the train"});

        // Not with a key, not without the session's token.
        let keyed = api(&token).post(format!("{}/api/v1/cases", server.url)).json(&open).send().await.unwrap();
        assert_eq!(keyed.status(), 403, "{b}");
        assert!(keyed.text().await.unwrap().contains("never by an API key"), "{b}");
        assert_eq!(call(&erin, "", reqwest::Method::POST, "/cases", &open).await.0, 403, "{b}: no CSRF token");
        assert_eq!(call(&bob, &csrf, reqwest::Method::POST, "/cases", &open).await.0, 403, "{b}: bob is no operator");
        // carol is in Finance: outside erin's own scope.
        let (status, refused) = call(
            &erin,
            &csrf,
            reqwest::Method::POST,
            "/cases",
            &json!({"kind": "lost_device", "user": "carol", "summary": "lost my phone"}),
        )
        .await;
        assert_eq!(status, 403, "{b}: {refused}");
        assert!(refused["detail"].as_str().unwrap().contains("department"), "{b}: {refused}");
        let (status, bad) = call(
            &erin,
            &csrf,
            reqwest::Method::POST,
            "/cases",
            &json!({"kind": "stolen", "user": "bob", "summary": "x"}),
        )
        .await;
        assert_eq!(status, 422, "{b}: {bad}");

        let (status, opened) = call(&erin, &csrf, reqwest::Method::POST, "/cases", &open).await;
        assert_eq!(status, 201, "{b}: {opened}");
        let id = opened["case"]["id"].as_str().unwrap().to_owned();
        let case = |step: &str| format!("/cases/{id}/{step}");
        let (status, early) = call(&erin, &csrf, reqwest::Method::POST, &case("access-pass"), &json!({})).await;
        assert_eq!(status, 403, "{b}: no pass before verification: {early}");

        // A case about carol (opened from the console) is not in erin's list and not hers to see.
        let carols = open_case(&env, "carol", "lost_device");
        let desk = erin.page("/helpdesk").await;
        assert!(desk.contains(&id), "{b}: {desk}");
        assert!(!desk.contains(&carols), "{b}: carol's case is outside erin's scope");

        // The code to the address on file: a wrong one is recorded, the right one verifies.
        let (status, started) =
            call(&erin, &csrf, reqwest::Method::POST, &case("steps"), &json!({"channel": "email_code"})).await;
        assert_eq!(status, 200, "{b}: {started}");
        assert!(started["sent_to"].as_str().unwrap().contains("@demo.twofold.test"), "{b}: {started}");
        let code = code_mailed_to(&smtp, "bob@demo.twofold.test", "read them this code").await;
        let check = |code: &str| json!({"channel": "email_code", "code": code});
        let (status, wrong) = call(&erin, &csrf, reqwest::Method::POST, &case("checks"), &check("000000")).await;
        assert_eq!((status, wrong["verified"].clone()), (200, json!(false)), "{b}: {wrong}");
        let (status, right) = call(&erin, &csrf, reqwest::Method::POST, &case("checks"), &check(&code)).await;
        assert_eq!((status, right["verified"].clone()), (200, json!(true)), "{b}: {right}");

        // Verified: a pass (shown in this answer only), and the lost phone retired.
        let (status, issued) =
            call(&erin, &csrf, reqwest::Method::POST, &case("access-pass"), &json!({"minutes": 30})).await;
        assert_eq!(status, 201, "{b}: {issued}");
        let passcode = issued["access_pass"]["passcode"].as_str().unwrap().to_owned();
        assert!(!env.audit_log().contains(&passcode), "{b}: the passcode is never logged");
        let shown = cli_json(&env.cli(&["user", "show", "bob", "--format", "json"]));
        let phone_id = shown["methods"][0]["id"].as_str().unwrap().to_owned();
        let new_phone = server.browser();
        assert_eq!(sign_in_with_pass(&new_phone, "bob", &passcode).await, 303, "{b}");
        let new_secret = new_phone.enrol_totp().await;
        let (status, retired) =
            call(&erin, &csrf, reqwest::Method::POST, &case("retire"), &json!({"methods": [phone_id]})).await;
        assert_eq!(status, 200, "{b}: {retired}");
        env.advance(30);
        assert!(!verify_api(&server.url, &token, "bob", &env.totp(&bobs_phone, 0)).await, "{b}: the old phone is dead");
        assert!(verify_api(&server.url, &token, "bob", &env.totp(&new_secret, 0)).await, "{b}: the new one works");

        // erin's passkey grows stale: she must prove it again before the next step.
        env.advance(16 * 60);
        let (status, stale) =
            call(&erin, &csrf, reqwest::Method::POST, &case("notes"), &json!({"text": "new phone works"})).await;
        assert_eq!(status, 403, "{b}: {stale}");
        assert!(stale["detail"].as_str().unwrap().contains("passkey or security key"), "{b}: {stale}");
        erin.sign_out().await;
        erin.password_step("erin").await;
        crate::attestation::passkey_second_step(&erin, &origin, &erins_key).await;
        let (_, session) = call(&erin, "", reqwest::Method::GET, "/session", &json!({})).await;
        let csrf = session["csrf_token"].as_str().unwrap().to_owned();
        let close =
            json!({"resolution": "resolved", "changes": "pass issued; old phone retired", "person_confirmed": true});
        let (status, closed) = call(&erin, &csrf, reqwest::Method::POST, &case("close"), &close).await;
        assert_eq!(status, 200, "{b}: {closed}");
        assert_eq!(closed["case"]["state"], "closed", "{b}: {closed}");
        let enrolled = closed["case"]["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"]["type"] == "methods_enrolled")
            .unwrap_or_else(|| panic!("{b}: the new phone is recorded on the case: {closed}"));
        assert_eq!(enrolled["event"]["methods"].as_array().map(Vec::len), Some(1), "{b}: {enrolled}");

        let log = env.audit_log();
        let opened_by = log
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|e| e["action"] == "case.open" && e["target_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{b}: no case.open in {log}"));
        assert_eq!(opened_by["actor_name"], "erin", "{b}: {opened_by}");
    }
}

/// Makes an Ed25519 key pair with OpenSSL in `dir`: (private key file, public key PEM).
fn hr_system_key(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    std::fs::create_dir_all(dir).unwrap();
    let private = dir.join(format!("{name}.pem"));
    let made = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&private)
        .output()
        .expect("openssl (Debian's package; scripts/test installs it)");
    assert!(made.status.success(), "{}", stderr(&made));
    let public = std::process::Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&private).output().unwrap();
    assert!(public.status.success(), "{}", stderr(&public));
    (private, String::from_utf8(public.stdout).unwrap())
}

/// The base64 Ed25519 signature of `body` by OpenSSL with the key in `private`.
fn sign(private: &std::path::Path, body: &str) -> String {
    use base64::Engine as _;
    let file = private.with_extension("body");
    std::fs::write(&file, body).unwrap();
    let signed = std::process::Command::new("openssl")
        .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
        .arg(private)
        .arg("-in")
        .arg(&file)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{}", stderr(&signed));
    base64::engine::general_purpose::STANDARD.encode(signed.stdout)
}

/// THREATS: social engineering of the help desk — HR's word comes only from HR: a call not
/// signed by the HR system's key, for another case or person, stale, unasked or replayed
/// counts for nothing; a signed one verifies the step and says who answered.
#[tokio::test]
async fn the_hr_system_attests_by_a_signed_call_that_cannot_be_forged_or_replayed() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let dir = env.path("hr-system");
        let (hr_key, hr_public) = hr_system_key(&dir, "hr");
        let (forger_key, _) = hr_system_key(&dir, "forger");
        let config = env.write(
            "hr.toml",
            &format!("[helpdesk]\nhr_email = \"hr@example.com\"\nhr_system_public_key = \"\"\"\n{hr_public}\"\"\"\n"),
        );
        // A placeholder key (the identity point) would verify anyone's signature: refused.
        let placeholder = env.write(
            "placeholder.toml",
            "[helpdesk]\nhr_system_public_key = \"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n",
        );
        let checked = env.cli(&["config", "check", &placeholder]);
        assert!(
            !checked.status.success() && twofold_testkit::stdout(&checked).contains("weak Ed25519 key"),
            "{b}: {}",
            twofold_testkit::stdout(&checked)
        );
        let server = env.serve(&["--demo", "--smtp-url", &smtp.url, "--config", &config]).await;
        let id = open_case(&env, "bob", "all_methods_lost");
        let other = open_case(&env, "dave", "all_methods_lost");
        let now = || env.now().0 / 1000;
        let body = |case: &str, user: &str, attested: bool, reference: &str, at: i64| {
            json!({"case": case, "username": user, "attested": attested, "attested_by": "Hanna Park (HR)",
                   "reference": reference, "issued_at": at})
            .to_string()
        };
        let post = |case: String, body: String, signature: Option<String>| {
            let url = format!("{}/api/v1/cases/{case}/hr-attestation", server.url);
            async move {
                let mut request =
                    reqwest::Client::new().post(url).header("content-type", "application/json").body(body);
                if let Some(signature) = signature {
                    request = request.header("twofold-signature", format!("ed25519={signature}"));
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.text().await.unwrap())
            }
        };
        let hr_steps = || {
            let shown = cli_json(&env.cli(&["case", "show", &id, "--format", "json"]));
            shown["case"]["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["event"]["channel"] == "hr_attestation" && e["event"]["type"] != "step_started")
                .count()
        };

        // Before the operator asks HR, even a well-signed attestation answers nothing.
        let early = body(&id, "bob", true, "HR-1", now());
        assert_eq!(post(id.clone(), early.clone(), Some(sign(&hr_key, &early))).await.0, 409, "{b}");
        let asked = env
            .command(&["case", "ask", &id, "--reviewer", "hr"])
            .env("TWOFOLD_SMTP_URL", &smtp.url)
            .env("TWOFOLD_CONFIG", &config)
            .output()
            .unwrap();
        assert!(asked.status.success(), "{b}: {}", stderr(&asked));

        let good = body(&id, "bob", true, "HR-2", now());
        assert_eq!(post(id.clone(), good.clone(), None).await.0, 401, "{b}: unsigned");
        assert_eq!(post(id.clone(), good.clone(), Some(sign(&forger_key, &good))).await.0, 401, "{b}: another key");
        let tampered = good.replace("HR-2", "HR-3");
        assert_eq!(post(id.clone(), tampered, Some(sign(&hr_key, &good))).await.0, 401, "{b}: body changed");
        let elsewhere = body(&other, "dave", true, "HR-4", now());
        let (status, text) = post(id.clone(), elsewhere.clone(), Some(sign(&hr_key, &elsewhere))).await;
        assert_eq!(status, 403, "{b}: signed for another case: {text}");
        let someone_else = body(&id, "dave", true, "HR-5", now());
        assert_eq!(post(id.clone(), someone_else.clone(), Some(sign(&hr_key, &someone_else))).await.0, 403, "{b}");
        let stale = body(&id, "bob", true, "HR-6", now() - 600);
        assert_eq!(post(id.clone(), stale.clone(), Some(sign(&hr_key, &stale))).await.0, 403, "{b}: stale");
        let garbage = "{\"case\": 1}".to_owned();
        assert_eq!(post(id.clone(), garbage.clone(), Some(sign(&hr_key, &garbage))).await.0, 422, "{b}");
        assert_eq!(hr_steps(), 0, "{b}: nothing of that was recorded");

        let signature = sign(&hr_key, &good);
        let (status, text) = post(id.clone(), good.clone(), Some(signature.clone())).await;
        assert_eq!(status, 200, "{b}: {text}");
        assert!(text.contains("\"verified\":true"), "{b}: {text}");
        assert_eq!(post(id.clone(), good, Some(signature)).await.0, 409, "{b}: a replay counts for nothing");
        assert_eq!(hr_steps(), 1, "{b}: one attestation");
        let shown = cli_json(&env.cli(&["case", "show", &id, "--format", "json"]));
        let timeline = shown["case"]["timeline"].to_string();
        assert!(timeline.contains("Hanna Park (HR)") && timeline.contains("HR-2"), "{b}: {timeline}");
        assert!(env.audit_log().contains("hr-system"), "{b}: the audit log names the HR system");
    }
}
