use uuid::Uuid;

use super::scope::Operator;
use super::verification::Channel::*;
use super::*;
use crate::identity::{Role, UserStatus};

fn person(n: u128, tier: Tier) -> User {
    User {
        id: Uuid::from_u128(n),
        username: format!("u{n}"),
        email: Some(format!("u{n}@example.com")),
        display_name: format!("U{n}"),
        phone: None,
        department: None,
        manager: None,
        status: UserStatus::Active,
        tier,
        roles: vec![Role::User],
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn operator(n: u128) -> Operator {
    Operator {
        id: Some(Uuid::from_u128(n)),
        key: Uuid::from_u128(n).to_string(),
        name: format!("op{n}"),
        tier: Some(Tier::Privileged),
        roles: vec![Role::Helpdesk],
    }
}

fn open(kind: CaseKind, tier: Tier) -> Case {
    Case::open(kind, &person(2, tier), &operator(1), "lost my phone on the train", Timestamp(0)).unwrap()
}

fn verify(case: &mut Case, channel: Channel) {
    case.record("op1", None, Timestamp(1), CaseEvent::Verified { channel, evidence: "test".into() });
}

fn done() -> Checklist {
    Checklist { changes: "issued a pass; old phone retired".into(), person_confirmed: true }
}

#[test]
fn a_case_opens_with_its_summary_on_the_timeline() {
    let case = open(CaseKind::LostDevice, Tier::Standard);
    assert_eq!(case.state, CaseState::Open);
    assert_eq!(case.summary(), "lost my phone on the train");
    assert_eq!(case.target.tier, Tier::Standard);
    assert!(Case::open(CaseKind::LostDevice, &person(2, Tier::Standard), &operator(1), "  ", Timestamp(0)).is_err());
}

/// THREATS: social engineering of the help desk — a caller who only knows things (a
/// password, personal facts) gets no change: notes are not verification.
#[test]
fn nothing_changes_before_the_caller_is_verified() {
    let policy = VerificationPolicy::default();
    let mut case = open(CaseKind::LostDevice, Tier::Standard);
    case.record("op1", None, Timestamp(1), CaseEvent::Note { text: "knew date of birth and password".into() });
    for action in CaseAction::ALL {
        assert!(matches!(case.may_take(*action, &policy, OP), Err(CaseRefusal::NotVerified(_))), "{action}");
    }
    verify(&mut case, EmailCode);
    assert_eq!(case.may_take(CaseAction::IssueAccessPass, &policy, OP), Ok(()));
    assert!(
        matches!(case.may_take(CaseAction::ResetAllMethods, &policy, OP), Err(CaseRefusal::NotVerified(_))),
        "a reset of everything takes the stronger path"
    );
    verify(&mut case, ManagerApproval);
    assert_eq!(case.may_take(CaseAction::ResetAllMethods, &policy, OP), Ok(()));
}

/// The key of the operator who opened the test cases (`operator(1)`).
const OP: &str = "00000000-0000-0000-0000-000000000001";

/// THREATS: social engineering of the help desk — the two-person rule needs two people: the
/// approver is someone who neither opened nor worked the case, is not its person, is signed
/// in (never the console), approves only once the steps are met, and then does nothing else.
#[test]
fn a_privileged_target_needs_a_second_operator_who_is_someone_else() {
    let policy = VerificationPolicy::default();
    let mut case = open(CaseKind::NewPhone, Tier::Privileged);
    let second = operator(3);
    assert!(
        matches!(case.may_approve(&second, &policy), Err(CaseRefusal::ApproveAfterVerification(_))),
        "approval comes after the verification"
    );
    verify(&mut case, EmailCode);
    let worker = Uuid::from_u128(4).to_string();
    case.record(
        "op4",
        Some(worker.clone()),
        Timestamp(1),
        CaseEvent::Verified { channel: ManagerApproval, evidence: "ok".into() },
    );
    let Err(CaseRefusal::NotVerified(status)) = case.may_take(CaseAction::IssueAccessPass, &policy, OP) else {
        panic!("needs a second operator")
    };
    assert!(status.steps_met && status.second_operator_missing);
    assert_eq!(case.may_approve(&operator(1), &policy), Err(CaseRefusal::SameOperator), "the opener");
    assert_eq!(case.may_approve(&operator(4), &policy), Err(CaseRefusal::SameOperator), "one who verified");
    assert_eq!(case.may_approve(&operator(2), &policy), Err(CaseRefusal::SameOperator), "the person");
    let console = Operator { id: None, key: "cli:other".into(), name: "cli:other".into(), tier: None, roles: vec![] };
    assert_eq!(case.may_approve(&console, &policy), Err(CaseRefusal::ApprovalNeedsPerson), "the console");
    assert_eq!(case.may_approve(&second, &policy), Ok(()));
    let key = second.key.clone();
    case.record("op3", Some(key.clone()), Timestamp(2), CaseEvent::Approved { operator_id: Some(key.clone()) });
    assert_eq!(case.may_take(CaseAction::IssueAccessPass, &policy, OP), Ok(()));
    assert_eq!(case.may_take(CaseAction::IssueAccessPass, &policy, &key), Err(CaseRefusal::ApproverActs));
    assert_eq!(case.may_try(FactorProof, &key), Err(CaseRefusal::ApproverActs));
    assert_eq!(case.may_approve(&operator(5), &policy), Err(CaseRefusal::ApprovalNotNeeded));
}

#[test]
fn a_standard_case_needs_no_second_operator() {
    let case = open(CaseKind::LostDevice, Tier::Standard);
    assert_eq!(case.may_approve(&operator(3), &VerificationPolicy::default()), Err(CaseRefusal::ApprovalNotNeeded));
}

#[test]
fn a_person_with_a_role_over_twofold_is_verified_as_privileged() {
    let mut admin = person(2, Tier::Standard);
    admin.roles = vec![Role::Admin];
    let case = Case::open(CaseKind::LostDevice, &admin, &operator(1), "lost phone", Timestamp(0)).unwrap();
    assert_eq!(case.target.tier, Tier::Privileged);
    assert_eq!(case.target.email.as_deref(), Some("u2@example.com"), "the address on file is kept");
}

#[test]
fn a_channel_is_spent_after_three_failures_and_is_verified_once() {
    let mut case = open(CaseKind::LockedOut, Tier::Standard);
    for n in 0..MAX_FAILURES_PER_CHANNEL {
        assert_eq!(case.may_try(EmailCode, OP), Ok(()), "try {n}");
        case.record(
            "op1",
            None,
            Timestamp(1),
            CaseEvent::VerificationFailed { channel: EmailCode, reason: "wrong".into() },
        );
    }
    assert_eq!(case.may_try(EmailCode, OP), Err(CaseRefusal::ChannelSpent(EmailCode)));
    assert_eq!(case.may_try(FactorProof, OP), Ok(()), "other channels remain");
    verify(&mut case, FactorProof);
    assert_eq!(case.may_try(FactorProof, OP), Err(CaseRefusal::AlreadyVerified(FactorProof)));
}

#[test]
fn closing_as_resolved_needs_verification_changes_and_the_persons_confirmation() {
    let policy = VerificationPolicy::default();
    let mut case = open(CaseKind::LostDevice, Tier::Standard);
    let Err(CaseRefusal::ChecklistIncomplete(missing)) =
        case.close(Resolution::Resolved, Checklist::default(), "op1", None, &policy, Timestamp(5))
    else {
        panic!("an empty checklist cannot close a case")
    };
    assert_eq!(missing.len(), 3, "{missing:?}");
    verify(&mut case, FactorProof);
    case.close(Resolution::Resolved, done(), "op1", None, &policy, Timestamp(5)).unwrap();
    assert_eq!(case.state, CaseState::Closed);
    assert_eq!(case.resolution, Some(Resolution::Resolved));
    assert_eq!(case.may_try(EmailCode, OP), Err(CaseRefusal::Closed));
    assert_eq!(case.may_take(CaseAction::IssueAccessPass, &policy, OP), Err(CaseRefusal::Closed));
    assert_eq!(case.close(Resolution::Resolved, done(), "op1", None, &policy, Timestamp(6)), Err(CaseRefusal::Closed));
}

#[test]
fn a_failed_verification_closes_without_confirmation_unless_something_changed() {
    let policy = VerificationPolicy::default();
    let mut case = open(CaseKind::AllMethodsLost, Tier::Standard);
    let reason = Checklist { changes: "caller could not read back the emailed code".into(), person_confirmed: false };
    assert_eq!(
        case.clone().close(Resolution::VerificationFailed, reason.clone(), "op1", None, &policy, Timestamp(5)),
        Ok(())
    );
    case.record(
        "op1",
        None,
        Timestamp(2),
        CaseEvent::ActionTaken { action: CaseAction::ResyncMethod, detail: "phone".into() },
    );
    assert!(matches!(
        case.close(Resolution::VerificationFailed, reason, "op1", None, &policy, Timestamp(5)),
        Err(CaseRefusal::ChecklistIncomplete(_))
    ));
}

#[test]
fn the_timeline_round_trips_through_json() {
    let mut case = open(CaseKind::TotpDrift, Tier::External);
    case.record(
        "op1",
        None,
        Timestamp(1),
        CaseEvent::StepStarted { channel: EmailCode, to: "u•••@example.com".into(), due: Timestamp(600_001) },
    );
    verify(&mut case, EmailCode);
    let json = serde_json::to_string(&case).unwrap();
    assert!(json.contains(r#""type":"step_started""#), "{json}");
    let back: Case = serde_json::from_str(&json).unwrap();
    assert_eq!(back, case);
}

#[test]
fn names_parse_back() {
    for kind in CaseKind::ALL {
        assert_eq!(CaseKind::parse(kind.as_str()), Ok(*kind));
    }
    for resolution in Resolution::ALL {
        assert_eq!(Resolution::parse(resolution.as_str()), Ok(*resolution));
    }
    assert!(CaseKind::parse("forgot_password").unwrap_err().contains("lost_device, new_phone"));
}

#[test]
fn a_started_step_is_overdue_once_past_its_deadline_and_marked_once() {
    let mut case = open(CaseKind::AllMethodsLost, Tier::Standard);
    let due = Timestamp(4 * 60 * 60 * 1000);
    case.record(
        "op1",
        None,
        Timestamp(0),
        CaseEvent::StepStarted { channel: ManagerApproval, to: "alice".into(), due },
    );
    case.record("op1", None, Timestamp(0), CaseEvent::StepStarted { channel: EmailCode, to: "b•••".into(), due });
    assert!(case.awaiting(ManagerApproval));
    assert_eq!(case.overdue(Timestamp(due.0 - 1)), vec![]);
    verify(&mut case, EmailCode);
    assert!(!case.awaiting(EmailCode));
    assert_eq!(case.overdue(due), vec![(ManagerApproval, due)], "the answered step is not overdue");
    case.record("system", None, due, CaseEvent::Overdue { channel: ManagerApproval });
    assert_eq!(case.overdue(Timestamp(due.0 * 2)), vec![], "the lead is told once");
    assert!(case.awaiting(ManagerApproval), "still waiting for the manager");
    let later = Timestamp(due.0 * 3);
    case.record(
        "op1",
        None,
        later,
        CaseEvent::StepStarted { channel: ManagerApproval, to: "alice".into(), due: later },
    );
    assert_eq!(case.overdue(later), vec![(ManagerApproval, later)], "asked again, overdue again");
}

/// Nobody who opened or worked a case answers for its person as manager or HR, nor approves
/// it as the second operator.
#[test]
fn the_workers_of_a_case_are_its_opener_and_everyone_who_ran_a_step() {
    let mut case = open(CaseKind::LostDevice, Tier::Standard);
    let verifier = Uuid::from_u128(7).to_string();
    case.record(
        "op7",
        Some(verifier.clone()),
        Timestamp(1),
        CaseEvent::StepStarted { channel: EmailCode, to: "b".into(), due: Timestamp(2) },
    );
    case.record("op8", Some("note-taker".into()), Timestamp(1), CaseEvent::Note { text: "called back".into() });
    assert_eq!(case.workers(), vec![OP.to_owned(), verifier]);
    assert_eq!(case.approver(), None);
}

/// THREATS: social engineering of the help desk — the account used right after a help-desk
/// change, as a taker-over would, is reported once per change and kind, not on every request.
#[test]
fn a_use_soon_after_a_change_is_reported_once_per_change() {
    let day = 24 * 60 * 60;
    let mut case = open(CaseKind::LostDevice, Tier::Standard);
    assert!(!case.first_use_after_change(UseAfterChange::NewCountry, day, Timestamp(10)), "nothing changed yet");
    let changed = Timestamp(1_000);
    case.record(
        "op1",
        None,
        changed,
        CaseEvent::ActionTaken { action: CaseAction::IssueAccessPass, detail: "1h".into() },
    );
    let soon = changed.plus_seconds(3600);
    assert!(case.first_use_after_change(UseAfterChange::NewCountry, day, soon));
    case.record(
        "twofold",
        None,
        soon,
        CaseEvent::UsedAfterChange { kind: UseAfterChange::NewCountry, detail: "DE".into() },
    );
    assert!(!case.first_use_after_change(UseAfterChange::NewCountry, day, soon), "told once");
    assert!(case.first_use_after_change(UseAfterChange::SensitiveAction, day, soon), "another kind is news");
    assert!(!case.first_use_after_change(UseAfterChange::SensitiveAction, day, changed.plus_seconds(day + 1)));
    let again = changed.plus_seconds(7200);
    case.record(
        "op1",
        None,
        again,
        CaseEvent::ActionTaken { action: CaseAction::RetireMethods, detail: "phone".into() },
    );
    assert!(case.first_use_after_change(UseAfterChange::NewCountry, day, again), "a new change is watched anew");
}

/// THREATS: social engineering of the help desk — a person whose risk is raised (a change by
/// the help desk yesterday, say) is verified as for a reset of every method, whatever the
/// caller asks for now.
#[test]
fn a_case_opened_at_raised_risk_asks_the_resets_verification() {
    let policy = VerificationPolicy::default();
    let mut case = open(CaseKind::LostDevice, Tier::Standard);
    verify(&mut case, EmailCode);
    assert!(case.verification(&policy).unwrap().complete(), "one channel does for a standard person");
    let mut raised = open(CaseKind::LostDevice, Tier::Standard);
    raised.raise_risk(vec!["the help desk changed their methods within the last day".into()], "op1", Timestamp(0));
    raised.raise_risk(Vec::new(), "op1", Timestamp(0));
    assert_eq!(raised.timeline.len(), 2, "only a reason is recorded");
    verify(&mut raised, EmailCode);
    let status = raised.verification(&policy).unwrap();
    assert!(!status.complete() && status.describe().contains("manager"), "{}", status.describe());
    assert!(raised.may_take(CaseAction::IssueAccessPass, &policy, "op1").is_err());
    verify(&mut raised, ManagerApproval);
    assert!(raised.may_take(CaseAction::IssueAccessPass, &policy, "op1").is_ok());
}

#[test]
fn the_two_person_rule_for_privileged_people_cannot_be_configured_away() {
    let mut policy = VerificationPolicy::default();
    if let Some(privileged) = policy.per_tier.get_mut(&Tier::Privileged) {
        privileged.second_operator = false;
    }
    let problems = policy.check().unwrap_err();
    assert!(problems.iter().any(|p| p.contains("second operator is always needed")), "{problems:?}");
    assert_eq!(VerificationPolicy::default().check(), Ok(()));
}
