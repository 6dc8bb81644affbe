//! The store contract: help-desk cases (stored whole, listed by filter, changed by
//! compare-and-swap) and temporary access passes (one live per person, used once).

use super::*;
use twofold_core::cases::scope::Operator;
use twofold_core::cases::verification::Channel;
use twofold_core::cases::{Case, CaseEvent, CaseKind, CaseState, Resolution};
use twofold_core::factors::access_pass::AccessPass;
use twofold_core::store::{AccessPassStore, CaseFilter, CaseStore};

fn operator() -> Operator {
    Operator { id: None, key: "cli:test".into(), name: "cli:test".into(), tier: None, roles: vec![] }
}

fn open(kind: CaseKind, target: &User, summary: &str, at: i64) -> Case {
    Case::open(kind, target, &operator(), summary, Timestamp(at)).unwrap()
}

/// `case` with a note appended, one version on.
fn noted(case: &Case, text: &str, at: i64) -> Case {
    let mut next = case.clone();
    next.record("cli:test", None, Timestamp(at), CaseEvent::Note { text: text.into() });
    next.version += 1;
    next
}

fn note(case: &Case) -> Change {
    Change::new(AuditAction::CaseNote, Some(case.id.to_string()))
}

fn filter() -> CaseFilter {
    CaseFilter { limit: 100, ..CaseFilter::default() }
}

fn ids(cases: &[Case]) -> Vec<Uuid> {
    cases.iter().map(|c| c.id).collect()
}

async fn events(store: &SqlStore, action: &str) -> Vec<twofold_core::audit::AuditEvent> {
    let all = store.audit_events(0, Timestamp(0), 10_000).await.unwrap();
    all.into_iter().filter(|e| e.action == action).collect()
}

fn after(event: &twofold_core::audit::AuditEvent) -> serde_json::Value {
    serde_json::from_str(event.after.as_deref().unwrap()).unwrap()
}

fn keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn cases_are_stored_whole_listed_by_filter_and_unique() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice"), record("bob")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let bob = store.user_by_username("bob").await.unwrap().unwrap();
        let mut lost = open(CaseKind::LostDevice, &alice, "Lost her phone on the train", 10);
        lost.record(
            "cli:test",
            None,
            Timestamp(11),
            CaseEvent::StepStarted {
                channel: Channel::EmailCode, to: "a•••@example.com".into(), due: Timestamp(99)
            },
        );
        let phone = open(CaseKind::NewPhone, &bob, "New phone", 20);
        let again = open(CaseKind::LostDevice, &alice, "Lost the new one too", 30);
        for case in [&lost, &phone, &again] {
            store.create_case(case, &ctx(case.opened_at.millis())).await.unwrap();
        }
        assert_eq!(store.case(lost.id).await.unwrap().as_ref(), Some(&lost), "{backend}: stored whole");
        assert_eq!(store.case(Uuid::now_v7()).await.unwrap(), None, "{backend}");

        let mut closed = again.clone();
        closed.state = CaseState::Closed;
        closed.closed_at = Some(Timestamp(40));
        closed.resolution = Some(Resolution::Withdrawn);
        closed.version += 1;
        let close = Change::new(AuditAction::CaseClose, Some(again.id.to_string()));
        assert!(store.update_case(&closed, &close, &ctx(40)).await.unwrap(), "{backend}");

        let list = |f: CaseFilter| {
            let store = &store;
            async move {
                let (cases, total) = store.cases(&f).await.unwrap();
                (ids(&cases), total)
            }
        };
        assert_eq!(list(filter()).await, (vec![again.id, phone.id, lost.id], 3), "{backend}: newest first");
        let open_only = CaseFilter { state: Some(CaseState::Open), ..filter() };
        assert_eq!(list(open_only).await, (vec![phone.id, lost.id], 2), "{backend}: state");
        let closed_only = CaseFilter { state: Some(CaseState::Closed), ..filter() };
        let (found, _) = store.cases(&closed_only).await.unwrap();
        assert_eq!(found, [closed.clone()], "{backend}: the columns follow the update");
        let about_alice = CaseFilter { target_id: Some(alice.id), ..filter() };
        assert_eq!(list(about_alice).await, (vec![again.id, lost.id], 2), "{backend}: target");
        let new_phones = CaseFilter { kind: Some(CaseKind::NewPhone), ..filter() };
        assert_eq!(list(new_phones).await, (vec![phone.id], 1), "{backend}: kind");
        let recent = CaseFilter { opened_since: Some(Timestamp(20)), ..filter() };
        assert_eq!(list(recent).await, (vec![again.id, phone.id], 2), "{backend}: opened since, inclusive");
        let open_lost = CaseFilter { state: Some(CaseState::Open), kind: Some(CaseKind::LostDevice), ..filter() };
        assert_eq!(list(open_lost).await, (vec![lost.id], 1), "{backend}: conditions combine");
        let page = CaseFilter { limit: 1, offset: 1, ..filter() };
        assert_eq!(list(page).await, (vec![phone.id], 3), "{backend}: a page, and the total of all");
        let clamped = CaseFilter { limit: 0, offset: -5, ..filter() };
        assert_eq!(list(clamped).await, (vec![again.id], 3), "{backend}: limit at least 1, offset at least 0");
        let past_the_end = CaseFilter { offset: 3, ..filter() };
        assert_eq!(list(past_the_end).await, (vec![], 3), "{backend}");

        let duplicate = store.create_case(&lost, &ctx(50)).await.unwrap_err();
        assert!(matches!(duplicate, StoreError::Conflict(_)), "{backend}: {duplicate}");

        let opened = events(&store, "case.open").await;
        assert_eq!(opened.len(), 3, "{backend}: one event per case, none for the duplicate");
        assert_eq!(opened[0].target_type, "case");
        assert_eq!(opened[0].target_id.as_deref(), Some(lost.id.to_string().as_str()));
        assert_eq!(
            after(&opened[0]),
            serde_json::json!({"kind": "lost_device", "user": "alice", "tier": "standard",
                               "summary": "Lost her phone on the train"}),
            "{backend}"
        );
        assert_eq!(events(&store, "case.close").await.len(), 1, "{backend}");
        verify_chain(&store).await.unwrap();
    }
}

