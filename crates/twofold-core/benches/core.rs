//! Core benchmarks: the bare argon2id cost (the bound on password sign-ins per core),
//! the password rules, and sealing an audit event.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, AuditEvent, Change, GENESIS_HASH};
use twofold_core::password::{HashParams, check_new_password, hash_password, verify_password};
use uuid::Uuid;

fn passwords(c: &mut Criterion) {
    let phc = hash_password("correct horse battery staple", HashParams::default()).unwrap();
    let mut group = c.benchmark_group("password");
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    group.bench_function("argon2id_verify_owasp_default", |b| {
        b.iter(|| verify_password(black_box("correct horse battery staple"), &phc));
    });
    group.finish();
    c.bench_function("password/check_new_password_rules", |b| {
        b.iter(|| check_new_password(black_box("tangerine ferry lamp post"), black_box("alice")));
    });
}

fn audit(c: &mut Criterion) {
    let ctx = AuditContext::system("bench", Timestamp(1_795_000_000_000));
    let change = Change::new("user.update", "user", Some(Uuid::nil().to_string())).states(
        Some(serde_json::json!({"username": "alice", "department": "Finance", "tier": "standard"})),
        Some(serde_json::json!({"username": "alice", "department": "Ops", "tier": "privileged"})),
    );
    c.bench_function("audit/seal_event", |b| {
        b.iter(|| AuditEvent::seal(black_box(42), Uuid::nil(), GENESIS_HASH, &change, &ctx))
    });
}

criterion_group!(benches, passwords, audit);
criterion_main!(benches);
