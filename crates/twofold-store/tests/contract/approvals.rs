//! The store contract: approval rules versions (numbered, kept, audited), approval requests
//! (stored whole, filtered, changed by compare-and-swap together with the outbox row of their
//! result), and the outbox (claimed once per lease, retried, delivered once).

use super::*;
use twofold_core::approvals::{AppliedRule, ApprovalRequest, ApprovalState, Proposal, Requester};
use twofold_core::outbox::{OutboxKind, OutboxMessage};
use twofold_core::store::{ApprovalStore, OutboxStore, PolicyStore};

fn raise(user: &User, client: &str, at: i64) -> ApprovalRequest {
    let requester = Requester {
        user_id: user.id,
        username: user.username.clone(),
        acr: "mfa".into(),
        amr: vec!["otp".into()],
        auth_time: Some(Timestamp(at)),
        ip: Some("192.0.2.7".into()),
        app_ip: Some("198.51.100.2".into()),
    };
    let proposal = Proposal {
        action: "adjust_forecast".into(),
        resource: "forecast/q1".into(),
        before: serde_json::json!({"units": 100}),
        after: serde_json::json!({"units": 115}),
        reason: "new distributor".into(),
        ..Proposal::default()
    };
    let rule = AppliedRule {
        name: "over-10".into(),
        version: 1,
        approvers: "supervisors".into(),
        required: 1,
        strength: "phr".into(),
    };
    ApprovalRequest::raise((client, client), requester, proposal, rule, Timestamp(at))
}

fn decided(request: &ApprovalRequest, state: ApprovalState) -> ApprovalRequest {
    let mut next = request.clone();
    next.state = state;
    next.receipt = Some("header.payload.signature".into());
    next.version += 1;
    next
}

#[tokio::test]
async fn approval_rules_versions_are_numbered_kept_and_audited() {
    for (backend, store) in stores().await {
        assert_eq!(store.put_approval_rules("[[rule]]", None, Timestamp(5), &ctx(5)).await.unwrap(), 1, "{backend}");
        assert_eq!(store.put_approval_rules("# v2", Some("why"), Timestamp(6), &ctx(6)).await.unwrap(), 2);
        let versions = store.approval_rules_versions().await.unwrap();
        assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1], "{backend}");
        assert_eq!(versions[0].note.as_deref(), Some("why"));
        assert_eq!(versions[1].source, "[[rule]]");
        assert!(store.policy_versions().await.unwrap().is_empty(), "{backend}: apart from policies");
        let events = store.audit_events(0, Timestamp(0), 100).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "approval_rules.apply").count(), 2, "{backend}");
    }
}

#[tokio::test]
async fn approvals_are_stored_whole_and_decided_once_with_their_delivery() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let first = raise(&alice, "forecast", 10);
        let other = raise(&alice, "orders", 20);
        store.create_approval(&first, &ctx(10)).await.unwrap();
        store.create_approval(&other, &ctx(20)).await.unwrap();
        assert_eq!(store.approval(first.id).await.unwrap().as_ref(), Some(&first), "{backend}: whole");
        let all = store.approvals(None, None).await.unwrap();
        assert_eq!(all.iter().map(|a| a.id).collect::<Vec<_>>(), [other.id, first.id], "{backend}: newest first");
        assert_eq!(store.approvals(None, Some("forecast")).await.unwrap(), std::slice::from_ref(&first), "{backend}");
        assert_eq!(store.approvals(Some(ApprovalState::Pending), None).await.unwrap().len(), 2, "{backend}");
        let expires = first.expires_at;
        assert!(store.expired_approvals(Timestamp(expires.millis() - 1)).await.unwrap().is_empty(), "{backend}");
        assert_eq!(store.expired_approvals(expires).await.unwrap().len(), 1, "{backend}: first's time ran out");

        let approved = decided(&first, ApprovalState::Approved);
        let delivery = OutboxMessage::new(
            OutboxKind::ApprovalResult,
            &first.id.to_string(),
            "https://forecast.example/cb",
            "jws".into(),
            Timestamp(30),
        );
        let change = Change::new(AuditAction::ApprovalApprove, Some(first.id.to_string()));
        assert!(store.update_approval(&approved, &change, Some(&delivery), &ctx(30)).await.unwrap(), "{backend}");
        // A second approver read the same version: it loses, and its delivery is not written.
        let rejected = decided(&first, ApprovalState::Rejected);
        let late =
            OutboxMessage::new(OutboxKind::ApprovalResult, &first.id.to_string(), "x", "y".into(), Timestamp(31));
        let reject = Change::new(AuditAction::ApprovalReject, Some(first.id.to_string()));
        assert!(!store.update_approval(&rejected, &reject, Some(&late), &ctx(31)).await.unwrap(), "{backend}");
        assert_eq!(store.approval(first.id).await.unwrap().unwrap().state, ApprovalState::Approved, "{backend}");
        assert_eq!(
            store.approvals(Some(ApprovalState::Pending), None).await.unwrap(),
            std::slice::from_ref(&other),
            "{backend}"
        );
        let outbox = store.outbox_for(&first.id.to_string()).await.unwrap();
        assert_eq!(outbox, [delivery], "{backend}: exactly the winner's delivery");
        let events = store.audit_events(0, Timestamp(0), 100).await.unwrap();
        let names: Vec<&str> =
            events.iter().map(|e| e.action.as_str()).filter(|a| a.starts_with("approval.")).collect();
        assert_eq!(names, ["approval.request", "approval.request", "approval.approve"], "{backend}");
        verify_chain(&store).await.unwrap();
    }
}