#[tokio::test]
async fn of_two_updates_from_one_version_only_the_first_is_written() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let case = open(CaseKind::LockedOut, &alice, "Locked out", 10);
        store.create_case(&case, &ctx(10)).await.unwrap();

        let read = store.case(case.id).await.unwrap().unwrap();
        let first = noted(&read, "first", 20);
        let second = noted(&read, "second", 21);
        assert!(store.update_case(&first, &note(&first), &ctx(20)).await.unwrap(), "{backend}");
        assert!(!store.update_case(&second, &note(&second), &ctx(21)).await.unwrap(), "{backend}: stale version");
        assert_eq!(store.case(case.id).await.unwrap().as_ref(), Some(&first), "{backend}: the winner's case");
        let stale_again = noted(&case, "from version 0", 22);
        assert!(!store.update_case(&stale_again, &note(&case), &ctx(22)).await.unwrap(), "{backend}");
        let missing = noted(&open(CaseKind::LockedOut, &alice, "never stored", 23), "x", 23);
        assert!(!store.update_case(&missing, &note(&missing), &ctx(23)).await.unwrap(), "{backend}: no such case");

        let read = store.case(case.id).await.unwrap().unwrap();
        let (left, right) = (noted(&read, "left", 30), noted(&read, "right", 30));
        let (left_note, right_note, at) = (note(&left), note(&right), ctx(30));
        let (a, b) =
            tokio::join!(store.update_case(&left, &left_note, &at), store.update_case(&right, &right_note, &at));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a ^ b, "{backend}: exactly one of two racing operators wins ({a}, {b})");
        let stored = store.case(case.id).await.unwrap().unwrap();
        assert_eq!(stored, if a { left } else { right }, "{backend}");
        assert_eq!(stored.version, 2, "{backend}");

        let notes = events(&store, "case.note").await;
        assert_eq!(notes.len(), 2, "{backend}: an event for each winner only");
        assert!(notes.iter().all(|e| e.target_id.as_deref() == Some(case.id.to_string().as_str())), "{backend}");
        verify_chain(&store).await.unwrap();
    }
}

