//! The store contract: users, groups, API keys and migrations.

use super::*;

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
