//! Load run: `POST /api/v1/verify` at high concurrency against a running `twofold serve`.
//!
//! `verify_load prepare DIR N` writes DIR/users.csv and DIR/tokens.csv: N users, each with a
//! TOTP token assigned to them (import both with `twofold user import` / `twofold token import`).
//! `verify_load run URL API_KEY N CONCURRENCY` then has every user verify one fresh code
//! (codes computed here from the same seeds), and reports throughput and latency. Every
//! answer is a committed transaction (used step, sign-in event, chained audit event).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use twofold_core::Timestamp;
use twofold_core::clock::{Clock, SystemClock};
use twofold_core::factors::otp::{TotpParams, base32_encode, totp};
use twofold_core::secret::sha256_hex;

fn seed(n: usize) -> Vec<u8> {
    hex_decode(&sha256_hex(format!("verify-load-{n}").as_bytes()))[..20].to_vec()
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn prepare(dir: &str, n: usize) {
    let mut users = String::from("username,email,department\n");
    let mut tokens = String::from("serial,secret,type,digits,period,username\n");
    for i in 0..n {
        writeln!(users, "load{i:05},load{i:05}@example.test,Load").unwrap();
        writeln!(tokens, "LOAD-{i:05},{},totp,6,30,load{i:05}", base32_encode(&seed(i))).unwrap();
    }
    std::fs::write(format!("{dir}/users.csv"), users).unwrap();
    std::fs::write(format!("{dir}/tokens.csv"), tokens).unwrap();
}

async fn run(url: String, key: String, n: usize, concurrency: usize) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let now: Timestamp = SystemClock.now();
    let work: Vec<(String, String)> =
        (0..n).map(|i| (format!("load{i:05}"), totp(&seed(i), now, TotpParams::default()))).collect();
    let chunks: Vec<Vec<(String, String)>> = work.chunks(n.div_ceil(concurrency)).map(<[_]>::to_vec).collect();
    let started = Instant::now();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (client, url, key) = (client.clone(), url.clone(), key.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(chunk.len());
                let mut valid = 0usize;
                for (username, code) in chunk {
                    let t = Instant::now();
                    let body: serde_json::Value = client
                        .post(format!("{url}/api/v1/verify"))
                        .bearer_auth(&key)
                        .json(&serde_json::json!({ "username": username, "code": code }))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    latencies.push(t.elapsed());
                    valid += usize::from(body["valid"] == true);
                }
                (latencies, valid)
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut valid = 0;
    for task in tasks {
        let (l, v) = task.await.unwrap();
        latencies.extend(l);
        valid += v;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!("verifications: {} ({valid} valid) in {elapsed:.2}s at concurrency {concurrency}", latencies.len());
    println!(
        "throughput: {:.0}/s   p50 {:.1} ms   p99 {:.1} ms",
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
}

#[tokio::main]
async fn main() {
    twofold_mail::install_crypto_provider();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("prepare") => prepare(&args[2], args[3].parse().unwrap()),
        Some("run") => run(args[2].clone(), args[3].clone(), args[4].parse().unwrap(), args[5].parse().unwrap()).await,
        _ => eprintln!("usage: verify_load prepare DIR N | verify_load run URL API_KEY N CONCURRENCY"),
    }
}
