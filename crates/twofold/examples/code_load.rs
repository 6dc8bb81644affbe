//! Load run of the authorization code flow against a running `twofold serve`: one person
//! signs in (password), then N authorization requests each get a code (`GET
//! /oauth2/authorize`, PKCE S256), then the N codes are exchanged (`POST /oauth2/token`,
//! client_secret_basic) at the given concurrency. Each exchange redeems the code once, signs
//! an ID token (the client's algorithm) and an ES256 access token, stores a refresh token and
//! commits an audit event before answering.
//!
//! `code_load URL CLIENT_ID CLIENT_SECRET USERNAME PASSWORD N CONCURRENCY [SERVER_PID]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::Digest;

const REDIRECT: &str = "http://localhost:9999/callback";
const VERIFIER: &str = "load-test-verifier-load-test-verifier-0123456789";

fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Runs `work(i)` for i in 0..n on `concurrency` workers; returns the sorted latencies, the
/// wall time and the results.
async fn run<T, F, Fut>(n: usize, concurrency: usize, work: F) -> (Vec<Duration>, f64, Vec<T>)
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let work = Arc::new(work);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let work = Arc::clone(&work);
            tokio::spawn(async move {
                let mut out = Vec::new();
                let mut i = worker;
                while i < n {
                    let t = Instant::now();
                    let result = work(i).await;
                    out.push((t.elapsed(), result));
                    i += concurrency;
                }
                out
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        for (latency, result) in task.await.unwrap() {
            latencies.push(latency);
            results.push(result);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    (latencies, elapsed, results)
}

fn report(what: &str, latencies: &[Duration], elapsed: f64, cpu: Option<f64>) {
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{what}: {} in {elapsed:.2}s: {:.0}/s   p50 {:.1} ms   p99 {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
    if let Some(cpu) = cpu {
        println!("  server CPU: {cpu:.2} s, {:.0} per server CPU-second", latencies.len() as f64 / cpu.max(0.001));
    }
}

#[tokio::main]
async fn main() {
    twofold_mail::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    assert!(args.len() >= 8, "usage: code_load URL CLIENT_ID CLIENT_SECRET USERNAME PASSWORD N CONCURRENCY [PID]");
    let (url, id, secret) = (args[1].clone(), args[2].clone(), args[3].clone());
    let (n, concurrency): (usize, usize) = (args[6].parse().unwrap(), args[7].parse().unwrap());
    let pid = args.get(8).cloned();
    let cpu = || pid.as_deref().and_then(cpu_ticks);

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let page = browser.get(format!("{url}/login")).send().await.unwrap().text().await.unwrap();
    let signed_in = browser
        .post(format!("{url}/login"))
        .form(&[("username", args[4].as_str()), ("password", args[5].as_str()), ("csrf", &hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303, "sign-in");

    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER));
    let before = cpu();
    let (latencies, elapsed, codes) = {
        let (browser, url, id) = (browser.clone(), url.clone(), id.clone());
        run(n, concurrency, move |_| {
            let (browser, url, id, challenge) = (browser.clone(), url.clone(), id.clone(), challenge.clone());
            async move {
                let response = browser
                    .get(format!("{url}/oauth2/authorize"))
                    .query(&[
                        ("response_type", "code"),
                        ("client_id", id.as_str()),
                        ("redirect_uri", REDIRECT),
                        ("scope", "openid"),
                        ("code_challenge", &challenge),
                        ("code_challenge_method", "S256"),
                    ])
                    .send()
                    .await
                    .unwrap();
                let location = response.headers()["location"].to_str().unwrap();
                location.split("code=").nth(1).expect("a code").split('&').next().unwrap().to_owned()
            }
        })
        .await
    };
    let after = cpu();
    report("authorizations", &latencies, elapsed, before.zip(after).map(|(b, a)| (a - b) as f64 / 100.0));

    let codes = Arc::new(codes);
    let app = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let before = cpu();
    let (latencies, elapsed, _) = run(n, concurrency, move |i| {
        let (app, url, id, secret, codes) = (app.clone(), url.clone(), id.clone(), secret.clone(), Arc::clone(&codes));
        async move {
            let response = app
                .post(format!("{url}/oauth2/token"))
                .basic_auth(&id, Some(&secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", codes[i].as_str()),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ])
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{}", response.text().await.unwrap());
            response.bytes().await.unwrap();
        }
    })
    .await;
    let after = cpu();
    report("code exchanges", &latencies, elapsed, before.zip(after).map(|(b, a)| (a - b) as f64 / 100.0));
}