const MINUTE: i64 = 60_000;

fn pass(user: &User, hash: &str, created_at: i64, lifetime: i64, single_use: bool) -> AccessPass {
    AccessPass {
        id: Uuid::now_v7(),
        user_id: user.id,
        case_id: None,
        pass_hash: hash.into(),
        issued_by: "cli:test".into(),
        created_at: Timestamp(created_at),
        expires_at: Timestamp(created_at + lifetime),
        single_use,
        used_at: None,
        revoked_at: None,
    }
}

#[tokio::test]
async fn a_person_has_one_live_access_pass_and_a_single_use_pass_is_used_once() {
    for (backend, store) in stores().await {
        store.create_users(&[record("alice"), record("bob")], &ctx(1)).await.unwrap();
        let alice = store.user_by_username("alice").await.unwrap().unwrap();
        let bob = store.user_by_username("bob").await.unwrap().unwrap();
        let case = open(CaseKind::AllMethodsLost, &alice, "Lost everything", 10);
        store.create_case(&case, &ctx(10)).await.unwrap();
        let mut issued = 0;
        let mut issue = async |p: &AccessPass, username: &str, on_case: bool| {
            let at = p.created_at.millis();
            let context = if on_case { ctx(at).on_case(case.id) } else { ctx(at) };
            store.issue_access_pass(p, username, &context).await.unwrap();
            issued += 1;
        };

        // Issuing a second pass revokes the first, in the same step.
        let first = AccessPass { case_id: Some(case.id), ..pass(&alice, "hash-secret-1", 1_000, 60 * MINUTE, true) };
        issue(&first, "alice", true).await;
        let second = pass(&alice, "hash-secret-2", 2_000, 60 * MINUTE, true);
        issue(&second, "alice", false).await;
        let bobs = pass(&bob, "hash-secret-bob", 2_500, 60 * MINUTE, true);
        issue(&bobs, "bob", false).await;
        let passes = store.access_passes(alice.id).await.unwrap();
        assert_eq!(
            passes,
            [second.clone(), AccessPass { revoked_at: Some(Timestamp(2_000)), ..first.clone() }],
            "{backend}: newest first, the earlier one revoked"
        );
        assert_eq!(store.access_passes(bob.id).await.unwrap(), [bobs], "{backend}: bob's untouched");

        // A single-use pass: once, and never after its revocation.
        assert!(!store.use_access_pass(first.id, "alice", Timestamp(3_000), &ctx(3_000)).await.unwrap(), "{backend}");
        assert!(store.use_access_pass(second.id, "alice", Timestamp(3_000), &ctx(3_000)).await.unwrap(), "{backend}");
        assert!(!store.use_access_pass(second.id, "alice", Timestamp(3_100), &ctx(3_100)).await.unwrap(), "{backend}");
        let stored = store.access_passes(alice.id).await.unwrap();
        assert_eq!(stored[0].used_at, Some(Timestamp(3_000)), "{backend}");
        assert!(!store.use_access_pass(Uuid::now_v7(), "alice", Timestamp(3_200), &ctx(3_200)).await.unwrap());
        let mut uses = 1;

        // Two sign-ins racing with one single-use pass: one wins.
        let raced = pass(&alice, "hash-secret-3", 4_000, 60 * MINUTE, true);
        issue(&raced, "alice", false).await;
        let at = ctx(4_100);
        let (a, b) = tokio::join!(
            store.use_access_pass(raced.id, "alice", Timestamp(4_100), &at),
            store.use_access_pass(raced.id, "alice", Timestamp(4_100), &at)
        );
        assert!(a.unwrap() ^ b.unwrap(), "{backend}: exactly one use of a single-use pass");
        uses += 1;

        // A multi-use pass: as often as wanted while it lives, keeping the first use.
        let multi = pass(&alice, "hash-secret-4", 5_000, 60 * MINUTE, false);
        issue(&multi, "alice", false).await;
        assert!(store.use_access_pass(multi.id, "alice", Timestamp(5_100), &ctx(5_100)).await.unwrap(), "{backend}");
        assert!(store.use_access_pass(multi.id, "alice", Timestamp(5_200), &ctx(5_200)).await.unwrap(), "{backend}");
        uses += 2;
        assert_eq!(store.access_passes(alice.id).await.unwrap()[0].used_at, Some(Timestamp(5_100)), "{backend}");
        let ends = multi.expires_at;
        assert!(
            !store.use_access_pass(multi.id, "alice", ends, &ctx(ends.millis())).await.unwrap(),
            "{backend}: expired"
        );

        // Revoking every pass: counted, and the pass is refused afterwards. (The multi-use pass
        // has just expired, so the issue leaves it as it ended.)
        let live = pass(&alice, "hash-secret-5", ends.millis(), 60 * MINUTE, false);
        issue(&live, "alice", false).await;
        let at = ends.millis() + 100;
        assert_eq!(store.revoke_access_passes(alice.id, "alice", Timestamp(at), &ctx(at)).await.unwrap(), 1);
        assert!(!store.use_access_pass(live.id, "alice", Timestamp(at + 1), &ctx(at + 1)).await.unwrap(), "{backend}");
        assert_eq!(store.revoke_access_passes(alice.id, "alice", Timestamp(at + 2), &ctx(at + 2)).await.unwrap(), 0);
        let passes = store.access_passes(alice.id).await.unwrap();
        assert!(passes.iter().all(|p| !p.is_usable(Timestamp(at + 2))), "{backend}: none usable");
        assert!(passes.iter().all(|p| p.revoked_at.is_some() == (p.id != multi.id)), "{backend}: all but the expired");

        // An expired pass is left as it ended: neither issuing nor revoking marks it revoked.
        let short = pass(&alice, "hash-secret-6", at + 10, 10 * MINUTE, true);
        issue(&short, "alice", false).await;
        let later = short.expires_at.millis() + 1;
        assert_eq!(store.revoke_access_passes(alice.id, "alice", Timestamp(later), &ctx(later)).await.unwrap(), 0);
        let after_short = pass(&alice, "hash-secret-7", later + 1, 10 * MINUTE, true);
        issue(&after_short, "alice", false).await;
        let passes = store.access_passes(alice.id).await.unwrap();
        assert_eq!(passes[1], short, "{backend}: the expired pass is unchanged");
        assert_eq!(
            passes.iter().filter(|p| p.revoked_at.is_none()).count(),
            3,
            "{backend}: expired ones and the newest"
        );

        // The events: documented payloads, and never a hash.
        let issues = events(&store, "access_pass.issue").await;
        assert_eq!(issues.len(), issued, "{backend}");
        assert_eq!(issues[0].target_type, "access_pass");
        assert_eq!(issues[0].target_id.as_deref(), Some(first.id.to_string().as_str()));
        assert_eq!(
            after(&issues[0]),
            serde_json::json!({"user": "alice", "expires_at": first.expires_at.millis(), "single_use": true,
                               "case": case.id.to_string()}),
            "{backend}: the case names itself"
        );
        assert!(issues[1..].iter().all(|e| keys(&after(e)) == ["expires_at", "single_use", "user"]), "{backend}");
        let used = events(&store, "access_pass.use").await;
        assert_eq!(used.len(), uses, "{backend}: one per successful use");
        assert!(used.iter().all(|e| after(e) == serde_json::json!({"user": "alice"})), "{backend}");
        let revokes = events(&store, "access_pass.revoke").await;
        let revoked: Vec<(Option<String>, serde_json::Value)> =
            revokes.iter().map(|e| (e.target_id.clone(), after(e))).collect();
        let by_issue = |p: &AccessPass| (Some(p.id.to_string()), serde_json::json!({"user": "alice", "revoked": 1}));
        assert_eq!(
            revoked,
            [
                by_issue(&first),
                by_issue(&second),
                by_issue(&raced),
                (None, serde_json::json!({"user": "alice", "revoked": 1})),
            ],
            "{backend}: one per live pass an issue revoked, one per revocation of them all"
        );
        let log = store.audit_events(0, Timestamp(0), 10_000).await.unwrap();
        for event in &log {
            let text = format!("{event:?}");
            assert!(!text.contains("hash-secret") && !text.contains("pass_hash"), "{backend}: {text}");
        }
        verify_chain(&store).await.unwrap();
    }
}
