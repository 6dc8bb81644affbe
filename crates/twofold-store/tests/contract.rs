//! The store contract: the same behaviour on every backend. Each test runs once per
//! database from `twofold_testkit::databases()` (SQLite, and PostgreSQL when configured).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, ChainHead, ChainVerifier, Change};
use twofold_core::identity::api_key::ApiKey;
use twofold_core::identity::{NewUser, Role, User, UserPatch, UserStatus, new_group};
use twofold_core::signin::session::{AuthContext, Session, SessionPolicy, SessionState};
use twofold_core::signin::{PolicyRecord, RuleRecord, SignInContext, SignInEvent, SignInOutcome};
use twofold_core::store::{
    ApiKeyStore, AttemptStore, AuditStore, FactorStore, GroupStore, HealthCheck, OidcClientStore, OidcTokenStore,
    OneTimeCodeStore, RolloutStore, SignInStore, StoreError, UserFilter, UserRecord, UserStore,
};
use twofold_store::SqlStore;
use uuid::Uuid;

fn ctx(at: i64) -> AuditContext {
    AuditContext::system("contract-test", Timestamp(at))
}

fn user(name: &str) -> User {
    NewUser { username: name.into(), email: Some(format!("{name}@example.com")), ..NewUser::default() }
        .validate(Uuid::now_v7(), Timestamp(1_000))
        .unwrap()
}

fn record(name: &str) -> UserRecord {
    UserRecord { user: user(name), password_hash: Some("$argon2id$fake".into()), groups: vec![] }
}

fn success(user: &User, at: i64) -> SignInEvent {
    SignInEvent {
        id: Uuid::now_v7(),
        at: Timestamp(at),
        username: user.username.clone(),
        user_id: Some(user.id),
        outcome: SignInOutcome::Success,
        reason: None,
        methods: vec!["pwd".into()],
        ip: None,
        user_agent: None,
        source: None,
        context: SignInContext::default(),
    }
}

async fn stores() -> Vec<(&'static str, SqlStore)> {
    let mut out = Vec::new();
    for db in twofold_testkit::databases().await {
        out.push((db.backend, SqlStore::open(&db.url).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend))));
    }
    out
}

/// Reads the whole log and checks it against the head, as `twofold audit verify` does.
async fn verify_chain(store: &SqlStore) -> Result<ChainHead, String> {
    let mut verifier = ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = store.audit_events(after, Timestamp(0), 500).await.map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            verifier.push(event).map_err(|e| e.to_string())?;
        }
    }
    verifier.finish(&store.audit_head().await.map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

#[tokio::test]
async fn migrations_apply_once_and_are_recorded() {
    for (backend, store) in stores().await {
        let again = store.migrator().run().await.unwrap();
        assert!(again.applied.is_empty(), "{backend}: nothing left to apply");
        assert_eq!(again.current, store.migrator().latest(), "{backend}");
        store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn users_are_created_found_and_listed_with_an_audit_event_each() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice"), record("bob")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().expect("alice");
        assert_eq!(store.user_by_id(alice.id).await.unwrap().as_ref(), Some(&alice), "{backend}");
        let (_, hash) = store.user_credentials("alice").await.unwrap().unwrap();
        assert_eq!(hash.as_deref(), Some("$argon2id$fake"));
        let names: Vec<_> =
            store.list_users(&UserFilter::default()).await.unwrap().into_iter().map(|u| u.username).collect();
        assert_eq!(names, ["alice", "bob"], "{backend}");
        let events = store.audit_events(0, Timestamp(0), 10).await.unwrap();
        assert_eq!(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["user.create", "user.create"]);
        assert!(!events[0].after.as_deref().unwrap().contains("argon2"), "{backend}: no hash in the audit log");
        assert_eq!(verify_chain(&store).await.unwrap().seq, 2, "{backend}");
    }
}

#[tokio::test]
async fn a_batch_with_a_taken_username_writes_nothing() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let head = store.audit_head().await.unwrap();
        let err = store.create_users(&[record("carol"), record("alice")], &ctx(2)).await.unwrap_err();
        assert!(matches!(&err, StoreError::Conflict(m) if m.contains("alice")), "{backend}: {err}");
        assert!(store.user_by_username("carol").await.unwrap().is_none(), "{backend}: carol rolled back");
        assert_eq!(
            store.audit_head().await.unwrap(),
            head,
            "{backend}: no audit event for a change that did not happen"
        );
    }
}

