//! The example policies, each as a test.

use super::*;
use crate::Timestamp;

/// 2027-01-15 10:00 UTC.
const NOW: Timestamp = Timestamp(1_800_007_200_000);

fn rule(name: &str, outcome: OutcomeKind, strength: Option<&str>) -> Rule {
    Rule {
        name: name.into(),
        mode: Mode::Enforce,
        who: Who::default(),
        what: What::default(),
        when: When::default(),
        outcome,
        strength: strength.map(str::to_owned),
        within_minutes: None,
    }
}

/// The examples: MFA outside the corporate network, for modify and export, on a new device;
/// admins need phishing-resistant keys everywhere; SMS is over for the standard tier from a
/// date and never allowed for privileged; break-glass accounts are excluded from all rules
/// but one that requires a hardware key.
fn example() -> Policy {
    let no_break_glass = Who { exclude_tiers: vec![Tier::BreakGlass], ..Who::default() };
    let mut outside = rule("mfa outside the office", OutcomeKind::Require, Some("mfa"));
    outside.who = no_break_glass.clone();
    outside.when.outside_zones = vec!["corporate".into()];
    let mut sensitive = rule("fresh mfa to change or export", OutcomeKind::Require, Some("mfa"));
    sensitive.who = no_break_glass.clone();
    sensitive.what.actions = vec![Action::Modify, Action::Export];
    sensitive.within_minutes = Some(15);
    let mut new_device = rule("mfa on a new device", OutcomeKind::Require, Some("mfa"));
    new_device.who = no_break_glass.clone();
    new_device.when.devices = vec![Device::New];
    let mut admins = rule("admins use keys", OutcomeKind::Require, Some("phr"));
    admins.who = Who { roles: vec![Role::Admin], ..no_break_glass.clone() };
    let mut privileged = rule("no sms for privileged", OutcomeKind::Require, Some("mfa_without_sms"));
    privileged.who = Who { tiers: vec![Tier::Privileged], ..no_break_glass.clone() };
    let mut sms_over = rule("sms over for standard", OutcomeKind::Require, Some("mfa_without_sms"));
    sms_over.who = Who { tiers: vec![Tier::Standard], ..no_break_glass };
    sms_over.when.from = Some("2027-03-31".into());
    sms_over.when.outside_zones = vec!["corporate".into()];
    let mut break_glass = rule("break glass needs a hardware key", OutcomeKind::Require, Some("phrh"));
    break_glass.who.tiers = vec![Tier::BreakGlass];
    Policy {
        zones: [("corporate".to_owned(), vec!["10.0.0.0/8".to_owned(), "192.0.2.0/24".to_owned()])].into(),
        strengths: [(
            "mfa_without_sms".to_owned(),
            vec![vec!["otp".to_owned()], vec!["hwk".to_owned()], vec!["swk".to_owned()]],
        )]
        .into(),
        rules: vec![outside, sensitive, new_device, admins, privileged, sms_over, break_glass],
        low_sensitivity: LowSensitivity { apps: vec!["wiki".into()], hosts: vec![] },
        actions: vec![],
    }
}

struct Person {
    username: &'static str,
    tier: Tier,
    roles: Vec<Role>,
    groups: Vec<String>,
}

fn bob() -> Person {
    Person { username: "bob", tier: Tier::Standard, roles: vec![Role::User], groups: vec!["engineering".into()] }
}

fn facts<'a>(p: &'a Person, ip: &str, device: Device, action: Action) -> Facts<'a> {
    Facts {
        username: p.username,
        groups: &p.groups,
        tier: p.tier,
        roles: &p.roles,
        service_account: false,
        app: Some("wiki"),
        host_path: None,
        action,
        ip: ip.parse().ok(),
        device,
        country: None,
        risk: Risk::Low,
        overdue: None,
        now: NOW,
    }
}

fn require(strength: &str, within: Option<u32>) -> Outcome {
    Outcome::Require { strength: strength.into(), within_minutes: within }
}

#[test]
fn the_example_policy_is_valid() {
    assert_eq!(check(&example(), &[]), Ok(()));
}

