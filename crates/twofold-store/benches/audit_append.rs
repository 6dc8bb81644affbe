//! Audit appends per second with chaining, one writer and eight concurrent writers, on
//! SQLite and (when TWOFOLD_TEST_DATABASE_URL names a server) PostgreSQL. Each append is
//! one committed transaction that locks the chain head.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::store::AuditStore;
use twofold_store::SqlStore;

const WRITERS: u64 = 8;

async fn append(store: &SqlStore, n: u64) {
    let change = Change::new(AuditAction::OidcRevoke, Some(n.to_string()))
        .states(None, Some(serde_json::json!({"n": n, "note": "benchmark event"})));
    store.append_audit(&change, &AuditContext::system("bench", Timestamp(1_795_000_000_000))).await.unwrap();
}

fn audit_appends(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut databases = vec![twofold_testkit::sqlite()];
    if let Some(server) = twofold_testkit::postgres_url() {
        databases.push(rt.block_on(twofold_testkit::postgres(&server)));
    }
    for db in databases {
        let store = Arc::new(rt.block_on(SqlStore::open(&db.url)).unwrap());
        let mut group = c.benchmark_group(format!("audit_append/{}", db.backend));
        group.throughput(Throughput::Elements(1)).sample_size(20).measurement_time(Duration::from_secs(10));
        group.bench_function("1_writer", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for n in 0..iters {
                        append(&store, n).await;
                    }
                    start.elapsed()
                })
            });
        });
        group.bench_function("8_writers", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..WRITERS)
                        .map(|w| {
                            let store = Arc::clone(&store);
                            tokio::spawn(async move {
                                for n in (w..iters).step_by(usize::try_from(WRITERS).unwrap()) {
                                    append(&store, n).await;
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                    start.elapsed()
                })
            });
        });
        group.finish();
    }
}

criterion_group!(benches, audit_appends);
criterion_main!(benches);
