//! The store contract: sessions, sign-in events, failure counts and attempt claims.

use super::*;

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
