//! WebAuthn assertion checks per second: webauthn-rs verifying one ES256 assertion against a
//! stored passkey, as the second step and passkey sign-in do (parse the client data and
//! authenticator data, check challenge, origin, RP id hash and flags, verify the signature).
//! The credential and assertion come from the tests' software authenticator
//! (tests/webauthn/authenticator.py: python3 with the `cryptography` package).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential, Uuid};

const ORIGIN: &str = "http://localhost:8080";

fn authenticator(args: &[&str], input: &serde_json::Value) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/webauthn/authenticator.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with the cryptography package");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "authenticator.py {args:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assertion_check(c: &mut Criterion) {
    let rp = twofold_app::factors::passkeys::relying_party(ORIGIN).unwrap();
    let dir = std::env::temp_dir().join(format!("twofold-bench-passkey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir_text = dir.to_str().unwrap();

    let (creation, registration) = rp.start_passkey_registration(Uuid::new_v4(), "bench", "Bench", None).unwrap();
    let created =
        authenticator(&["create", dir_text, ORIGIN, "none"], &serde_json::to_value(&creation.public_key).unwrap());
    let created: RegisterPublicKeyCredential = serde_json::from_value(created).unwrap();
    let passkey = rp.finish_passkey_registration(&created, &registration).unwrap();

    let (request, authentication) = rp.start_passkey_authentication(&[passkey]).unwrap();
    let answer = authenticator(&["get", dir_text, ORIGIN], &serde_json::to_value(&request.public_key).unwrap());
    let answer: PublicKeyCredential = serde_json::from_value(answer).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    let mut group = c.benchmark_group("webauthn");
    group.throughput(Throughput::Elements(1));
    group.bench_function("finish_passkey_authentication_es256", |b| {
        b.iter(|| rp.finish_passkey_authentication(&answer, &authentication).unwrap());
    });
    group.finish();
}

criterion_group!(benches, assertion_check);
criterion_main!(benches);