#[tokio::test]
async fn an_outbox_message_is_claimed_once_per_lease_retried_and_delivered_once() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let request = raise(&alice, "forecast", 10);
        store.create_approval(&request, &ctx(10)).await.unwrap();
        let message = OutboxMessage::new(
            OutboxKind::ApprovalResult,
            &request.id.to_string(),
            "https://a/cb",
            "r".into(),
            Timestamp(100),
        );
        let change = Change::new(AuditAction::ApprovalApprove, Some(request.id.to_string()));
        let next = decided(&request, ApprovalState::Approved);
        assert!(store.update_approval(&next, &change, Some(&message), &ctx(100)).await.unwrap());

        assert!(store.claim_outbox(Timestamp(99), 1_000, "a").await.unwrap().is_none(), "{backend}: not due yet");
        assert_eq!(store.claim_outbox(Timestamp(100), 1_000, "a").await.unwrap().unwrap().id, message.id, "{backend}");
        assert!(store.claim_outbox(Timestamp(500), 1_000, "b").await.unwrap().is_none(), "{backend}: leased to a");
        // Node a died: the lease runs out and node b takes it; a's late outcome is not written.
        assert!(store.claim_outbox(Timestamp(1_100), 1_000, "b").await.unwrap().is_some(), "{backend}: taken again");
        assert!(!store.outbox_delivered(message.id, "a", Timestamp(1_150)).await.unwrap(), "{backend}: a lost it");
        assert!(!store.outbox_failed(message.id, "a", 9, Timestamp(0), "late").await.unwrap(), "{backend}");
        assert!(store.outbox_failed(message.id, "b", 1, Timestamp(6_100), "a answered 503").await.unwrap());
        assert!(store.claim_outbox(Timestamp(6_000), 1_000, "c").await.unwrap().is_none(), "{backend}: backing off");
        let retry = store.claim_outbox(Timestamp(6_100), 1_000, "c").await.unwrap().unwrap();
        assert_eq!((retry.attempts, retry.last_error.as_deref()), (1, Some("a answered 503")), "{backend}");
        assert!(store.outbox_delivered(message.id, "c", Timestamp(6_200)).await.unwrap(), "{backend}");
        assert!(!store.outbox_delivered(message.id, "c", Timestamp(6_300)).await.unwrap(), "{backend}: once");
        assert!(store.claim_outbox(Timestamp(99_999), 1_000, "d").await.unwrap().is_none(), "{backend}: delivered");
        let stored = store.outbox_for(&request.id.to_string()).await.unwrap();
        assert_eq!((stored[0].delivered_at, stored[0].attempts), (Some(Timestamp(6_200)), 2), "{backend}");
    }
}

#[tokio::test]
async fn callback_urls_are_kept_per_app_replaced_whole_and_go_with_the_app() {
    for (backend, store) in stores().await {
        assert!(!store.set_approval_callbacks("nobody", &["https://a/cb".into()], &ctx(1)).await.unwrap(), "{backend}");
        store.create_client(&oidc_client("forecast"), &ctx(2)).await.unwrap();
        assert!(store.approval_callbacks("forecast").await.unwrap().is_empty(), "{backend}");
        let urls = vec!["https://a.example/cb".to_owned(), "https://b.example/cb".to_owned()];
        assert!(store.set_approval_callbacks("forecast", &urls, &ctx(3)).await.unwrap(), "{backend}");
        assert_eq!(store.approval_callbacks("forecast").await.unwrap(), urls, "{backend}");
        assert!(store.set_approval_callbacks("forecast", &urls[1..], &ctx(4)).await.unwrap());
        assert_eq!(store.approval_callbacks("forecast").await.unwrap(), &urls[1..], "{backend}: replaced");
        assert!(store.remove_client("forecast", Timestamp(5), &ctx(5)).await.unwrap(), "{backend}: removable");
        assert!(store.approval_callbacks("forecast").await.unwrap().is_empty(), "{backend}: gone with it");
    }
}