#[test]
fn outside_the_office_mfa_inside_on_a_trusted_device_reading_needs_nothing() {
    let policy = example();
    let bob = bob();
    let home = evaluate(&policy, &facts(&bob, "203.0.113.9", Device::Trusted, Action::Read));
    assert_eq!(home.outcome, require("mfa", None));
    assert_eq!(home.hits.len(), 1, "{}", home.explain());
    assert!(home.explain().contains("rule 'mfa outside the office' says require mfa"), "{}", home.explain());
    let office = evaluate(&policy, &facts(&bob, "10.1.2.3", Device::Trusted, Action::Read));
    assert_eq!(office.outcome, Outcome::Allow, "{}", office.explain());
    assert!(office.hits.is_empty());
}

#[test]
fn changes_and_exports_need_fresh_mfa_and_a_new_device_needs_mfa_even_in_the_office() {
    let policy = example();
    let bob = bob();
    let export = evaluate(&policy, &facts(&bob, "10.1.2.3", Device::Trusted, Action::Export));
    assert_eq!(export.outcome, require("mfa", Some(15)));
    let new = evaluate(&policy, &facts(&bob, "10.1.2.3", Device::New, Action::Read));
    assert_eq!(new.outcome, require("mfa", None));
    // Both together: every contributing rule is listed, the freshness is kept.
    let both = evaluate(&policy, &facts(&bob, "203.0.113.9", Device::New, Action::Modify));
    assert_eq!(both.outcome, require("mfa", Some(15)));
    assert_eq!(both.hits.len(), 3, "{}", both.explain());
}

#[test]
fn admins_need_phishing_resistant_keys_everywhere_and_the_strictest_wins() {
    let policy = example();
    let alice = Person { username: "alice", tier: Tier::Privileged, roles: vec![Role::Admin], groups: vec![] };
    let office = evaluate(&policy, &facts(&alice, "10.1.2.3", Device::Trusted, Action::Read));
    assert_eq!(office.strengths, ["phr", "mfa_without_sms"], "{}", office.explain());
    assert_eq!(office.outcome, require("phr", None));
    let amr = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert!(satisfies(&policy, "phr", "phr", &amr(&["pwd", "hwk"])));
    assert!(!satisfies(&policy, "phr", "mfa", &amr(&["pwd", "otp"])));
    assert!(satisfies(&policy, "mfa_without_sms", "mfa", &amr(&["pwd", "otp"])));
    assert!(!satisfies(&policy, "mfa_without_sms", "mfa", &amr(&["pwd", "sms"])), "never SMS for privileged");
}

#[test]
fn sms_ends_for_the_standard_tier_on_its_date() {
    let policy = example();
    let bob = bob();
    let before = evaluate(&policy, &facts(&bob, "203.0.113.9", Device::Trusted, Action::Read));
    assert_eq!(before.strengths, ["mfa"], "SMS still allowed before 2027-03-31");
    let mut later = facts(&bob, "203.0.113.9", Device::Trusted, Action::Read);
    later.now = Timestamp(NOW.millis() + 90 * 86_400_000);
    let after = evaluate(&policy, &later);
    assert_eq!(after.strengths, ["mfa", "mfa_without_sms"], "{}", after.explain());
}

#[test]
fn break_glass_accounts_meet_only_their_own_rule() {
    let policy = example();
    let glass = Person { username: "breakglass", tier: Tier::BreakGlass, roles: vec![Role::Admin], groups: vec![] };
    let decision = evaluate(&policy, &facts(&glass, "203.0.113.9", Device::New, Action::Export));
    assert_eq!(decision.outcome, require("phrh", None));
    assert_eq!(decision.hits.len(), 1, "{}", decision.explain());
}

