//! Security regressions for exceptions: an approval and a revocation take effect at once on
//! every node (no waiting for the scheduler), an ended exception keeps its approver apart
//! from who ended it and why, and a request always names the person asking. Two
//! `twofold serve` nodes share the database on each backend (on PostgreSQL, the scale-out
//! set-up); the CLI acts as a third.

use serde_json::Value;
use twofold_testkit::{Env, Server, api, stderr, stdout};

use crate::BIN;
use crate::campaigns::campaign_file;

const REDIRECT: &str = "http://localhost:9999/cb";

fn refused(location: &str) -> bool {
    location.starts_with(REDIRECT) && location.contains("error=access_denied") && location.contains("campaign")
}

fn issued(location: &str) -> bool {
    location.starts_with(&format!("{REDIRECT}?code="))
}

/// How many `action` events the audit log holds for exception `id`.
fn audited(env: &Env, action: &str, id: &str) -> usize {
    let log = env.audit_log();
    log.lines().filter(|l| l.contains(&format!("\"{action}\"")) && l.contains(id)).count()
}

/// The exception `id` as `exception list --format json` shows it.
fn listed(env: &Env, id: &str) -> Value {
    let list = env.cli_json(&["exception", "list"]);
    list["exceptions"].as_array().unwrap().iter().find(|e| e["id"] == id).cloned().unwrap()
}

/// Requests an exception for alice (asked by erin) until `until`; returns its id.
fn request_for_alice(env: &Env, until: &str) -> String {
    let asked = env.cli(&[
        "exception",
        "request",
        "--user",
        "alice",
        "--reason",
        "replacement phone in the post",
        "--until",
        until,
        "--requested-by",
        "erin",
        "--format",
        "json",
    ]);
    assert!(asked.status.success(), "{}: {}", env.backend, stderr(&asked));
    serde_json::from_slice::<Value>(&asked.stdout).unwrap()["id"].as_str().unwrap().to_owned()
}

/// Two nodes and the CLI on one database; the pilot campaign started and its jobs run once, so
/// alice is recorded `blocked`; carol (an approver) has an authenticator app; a client "Wiki".
/// Returns (node A, node B, carol's key, the client's id).
async fn blocked_alice(env: &Env) -> (Server, Server, String, String) {
    let b = env.backend;
    let node_a = env.serve(&["--demo"]).await;
    let node_b = env.serve(&[]).await;
    let web = node_a.browser();
    web.password_step("carol").await;
    let carol_key = web.enrol_totp().await;
    let file = env.path("campaign.toml");
    std::fs::write(&file, campaign_file(env)).unwrap();
    assert!(env.cli(&["campaign", "apply", file.to_str().unwrap()]).status.success(), "{b}");
    assert!(env.cli(&["campaign", "start", "MFA for everyone"]).status.success(), "{b}");
    let jobs = stdout(&env.cli(&["campaign", "run-jobs"]));
    assert!(jobs.contains("1 running campaign(s)"), "{b}: {jobs}");
    let client = env.cli(&["client", "add", "Wiki", "--redirect-uri", REDIRECT, "--format", "json"]);
    let client_id = serde_json::from_slice::<Value>(&client.stdout).unwrap()["client_id"].as_str().unwrap().to_owned();
    (node_a, node_b, carol_key, client_id)
}

/// Attack: riding the scheduler's delay. alice, blocked by the campaign, keeps a session on
/// node B; an exception is approved and then revoked on another node (the CLI) while no
/// scheduler runs. Before the fix the approval lifted nothing until the next run, and the
/// revoked exception kept lifting the block — node B issued codes and `exception.use` was
/// audited after the revocation. Now the approval opens the app at once on both nodes, and
/// the revocation closes it at once: the very next authorization and sign-in are refused and
/// no `exception.use` follows the revocation. The exception list keeps who approved it apart
/// from who revoked it and why.
#[tokio::test]
async fn an_approval_and_a_revocation_take_effect_at_once_on_every_node() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let (node_a, node_b, carol_key, client_id) = blocked_alice(&env).await;
        let alice = node_b.browser();
        let next = alice.password_step("alice").await;
        assert!(next.starts_with("/account/security"), "{b}: blocked, she may only set up a method: {next}");
        let location = alice.authorize(&client_id, REDIRECT).await;
        assert!(refused(&location), "{b}: blocked: {location}");

        // Approved through the CLI; the scheduler is not run.
        let id = request_for_alice(&env, &env.date(7));
        let approved =
            env.cli(&["exception", "approve", &id, "--approver", "carol", "--code", &env.totp(&carol_key, 30)]);
        assert!(stdout(&approved).contains(": approved"), "{b}: {}{}", stdout(&approved), stderr(&approved));
        let location = alice.authorize(&client_id, REDIRECT).await;
        assert!(issued(&location), "{b}: node B honours the approval at once: {location}");
        let on_a = node_a.browser();
        on_a.password_step("alice").await;
        let location = on_a.authorize(&client_id, REDIRECT).await;
        assert!(issued(&location), "{b}: and so does node A: {location}");
        assert_eq!(audited(&env, "exception.use", &id), 1, "{b}: the sign-in under it is audited");

        // Revoked through the CLI; the scheduler is not run.
        let revoked = env.cli(&["exception", "revoke", &id, "--reason", "phone arrived early"]);
        assert!(stdout(&revoked).contains(": revoked"), "{b}: {}{}", stdout(&revoked), stderr(&revoked));
        let location = alice.authorize(&client_id, REDIRECT).await;
        assert!(refused(&location), "{b}: node B's session is refused at once: {location}");
        let location = on_a.authorize(&client_id, REDIRECT).await;
        assert!(refused(&location), "{b}: node A's too: {location}");
        let again = node_b.browser();
        let next = again.password_step("alice").await;
        assert!(next.starts_with("/account/security"), "{b}: the next sign-in is blocked again: {next}");
        assert!(refused(&again.authorize(&client_id, REDIRECT).await), "{b}");
        assert_eq!(audited(&env, "exception.use", &id), 1, "{b}: no use of a revoked exception");

        let shown = listed(&env, &id);
        assert_eq!(shown["state"], "revoked", "{b}: {shown:#}");
        assert_eq!(shown["requested_by"], "erin", "{b}: {shown:#}");
        assert_eq!(shown["approved_by"], "carol", "{b}: the approver is kept: {shown:#}");
        assert!(shown["ended_by"].as_str().is_some_and(|by| by.starts_with("cli:")), "{b}: {shown:#}");
        assert_eq!(shown["end_reason"], "phone arrived early", "{b}: {shown:#}");
        assert!(shown["approved_at"].is_i64() && shown["ended_at"].is_i64(), "{b}: {shown:#}");
        let table = stdout(&env.cli(&["exception", "list"]));
        assert!(
            table.contains("APPROVED BY") && table.contains("ENDED BY") && table.contains("END REASON"),
            "{b}: {table}"
        );
        assert!(table.contains("phone arrived early") && table.contains("carol"), "{b}: {table}");

        // The admin API says the same.
        let list: Value = api(&env.admin_token())
            .get(format!("{}/api/v1/exceptions", node_b.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let from_api = list["exceptions"].as_array().unwrap().iter().find(|e| e["id"] == id.as_str()).unwrap();
        assert_eq!(
            (&from_api["approved_by"], &from_api["end_reason"]),
            (&Value::from("carol"), &Value::from("phone arrived early")),
            "{b}: {from_api:#}"
        );
        assert!(from_api.get("decided_by").is_none(), "{b}: no field mixes the approver with who ended it");
    }
}