#[tokio::test]
async fn a_patch_records_exact_before_and_after_and_suspension_revokes_sessions() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let (_, session) =
            Session::start(alice.id, AuthContext::default(), SessionPolicy::default(), Timestamp(5), None, None);
        let event = success(&alice, 5);
        store.start_session(&session, &event, &ctx(5)).await.unwrap();

        let patch = UserPatch {
            status: Some("suspended".into()),
            department: Some(Some("Finance".into())),
            ..UserPatch::default()
        };
        let after = store.update_user(alice.id, &patch, &ctx(10)).await.unwrap();
        assert_eq!(after.status, UserStatus::Suspended);
        let stored = store.session(&session.id_hash).await.unwrap().unwrap();
        assert_eq!(stored.state(Timestamp(11)), SessionState::Revoked, "{backend}");

        let events = store.audit_events(0, Timestamp(0), 10).await.unwrap();
        let update = events.iter().find(|e| e.action == "user.update").unwrap();
        assert!(update.before.as_deref().unwrap().contains(r#""status":"active""#), "{backend}");
        assert!(update.after.as_deref().unwrap().contains(r#""department":"Finance""#), "{backend}");
        assert!(events.iter().any(|e| e.action == "session.revoke_all"), "{backend}");

        let bad = UserPatch { tier: Some("gold".into()), ..UserPatch::default() };
        let head = store.audit_head().await.unwrap();
        assert!(matches!(store.update_user(alice.id, &bad, &ctx(12)).await, Err(StoreError::Invalid(_))));
        assert_eq!(store.audit_head().await.unwrap(), head, "{backend}: a refused patch leaves no event");
        assert!(matches!(store.update_user(Uuid::nil(), &patch, &ctx(12)).await, Err(StoreError::NotFound("user"))));
    }
}

#[tokio::test]
async fn groups_hold_members_once() {
    for (backend, store) in stores().await {
        let group = new_group(Uuid::now_v7(), "planners", Some("Pilot cohort"), Timestamp(1)).unwrap();
        store.create_group(&group, &ctx(1)).await.unwrap();
        assert!(matches!(store.create_group(&group, &ctx(2)).await, Err(StoreError::Conflict(_))), "{backend}");
        store
            .create_users(&[UserRecord { groups: vec!["planners".into()], ..record("alice") }, record("bob")], &ctx(2))
            .await
            .unwrap();
        let bob = store.user_by_username("bob").await.unwrap().unwrap();
        assert!(store.add_group_member(&group, &bob, &ctx(3)).await.unwrap());
        assert!(!store.add_group_member(&group, &bob, &ctx(4)).await.unwrap(), "{backend}: already a member");
        let members: Vec<_> = store.group_members(group.id).await.unwrap().into_iter().map(|u| u.username).collect();
        assert_eq!(members, ["alice", "bob"], "{backend}");
        assert_eq!(store.list_groups().await.unwrap()[0].member_count, 2);
        assert_eq!(store.user_groups(bob.id).await.unwrap(), ["planners"]);
        let filter = UserFilter { group: Some("planners".into()), ..UserFilter::default() };
        assert_eq!(store.list_users(&filter).await.unwrap().len(), 2);
        assert!(store.remove_group_member(&group, &bob, &ctx(5)).await.unwrap());
        assert!(!store.remove_group_member(&group, &bob, &ctx(6)).await.unwrap());
        let unknown_group = UserRecord { groups: vec!["nope".into()], ..record("carol") };
        assert!(matches!(store.create_users(&[unknown_group], &ctx(7)).await, Err(StoreError::NotFound("group"))));
        assert!(store.user_by_username("carol").await.unwrap().is_none(), "{backend}");
        verify_chain(&store).await.unwrap();
    }
}

#[tokio::test]
async fn sessions_are_touched_and_revoked() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let auth = AuthContext { amr: vec!["pwd".into()], acr: "pwd".into(), auth_time: Some(Timestamp(5)) };
        let mut ids = Vec::new();
        for at in [5, 6] {
            let (_, session) = Session::start(
                alice.id,
                auth.clone(),
                SessionPolicy::default(),
                Timestamp(at),
                Some("127.0.0.1".into()),
                None,
            );
            let event = success(&alice, at);
            store.start_session(&session, &event, &ctx(at)).await.unwrap();
            ids.push(session.id_hash);
        }
        let stored = store.session(&ids[0]).await.unwrap().unwrap();
        assert_eq!(stored.auth, auth, "{backend}");
        store.touch_session(&ids[0], Timestamp(100_000)).await.unwrap();
        assert_eq!(store.session(&ids[0]).await.unwrap().unwrap().last_seen_at, Timestamp(100_000));
        assert!(store.revoke_session(&ids[0], &ctx(7)).await.unwrap());
        assert!(!store.revoke_session(&ids[0], &ctx(8)).await.unwrap(), "{backend}: revoking twice does nothing");
        assert_eq!(store.user_sessions(alice.id).await.unwrap().len(), 1);
        assert_eq!(store.revoke_user_sessions(alice.id, &ctx(9)).await.unwrap(), 1);
        assert!(store.user_sessions(alice.id).await.unwrap().is_empty());
        let events = store.sign_in_events_page(Timestamp(0), None, 10).await.unwrap();
        assert_eq!(events.len(), 2);
        let rest = store.sign_in_events_page(Timestamp(0), Some(events[0].id), 10).await.unwrap();
        assert_eq!(rest, events[1..], "{backend}: the next page starts after the given event");
        verify_chain(&store).await.unwrap();
    }
}

