//! Load run: password sign-ins against a running `twofold serve`.
//!
//! `cargo run --release --example signin_load -- URL USERNAME PASSWORD CONCURRENCY REQUESTS [SERVER_PID]`
//!
//! Posts the sign-in form (with a double-submit CSRF pair) REQUESTS times from CONCURRENCY
//! clients and reports throughput and latency percentiles. With the server's PID it also
//! reads the server's CPU time from /proc, giving sign-ins per CPU-second of the server:
//! the figure to compare with the bare argon2id rate per core from `cargo bench -p twofold-core`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[tokio::main]
async fn main() {
    twofold_mail::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    assert!(args.len() >= 6, "usage: signin_load URL USERNAME PASSWORD CONCURRENCY REQUESTS [SERVER_PID]");
    let (url, username, password) = (args[1].clone(), args[2].clone(), args[3].clone());
    let concurrency: usize = args[4].parse().unwrap();
    let requests: usize = args[5].parse().unwrap();
    let pid: Option<u32> = args.get(6).map(|p| p.parse().unwrap());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let csrf = "b".repeat(43);

    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let per_client = requests / concurrency;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, username, password, csrf) =
                (client.clone(), url.clone(), username.clone(), password.clone(), csrf.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let t = Instant::now();
                    let response = client
                        .post(format!("{url}/login"))
                        .header("cookie", format!("twofold_csrf={csrf}"))
                        .form(&[("username", &username), ("password", &password), ("csrf", &csrf)])
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 303, "sign-in failed");
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid).zip(cpu_before).map(|(after, before)| after - before);
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    let n = latencies.len() as f64;
    println!("sign-ins: {} in {elapsed:.2}s at concurrency {concurrency}", latencies.len());
    println!("throughput: {:.1}/s   p50 {:.1} ms   p99 {:.1} ms", n / elapsed, pct(0.5), pct(0.99));
    if let Some(cpu) = cpu {
        println!("server CPU: {cpu:.2}s  ->  {:.1} sign-ins per server CPU-second", n / cpu);
    }
}
