//! The store contract: emergency accesses (stored whole, listed newest first, changed by
//! compare-and-swap) and review tasks (opened once per subject, completed once).

use super::*;
use twofold_core::emergency::review::{Review, ReviewKind};
use twofold_core::emergency::{EmergencyAccess, EmergencyState};
use twofold_core::store::EmergencyStore;

fn request(user: &User, at: i64) -> EmergencyAccess {
    EmergencyAccess::request(user, "Phone in the repair shop", 4, 8, ("cli:test", "cli:test"), Timestamp(at)).unwrap()
}

/// `access` ended for `reason`, one version on.
fn ended(access: &EmergencyAccess, reason: &str) -> EmergencyAccess {
    let mut next = access.clone();
    next.state = EmergencyState::Ended;
    next.end_reason = Some(reason.into());
    next.version += 1;
    next
}

fn end(access: &EmergencyAccess) -> Change {
    Change::new(AuditAction::EmergencyEnd, Some(access.id.to_string()))
}

fn review(kind: ReviewKind, subject: &str, at: i64) -> Review {
    Review::open(kind, subject, "bob", format!("Review of {subject}"), Timestamp(at))
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
    items.iter().map(id).collect()
}

async fn events(store: &SqlStore, action: &str) -> Vec<twofold_core::audit::AuditEvent> {
    let all = store.audit_events(0, Timestamp(0), 10_000).await.unwrap();
    all.into_iter().filter(|e| e.action == action).collect()
}

fn after(event: &twofold_core::audit::AuditEvent) -> serde_json::Value {
    serde_json::from_str(event.after.as_deref().unwrap()).unwrap()
}

#[tokio::test]
async fn emergency_accesses_are_stored_whole_listed_newest_first_and_changed_by_one_writer() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice"), record("bob")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let bob = store.user_by_username("bob").await.unwrap().unwrap();
        let first = request(&alice, 10);
        let bobs = request(&bob, 20);
        let again = request(&alice, 30);
        for access in [&first, &bobs, &again] {
            store.create_emergency_access(access, &ctx(access.requested_at.millis())).await.unwrap();
        }
        assert_eq!(store.emergency_access(first.id).await.unwrap().as_ref(), Some(&first), "{backend}: whole");
        assert_eq!(store.emergency_access(Uuid::now_v7()).await.unwrap(), None, "{backend}");
        let all = store.emergency_accesses(None).await.unwrap();
        assert_eq!(ids(&all, |a| a.id), [again.id, bobs.id, first.id], "{backend}: newest first");
        let alices = store.emergency_accesses(Some(alice.id)).await.unwrap();
        assert_eq!(alices, [again.clone(), first.clone()], "{backend}: only alice's");
        assert_eq!(store.emergency_accesses(Some(Uuid::now_v7())).await.unwrap(), [], "{backend}");

        // Compare-and-swap: of two writers from one version, the first wins.
        let mut approved = first.clone();
        approved.state = EmergencyState::Approved;
        approved.ends_at = Some(Timestamp(40 + 4 * 3_600_000));
        approved.version += 1;
        let approve = Change::new(AuditAction::EmergencyApprove, Some(first.id.to_string()));
        assert!(store.update_emergency_access(&approved, &approve, &ctx(40)).await.unwrap(), "{backend}");
        let mut rejected = first.clone();
        rejected.state = EmergencyState::Rejected;
        rejected.version += 1;
        let reject = Change::new(AuditAction::EmergencyReject, Some(first.id.to_string()));
        assert!(!store.update_emergency_access(&rejected, &reject, &ctx(41)).await.unwrap(), "{backend}: stale");
        assert_eq!(store.emergency_access(first.id).await.unwrap().as_ref(), Some(&approved), "{backend}");
        let missing = ended(&request(&alice, 42), "never stored");
        assert!(!store.update_emergency_access(&missing, &end(&missing), &ctx(42)).await.unwrap(), "{backend}");

        // Two nodes ending it at once: one wins, the loser writes nothing.
        let read = store.emergency_access(first.id).await.unwrap().unwrap();
        let (left, right) = (ended(&read, "expired"), ended(&read, "revoked: left the company"));
        let (left_end, right_end, at) = (end(&left), end(&right), ctx(50));
        let (a, b) = tokio::join!(
            store.update_emergency_access(&left, &left_end, &at),
            store.update_emergency_access(&right, &right_end, &at)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a ^ b, "{backend}: exactly one of two racing writers wins ({a}, {b})");
        let stored = store.emergency_access(first.id).await.unwrap().unwrap();
        assert_eq!(stored, if a { left } else { right }, "{backend}");
        assert_eq!(stored.version, 2, "{backend}");
        assert_eq!(store.emergency_accesses(Some(alice.id)).await.unwrap()[1], stored, "{backend}: lists follow");

        let duplicate = store.create_emergency_access(&bobs, &ctx(60)).await.unwrap_err();
        assert!(matches!(duplicate, StoreError::Conflict(_)), "{backend}: {duplicate}");

        let requests = events(&store, "emergency.request").await;
        assert_eq!(requests.len(), 3, "{backend}: one per access, none for the duplicate");
        assert_eq!(requests[0].target_type, "emergency_access");
        assert_eq!(requests[0].target_id.as_deref(), Some(first.id.to_string().as_str()));
        assert_eq!(
            after(&requests[0]),
            serde_json::json!({"user": "alice", "reason": "Phone in the repair shop", "hours": 4}),
            "{backend}"
        );
        assert_eq!(events(&store, "emergency.approve").await.len(), 1, "{backend}");
        assert_eq!(events(&store, "emergency.reject").await.len(), 0, "{backend}: the loser writes no event");
        let ends = events(&store, "emergency.end").await;
        assert_eq!(ends.len(), 1, "{backend}: an event for the winner only");
        assert_eq!(ends[0].target_id.as_deref(), Some(first.id.to_string().as_str()), "{backend}");
        verify_chain(&store).await.unwrap();
    }
}

