//! The issue's campaign: a pilot of power users, then planners, then read-only users with a
//! longer grace period, walked through time.

use super::compliance::{Holdings, State, assess, registered, weak_for_tier};
use super::progress::{Snapshot, projected_completion};
use super::*;
use crate::factors::authenticator::AuthenticatorKind;

const CAMPAIGN: &str = r#"
name = "MFA for everyone"
target = { percent = 95, within_days = 90 }

[[phase]]
name = "pilot"
cohort = { groups = ["pilot"] }
starts = "2027-01-04"
deadline = "2027-01-18"
grace_days = 7
enforce_on = "2027-01-18"

[[phase]]
name = "planners"
cohort = { groups = ["planners"], departments = ["Planning"] }
starts = "2027-01-25"
deadline = "2027-02-15"
grace_days = 14
enforce_at_percent = 90

[[phase]]
name = "read-only"
cohort = { tiers = ["external"] }
starts = "2027-02-22"
deadline = "2027-03-22"
grace_days = 30
"#;

fn campaign() -> Campaign {
    toml::from_str(CAMPAIGN).unwrap()
}

fn day(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

#[test]
fn a_three_phase_campaign_checks_and_places_people_in_their_first_matching_phase() {
    let c = campaign();
    let groups = ["pilot".to_owned(), "planners".to_owned()];
    assert_eq!(c.check(&groups), Ok(()));
    let pilot = c.phase_of("bob", &["pilot".into(), "planners".into()], Tier::Standard, None).unwrap();
    assert_eq!(pilot.name, "pilot", "the first phase that names him");
    assert_eq!(c.phase_of("pat", &[], Tier::Standard, Some("planning")).unwrap().name, "planners");
    assert_eq!(c.phase_of("dave", &[], Tier::External, None).unwrap().name, "read-only");
    assert!(c.phase_of("erin", &[], Tier::Standard, None).is_none(), "out of scope");

    let mut broken = c.clone();
    broken.phases[1].deadline = "2027-01-01".into();
    broken.phases[2].cohort = Cohort::default();
    broken.phases[2].starts = "soon".into();
    broken.phases[0].cohort.groups.push("ghosts".into());
    broken.target.percent = 0;
    let fields: Vec<String> = broken.check(&groups).unwrap_err().0.into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        ["target.percent", "phase[0].cohort", "phase[1].deadline", "phase[2].cohort", "phase[2].starts"],
        "every problem, keyed"
    );
}

#[test]
fn a_phase_enforces_on_its_date_or_once_enough_of_its_cohort_registered() {
    let c = campaign();
    let (pilot, planners, readers) = (&c.phases[0], &c.phases[1], &c.phases[2]);
    assert_eq!(pilot.mode(day("2027-01-17"), 100.0), PhaseMode::ReportOnly, "not before its date");
    assert_eq!(pilot.mode(day("2027-01-18"), 0.0), PhaseMode::Enforce);
    assert_eq!(planners.mode(day("2027-03-01"), 89.9), PhaseMode::ReportOnly);
    assert_eq!(planners.mode(day("2027-02-01"), 90.0), PhaseMode::Enforce, "the threshold");
    assert_eq!(readers.mode(day("2028-01-01"), 100.0), PhaseMode::ReportOnly, "neither: it only reports");
}

#[test]
fn an_identity_moves_from_pending_to_limited_to_blocked_unless_registered_or_exempt() {
    let c = campaign();
    let pilot = &c.phases[0];
    let dates = pilot.dates().unwrap();
    let at = |text: &str, methods: &[(AuthenticatorKind, bool)], exception: Option<(&str, Timestamp)>| {
        let now = day(text);
        let holdings = Holdings { tier: Tier::Standard, methods, recovery_codes: false };
        assess(&dates, pilot.mode(now, 0.0), &holdings, DoneMeans::StrongMethod, exception, now)
    };
    let pending = at("2027-01-11", &[], None);
    assert_eq!((pending.state, pending.days_left), (State::Pending, Some(7)));
    let limited = at("2027-01-20", &[], None);
    assert_eq!((limited.state, limited.days_left), (State::Limited, Some(5)), "deadline passed, enforced, in grace");
    assert_eq!(at("2027-01-25", &[], None).state, State::Blocked, "grace over");
    let app = [(AuthenticatorKind::Totp, false)];
    let registered = at("2027-01-25", &app, None);
    assert_eq!((registered.state, registered.strongest), (State::Compliant, Some("mfa")));
    let exempt = at("2027-01-25", &[], Some(("EX-7", day("2027-02-01"))));
    assert_eq!((exempt.state, exempt.exception.as_deref()), (State::Exempt, Some("EX-7")));
    assert_eq!(at("2027-02-02", &[], Some(("EX-7", day("2027-02-01")))).state, State::Blocked, "it expired");

    // The same person in a phase that only reports is overdue, never limited.
    let readers = &c.phases[2];
    let now = day("2027-04-01");
    let nothing = Holdings { tier: Tier::External, methods: &[], recovery_codes: false };
    let overdue =
        assess(&readers.dates().unwrap(), readers.mode(now, 0.0), &nothing, DoneMeans::StrongMethod, None, now);
    assert_eq!(overdue.state, State::Overdue);
}