/// A broad rule that forgot to exclude break-glass accounts still never locks them out: only
/// rules naming their tier or the account apply to them.
#[test]
fn a_broad_rule_does_not_reach_a_break_glass_account() {
    let mut policy = example();
    policy.rules.push(rule("block everyone outside the office", OutcomeKind::Block, None));
    let glass = Person { username: "breakglass", tier: Tier::BreakGlass, roles: vec![Role::Admin], groups: vec![] };
    let decision = evaluate(&policy, &facts(&glass, "203.0.113.9", Device::New, Action::Read));
    assert_eq!(decision.outcome, require("phrh", None), "{}", decision.explain());
    let bob = bob();
    assert_eq!(evaluate(&policy, &facts(&bob, "203.0.113.9", Device::New, Action::Read)).outcome, Outcome::Block);
    let mut named = rule("block the glass account", OutcomeKind::Block, None);
    named.who.users = vec!["breakglass".into()];
    policy.rules.push(named);
    assert_eq!(evaluate(&policy, &facts(&glass, "203.0.113.9", Device::New, Action::Read)).outcome, Outcome::Block);
}

#[test]
fn report_only_rules_are_reported_never_applied_and_off_rules_are_skipped() {
    let mut policy = example();
    let mut block_exports = rule("block exports from home", OutcomeKind::Block, None);
    block_exports.mode = Mode::ReportOnly;
    block_exports.what.actions = vec![Action::Export];
    block_exports.when.outside_zones = vec!["corporate".into()];
    let mut off = rule("block everything", OutcomeKind::Block, None);
    off.mode = Mode::Off;
    policy.rules.extend([block_exports, off]);
    let bob = bob();
    let decision = evaluate(&policy, &facts(&bob, "203.0.113.9", Device::Trusted, Action::Export));
    assert_eq!(decision.outcome, require("mfa", Some(15)));
    assert_eq!(decision.would_be, Outcome::Block);
    let words = decision.explain();
    assert!(words.contains("rule 'block exports from home' would have (report only) block"), "{words}");
    assert!(words.contains("With the report-only rules enforced: block."), "{words}");
    assert!(!words.contains("block everything"));
}

#[test]
fn limit_sits_between_require_and_block_and_service_accounts_match_only_when_listed() {
    let mut policy = example();
    let mut limit = rule("contractors read only", OutcomeKind::Limit, None);
    limit.who.tiers = vec![Tier::External];
    policy.rules.push(limit);
    let dave = Person { username: "dave", tier: Tier::External, roles: vec![Role::User], groups: vec![] };
    let mut crm = facts(&dave, "203.0.113.9", Device::New, Action::Read);
    crm.app = Some("crm");
    assert_eq!(evaluate(&policy, &crm).outcome, Outcome::Limit);
    let wiki = evaluate(&policy, &facts(&dave, "203.0.113.9", Device::New, Action::Read));
    assert_eq!(
        wiki.outcome,
        require("mfa", None),
        "reading a low-sensitivity app passes the limit: {}",
        wiki.explain()
    );
    assert!(wiki.limit_let_through && wiki.explain().contains("low-sensitivity"), "{}", wiki.explain());
    let changing = evaluate(&policy, &facts(&dave, "203.0.113.9", Device::New, Action::Modify));
    assert_eq!(changing.outcome, Outcome::Limit, "changing things is not low-sensitivity");
    let svc = Person { username: "tfs_1", tier: Tier::Service, roles: vec![], groups: vec![] };
    let mut machine = facts(&svc, "203.0.113.9", Device::New, Action::Modify);
    machine.service_account = true;
    assert_eq!(evaluate(&policy, &machine).outcome, Outcome::Allow, "no person's rule applies to a machine");
    let mut machines = rule("machines from the office only", OutcomeKind::Block, None);
    machines.who.service_accounts = vec!["*".into()];
    machines.when.outside_zones = vec!["corporate".into()];
    policy.rules.push(machines);
    assert_eq!(evaluate(&policy, &machine).outcome, Outcome::Block);
}

