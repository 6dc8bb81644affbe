use uuid::Uuid;

use super::break_glass::standings;
use super::review::{Review, ReviewKind};
use super::*;
use crate::identity::{Tier, UserStatus};

const HOUR: i64 = 60 * 60 * 1000;

fn person(n: u128, roles: &[Role], tier: Tier) -> User {
    User {
        id: Uuid::from_u128(n),
        username: format!("u{n}"),
        email: None,
        display_name: format!("U{n}"),
        phone: None,
        department: None,
        manager: None,
        status: UserStatus::Active,
        tier,
        roles: roles.to_vec(),
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn requested() -> EmergencyAccess {
    let requester = Uuid::from_u128(3).to_string();
    EmergencyAccess::request(
        &person(2, &[Role::User], Tier::Standard),
        "phone broken abroad",
        4,
        8,
        ("op", &requester),
        Timestamp(0),
    )
    .unwrap()
}

/// THREATS: standing bypasses — emergency access lasts hours, is decided by an admin who is
/// neither the requester nor the person, and ends by itself.
#[test]
fn emergency_access_is_hours_long_approved_by_another_admin_and_ends_by_itself() {
    let person2 = person(2, &[Role::User], Tier::Standard);
    assert!(EmergencyAccess::request(&person2, "x", 9, 8, ("op", "k"), Timestamp(0)).is_err(), "beyond the maximum");
    assert!(EmergencyAccess::request(&person2, " ", 2, 8, ("op", "k"), Timestamp(0)).is_err(), "no reason");

    let mut access = requested();
    assert!(!access.is_active(Timestamp(1)), "not before approval");
    assert_eq!(
        access.clone().decide(&person(4, &[Role::Helpdesk], Tier::Standard), true, Timestamp(1)),
        Err(EmergencyRefusal::NotAnAdmin)
    );
    assert_eq!(
        access.clone().decide(&person(3, &[Role::Admin], Tier::Privileged), true, Timestamp(1)),
        Err(EmergencyRefusal::SameApprover)
    );
    assert_eq!(
        access.clone().decide(&person(2, &[Role::Admin], Tier::Privileged), true, Timestamp(1)),
        Err(EmergencyRefusal::SameApprover)
    );
    access.decide(&person(5, &[Role::Admin], Tier::Privileged), true, Timestamp(HOUR)).unwrap();
    assert_eq!(access.ends_at, Some(Timestamp(5 * HOUR)));
    assert!(access.is_active(Timestamp(5 * HOUR - 1)));
    assert!(!access.is_active(Timestamp(5 * HOUR)));
    assert!(access.due_to_end(Timestamp(5 * HOUR)));
    assert!(
        access.clone().decide(&person(6, &[Role::Admin], Tier::Privileged), false, Timestamp(2)).is_err(),
        "decided once"
    );
    access.end("expired").unwrap();
    assert_eq!(access.state, EmergencyState::Ended);
    assert!(!access.due_to_end(Timestamp(6 * HOUR)), "ended once");
}

#[test]
fn only_enrolled_people_may_have_it_and_never_machines_or_break_glass() {
    assert_eq!(EmergencyAccess::eligible(&person(2, &[], Tier::Standard), false), Err(EmergencyRefusal::NotEnrolled));
    assert_eq!(EmergencyAccess::eligible(&person(2, &[], Tier::Standard), true), Ok(()));
    for tier in [Tier::Service, Tier::BreakGlass] {
        assert_eq!(EmergencyAccess::eligible(&person(2, &[], tier), true), Err(EmergencyRefusal::TierExcluded(tier)));
    }
}

#[test]
fn a_review_needs_findings() {
    assert!(Review::check_findings("ok").is_err());
    assert_eq!(
        Review::check_findings("  Travelled to Lisbon; no misuse seen.  ").as_deref(),
        Ok("Travelled to Lisbon; no misuse seen.")
    );
}

#[test]
fn a_break_glass_account_is_overdue_until_a_control_test_is_reviewed() {
    let day = 24 * HOUR;
    let account = person(9, &[Role::Admin], Tier::BreakGlass);
    let fresh = standings(std::slice::from_ref(&account), &[], 90, Timestamp(89 * day));
    assert!(!fresh[0].overdue && fresh[0].last_tested_at.is_none(), "due 90 days after creation");
    assert!(standings(std::slice::from_ref(&account), &[], 90, Timestamp(90 * day))[0].overdue);
    let mut test = Review::open(ReviewKind::BreakGlassSignIn, "e1", "u9", "signed in".into(), Timestamp(100 * day));
    let mut not_a_test = test.clone();
    not_a_test.completed_at = Some(Timestamp(101 * day));
    assert!(
        standings(std::slice::from_ref(&account), &[not_a_test], 90, Timestamp(101 * day))[0].overdue,
        "an ordinary sign-in is no test"
    );
    test.control_test = true;
    test.completed_at = Some(Timestamp(101 * day));
    test.completed_by = Some("alice".into());
    let tested = standings(&[account], &[test], 90, Timestamp(101 * day));
    assert!(!tested[0].overdue);
    assert_eq!(tested[0].tested_by.as_deref(), Some("alice"));
    assert_eq!(tested[0].due_at, Timestamp(191 * day));
}