#[tokio::test]
async fn api_keys_store_no_secret_and_revoke() {
    for (backend, store) in stores().await {
        let (token, key) = ApiKey::generate("ci".into(), Role::Admin, Timestamp(1), None);
        store.create_api_key(&key, &ctx(1)).await.unwrap();
        let (_, secret) = twofold_core::identity::api_key::parse_token(&token).unwrap();
        let stored = store.api_key(&key.id).await.unwrap().unwrap();
        assert_eq!(stored.check(secret, Timestamp(2)), Ok(()), "{backend}");
        store.touch_api_key(&key.id, Timestamp(120_000)).await.unwrap();
        assert_eq!(store.api_key(&key.id).await.unwrap().unwrap().last_used_at, Some(Timestamp(120_000)));
        assert!(store.revoke_api_key(&key.id, &ctx(3)).await.unwrap());
        assert!(store.api_key(&key.id).await.unwrap().unwrap().revoked_at.is_some());
        assert_eq!(store.list_api_keys().await.unwrap().len(), 1);
        let events = store.audit_events(0, Timestamp(0), 10).await.unwrap();
        assert!(events.iter().all(|e| !e.after.as_deref().unwrap_or("").contains(secret)), "{backend}");
    }
}

#[tokio::test]
async fn concurrent_writers_never_fork_the_chain() {
    for (backend, store) in stores().await {
        let store = Arc::new(store);
        let tasks: Vec<_> = (0..8)
            .map(|writer| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    for n in 0..25 {
                        let change = Change::new(AuditAction::OidcRevoke, Some(format!("{writer}-{n}")));
                        store.append_audit(&change, &ctx(n)).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(verify_chain(&store).await.unwrap_or_else(|e| panic!("{backend}: {e}")).seq, 200, "{backend}");
    }
}

#[tokio::test]
async fn tampering_with_stored_events_is_detected() {
    for (backend, store) in stores().await {
        for n in 0..5 {
            store.append_audit(&Change::new(AuditAction::OidcRevoke, Some(n.to_string())), &ctx(n)).await.unwrap();
        }
        assert_eq!(store.chain_audit().await.unwrap(), 5, "{backend}: five pending events chained");
        sqlx::query("UPDATE audit_events SET target_id = 'forged' WHERE seq = 3").execute(store.pool()).await.unwrap();
        let broken = verify_chain(&store).await.unwrap_err();
        assert!(broken.contains("event 3"), "{backend}: {broken}");

        sqlx::query("UPDATE audit_events SET target_id = '2' WHERE seq = 3").execute(store.pool()).await.unwrap();
        verify_chain(&store).await.unwrap();
        sqlx::query("DELETE FROM audit_events WHERE seq = 5").execute(store.pool()).await.unwrap();
        let broken = verify_chain(&store).await.unwrap_err();
        assert!(broken.contains("truncated"), "{backend}: {broken}");
    }
}

#[tokio::test]
async fn failures_are_counted_per_username_since_its_last_success_and_per_source() {
    use twofold_core::signin::FailureReason;
    use twofold_core::signin::throttle::Failures;
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let attempt = |at: i64, username: &str, ip: &str, reason: Option<FailureReason>| SignInEvent {
            id: Uuid::now_v7(),
            at: Timestamp(at),
            username: username.into(),
            user_id: None,
            outcome: if reason.is_some() { SignInOutcome::Failure } else { SignInOutcome::Success },
            reason,
            methods: vec!["pwd".into()],
            ip: Some(ip.into()),
            user_agent: None,
            source: None,
            context: SignInContext::default(),
        };
        for at in [10, 11, 12] {
            store
                .record_sign_in_attempt(&attempt(at, "alice", "10.0.0.1", Some(FailureReason::WrongPassword)), &ctx(at))
                .await
                .unwrap();
        }
        let (_, session) =
            Session::start(alice.id, AuthContext::default(), SessionPolicy::default(), Timestamp(20), None, None);
        store.start_session(&session, &attempt(20, "alice", "10.0.0.1", None), &ctx(20)).await.unwrap();
        for at in [30, 31] {
            store
                .record_sign_in_attempt(&attempt(at, "alice", "10.0.0.1", Some(FailureReason::WrongPassword)), &ctx(at))
                .await
                .unwrap();
        }
        store
            .record_sign_in_attempt(&attempt(32, "alice", "10.0.0.1", Some(FailureReason::Throttled)), &ctx(32))
            .await
            .unwrap();
        store
            .record_sign_in_attempt(&attempt(33, "ghost", "10.0.0.2", Some(FailureReason::UnknownUser)), &ctx(33))
            .await
            .unwrap();

        let (by_user, by_source) = store.sign_in_failures("alice", Some("10.0.0.1"), Timestamp(0)).await.unwrap();
        assert_eq!(
            by_user,
            Failures { count: 2, last_at: Some(Timestamp(31)) },
            "{backend}: since the last success, throttled excluded"
        );
        assert_eq!(
            by_source,
            Failures { count: 5, last_at: Some(Timestamp(31)) },
            "{backend}: a success does not reset the source"
        );
        let (_, none) = store.sign_in_failures("ghost", None, Timestamp(0)).await.unwrap();
        assert_eq!(none, Failures::default(), "{backend}");
        let (windowed, _) = store.sign_in_failures("alice", None, Timestamp(31)).await.unwrap();
        assert_eq!(windowed.count, 1, "{backend}: only failures inside the window");

        // Attack: guessing someone's second factor while they use their apps. A signed-in
        // session's app sign-in (a code issued, or one refused by policy) is no attempt: it
        // neither ends the guesser's run of failures nor adds to it.
        let app_use = |at: i64, reason: Option<FailureReason>| SignInEvent {
            source: Some(twofold_core::signin::throttle::SESSION_SOURCE.into()),
            ..attempt(at, "alice", "10.0.0.1", reason)
        };
        store.record_sign_in_attempt(&app_use(40, None), &ctx(40)).await.unwrap();
        store.record_sign_in_attempt(&app_use(41, Some(FailureReason::PolicyBlocked)), &ctx(41)).await.unwrap();
        let (by_user, _) = store.sign_in_failures("alice", Some("10.0.0.1"), Timestamp(0)).await.unwrap();
        assert_eq!(by_user, Failures { count: 2, last_at: Some(Timestamp(31)) }, "{backend}: app use changes nothing");

        let (user, hash) = store.user_credentials("alice").await.unwrap().unwrap();
        assert_eq!((user.id, hash.as_deref()), (alice.id, Some("$argon2id$fake")), "{backend}");
        assert!(store.user_credentials("ghost").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_totp_step_and_a_recovery_code_are_won_exactly_once_under_concurrency() {
    use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let authenticator = Authenticator {
            id: Uuid::now_v7(),
            user_id: Some(alice.id),
            kind: AuthenticatorKind::Totp,
            name: "Phone".into(),
            serial: None,
            destination: None,
            attested: false,
            credential: None,
            otp: Some(twofold_core::factors::otp::TotpParams::default()),
            last_used_step: None,
            drift_steps: 0,
            sealed_secret: vec![1, 2, 3, 255, 0],
            created_at: Timestamp(2),
            confirmed_at: None,
            last_used_at: None,
        };
        store.create_authenticator(&authenticator, &ctx(2)).await.unwrap();
        assert!(
            !store.use_otp_step(authenticator.id, 10, 0, Timestamp(3)).await.unwrap(),
            "{backend}: unconfirmed cannot be used"
        );
        assert!(store.confirm_authenticator(authenticator.id, 10, &ctx(3)).await.unwrap());
        assert!(
            !store.confirm_authenticator(authenticator.id, 11, &ctx(3)).await.unwrap(),
            "{backend}: confirmed once"
        );
        let stored = store.authenticator(authenticator.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.sealed_secret.as_slice(), stored.last_used_step),
            (&[1u8, 2, 3, 255, 0][..], Some(10)),
            "{backend}"
        );

        let store = Arc::new(store);
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.use_otp_step(authenticator.id, 11, 0, Timestamp(4)).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            winners += usize::from(racer.await.unwrap());
        }
        assert_eq!(winners, 1, "{backend}: one step, one winner");
        assert!(!store.use_otp_step(authenticator.id, 9, 0, Timestamp(5)).await.unwrap(), "{backend}: no going back");

        store.replace_recovery_codes(alice.id, &["h1".into(), "h2".into()], &ctx(6)).await.unwrap();
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.consume_recovery_code(alice.id, "h1", &ctx(7)).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            winners += usize::from(racer.await.unwrap());
        }
        assert_eq!(winners, 1, "{backend}: a recovery code is used once");
        assert_eq!(store.recovery_codes_left(alice.id).await.unwrap(), 1);
        store.replace_recovery_codes(alice.id, &["h3".into()], &ctx(8)).await.unwrap();
        assert!(!store.consume_recovery_code(alice.id, "h2", &ctx(9)).await.unwrap(), "{backend}: old set invalidated");

        store.rename_authenticator(authenticator.id, "Old phone", &ctx(10)).await.unwrap();
        assert!(store.remove_authenticator(&stored, &ctx(11)).await.unwrap());
        assert!(store.authenticators(alice.id).await.unwrap().is_empty());
        verify_chain(&store).await.unwrap();
    }
}

