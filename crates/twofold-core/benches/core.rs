//! Core benchmarks: the bare argon2id cost (the bound on password sign-ins per core),
//! the password rules, and sealing an audit event.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, AuditEvent, Change, GENESIS_HASH};
use twofold_core::identity::password::{HashParams, check_new_password, hash_password, verify_password};
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
    let change = Change::new(twofold_core::audit::AuditAction::UserUpdate, Some(Uuid::nil().to_string())).states(
        Some(serde_json::json!({"username": "alice", "department": "Finance", "tier": "standard"})),
        Some(serde_json::json!({"username": "alice", "department": "Ops", "tier": "privileged"})),
    );
    c.bench_function("audit/seal_event", |b| {
        b.iter(|| AuditEvent::seal(black_box(42), Uuid::nil(), GENESIS_HASH, &change, &ctx))
    });
}

/// 1,000 rules (groups, zones, devices, actions, a tenth report-only) evaluated for one
/// sign-in: what every sign-in would pay.
fn policy(c: &mut Criterion) {
    use twofold_core::access::{Action, Device, Facts, Mode, OutcomeKind, Policy, Risk, Rule, What, When, Who};
    use twofold_core::identity::{Role, Tier};
    let mut policy = Policy::default();
    for z in 0..20 {
        policy.zones.insert(format!("zone{z}"), vec![format!("10.{z}.0.0/16"), format!("172.16.{z}.0/24")]);
    }
    for i in 0..1_000 {
        policy.rules.push(Rule {
            name: format!("rule {i}"),
            mode: if i % 10 == 0 { Mode::ReportOnly } else { Mode::Enforce },
            who: Who { groups: vec![format!("g{}", i % 200)], exclude_tiers: vec![Tier::BreakGlass], ..Who::default() },
            what: What { actions: if i % 3 == 0 { vec![Action::Export] } else { Vec::new() }, ..What::default() },
            when: When {
                outside_zones: vec![format!("zone{}", i % 20)],
                devices: if i % 2 == 0 { vec![Device::New] } else { Vec::new() },
                ..When::default()
            },
            outcome: OutcomeKind::Require,
            strength: Some(if i % 7 == 0 { "phr" } else { "mfa" }.into()),
            within_minutes: None,
        });
    }
    let groups: Vec<String> = (0..5).map(|g| format!("g{}", g * 37)).collect();
    let roles = [Role::User];
    let facts = Facts {
        username: "bob",
        groups: &groups,
        tier: Tier::Standard,
        roles: &roles,
        service_account: false,
        app: Some("wiki"),
        host_path: None,
        action: Action::Export,
        ip: "203.0.113.9".parse().ok(),
        device: Device::New,
        country: None,
        risk: Risk::Low,
        overdue: None,
        now: Timestamp(1_800_000_000_000),
    };
    let decision = twofold_core::access::evaluate(&policy, &facts);
    assert!(!decision.hits.is_empty());
    c.bench_function("policy/evaluate_1000_rules", |b| {
        b.iter(|| twofold_core::access::evaluate(black_box(&policy), &facts))
    });
    // The tail: criterion reports the typical time; a sign-in pays each evaluation once, so
    // the 99th percentile of single evaluations is measured here too.
    let mut samples: Vec<u128> = (0..20_000)
        .map(|_| {
            let start = std::time::Instant::now();
            black_box(twofold_core::access::evaluate(black_box(&policy), &facts));
            start.elapsed().as_nanos()
        })
        .collect();
    samples.sort_unstable();
    let (p50, p99) = (samples[samples.len() / 2], samples[samples.len() * 99 / 100]);
    #[allow(clippy::cast_precision_loss)]
    let per_second = 1e9 / p50 as f64;
    eprintln!(
        "policy/evaluate_1000_rules single evaluations: p50 {:.1} us, p99 {:.1} us, {per_second:.0} evaluations/s per core",
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0
    );
}

/// 1,000,000 recorded sign-ins of 10,000 people replayed against the documented example
/// policy (`twofold policy simulate`'s work once the events are read).
fn simulation(c: &mut Criterion) {
    use twofold_core::access::{Device, simulate};
    use twofold_core::identity::{Role, Tier};
    use twofold_core::signin::{SignInContext, SignInEvent, SignInOutcome};
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy-example.toml")).unwrap();
    let groups = ["engineering".to_owned(), "finance".to_owned()];
    let draft = twofold_core::access::file::load(&source, &groups).unwrap();
    let ids: Vec<Uuid> = (0..10_000).map(|_| Uuid::now_v7()).collect();
    let people = ids.iter().enumerate().map(|(i, id)| {
        let tier = [Tier::Standard, Tier::Standard, Tier::Privileged, Tier::External][i % 4];
        let person = simulate::Person {
            username: format!("user{i}"),
            groups: vec![groups[i % 2].clone()],
            tier,
            roles: if i % 50 == 0 { vec![Role::Admin] } else { vec![Role::User] },
            best_acr: ["pwd", "mfa", "mfa", "phr"][i % 4].into(),
            methods: vec!["pwd".into(), "otp".into()],
        };
        (*id, person)
    });
    let people: Vec<_> = people.collect();
    let events: Vec<SignInEvent> = (0..1_000_000u32)
        .map(|n| SignInEvent {
            id: Uuid::now_v7(),
            at: Timestamp(1_800_000_000_000 + i64::from(n) * 2_000),
            username: String::new(),
            user_id: Some(ids[n as usize % ids.len()]),
            outcome: SignInOutcome::Success,
            reason: None,
            methods: vec!["pwd".into()],
            ip: Some(if n % 3 == 0 {
                format!("10.0.{}.{}", n % 250, n % 200)
            } else {
                format!("203.0.113.{}", n % 250)
            }),
            user_agent: None,
            source: None,
            context: SignInContext {
                app: Some("wiki".into()),
                device: Some([Device::New, Device::Known, Device::Trusted][n as usize % 3]),
                ..SignInContext::default()
            },
        })
        .collect();
    let mut group = c.benchmark_group("policy");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("simulate_1m_sign_ins", |b| {
        b.iter(|| {
            let mut simulation = simulate::Simulation::new(&draft, None, people.clone());
            for page in events.chunks(20_000) {
                simulation.feed(page);
            }
            let report = simulation.report();
            assert_eq!(report.sign_ins, 1_000_000);
            report
        });
    });
    group.finish();
}

criterion_group!(benches, passwords, audit, policy, simulation);
criterion_main!(benches);
