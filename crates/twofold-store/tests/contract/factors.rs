//! The store contract: the use-once rules of codes and first methods under races.

use super::*;

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
