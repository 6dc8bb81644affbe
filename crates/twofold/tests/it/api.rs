//! The admin API through a real server: users, groups, sessions, audit, errors, OpenAPI.

use serde_json::{Value, json};
use twofold_testkit::{Env, api};

use crate::BIN;

#[tokio::test]
async fn users_and_groups_are_managed_through_the_api_with_audit_events() {
    for env in Env::all(BIN).await {
        let server = env.serve(&[]).await;
        let client = api(&env.admin_token());
        let base = format!("{}/api/v1", server.url);
        let b = env.backend;

        let group = client
            .post(format!("{base}/groups"))
            .json(&json!({"name": "Pilot", "description": "Pilot cohort"}))
            .send()
            .await
            .unwrap();
        assert_eq!(group.status(), 201, "{b}");
        let created = client
            .post(format!("{base}/users"))
            .json(&json!({"username": "Grace", "email": "grace@example.com", "tier": "privileged",
                          "roles": ["admin"], "password": "a long enough passphrase", "groups": ["pilot"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "{b}");
        let user: Value = created.json().await.unwrap();
        assert_eq!(user["username"], "grace");

        let shown: Value = client.get(format!("{base}/users/grace")).send().await.unwrap().json().await.unwrap();
        assert_eq!(shown["groups"], json!(["pilot"]), "{b}");
        let by_id = client.get(format!("{base}/users/{}", user["id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(by_id.status(), 200, "{b}: users are found by id too");

        let patched = client
            .patch(format!("{base}/users/grace"))
            .json(&json!({"department": "Ops", "email": null}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), 200, "{b}");
        let patched: Value = patched.json().await.unwrap();
        assert_eq!((patched["department"].as_str(), patched["email"].is_null()), (Some("Ops"), true), "{b}");

        let members: Value =
            client.get(format!("{base}/groups/pilot/members")).send().await.unwrap().json().await.unwrap();
        assert_eq!(members["members"][0]["username"], "grace", "{b}");
        let listed: Value =
            client.get(format!("{base}/users?tier=privileged&group=pilot")).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["users"].as_array().unwrap().len(), 1, "{b}");
        let removed: Value =
            client.delete(format!("{base}/groups/pilot/members/grace")).send().await.unwrap().json().await.unwrap();
        assert_eq!(removed["removed"], true);

        let disabled: Value =
            client.post(format!("{base}/users/grace/disable")).send().await.unwrap().json().await.unwrap();
        assert_eq!(disabled["status"], "suspended", "{b}");

        let events: Value =
            client.get(format!("{base}/audit/events?limit=1000")).send().await.unwrap().json().await.unwrap();
        let update = events["events"].as_array().unwrap().iter().find(|e| e["action"] == "user.update").unwrap();
        assert_eq!(update["actor_kind"], "api_key", "{b}");
        assert_eq!(update["ip"], "127.0.0.1", "{b}");
        assert_eq!(update["user_agent"], "twofold-tests/1", "{b}");
        assert!(update["before"].as_str().unwrap().contains("grace@example.com"), "{b}: before value recorded");
        let verify: Value = client.get(format!("{base}/audit/verify")).send().await.unwrap().json().await.unwrap();
        assert_eq!(verify["status"], "intact", "{b}");
    }
}

#[tokio::test]
async fn bad_requests_get_problem_json_and_change_nothing() {
    for env in Env::all(BIN).await {
        let server = env.serve(&[]).await;
        let client = api(&env.admin_token());
        let base = format!("{}/api/v1", server.url);
        let b = env.backend;
        client.post(format!("{base}/users")).json(&json!({"username": "taken"})).send().await.unwrap();
        let before = env.audit_event_count();

        let invalid = client
            .post(format!("{base}/users"))
            .json(&json!({"username": "bad name", "email": "nope", "tier": "gold"}))
            .send()
            .await
            .unwrap();
        assert_eq!(invalid.status(), 422, "{b}");
        assert_eq!(invalid.headers()["content-type"], "application/problem+json");
        let problem: Value = invalid.json().await.unwrap();
        let fields: Vec<_> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
        assert_eq!(fields, ["username", "email", "tier"], "{b}: every problem listed");

        let weak = client
            .post(format!("{base}/users"))
            .json(&json!({"username": "weak", "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(weak.status(), 422, "{b}");
        let duplicate = client.post(format!("{base}/users")).json(&json!({"username": "TAKEN"})).send().await.unwrap();
        assert_eq!(duplicate.status(), 409, "{b}");
        let unknown_field =
            client.post(format!("{base}/users")).json(&json!({"username": "x", "colour": "red"})).send().await.unwrap();
        assert_eq!(unknown_field.status(), 400, "{b}");
        let problem: Value = unknown_field.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().contains("colour"), "{b}: {problem}");
        let not_json = client
            .post(format!("{base}/users"))
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(not_json.status(), 400, "{b}");
        let missing = client.get(format!("{base}/users/nobody")).send().await.unwrap();
        assert_eq!(missing.status(), 404, "{b}");
        let bad_filter = client.get(format!("{base}/users?status=sleeping")).send().await.unwrap();
        assert_eq!(bad_filter.status(), 422, "{b}");
        assert_eq!(oversized_body_status(&server.url).await, "413", "{b}: bodies are limited to 1 MiB");

        assert_eq!(env.audit_event_count(), before, "{b}: refused requests leave no audit event");
    }
}

#[tokio::test]
async fn api_keys_are_required_and_roles_limit_them() {
    for env in Env::all(BIN).await {
        let server = env.serve(&[]).await;
        let base = format!("{}/api/v1", server.url);
        let b = env.backend;
        let anonymous = reqwest::get(format!("{base}/users")).await.unwrap();
        assert_eq!(anonymous.status(), 401, "{b}");
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        let forged = api("tfk_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            .get(format!("{base}/users"))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401, "{b}");

        let auditor = api(&env.token_with_role("auditor"));
        assert_eq!(auditor.get(format!("{base}/users")).send().await.unwrap().status(), 200, "{b}");
        assert_eq!(auditor.get(format!("{base}/audit/verify")).send().await.unwrap().status(), 200, "{b}");
        let write = auditor.post(format!("{base}/groups")).json(&json!({"name": "x"})).send().await.unwrap();
        assert_eq!(write.status(), 403, "{b}: an auditor key cannot change the directory");
        let helpdesk = api(&env.token_with_role("helpdesk"));
        assert_eq!(helpdesk.get(format!("{base}/audit/events")).send().await.unwrap().status(), 403, "{b}");

        let token = env.admin_token();
        let list = env.cli(&["apikey", "list", "--format", "json"]);
        let keys: Value = serde_json::from_slice(&list.stdout).unwrap();
        let id = token.split('_').nth(1).unwrap();
        assert!(keys.as_array().unwrap().iter().all(|k| k.get("secret_hash").is_none()), "{b}: no hashes listed");
        assert_eq!(api(&token).get(format!("{base}/users")).send().await.unwrap().status(), 200, "{b}");
        assert!(env.cli(&["apikey", "revoke", id]).status.success());
        // The server read the key a moment ago and may reuse that record for up to 5 s
        // (API_KEY_CACHE_MS, on the server's clock): the revocation must take effect within
        // that time. The test clock moves past it instead of the test waiting.
        env.advance(6);
        let status = api(&token).get(format!("{base}/users")).send().await.unwrap().status();
        assert_eq!(status, 401, "{b}: revoked keys stop working");
    }
}

/// The methods HTTP clients use on the API; `any` routes answer all of them.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The `/api/v1` routes as the router declares them (twofold-http's `api/mod.rs`, the one place
/// they are listed): each path template with its methods, `any` for a route that takes all.
fn served_api_routes() -> Vec<(String, Vec<&'static str>)> {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../twofold-http/src/api/mod.rs");
    let source = std::fs::read_to_string(file).unwrap();
    let body = &source[source.find("pub fn routes()").unwrap()..];
    let body = &body[..body.find(".fallback(").unwrap()];
    let routes: Vec<(String, Vec<&'static str>)> = body
        .split(".route(\"")
        .skip(1)
        .map(|route| {
            let (path, handlers) = route.split_once('"').unwrap();
            let methods = ["get", "post", "put", "patch", "delete", "any"]
                .into_iter()
                .filter(|m| {
                    handlers
                        .match_indices(&format!("{m}("))
                        .any(|(at, _)| !handlers[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
                })
                .collect();
            (path.to_owned(), methods)
        })
        .collect();
    assert_eq!(routes.len(), body.matches(".route(").count(), "every route in {file} was read");
    assert!(routes.iter().all(|(_, methods)| !methods.is_empty()), "{routes:?}");
    routes
}

/// The served route a documented path names: the route with that exact path, or else the one
/// whose parameters (`{action}`, `{verdict}`) stand for the documented literal segments.
fn route_for<'a>(
    served: &'a [(String, Vec<&'static str>)],
    documented: &str,
) -> Option<&'a (String, Vec<&'static str>)> {
    let segments: Vec<&str> = documented.split('/').collect();
    served.iter().find(|(path, _)| path == documented).or_else(|| {
        served.iter().find(|(path, _)| {
            let template: Vec<&str> = path.split('/').collect();
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, d)| t == d || t.starts_with('{'))
        })
    })
}

/// The OpenAPI document and the router agree both ways: every documented path and method is
/// served (the live server answers it, never 405, and the router declares it), and every route
/// the router serves under `/api/v1`, with each of its methods, is documented. On a documented
/// path, a method the document does not list is refused with 405.
#[tokio::test]
async fn the_openapi_document_lists_exactly_the_served_routes() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&[]).await;
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", server.url)).await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let client = api(&env.admin_token());
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 50);
    let served = served_api_routes();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, operations) in paths {
        let route = route_for(&served, path).unwrap_or_else(|| panic!("documented {path} is not a served route"));
        let operations = operations.as_object().unwrap();
        for method in operations.keys() {
            assert!(
                route.1.contains(&method.as_str()) || route.1.contains(&"any"),
                "documented {method} {path} is not served by {route:?}"
            );
            documented.push((route.0.clone(), method.clone()));
            let concrete = path.replace("{user}", "nobody").replace("{group}", "nogroup");
            let url = format!("{}/api/v1{concrete}", server.url);
            let request = client.request(method.to_uppercase().parse().unwrap(), &url);
            let status = request.send().await.unwrap().status();
            // A documented route answers: never 405; 404 only as a problem about the named thing.
            assert_ne!(status, 405, "{method} {path}");
        }
        if route.1.contains(&"any") {
            continue;
        }
        for method in METHODS.iter().filter(|m| !operations.contains_key(**m)) {
            let concrete = path.replace("{user}", "nobody").replace("{group}", "nogroup");
            let url = format!("{}/api/v1{concrete}", server.url);
            let status = client.request(method.to_uppercase().parse().unwrap(), &url).send().await.unwrap().status();
            assert_eq!(status, 405, "{method} {path} is not documented, so it must not be served");
        }
    }
    for (path, methods) in &served {
        for method in methods {
            let is_documented = |(p, m): &(String, String)| p == path && (m == method || *method == "any");
            assert!(documented.iter().any(is_documented), "served {method} /api/v1{path} is not documented");
        }
    }
    let undocumented = client.get(format!("{}/api/v1/nothing-here", server.url)).send().await.unwrap();
    assert_eq!(undocumented.status(), 404);
    assert_eq!(undocumented.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&[]).await;
    assert_eq!(reqwest::get(format!("{}/healthz", server.url)).await.unwrap().text().await.unwrap(), "ok\n");
    assert_eq!(reqwest::get(format!("{}/readyz", server.url)).await.unwrap().status(), 200);
    reqwest::get(format!("{}/login", server.url)).await.unwrap();
    let metrics = reqwest::get(format!("{}/metrics", server.url)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"twofold_http_requests_total{method="GET",route="/login",status="200"}"#), "{metrics}");
    assert!(metrics.contains("twofold_http_request_duration_seconds_bucket"), "{metrics}");
}

/// `/readyz` tells a load balancer the truth about the database: on PostgreSQL, while the test's
/// database refuses connections (and the server's are cut), `/readyz` is 503 while `/healthz`
/// stays 200 (the process is up); once the database is back, `/readyz` is 200 again. SQLite is
/// a file the process opens itself, so the run without PostgreSQL has nothing to try here.
#[tokio::test]
async fn readyz_is_503_while_the_database_is_down_and_200_once_it_is_back() {
    let Some(admin) = twofold_testkit::postgres_url() else {
        eprintln!("readyz with the database down: PostgreSQL only (TWOFOLD_TEST_DATABASE_URL is not set)");
        return;
    };
    let env = Env::new(&twofold_testkit::postgres(&admin).await, BIN);
    let server = env.serve(&[]).await;
    let name = env.database_url.rsplit('/').next().unwrap().to_owned();
    let status = |path: &'static str| {
        let url = format!("{}{path}", server.url);
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    /// Asks `/readyz` until it answers `want`, for at most 30 s (the pool waits up to 10 s).
    async fn readyz_becomes(url: &str, want: u16) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let got = reqwest::get(format!("{url}/readyz")).await.unwrap().status().as_u16();
            if got == want {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "/readyz stayed {got}, wanted {want}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    assert_eq!(status("/readyz").await, 200, "ready before the outage");

    twofold_testkit::execute(&admin, &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    twofold_testkit::execute(
        &admin,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"),
    )
    .await;
    readyz_becomes(&server.url, 503).await;
    // Not only the cut connections failing once each: more asks than the pool holds (16), so
    // new connections are tried, and refused, too.
    for ask in 0..20 {
        assert_eq!(status("/readyz").await, 503, "ask {ask} during the outage");
    }
    let answer = reqwest::get(format!("{}/readyz", server.url)).await.unwrap().text().await.unwrap();
    assert_eq!(answer, "database unavailable\n");
    let health = reqwest::get(format!("{}/healthz", server.url)).await.unwrap();
    assert_eq!(health.status(), 200, "the process is up even without its database");
    assert_eq!(health.text().await.unwrap(), "ok\n");

    twofold_testkit::execute(&admin, &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    readyz_becomes(&server.url, 200).await;
    assert_eq!(status("/healthz").await, 200);
}

/// Announces a 2 MiB body and reads the status line: the server refuses before reading it.
async fn oversized_body_status(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /api/v1/users HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    String::from_utf8_lossy(&head[9..12]).into_owned()
}

/// Attack: address spoofing. X-Forwarded-For counts only from a configured proxy.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    for trusted in [true, false] {
        let env = Env::sqlite(BIN);
        let args: &[&str] = if trusted { &["--trusted-proxy", "127.0.0.1/32"] } else { &[] };
        let server = env.serve(args).await;
        let created = api(&env.admin_token())
            .post(format!("{}/api/v1/groups", server.url))
            .header("x-forwarded-for", "203.0.113.7")
            .json(&json!({"name": "proxied"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let log = env.audit_log();
        let event: Value = log
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|e| e["action"] == "group.create")
            .unwrap();
        let expected = if trusted { "203.0.113.7" } else { "127.0.0.1" };
        assert_eq!(event["ip"], expected, "trusted proxy: {trusted}");
    }
}
