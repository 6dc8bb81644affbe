//! Maker–checker approvals through the real binary: an app (an OpenID Connect client
//! authenticated with its secret) raises a request for its signed-in person, named by that
//! person's own access token; the rules file decides who approves; approvers decide on their
//! page with a fresh second factor of the rule's strength; the signed receipt is verified by
//! Authlib from the JWKS and delivered to the app's registered callback through the outbox,
//! surviving the receiver's outage and a server restart. Each refusal the issue names is
//! tried: self-approval, a second vote by one person, an expired request, a stale or too weak
//! second factor, an altered receipt, an unregistered callback, a forged requester.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use twofold_testkit::{Browser, Env, SmtpSink, location, stderr};

use crate::BIN;
use crate::oidc::{REDIRECT, code_for, exchange, register_client};

const RULES: &str = r#"
[[rule]]
name = "forecast-over-50-percent"
action = "adjust_forecast"
percent_above = 50
approvers = "finance"
required = 2

[[rule]]
name = "forecast-over-10-percent"
action = "adjust_forecast"
percent_above = 10
approvers = "finance"

[[rule]]
name = "large-order"
action = "approve_order"
amount_above = 100000
currency = "EUR"
approvers = "finance"
strength = "phr"
"#;

/// What a callback receiver got: each body with its message id.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// An app's callback endpoint on `port`, answering 204 to each result.
async fn receiver(port: u16) -> (Received, tokio::task::JoinHandle<()>) {
    let received: Received = Arc::default();
    let kept = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/approvals/callback",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = Arc::clone(&kept);
            async move {
                let id = headers.get("twofold-message-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                kept.lock().unwrap().push((body, id));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (received, task)
}

async fn wait_for_delivery(received: &Received, n: usize) -> Vec<(String, String)> {
    for _ in 0..600 {
        let got = received.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no delivery after 30 s; got {:?}", received.lock().unwrap());
}

fn verified_by_authlib(jwks_url: &str, token: &str) -> Result<Value, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc/verify_jwt.py");
    let out = Command::new("python3").arg(script).args([jwks_url, token]).output().expect("python3 with authlib");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `username` signs in with password and their authenticator app, then gets an access token
/// for `client` through the code flow; returns the browser and the token.
async fn signed_in_with_token(
    server_browser: Browser,
    url: &str,
    client: &(String, String),
    username: &str,
) -> (Browser, String, String, String) {
    server_browser.password_step(username).await;
    let secret = server_browser.enrol_totp().await;
    server_browser.sign_out().await;
    server_browser.sign_in_with_totp(username, &secret).await;
    let verifier = "v".repeat(43);
    let code = code_for(&server_browser, &client.0, &verifier).await;
    let (status, tokens) = exchange(url, client, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    (server_browser, tokens["access_token"].as_str().unwrap().to_owned(), secret, id_token)
}

async fn raise(url: &str, client: &(String, String), body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/approvals"))
        .basic_auth(&client.0, Some(&client.1))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn poll(url: &str, client: &(String, String), id: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{url}/api/v1/approvals/{id}"))
        .basic_auth(&client.0, Some(&client.1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn forecast(token: &str, percent: i64, callback: Option<&str>) -> Value {
    let mut body = json!({
        "subject_token": token,
        "action": "adjust_forecast",
        "resource": "forecast/2027-Q1/emea",
        "before": {"units": 1000},
        "after": {"units": 1000 + percent * 10},
        "magnitude": {"percent": percent},
        "reason": "new distributor in Lyon",
    });
    if let Some(url) = callback {
        body["callback_url"] = json!(url);
    }
    body
}

/// Posts a decision from `who`'s approval page; the response, redirects not followed.
async fn decide(who: &Browser, id: &str, decision: &str) -> reqwest::Response {
    let page = format!("/approvals/{id}");
    who.submit_from(&page, &page, &[("decision", decision), ("comment", "checked with sales")]).await
}

/// THREATS: maker–checker bypass — the approvals API end to end, with every refusal.
#[tokio::test]
async fn an_app_raises_a_request_an_approver_decides_it_and_the_app_verifies_the_receipt() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let mut server = env.serve(&["--demo", "--smtp-url", &smtp.url]).await;
        let url = server.url.clone();
        let jwks = format!("{url}/oauth2/jwks");
        let client = register_client(&env);
        let rules = env.write("approvals.toml", RULES);
        let applied = env.cli(&["approvals", "rules", "apply", &rules, "--note", "SOX control 4.2"]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));
        assert!(
            !env.cli(&[
                "approvals",
                "rules",
                "check",
                &env.write("bad.toml", "[[rule]]\nname = \"x\"\napprovers = \"nobody\"\n")
            ])
            .status
            .success()
        );

        // bob (engineering) asks; carol and dave (finance) approve.
        let (bob, bobs_token, _, bobs_id_token) = signed_in_with_token(server.browser(), &url, &client, "bob").await;
        let (carol, _, carols_app, _) = signed_in_with_token(server.browser(), &url, &client, "carol").await;
        let (dave, _, _, _) = signed_in_with_token(server.browser(), &url, &client, "dave").await;

        // An app must authenticate, name a live person of its own, and a registered callback.
        let callback_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let callback = format!("http://127.0.0.1:{callback_port}/approvals/callback");
        let wrong = (client.0.clone(), "not-the-secret".to_owned());
        assert_eq!(raise(&url, &wrong, &forecast(&bobs_token, 15, None)).await.0, 401, "{b}");
        let (status, problem) = raise(&url, &client, &forecast(&bobs_token, 15, Some(&callback))).await;
        assert_eq!(status, 422, "{b}: an unregistered callback: {problem}");
        assert!(problem.to_string().contains("callback_url"), "{b}: {problem}");
        let mut forged = bobs_token.clone();
        forged.replace_range(forged.len() - 4.., "AAAA");
        let (status, problem) = raise(&url, &client, &forecast(&forged, 15, None)).await;
        assert_eq!(status, 422, "{b}: a forged requester: {problem}");
        let (status, _) = raise(&url, &client, &forecast(&bobs_id_token, 15, None)).await;
        assert_eq!(status, 422, "{b}: an ID token is not an access token");
        let other = env.cli(&["client", "add", "Other app", "--redirect-uri", REDIRECT, "--format", "json"]);
        let other: Value = serde_json::from_slice(&other.stdout).unwrap();
        let other =
            (other["client_id"].as_str().unwrap().to_owned(), other["client_secret"].as_str().unwrap().to_owned());
        let (status, _) = raise(&url, &other, &forecast(&bobs_token, 15, None)).await;
        assert_eq!(status, 422, "{b}: another app's token names no person of this app");
        let mut no_size = forecast(&bobs_token, 15, None);
        no_size.as_object_mut().unwrap().remove("magnitude");
        let (status, problem) = raise(&url, &client, &no_size).await;
        assert_eq!(status, 422, "{b}: a size no rule can compare is refused, not waved through: {problem}");
        let public =
            env.cli(&["client", "add", "Browser app", "--public", "--redirect-uri", REDIRECT, "--format", "json"]);
        let public: Value = serde_json::from_slice(&public.stdout).unwrap();
        let mut by_public = forecast(&bobs_token, 15, None);
        by_public["client_id"] = public["client_id"].clone();
        let public_raise =
            reqwest::Client::new().post(format!("{url}/api/v1/approvals")).json(&by_public).send().await.unwrap();
        assert_eq!(
            public_raise.status(),
            403,
            "{b}: a public client's person cannot raise requests of their own making"
        );
        let (status, problem) = raise(&url, &client, &forecast(&bobs_token, 5, None)).await;
        assert_eq!(status, 409, "{b}: 5% needs no approval: {problem}");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("needs no approval"), "{b}: {problem}");
        let registered = env.cli(&["approvals", "callbacks", &client.0, &callback]);
        assert!(registered.status.success(), "{b}: {}", stderr(&registered));
        let plain = env.cli(&["approvals", "callbacks", &client.0, "http://forecast.example.com/cb"]);
        assert!(!plain.status.success(), "{b}: plain http to another host is refused");

        // +15%: one of finance, by mail and on their queue.
        let mut body = forecast(&bobs_token, 15, Some(&callback));
        body["requester_ip"] = json!("203.0.113.9");
        let (status, raised) = raise(&url, &client, &body).await;
        assert_eq!(status, 201, "{b}: {raised}");
        let id = raised["id"].as_str().unwrap().to_owned();
        assert_eq!(
            (raised["state"].as_str(), raised["rule"].as_str()),
            (Some("pending"), Some("forecast-over-10-percent"))
        );
        let mail = smtp.wait_for("Approval needed: adjust_forecast").await;
        assert!(
            mail.contains(&format!("/approvals/{id}")) && mail.contains("bob asks for your approval"),
            "{b}: {mail}"
        );
        let account = carol.page("/account").await;
        assert!(
            account.contains(r#"href="/approvals""#) && account.contains("1 change(s) wait"),
            "{b}: told on her account page"
        );
        assert!(
            !bob.page("/account").await.contains(r#"href="/approvals""#),
            "{b}: the requester has nothing to decide"
        );
        let queue = carol.page("/approvals").await;
        assert!(queue.contains(&format!("/approvals/{id}")), "{b}: on carol's queue");
        assert!(!bob.page("/approvals").await.contains(&id), "{b}: not on the requester's");
        let request_page = carol.page(&format!("/approvals/{id}")).await;
        for shown in [
            "forecast/2027-Q1/emea",
            "&#34;units&#34;: 1150",
            "&#34;units&#34;: 1000",
            "bob, signed in to the app with two-step sign-in at",
            "new distributor in Lyon",
        ] {
            assert!(request_page.contains(shown), "{b}: the page shows {shown}: {request_page}");
        }
        // A stranger to the request (not in finance, not the requester) is told nothing.
        let (erin, _, _, _) = signed_in_with_token(server.browser(), &url, &client, "erin").await;
        assert_eq!(erin.get_path(&format!("/approvals/{id}")).await.status(), 404, "{b}");

        // The requester cannot approve their own change, even when in the approvers' group.
        assert!(env.cli(&["group", "add-member", "finance", "bob"]).status.success());
        let own = bob.page(&format!("/approvals/{id}")).await;
        assert!(own.contains("someone else must approve it"), "{b}: {own}");
        assert_eq!(decide(&bob, &id, "approve").await.status(), 403, "{b}: self-approval");

        // A second factor older than five minutes does not count: step up, then decide.
        env.advance(6 * 60);
        let stale = decide(&carol, &id, "approve").await;
        assert_eq!(stale.status(), 303, "{b}");
        assert!(
            location(&stale).starts_with("/login/mfa?return_to=") && location(&stale).contains(&id),
            "{b}: {}",
            location(&stale)
        );
        assert_eq!(poll(&url, &client, &id).await["approvals"], 0, "{b}: nothing recorded");
        let code = env.totp(&carols_app, 0);
        assert_eq!(carol.second_step("code", &code).await.status(), 303, "{b}: carol steps up");
        let approved = decide(&carol, &id, "approve").await;
        assert_eq!(approved.status(), 200, "{b}");
        assert!(approved.text().await.unwrap().contains("Your approval is recorded."), "{b}");

        // The app polls the receipt and verifies it offline with the JWKS (Authlib).
        let result = poll(&url, &client, &id).await;
        assert_eq!(result["state"], "approved", "{b}: {result}");
        let receipt = result["receipt"].as_str().unwrap().to_owned();
        let verified = verified_by_authlib(&jwks, &receipt).unwrap();
        assert_eq!(verified["typ"], "twofold-approval-receipt+jwt", "{b}");
        let claims = &verified["claims"];
        assert_eq!(claims["aud"], client.0.as_str(), "{b}");
        assert_eq!(claims["approval"]["id"], id.as_str(), "{b}");
        assert_eq!(claims["approval"]["content_hash"], raised["content_hash"], "{b}");
        assert_eq!(claims["approval"]["after"], json!({"units": 1150}), "{b}");
        assert_eq!(claims["approval"]["requester"]["username"], "bob", "{b}");
        let approver = &claims["approval"]["approvers"][0];
        assert_eq!(
            (approver["username"].as_str(), approver["decision"].as_str()),
            (Some("carol"), Some("approve")),
            "{b}"
        );
        assert!(approver["amr"].as_array().unwrap().iter().any(|m| m == "otp"), "{b}: {approver}");
        assert!(
            approver["auth_time"].as_i64().unwrap() >= claims["approval"]["created_at"].as_i64().unwrap(),
            "{b}: the fresh proof"
        );
        // An altered receipt (the payload changed, the signature kept) fails verification.
        let parts: Vec<&str> = receipt.split('.').collect();
        let mut payload: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1]).unwrap(),
        )
        .unwrap();
        payload["approval"]["after"] = json!({"units": 9999});
        let altered = format!(
            "{}.{}.{}",
            parts[0],
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload.to_string()),
            parts[2]
        );
        assert!(verified_by_authlib(&jwks, &altered).is_err(), "{b}: an altered receipt is refused");
        let other_view = reqwest::Client::new()
            .get(format!("{url}/api/v1/approvals/{id}"))
            .basic_auth(&other.0, Some(&other.1))
            .send()
            .await
            .unwrap();
        assert_eq!(other_view.status(), 404, "{b}: another app never sees it");
        let again = decide(&dave, &id, "approve").await;
        assert_eq!(again.status(), 409, "{b}: decided already");
        assert!(again.text().await.unwrap().contains("approved already"), "{b}");

        // +60%: two of finance; one person's second approval does not count.
        let (_, big) = raise(&url, &client, &forecast(&bobs_token, 60, None)).await;
        let big_id = big["id"].as_str().unwrap().to_owned();
        assert_eq!(big["required"], 2, "{b}");
        env.advance(31);
        carol.second_step("code", &env.totp(&carols_app, 0)).await;
        assert_eq!(decide(&carol, &big_id, "approve").await.status(), 200, "{b}");
        assert_eq!(decide(&carol, &big_id, "approve").await.status(), 409, "{b}: one person, one vote");
        let after_two = poll(&url, &client, &big_id).await;
        assert_eq!((after_two["state"].as_str(), after_two["approvals"].as_i64()), (Some("pending"), Some(1)), "{b}");
        let dave_decides = decide(&dave, &big_id, "reject").await;
        assert_eq!(dave_decides.status(), 303, "{b}: dave's sign-in is older than five minutes");

        // An order over 100,000 EUR needs a passkey: a code is too weak.
        let order = json!({
            "subject_token": bobs_token, "action": "approve_order", "resource": "order/4711",
            "before": {"status": "draft"}, "after": {"status": "approved"},
            "magnitude": {"amount": 150000, "currency": "EUR"}, "reason": "key account", "expires_in": 120,
        });
        let (_, order) = raise(&url, &client, &order).await;
        let order_id = order["id"].as_str().unwrap().to_owned();
        let weak = decide(&carol, &order_id, "approve").await;
        assert_eq!(weak.status(), 303, "{b}");
        assert!(location(&weak).ends_with("&strength=phr"), "{b}: {}", location(&weak));
        let order_page = carol.page(&format!("/approvals/{order_id}")).await;
        assert!(
            order_page.contains("Confirm it&#39;s you to decide") || order_page.contains("Confirm it's you to decide"),
            "{b}"
        );

        // Expired: two minutes pass; no vote counts, and the app learns it expired.
        env.advance(121);
        let late = decide(&carol, &order_id, "approve").await;
        assert_eq!(late.status(), 409, "{b}: expired");
        assert!(late.text().await.unwrap().contains("expired"), "{b}");
        let mut expired = poll(&url, &client, &order_id).await;
        for _ in 0..100 {
            if expired["state"] == "expired" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            expired = poll(&url, &client, &order_id).await;
        }
        assert_eq!(expired["state"], "expired", "{b}: {expired}");
        let expired_claims = verified_by_authlib(&jwks, expired["receipt"].as_str().unwrap()).unwrap();
        assert_eq!(expired_claims["claims"]["approval"]["state"], "expired", "{b}");

        // The callback was down all along: it comes up, the server restarts, and the result
        // still arrives (the outbox kept it), once.
        assert!(server.signal_and_wait("TERM").success(), "{b}");
        let (received, _task) = receiver(callback_port).await;
        env.advance(3600);
        let server = env.serve(&[]).await;
        let got = wait_for_delivery(&received, 1).await;
        assert_eq!(got[0].0, receipt, "{b}: the receipt itself");
        assert!(!got[0].1.is_empty(), "{b}: with a message id to drop repeats");
        let shown = env.cli(&["approvals", "show", &id]);
        assert!(
            String::from_utf8_lossy(&shown.stdout).contains("delivered"),
            "{b}: {}",
            String::from_utf8_lossy(&shown.stdout)
        );

        // The audit trail runs from the request to each decision to the delivery.
        let log = env.audit_log();
        let trail: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&id))
            .filter_map(|l| {
                ["approval.request", "approval.approve", "approval.deliver"].into_iter().find(|a| l.contains(a))
            })
            .collect();
        assert_eq!(trail, ["approval.request", "approval.approve", "approval.deliver"], "{b}: {log}");
        assert!(log.contains("approval_rules.apply"), "{b}");
        drop(server);
    }
}