#[tokio::test]
async fn a_session_completes_a_second_factor_once_into_a_new_session() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let (_, pending) =
            Session::start(alice.id, AuthContext::default(), SessionPolicy::default(), Timestamp(5), None, None);
        let pending = pending.awaiting_second_factor();
        store.start_pending_session(&pending, &ctx(5)).await.unwrap();
        assert!(store.session(&pending.id_hash).await.unwrap().unwrap().mfa_pending, "{backend}");
        let (_, full) =
            Session::start(alice.id, AuthContext::default(), SessionPolicy::default(), Timestamp(6), None, None);
        assert!(store.complete_session(&pending.id_hash, &full, &success(&alice, 6), &ctx(6)).await.unwrap());
        let (_, again) =
            Session::start(alice.id, AuthContext::default(), SessionPolicy::default(), Timestamp(7), None, None);
        assert!(
            !store.complete_session(&pending.id_hash, &again, &success(&alice, 7), &ctx(7)).await.unwrap(),
            "{backend}: once"
        );
        assert!(
            store.complete_session(&full.id_hash, &again, &success(&alice, 7), &ctx(7)).await.unwrap(),
            "{backend}: step-up"
        );
        assert!(
            store.session(&full.id_hash).await.unwrap().unwrap().revoked_at.is_some(),
            "{backend}: new id after step-up"
        );
        assert!(store.session(&pending.id_hash).await.unwrap().unwrap().revoked_at.is_some());
        assert!(!store.session(&full.id_hash).await.unwrap().unwrap().mfa_pending);
    }
}

