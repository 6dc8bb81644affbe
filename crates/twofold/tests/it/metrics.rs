//! `/metrics`: a bounded set of series whatever clients send, and an optional bearer token.

use twofold_testkit::{Env, stderr};

use crate::BIN;

/// `/metrics` as text, with the token when given.
async fn scrape(client: &reqwest::Client, url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = client.get(format!("{url}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The request-counter series in an exposition.
fn request_series(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("twofold_http_requests_total{")).collect()
}

/// Sends `method` to `path`; the answer does not matter.
async fn send(client: &reqwest::Client, url: &str, method: &str, path: &str) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = client.request(method, format!("{url}{path}")).send().await.unwrap();
    assert!(response.status().is_client_error(), "{path}: {}", response.status());
}

/// Attack: unbounded telemetry. Each request with a made-up HTTP method (some 60 KB long)
/// or a made-up path used to become a new `method` label value, so 40 requests grew
/// `/metrics` from 0.27 MB to 41 MB (and the server's memory with it) until scraping it
/// failed. The method label is now a closed set (`other` for anything made up) and the route
/// label the router's template, so after one such request the series stay the same.
#[tokio::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&[]).await;
        let client = reqwest::Client::new();
        // Warm up: the scrape's own series and one of each kind of odd request.
        scrape(&client, &server.url, None).await;
        send(&client, &server.url, "BREW", "/login").await;
        send(&client, &server.url, "BREW", "/no-such-page").await;
        send(&client, &server.url, "GET", "/no-such-page").await;
        let (status, before) = scrape(&client, &server.url, None).await;
        assert_eq!(status, 200, "{b}");
        assert!(before.contains("method=\"other\""), "{b}: {before}");

        for i in 0..40 {
            let length = if i % 10 == 0 { 60 * 1024 } else { 200 };
            let method = format!("M{i}{}", "X".repeat(length));
            let path = if i % 2 == 0 { "/login".to_owned() } else { format!("/made-up-{i}-{}", "p".repeat(200)) };
            send(&client, &server.url, &method, &path).await;
            send(&client, &server.url, "GET", &format!("/made-up-{i}")).await;
        }

        let (_, after) = scrape(&client, &server.url, None).await;
        assert_eq!(request_series(&after).len(), request_series(&before).len(), "{b}: no new series:\n{after}");
        assert!(!after.contains("XXXX") && !after.contains("made-up"), "{b}: no request text in labels");
        // Counts grow by a digit or two; the exposition does not grow with what was sent.
        assert!(after.len() < before.len() + 1024, "{b}: {} bytes, then {} bytes", before.len(), after.len());
    }
}

/// Attack: reading operational data anonymously. `/metrics` tells anyone who can reach it
/// sign-in failure rates and campaign progress. With a token configured (here by
/// `--metrics-token-file`), a scrape without it, or with a wrong or truncated one, gets 401;
/// only `Authorization: Bearer <token>` is answered. A too-short token refuses to start and
/// is never echoed.
#[tokio::test]
async fn metrics_with_a_token_configured_answer_only_the_token() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let token = "scrape-me-with-this-0123456789";
        let file = env.data_dir.parent().unwrap().join("metrics.token");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        let server = env.serve(&["--metrics-token-file", file.to_str().unwrap()]).await;
        let client = reqwest::Client::new();

        let (status, body) = scrape(&client, &server.url, None).await;
        assert_eq!(status, 401, "{b}: {body}");
        assert!(!body.contains("twofold_"), "{b}: nothing leaks: {body}");
        let anonymous = client.get(format!("{}/metrics", server.url)).send().await.unwrap();
        assert!(anonymous.headers().get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")));
        for wrong in
            ["scrape-me-with-this-012345678", "scrape-me-with-this-01234567890", "", "Scrape-me-with-this-0123456789"]
        {
            assert_eq!(scrape(&client, &server.url, Some(wrong)).await.0, 401, "{b}: {wrong:?}");
        }
        let basic = client.get(format!("{}/metrics", server.url)).basic_auth(token, None::<&str>).send().await.unwrap();
        assert_eq!(basic.status(), 401, "{b}: only a bearer token");

        let (status, body) = scrape(&client, &server.url, Some(token)).await;
        assert_eq!(status, 200, "{b}: {body}");
        assert!(body.contains("twofold_http_requests_total"), "{b}: {body}");
        // The other operations endpoints stay open for load balancers.
        assert_eq!(client.get(format!("{}/healthz", server.url)).send().await.unwrap().status(), 200, "{b}");
        drop(server);

        // The same token from a config file.
        let config = env.data_dir.parent().unwrap().join("metrics.toml");
        std::fs::write(&config, format!("metrics_token = \"{token}\"\n")).unwrap();
        let server = env.serve(&["--config", config.to_str().unwrap()]).await;
        assert_eq!(scrape(&client, &server.url, None).await.0, 401, "{b}");
        assert_eq!(scrape(&client, &server.url, Some(token)).await.0, 200, "{b}");
        drop(server);

        std::fs::write(&file, "short-secret\n").unwrap();
        let refused = env.cli(&["serve", "--listen", "127.0.0.1:0", "--metrics-token-file", file.to_str().unwrap()]);
        assert!(!refused.status.success(), "{b}");
        let said = stderr(&refused);
        assert!(said.contains("at least 16 characters") && !said.contains("short-secret"), "{b}: {said}");
    }
}
