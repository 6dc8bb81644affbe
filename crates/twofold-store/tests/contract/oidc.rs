//! The store contract: client assertions and refresh tokens.

use super::*;

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
            // RFC 9396 details ride with the grant, through the code and each refresh.
            authorization_details: vec![twofold_core::oidc::details::ActionDetail {
                kind: "twofold_action".into(),
                action: twofold_core::access::Action::Export,
                resource: Some("reports/q3".into()),
            }],
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
        let won = outcomes.iter().find_map(|o| o.as_ref().ok()).unwrap();
        assert_eq!(won.grant, grant, "{backend}: the whole grant, its authorization_details too");
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

/// What a person allowed third-party clients: listed newest first, withdrawn once (audited),
/// and another person's consent is untouched.
#[tokio::test]
async fn consents_are_listed_and_withdrawn_once() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice"), record("bob")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let bob = store.user_by_username("bob").await.unwrap().unwrap();
        for id in ["wiki", "crm"] {
            store.create_client(&oidc_client(id), &ctx(2)).await.unwrap();
        }
        let scopes = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        store.grant_consent(alice.id, "wiki", &scopes(&["openid"]), Timestamp(10), &ctx(10)).await.unwrap();
        store.grant_consent(alice.id, "crm", &scopes(&["openid", "email"]), Timestamp(20), &ctx(20)).await.unwrap();
        store.grant_consent(bob.id, "wiki", &scopes(&["openid"]), Timestamp(30), &ctx(30)).await.unwrap();
        let listed = store.user_consents(alice.id).await.unwrap();
        let ids: Vec<&str> = listed.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, ["crm", "wiki"], "{backend}: newest first");
        assert_eq!(listed[0].scopes, scopes(&["openid", "email"]), "{backend}");
        // What alice's consent let wiki hold: a code in flight and a refresh token.
        let grant = twofold_core::oidc::Grant {
            client_id: "wiki".into(),
            user_id: alice.id,
            redirect_uri: "https://wiki.example.com/cb".into(),
            scopes: scopes(&["openid"]),
            nonce: None,
            code_challenge: None,
            auth: AuthContext::default(),
            authorization_details: Vec::new(),
        };
        store.put_authorization_code("code-1", &grant, Timestamp(35), Timestamp(1_000_000)).await.unwrap();
        let refresh = twofold_core::oidc::RefreshToken {
            token_hash: "r-wiki".into(),
            family_id: "family-wiki".into(),
            grant,
            created_at: Timestamp(35),
            expires_at: Timestamp(10_000_000),
        };
        assert!(store.put_refresh_token(&refresh).await.unwrap(), "{backend}");
        assert!(store.revoke_consent(alice.id, "wiki", Timestamp(40), &ctx(40)).await.unwrap(), "{backend}");
        assert!(!store.revoke_consent(alice.id, "wiki", Timestamp(41), &ctx(41)).await.unwrap(), "{backend}: once");
        assert!(store.token_family_revoked("family-wiki").await.unwrap(), "{backend}: its tokens die with it");
        assert_eq!(store.live_refresh_token("r-wiki", Timestamp(42)).await.unwrap(), None, "{backend}");
        assert_eq!(
            store.redeem_authorization_code("code-1", Timestamp(42)).await.unwrap(),
            Err(false),
            "{backend}: the code in flight is gone"
        );
        assert_eq!(store.consented_scopes(alice.id, "wiki").await.unwrap(), None, "{backend}");
        assert_eq!(store.consented_scopes(bob.id, "wiki").await.unwrap(), Some(scopes(&["openid"])), "{backend}");
        assert_eq!(store.user_consents(alice.id).await.unwrap().len(), 1, "{backend}");
    }
}