#[tokio::test]
async fn chainers_running_beside_writers_lose_nothing_and_never_fork() {
    for (backend, store) in stores().await {
        let store = Arc::new(store);
        let writers: Vec<_> = (0..6)
            .map(|writer| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    for n in 0..30 {
                        let change = Change::new(AuditAction::OidcRevoke, Some(format!("{writer}-{n}")));
                        store.append_audit(&change, &ctx(n)).await.unwrap();
                    }
                })
            })
            .collect();
        let chainers: Vec<_> = (0..3)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let mut chained = 0;
                    for _ in 0..40 {
                        chained += store.chain_audit().await.unwrap();
                        tokio::task::yield_now().await;
                    }
                    chained
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let mut chained_concurrently = 0;
        for chainer in chainers {
            chained_concurrently += chainer.await.unwrap();
        }
        let head = verify_chain(&store).await.unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(head.seq, 180, "{backend}: every event chained exactly once");
        assert!(chained_concurrently <= 180, "{backend}");
        let targets: std::collections::HashSet<_> =
            store.audit_events(0, Timestamp(0), 1000).await.unwrap().into_iter().filter_map(|e| e.target_id).collect();
        assert_eq!(targets.len(), 180, "{backend}: no event duplicated or lost");
    }
}

#[tokio::test]
async fn a_client_assertion_is_accepted_once_even_when_raced() {
    for (backend, store) in stores().await {
        let store = Arc::new(store);
        let now = Timestamp(1_000_000);
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.use_client_assertion("svc", "jti-1", Timestamp(2_000_000), now).await })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            winners += usize::from(racer.await.unwrap().unwrap());
        }
        assert_eq!(winners, 1, "{backend}: exactly one use of a jti");
        assert!(store.use_client_assertion("other", "jti-1", Timestamp(2_000_000), now).await.unwrap(), "{backend}");
        // Once expired it is forgotten (an expired assertion is refused before this anyway).
        let later = Timestamp(3_000_000);
        assert!(store.use_client_assertion("svc", "jti-1", Timestamp(4_000_000), later).await.unwrap(), "{backend}");
    }
}