#[test]
fn methods_weak_for_the_tier_do_not_count() {
    let sms = [(AuthenticatorKind::SmsOtp, false)];
    assert!(weak_for_tier(Tier::Standard, &sms), "SMS alone is weak for anyone");
    let app = [(AuthenticatorKind::Totp, false)];
    assert!(!weak_for_tier(Tier::Standard, &app));
    assert!(weak_for_tier(Tier::Privileged, &app), "privileged identities need a passkey");
    assert!(!weak_for_tier(Tier::Privileged, &[(AuthenticatorKind::Webauthn, true)]));
    assert!(!weak_for_tier(Tier::Privileged, &[]), "nothing registered is not 'weak'");
    let c = campaign();
    let dates = c.phases[0].dates().unwrap();
    let now = day("2027-01-11");
    let holdings = Holdings { tier: Tier::Privileged, methods: &app, recovery_codes: true };
    let weak = assess(&dates, PhaseMode::Enforce, &holdings, DoneMeans::StrongMethod, None, now);
    assert_eq!((weak.state, weak.weak_for_tier), (State::Pending, true));
}

#[test]
fn a_campaign_may_count_only_the_recommended_setup_as_done() {
    let c = campaign();
    let dates = c.phases[0].dates().unwrap();
    let now = day("2027-01-25");
    let app = (AuthenticatorKind::Totp, false);
    let sms = (AuthenticatorKind::SmsOtp, false);
    let key = (AuthenticatorKind::Webauthn, false);
    let state = |methods: &[(AuthenticatorKind, bool)], recovery_codes: bool, done: DoneMeans| {
        let holdings = Holdings { tier: Tier::Standard, methods, recovery_codes };
        assess(&dates, PhaseMode::Enforce, &holdings, done, None, now)
    };
    assert_eq!(state(&[app], false, DoneMeans::StrongMethod).state, State::Compliant);
    let one = state(&[app], true, DoneMeans::RecommendedSetup);
    assert_eq!((one.state, one.recommended_setup), (State::Blocked, false), "one method is not the setup");
    assert_eq!(state(&[app, key], false, DoneMeans::RecommendedSetup).state, State::Blocked, "no recovery codes");
    assert_eq!(state(&[sms, sms], true, DoneMeans::RecommendedSetup).state, State::Blocked, "email/SMS only");
    let done = state(&[app, sms], true, DoneMeans::RecommendedSetup);
    assert_eq!((done.state, done.recommended_setup), (State::Compliant, true));
    let privileged = Holdings { tier: Tier::Privileged, methods: &[app, sms], recovery_codes: true };
    assert!(!registered(&privileged, DoneMeans::RecommendedSetup), "the tier's own rule still holds");
    let parsed: Campaign = toml::from_str(&format!("done_means = \"recommended_setup\"\n{CAMPAIGN}")).unwrap();
    assert_eq!(parsed.done_means, DoneMeans::RecommendedSetup);
    assert_eq!(campaign().done_means, DoneMeans::StrongMethod, "the default");
    assert!(toml::from_str::<Campaign>(&format!("done_means = \"two_phones\"\n{CAMPAIGN}")).is_err());
}

#[test]
fn completion_is_projected_from_the_recent_pace() {
    let start = day("2027-01-04");
    let curve = |per_day: u64, days: u64| -> Vec<Snapshot> {
        (0..days)
            .map(|d| Snapshot {
                at: start.plus_seconds(i64::try_from(d).unwrap() * 86_400),
                in_scope: 1000,
                registered: 100 + per_day * d,
            })
            .collect()
    };
    // 10 % registered at the start, one more percent a day: 95 % on day 85.
    assert_eq!(projected_completion(&curve(10, 20), 95.0), Some(start.plus_seconds(85 * 86_400)));
    assert_eq!(projected_completion(&curve(0, 20), 95.0), None, "a flat curve never gets there");
    assert_eq!(projected_completion(&curve(100, 20), 95.0), Some(start.plus_seconds(9 * 86_400)), "reached");
    assert_eq!(projected_completion(&curve(10, 1), 95.0), None);
}

#[test]
fn an_approval_lifts_a_recorded_block_at_once() {
    use super::compliance::{Recorded, recorded_now};
    assert_eq!(recorded_now(State::Blocked, true), Recorded::Holds(State::Exempt));
    assert_eq!(recorded_now(State::Limited, true), Recorded::Holds(State::Exempt));
    assert_eq!(recorded_now(State::Compliant, true), Recorded::Holds(State::Compliant));
}

#[test]
fn a_recorded_exemption_without_a_covering_exception_is_assessed_again() {
    use super::compliance::{Recorded, recorded_now};
    assert_eq!(recorded_now(State::Exempt, false), Recorded::Stale);
    assert_eq!(recorded_now(State::Exempt, true), Recorded::Holds(State::Exempt));
    assert_eq!(recorded_now(State::Blocked, false), Recorded::Holds(State::Blocked));
}

#[test]
fn break_glass_accounts_are_in_no_campaign_whatever_the_cohort_says() {
    let mut c = campaign();
    c.phases[0].cohort.tiers.push(Tier::BreakGlass);
    c.phases[0].cohort.users.push("breakglass".into());
    assert!(c.phase_of("breakglass", &[], Tier::BreakGlass, None).is_none());
    assert!(c.phase_of("breakglass", &[], Tier::Standard, None).is_some(), "the same name in another tier is named");
}