#[test]
fn every_problem_in_a_policy_is_listed() {
    let mut policy = example();
    policy.zones.insert("lab".into(), vec!["10.0.0.0/33".into()]);
    let mut bad = rule("mfa outside the office", OutcomeKind::Require, None);
    bad.when.zones = vec!["moon".into(), "lab".into()];
    bad.when.outside_zones = vec!["lab".into()];
    bad.who.groups = vec!["ghosts".into()];
    bad.when.hours = Some([9, 9]);
    bad.when.until = Some("someday".into());
    let mut allow_with_strength = rule("odd", OutcomeKind::Allow, Some("mfa"));
    allow_with_strength.within_minutes = Some(0);
    policy.rules.extend([bad, allow_with_strength]);
    let errors = check(&policy, &["engineering".into()]).unwrap_err();
    let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "zones.lab",
            "rule[7].name",
            "rule[7].when",
            "rule[7].who",
            "rule[7].strength",
            "rule[7].when.hours",
            "rule[7].when.until",
            "rule[7].when",
            "rule[8].strength",
            "rule[8].within_minutes",
            "rule[8].within_minutes",
        ],
        "{errors:?}"
    );
}

#[test]
fn a_sign_in_needs_the_default_unless_a_rule_says_more_or_explicitly_allows() {
    let mut policy = example();
    let bob = bob();
    let office = evaluate(&policy, &facts(&bob, "10.1.2.3", Device::Trusted, Action::Read));
    assert_eq!(office.sign_in_need(), SignInNeed::Default, "no rule matched");
    let home = evaluate(&policy, &facts(&bob, "203.0.113.9", Device::Trusted, Action::Read));
    assert_eq!(home.sign_in_need(), SignInNeed::Strengths(vec!["mfa".into()], None));
    let mut quiet = rule("office reads need no prompt", OutcomeKind::Allow, None);
    quiet.when.zones = vec!["corporate".into()];
    quiet.when.devices = vec![Device::Trusted];
    quiet.what.actions = vec![Action::Read];
    policy.rules.push(quiet);
    let office = evaluate(&policy, &facts(&bob, "10.1.2.3", Device::Trusted, Action::Read));
    assert_eq!(office.sign_in_need(), SignInNeed::PasswordOnly, "{}", office.explain());
    let mut block = rule("nobody", OutcomeKind::Block, None);
    block.who.users = vec!["bob".into()];
    policy.rules.push(block);
    assert_eq!(
        evaluate(&policy, &facts(&bob, "10.1.2.3", Device::Trusted, Action::Read)).sign_in_need(),
        SignInNeed::Blocked
    );
}

#[test]
fn the_documented_examples_say_the_same_in_toml_and_yaml() {
    let read =
        |name: &str| std::fs::read_to_string(format!("{}/../../docs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let groups = ["finance".to_owned()];
    let toml = file::load(&read("policy-example.toml"), &groups).unwrap();
    let yaml = file::load(&read("policy-example.yaml"), &groups).unwrap();
    assert_eq!(toml, yaml);
    assert_eq!(toml.rules.len(), 8);
}

#[test]
fn a_sign_in_falls_short_by_strength_or_by_age() {
    use crate::signin::session::AuthContext;
    let policy = Policy::default();
    let now = Timestamp(10 * 60_000);
    let mfa = |minutes_ago: i64| AuthContext {
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        acr: "mfa".into(),
        auth_time: Some(Timestamp(now.millis() - minutes_ago * 60_000)),
    };
    let wanted = vec!["mfa".to_owned()];
    assert_eq!(super::shortfall(&policy, &wanted, Some(5), &mfa(5), now), None, "exactly at the limit is fresh");
    assert_eq!(
        super::shortfall(&policy, &wanted, Some(5), &mfa(6), now),
        Some(super::Shortfall { strength: None, stale: true })
    );
    assert_eq!(super::shortfall(&policy, &wanted, None, &mfa(600), now), None, "no age limit");
    let phr = vec!["phr".to_owned()];
    assert_eq!(
        super::shortfall(&policy, &phr, None, &mfa(0), now),
        Some(super::Shortfall { strength: Some(&phr[0]), stale: false })
    );
    let unproved = AuthContext { auth_time: None, ..mfa(0) };
    assert!(super::shortfall(&policy, &wanted, Some(5), &unproved, now).is_some_and(|s| s.stale));
}
