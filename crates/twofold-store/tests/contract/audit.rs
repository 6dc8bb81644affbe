//! The store contract: the audit chain under concurrent writers and tampering.

use super::*;

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
async fn audit_search_filters_by_actor_action_target_and_time_newest_first() {
    for (backend, store) in stores().await {
        let by = |name: &str, at: i64| AuditContext { actor_name: name.into(), ..ctx(at) };
        let events = [
            (AuditAction::OidcRevoke, "t1", "alice", 10),
            (AuditAction::PolicyApply, "1", "alice", 20),
            (AuditAction::OidcRevoke, "t2", "bob", 30),
            (AuditAction::OidcRevoke, "t1", "alice", 40),
        ];
        for (action, target, actor, at) in events {
            store.append_audit(&Change::new(action, Some(target.into())), &by(actor, at)).await.unwrap();
        }
        let search = |filter: twofold_core::store::AuditFilter| {
            let store = &store;
            async move { store.search_audit(&filter).await.unwrap().iter().map(|e| e.at.millis()).collect::<Vec<_>>() }
        };
        let all = twofold_core::store::AuditFilter { limit: 100, ..Default::default() };
        assert_eq!(search(all.clone()).await, [40, 30, 20, 10], "{backend}: newest first");
        let alice = twofold_core::store::AuditFilter { actor: Some("alice".into()), ..all.clone() };
        assert_eq!(search(alice).await, [40, 20, 10], "{backend}");
        let revokes = twofold_core::store::AuditFilter { action: Some("oidc.revoke".into()), ..all.clone() };
        assert_eq!(search(revokes).await, [40, 30, 10], "{backend}");
        let t1 = twofold_core::store::AuditFilter { target: Some("t1".into()), ..all.clone() };
        assert_eq!(search(t1).await, [40, 10], "{backend}");
        let window =
            twofold_core::store::AuditFilter { since: Some(Timestamp(20)), until: Some(Timestamp(40)), ..all.clone() };
        assert_eq!(search(window).await, [30, 20], "{backend}: since inclusive, until exclusive");
        let first_page =
            store.search_audit(&twofold_core::store::AuditFilter { limit: 2, ..all.clone() }).await.unwrap();
        let next = twofold_core::store::AuditFilter { before_seq: Some(first_page[1].seq), ..all.clone() };
        assert_eq!(search(next).await, [20, 10], "{backend}: the next page");
        let nobody = twofold_core::store::AuditFilter { actor: Some("mallory".into()), ..all };
        assert!(search(nobody).await.is_empty(), "{backend}");
    }
}