/// Attack: using an exception past its end. An exception for blocked alice ends a few
/// seconds after its approval; before the scheduler records the expiry (no run), her session
/// on node B is refused again and a new sign-in audits no `exception.use`. When the scheduler
/// records the end, the exception keeps its approver and names the scheduler and the reason.
#[tokio::test]
async fn an_exception_stops_covering_at_its_end_before_the_scheduler_records_it() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let (_node_a, node_b, carol_key, client_id) = blocked_alice(&env).await;
        let until = env.now().plus_seconds(6).to_rfc3339();
        let id = request_for_alice(&env, &until);
        let approved =
            env.cli(&["exception", "approve", &id, "--approver", "carol", "--code", &env.totp(&carol_key, 30)]);
        assert!(stdout(&approved).contains(": approved"), "{b}: {}{}", stdout(&approved), stderr(&approved));
        let alice = node_b.browser();
        alice.password_step("alice").await;
        assert!(issued(&alice.authorize(&client_id, REDIRECT).await), "{b}: covered until its end");
        let uses = audited(&env, "exception.use", &id);
        assert_eq!(uses, 1, "{b}");

        // The end is a time, not an event: the clock moves past it (and nothing else happens).
        env.advance(7);
        assert_eq!(audited(&env, "exception.expire", &id), 0, "{b}: the end is not recorded yet");
        let location = alice.authorize(&client_id, REDIRECT).await;
        assert!(refused(&location), "{b}: over at its end, recorded or not: {location}");
        let again = node_b.browser();
        let next = again.password_step("alice").await;
        assert!(next.starts_with("/account/security"), "{b}: {next}");
        assert_eq!(audited(&env, "exception.use", &id), uses, "{b}: no use after its end");

        assert!(env.cli(&["campaign", "run-jobs"]).status.success(), "{b}");
        let shown = listed(&env, &id);
        assert_eq!(shown["state"], "expired", "{b}: {shown:#}");
        assert_eq!(shown["approved_by"], "carol", "{b}: the approver is kept: {shown:#}");
        assert_eq!(shown["ended_by"], "campaign scheduler", "{b}: {shown:#}");
        assert_eq!(shown["end_reason"], "end date reached", "{b}: {shown:#}");
        assert_eq!(audited(&env, "exception.expire", &id), 1, "{b}");
    }
}

/// Attack: an anonymous requester. Without `--requested-by` the requester used to be
/// recorded as `cli:<os user>`, so "the approver is not the requester" compared nothing and
/// the requester could approve their own request. The CLI and the API now refuse a request
/// that names nobody, with a clear error, and change nothing.
#[tokio::test]
async fn a_request_must_name_the_person_asking() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let token = env.admin_token();
        let before = env.audit_event_count();
        let out = env.cli(&["exception", "request", "--user", "alice", "--reason", "x", "--until", &env.date(7)]);
        assert!(!out.status.success(), "{b}");
        assert!(stderr(&out).contains("--requested-by"), "{b}: names the missing option: {}", stderr(&out));
        let response = api(&token)
            .post(format!("{}/api/v1/exceptions", server.url))
            .json(&serde_json::json!({"username": "alice", "reason": "x", "until": env.date(7)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{b}");
        let problem: Value = response.json().await.unwrap();
        assert!(problem.to_string().contains("requested_by"), "{b}: {problem:#}");
        assert_eq!(env.audit_event_count(), before, "{b}: nothing was recorded");
        let list: Value = serde_json::from_slice(&env.cli(&["exception", "list", "--format", "json"]).stdout).unwrap();
        assert_eq!(list["exceptions"], serde_json::json!([]), "{b}: nothing was requested");
    }
}