#[tokio::test]
async fn a_stored_emergency_access_that_is_not_valid_is_an_error() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let access = request(&alice, 10);
        store.create_emergency_access(&access, &ctx(10)).await.unwrap();
        sqlx::query("UPDATE emergency_accesses SET body = 'not json'").execute(store.pool()).await.unwrap();
        let read = store.emergency_access(access.id).await.unwrap_err();
        assert!(matches!(read, StoreError::Other(_)), "{backend}: {read}");
        let listed = store.emergency_accesses(None).await.unwrap_err();
        assert!(matches!(listed, StoreError::Other(_)), "{backend}: {listed}");

        let task = review(ReviewKind::EmergencyAccess, "subject", 20);
        assert!(store.open_review(&task, &ctx(20)).await.unwrap());
        sqlx::query("UPDATE reviews SET kind = 'unheard_of'").execute(store.pool()).await.unwrap();
        let read = store.review(task.id).await.unwrap_err();
        assert!(matches!(read, StoreError::Other(_)), "{backend}: {read}");
    }
}

#[tokio::test]
async fn a_review_is_opened_once_per_subject_and_completed_once() {
    for (backend, store) in stores().await {
        // Opened once per (kind, subject), whoever tries again.
        let first = review(ReviewKind::EmergencyAccess, "subject", 10);
        assert!(store.open_review(&first, &ctx(10)).await.unwrap(), "{backend}");
        assert!(!store.open_review(&first, &ctx(11)).await.unwrap(), "{backend}: the same review again");
        let other_node = review(ReviewKind::EmergencyAccess, "subject", 12);
        assert!(!store.open_review(&other_node, &ctx(12)).await.unwrap(), "{backend}: another node's");
        let sign_in = review(ReviewKind::BreakGlassSignIn, "subject", 20);
        assert!(store.open_review(&sign_in, &ctx(20)).await.unwrap(), "{backend}: another kind, same subject");
        assert_eq!(store.review(other_node.id).await.unwrap(), None, "{backend}: nothing written");

        // Nodes opening the same review at once (one retrying its own): one does.
        let (left, right) = (
            review(ReviewKind::BreakGlassSignIn, "sign-in-3", 30),
            review(ReviewKind::BreakGlassSignIn, "sign-in-3", 30),
        );
        let at = ctx(30);
        let (a, retry, b) =
            tokio::join!(store.open_review(&left, &at), store.open_review(&left, &at), store.open_review(&right, &at));
        let (a, retry, b) = (a.unwrap(), retry.unwrap(), b.unwrap());
        assert_eq!(
            [a, retry, b].iter().filter(|won| **won).count(),
            1,
            "{backend}: exactly one of racing opens wins ({a}, {retry}, {b})"
        );
        let raced = if b { right } else { left };

        assert_eq!(store.review(first.id).await.unwrap().as_ref(), Some(&first), "{backend}: stored whole");
        assert_eq!(store.review(Uuid::now_v7()).await.unwrap(), None, "{backend}");
        let all = store.reviews(false).await.unwrap();
        assert_eq!(all, [first.clone(), sign_in.clone(), raced.clone()], "{backend}: oldest first");
        assert_eq!(store.reviews(true).await.unwrap(), all, "{backend}: all open");

        // Completed once.
        let findings = "Checked the sign-ins: all hers, nothing else touched.";
        assert!(store.complete_review(first.id, "carol", findings, false, Timestamp(40), &ctx(40)).await.unwrap());
        assert!(
            !store
                .complete_review(first.id, "dave", "Second opinion, too late.", true, Timestamp(41), &ctx(41))
                .await
                .unwrap(),
            "{backend}: completed already"
        );
        assert!(
            !store.complete_review(Uuid::now_v7(), "carol", findings, false, Timestamp(42), &ctx(42)).await.unwrap()
        );
        let completed = store.review(first.id).await.unwrap().unwrap();
        assert_eq!(
            completed,
            Review {
                completed_at: Some(Timestamp(40)),
                completed_by: Some("carol".into()),
                findings: Some(findings.into()),
                control_test: false,
                ..first.clone()
            },
            "{backend}: the first completion stands"
        );
        assert_eq!(store.reviews(true).await.unwrap(), [sign_in.clone(), raced.clone()], "{backend}: open only");
        assert_eq!(store.reviews(false).await.unwrap().len(), 3, "{backend}");
        assert!(!store.open_review(&first, &ctx(43)).await.unwrap(), "{backend}: never reopened");

        // Two reviewers completing at once: one does.
        let at = ctx(50);
        let (a, b) = tokio::join!(
            store.complete_review(sign_in.id, "carol", "Scheduled control test, as planned.", true, Timestamp(50), &at),
            store.complete_review(sign_in.id, "dave", "Scheduled test, all fine here.", false, Timestamp(50), &at)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a ^ b, "{backend}: exactly one of two racing completions wins ({a}, {b})");
        let stored = store.review(sign_in.id).await.unwrap().unwrap();
        assert_eq!(stored.completed_by.as_deref(), Some(if a { "carol" } else { "dave" }), "{backend}");
        assert_eq!(stored.control_test, a, "{backend}: the winner's control-test flag");
        assert_eq!(store.reviews(true).await.unwrap(), std::slice::from_ref(&raced), "{backend}");

        // The events: one per open and per completion, with the documented payloads.
        let opened = events(&store, "review.open").await;
        let targets: Vec<Option<String>> = opened.iter().map(|e| e.target_id.clone()).collect();
        let expected: Vec<Option<String>> = [&first, &sign_in, &raced].iter().map(|r| Some(r.id.to_string())).collect();
        assert_eq!(targets, expected, "{backend}: one event per review opened, none for a refused open");
        assert_eq!(opened[0].target_type, "review");
        assert_eq!(
            after(&opened[0]),
            serde_json::json!({"kind": "emergency_access", "subject_id": "subject", "user": "bob"}),
            "{backend}"
        );
        assert_eq!(after(&opened[1])["kind"], "break_glass_sign_in", "{backend}");
        let completions = events(&store, "review.complete").await;
        assert_eq!(completions.len(), 2, "{backend}: one per completion that won");
        assert_eq!(completions[0].target_type, "review");
        assert_eq!(completions[0].target_id.as_deref(), Some(first.id.to_string().as_str()));
        assert_eq!(after(&completions[0]), serde_json::json!({"findings": findings, "control_test": false}));
        assert_eq!(completions[1].target_id.as_deref(), Some(sign_in.id.to_string().as_str()));
        assert_eq!(after(&completions[1])["control_test"], a, "{backend}");
        verify_chain(&store).await.unwrap();
    }
}