#[tokio::test]
async fn sign_in_events_keep_what_conditional_access_saw_and_decided() {
    use twofold_core::access::{Device, Mode, Risk};
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let mut event = success(&alice, 20);
        event.context = SignInContext {
            app: Some("wiki".into()),
            device: Some(Device::Trusted),
            device_id: Some("dev-1".into()),
            country: Some("GB".into()),
            risk: Some(Risk::Medium),
            policy: Some(PolicyRecord {
                version: 3,
                outcome: "require mfa".into(),
                would_be: "block".into(),
                rules: vec![RuleRecord { rule: "trial".into(), mode: Mode::ReportOnly, outcome: "block".into() }],
            }),
        };
        store.record_sign_in_attempt(&event, &ctx(20)).await.unwrap();
        let read = store.sign_in_events_page(Timestamp(0), None, 10).await.unwrap();
        assert_eq!(read, [event], "{backend}");
        let history = store.sign_in_history(alice.id, Some("dev-1"), Some("GB"), true).await.unwrap();
        assert!(history.device_seen && !history.new_country, "{backend}");
        assert_eq!(history.last_success, Some((Timestamp(20), None)), "{backend}");
        let elsewhere = store.sign_in_history(alice.id, Some("dev-2"), Some("FR"), false).await.unwrap();
        assert!(!elsewhere.device_seen && elsewhere.new_country, "{backend}: a country never seen");
        assert_eq!(elsewhere.last_success, None, "{backend}: not asked for");
    }
}

#[tokio::test]
async fn campaigns_keep_their_file_status_and_one_snapshot_a_day() {
    use twofold_core::rollout::CampaignStatus;
    use twofold_core::rollout::progress::Snapshot;
    for (backend, store) in stores().await {
        store.put_campaign("mfa", "first", Timestamp(1), &ctx(1)).await.unwrap();
        assert!(store.set_campaign_status("mfa", CampaignStatus::Running, Timestamp(2), &ctx(2)).await.unwrap());
        store.put_campaign("mfa", "second", Timestamp(3), &ctx(3)).await.unwrap();
        let all = store.campaigns().await.unwrap();
        assert_eq!(all.len(), 1, "{backend}");
        assert_eq!(
            (all[0].source.as_str(), all[0].status),
            ("second", CampaignStatus::Running),
            "{backend}: status kept"
        );
        assert!(!store.set_campaign_status("nope", CampaignStatus::Paused, Timestamp(4), &ctx(4)).await.unwrap());
        let day = 86_400_000;
        for (at, registered) in [(day + 5, 1), (day + 9, 2), (2 * day + 1, 3)] {
            let snapshot = Snapshot { at: Timestamp(at), in_scope: 10, registered };
            store.put_campaign_snapshot("mfa", &snapshot).await.unwrap();
        }
        let curve: Vec<(i64, u64)> =
            store.campaign_snapshots("mfa").await.unwrap().iter().map(|s| (s.at.millis(), s.registered)).collect();
        assert_eq!(curve, [(day, 2), (2 * day, 3)], "{backend}: the day's latest counts");
        verify_chain(&store).await.unwrap();
    }
}

fn oidc_client(client_id: &str) -> twofold_core::oidc::Client {
    twofold_core::oidc::Client {
        client_id: client_id.into(),
        name: client_id.into(),
        secret_hash: Some("h".into()),
        redirect_uris: vec!["https://app.example.com/cb".into()],
        scopes: vec!["openid".into()],
        public: false,
        service: false,
        token_lifetime_secs: None,
        min_acr: None,
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        consent_required: false,
        jwks: None,
        id_token_alg: None,
        tls_cert_thumbprint: None,
        token_endpoint_auth_method: Some("client_secret_post".into()),
        may_introspect: true,
        last_used_at: None,
        secret_set_at: None,
        created_at: Timestamp(1),
    }
}

