//! Load run: `POST /oauth2/token` with `grant_type=client_credentials` at high concurrency
//! against a running `twofold serve`, as one service account (client_secret_basic).
//!
//! `grant_load URL CLIENT_ID CLIENT_SECRET N CONCURRENCY [SERVER_PID]` reports throughput,
//! p50/p99 latency and, given the server's pid, the server's CPU time per grant. Every answer
//! carries a freshly signed ES256 token and follows a committed audit event.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

/// The server's user + system CPU time in clock ticks, from /proc.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[tokio::main]
async fn main() {
    twofold_mail::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    assert!(args.len() >= 6, "usage: grant_load URL CLIENT_ID CLIENT_SECRET N CONCURRENCY [SERVER_PID]");
    let (url, id, secret) = (args[1].clone(), args[2].clone(), args[3].clone());
    let (n, concurrency): (usize, usize) = (args[4].parse().unwrap(), args[5].parse().unwrap());
    let pid = args.get(6).cloned();
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let cpu_before = pid.as_deref().and_then(cpu_ticks);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (client, url, id, secret) = (client.clone(), url.clone(), id.clone(), secret.clone());
            let share = n / concurrency + usize::from(worker < n % concurrency);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(share);
                for _ in 0..share {
                    let t = Instant::now();
                    let response = client
                        .post(format!("{url}/oauth2/token"))
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    response.bytes().await.unwrap();
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
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!("grants: {} in {elapsed:.2}s at concurrency {concurrency}", latencies.len());
    println!(
        "throughput: {:.0}/s   p50 {:.1} ms   p99 {:.1} ms",
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
    if let (Some(before), Some(after)) = (cpu_before, pid.as_deref().and_then(cpu_ticks)) {
        let cpu_secs = (after - before) as f64 / 100.0;
        println!(
            "server CPU: {cpu_secs:.2} s, {:.0} grants per server CPU-second",
            latencies.len() as f64 / cpu_secs.max(0.001)
        );
    }
}