/// Attack: refresh-token replay and theft at the storage layer. A refresh token is used once
/// even when raced; a used one presented again names its family for revocation; another
/// client's presentation changes nothing; a revoked family takes no new token (so a token
/// being issued while a replay revokes it never survives).
#[tokio::test]
async fn a_refresh_token_is_used_once_and_a_revoked_family_takes_no_new_token() {
    use twofold_core::oidc::{Grant, RefreshRefusal, RefreshToken};
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        for id in ["app", "other"] {
            store.create_client(&oidc_client(id), &ctx(2)).await.unwrap();
        }
        let stored = store.client("app").await.unwrap().unwrap();
        assert_eq!(
            (stored.auth_method(), stored.may_introspect),
            ("client_secret_post", true),
            "{backend}: the registered method and the introspection grant are kept"
        );
        let grant = Grant {
            client_id: "app".into(),
            user_id: alice.id,
            redirect_uri: "https://app.example.com/cb".into(),
            scopes: vec!["openid".into()],
            nonce: None,
            code_challenge: None,
            auth: AuthContext::default(),
        };
        let token = |hash: &str| RefreshToken {
            token_hash: hash.into(),
            family_id: "family-1".into(),
            grant: grant.clone(),
            created_at: Timestamp(10),
            expires_at: Timestamp(10_000_000),
        };
        assert!(store.put_refresh_token(&token("r1")).await.unwrap(), "{backend}");
        let now = Timestamp(20);
        assert_eq!(
            store.use_refresh_token("r1", "other", now).await.unwrap(),
            Err(RefreshRefusal::OtherClient),
            "{backend}"
        );
        let store = Arc::new(store);
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.use_refresh_token("r1", "app", now).await.unwrap() })
            })
            .collect();
        let mut outcomes = Vec::new();
        for racer in racers {
            outcomes.push(racer.await.unwrap());
        }
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{backend}: one use wins: {outcomes:?}");
        assert!(
            outcomes.iter().filter(|o| o.is_err()).all(|o| *o == Err(RefreshRefusal::Reused("family-1".into()))),
            "{backend}: the others are reuse of the family"
        );
        assert!(store.put_refresh_token(&token("r2")).await.unwrap(), "{backend}");
        assert!(!store.token_family_revoked("family-1").await.unwrap(), "{backend}");
        assert_eq!(store.revoke_token_family("family-1", "test", now, &ctx(3)).await.unwrap(), 2, "{backend}: r1, r2");
        assert!(store.token_family_revoked("family-1").await.unwrap(), "{backend}");
        assert!(store.live_refresh_token("r2", now).await.unwrap().is_none(), "{backend}");
        assert!(!store.put_refresh_token(&token("r3")).await.unwrap(), "{backend}: no new token in a revoked family");
        assert_eq!(store.revoke_token_family("family-1", "test", now, &ctx(4)).await.unwrap(), 0, "{backend}");
        let events = store.audit_events(0, Timestamp(0), 100).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "oidc.token_family_revoke").count(), 2, "{backend}");
        verify_chain(&store).await.unwrap();
    }
}

/// Attack: racing the limits. Hundreds of attempts for one username (and from one source)
/// released at once must not all be evaluated: each claims its slot atomically, so exactly
/// the free attempts are granted however many arrive together, and recording an attempt's
/// outcome ends its claim so it counts once.
#[tokio::test]
async fn concurrent_attempt_claims_grant_only_the_free_attempts() {
    use twofold_core::signin::throttle::{Claim, FREE_FAILURES_PER_USERNAME, Limits};
    for (backend, store) in stores().await {
        let store = Arc::new(store);
        let now = Timestamp(10_000_000);
        let racers: Vec<_> = (0..200)
            .map(|n| {
                let store = Arc::clone(&store);
                // Half the racers come from other addresses: the username limit still holds.
                let source = if n % 2 == 0 { "192.0.2.1".to_owned() } else { format!("198.51.100.{}", n % 250) };
                tokio::spawn(async move {
                    store.claim_attempt("victim", Some(&source), Limits::default(), now).await.unwrap()
                })
            })
            .collect();
        let mut granted = Vec::new();
        for racer in racers {
            if let Claim::Granted { id, .. } = racer.await.unwrap() {
                granted.push(id);
            }
        }
        assert_eq!(granted.len() as i64, FREE_FAILURES_PER_USERNAME + 1, "{backend}: only the free attempts");

        // Recording the outcomes ends the claims: the attempts count once, as failures.
        for id in &granted {
            let mut event = SignInEvent { outcome: SignInOutcome::Failure, ..success(&user("victim"), now.millis()) };
            event.username = "victim".into();
            event.reason = Some(twofold_core::signin::FailureReason::WrongPassword);
            store.record_sign_in_attempt(&event.claimed(*id), &ctx(now.millis())).await.unwrap();
        }
        let (by_username, _) = store.sign_in_failures("victim", None, Timestamp(0)).await.unwrap();
        assert_eq!(by_username.count, FREE_FAILURES_PER_USERNAME + 1, "{backend}: each attempt counted once");
        assert!(
            matches!(store.claim_attempt("victim", None, Limits::default(), now).await.unwrap(), Claim::Refused { .. }),
            "{backend}: still refused after the claims ended"
        );

        // A source's good traffic in flight (a gateway, a shared NAT) is not held against it,
        // up to a bound on what it may have in flight at once ...
        let race = |source: &'static str, count: usize, prefix: &'static str| {
            let racers: Vec<_> = (0..count)
                .map(|n| {
                    let store = Arc::clone(&store);
                    tokio::spawn(async move {
                        store
                            .claim_attempt(&format!("{prefix}{n}"), Some(source), Limits::default(), now)
                            .await
                            .unwrap()
                    })
                })
                .collect();
            async move {
                let mut granted = 0;
                for racer in racers {
                    granted += i64::from(matches!(racer.await.unwrap(), Claim::Granted { .. }));
                }
                granted
            }
        };
        // (Below its allowance a source's claims are not serialised on PostgreSQL, so the bound
        // may be passed by as many as run at once: the pool's 16 connections.)
        let busy = race("203.0.113.7", 300, "busy").await;
        let bound = twofold_core::signin::throttle::MAX_IN_FLIGHT_PER_SOURCE;
        assert!((bound..=bound + 16).contains(&busy), "{backend}: {busy} in flight at once");
        // ... but once a source has used up its free failures, a race admits one attempt.
        for n in 0..Limits::default().free_per_source {
            let mut event = SignInEvent { outcome: SignInOutcome::Failure, ..success(&user("victim"), now.millis()) };
            event.username = format!("sprayed{n}");
            event.ip = Some("203.0.113.9".into());
            event.reason = Some(twofold_core::signin::FailureReason::UnknownUser);
            store.record_sign_in_attempt(&event, &ctx(now.millis())).await.unwrap();
        }
        assert_eq!(race("203.0.113.9", 120, "sprayer").await, 1, "{backend}: per source too");

        // A claim whose attempt never finished stops counting after its time to live.
        let later = now.plus_seconds(twofold_core::signin::throttle::CLAIM_TTL_SECS + 1);
        assert!(
            matches!(
                store.claim_attempt("user0", Some("203.0.113.8"), Limits::default(), later).await.unwrap(),
                Claim::Granted { .. }
            ),
            "{backend}"
        );
    }
}

/// Attack: toll fraud. Many code requests for one person at once (each to a new number)
/// must not all be sent: each send is claimed atomically, per person and per source.
#[tokio::test]
async fn concurrent_code_sends_for_one_person_are_claimed_once_per_interval() {
    for (backend, store) in stores().await {
        let store = Arc::new(store);
        let person = Uuid::now_v7();
        let now = Timestamp(20_000_000);
        let racers: Vec<_> = (0..50)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(
                    async move { store.claim_code_send(person, Some("192.0.2.9"), "sms_otp", now).await.unwrap() },
                )
            })
            .collect();
        let mut sent = 0;
        for racer in racers {
            sent += usize::from(racer.await.unwrap().is_ok());
        }
        assert_eq!(sent, 1, "{backend}: one send per person per interval");
        let mut total = 1;
        for step in 1..=20 {
            let at = now.plus_seconds(step * twofold_core::factors::one_time_codes::PERSON_RESEND_SECS);
            total +=
                usize::from(store.claim_code_send(person, Some("192.0.2.9"), "sms_otp", at).await.unwrap().is_ok());
        }
        assert_eq!(
            total as i64,
            twofold_core::factors::one_time_codes::MAX_SENDS_PER_PERSON,
            "{backend}: and so many an hour"
        );
    }
}

/// Attack: enrolment left half-open, raced. An attacker's enrolment begun on a
/// password-only session and the person's own first one are confirmed at the same instant:
/// only one "first method" may win, so the attacker's never joins the person's.
#[tokio::test]
async fn of_two_racing_first_methods_only_one_is_confirmed() {
    use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
    for (backend, store) in stores().await {
        store.create_users(&[record("frank")], &ctx(1)).await.unwrap();
        let frank = store.user_by_username("frank").await.unwrap().unwrap();
        let pending = |name: &str| Authenticator {
            id: Uuid::now_v7(),
            user_id: Some(frank.id),
            kind: AuthenticatorKind::Totp,
            name: name.into(),
            serial: None,
            destination: None,
            attested: false,
            credential: None,
            otp: Some(twofold_core::factors::otp::TotpParams::default()),
            last_used_step: None,
            drift_steps: 0,
            sealed_secret: vec![1],
            created_at: Timestamp(2),
            confirmed_at: None,
            last_used_at: None,
        };
        let methods: Vec<Authenticator> = (0..8).map(|n| pending(&format!("Phone {n}"))).collect();
        for method in &methods {
            store.create_authenticator(method, &ctx(2)).await.unwrap();
        }
        let store = Arc::new(store);
        let racers: Vec<_> = methods
            .iter()
            .map(|method| {
                let (store, id, user) = (Arc::clone(&store), method.id, frank.id);
                tokio::spawn(async move { store.confirm_first_authenticator(id, user, 1, &ctx(3)).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            winners += usize::from(racer.await.unwrap());
        }
        assert_eq!(winners, 1, "{backend}: one first method");
        let confirmed = store.authenticators(frank.id).await.unwrap().iter().filter(|a| a.is_confirmed()).count();
        assert_eq!(confirmed, 1, "{backend}");
    }
}
