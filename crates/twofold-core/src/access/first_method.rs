//! The policy as a condition on first enrolment: rules naming the action
//! `enrol_first_method` decide, where they match, what someone with no method needs besides
//! the password to set up their first one (in place of `[enrolment] first_method`), so an
//! organisation can say "the password is enough from the office, during working hours" or
//! "at high risk, only a temporary access pass".
//!
//! THREATS: enrolment hijack. Only enforced rules that name the action count (a report-only
//! rule or a campaign's enforcement never loosens it), the strictest matching one wins, and
//! only an explicit `allow` asks less than the setting ([`combined`]).

use super::evaluate::Decision;
use super::{Mode, Outcome, Policy};
use crate::factors::first_enrolment::FirstMethodRule;

/// Whether any rule in use names `enrol_first_method` (so callers ask at all).
#[must_use]
pub fn asks_about_first_methods(policy: &Policy) -> bool {
    policy.rules.iter().any(|r| r.mode != Mode::Off && r.what.actions.contains(&super::Action::EnrolFirstMethod))
}

/// The first-method rule `decision` (evaluated for the action `enrol_first_method`) sets, if
/// an enforced rule of `policy` matched: block → a pass only, require → a code to the email
/// address on file (or a pass), allow → the password alone.
#[must_use]
pub fn rule_from(policy: &Policy, decision: &Decision) -> Option<FirstMethodRule> {
    let enforced = decision.hits.iter().filter(|h| {
        h.mode == Mode::Enforce && policy.rules.iter().any(|r| r.name == h.rule && r.mode == Mode::Enforce)
    });
    enforced
        .map(|h| match h.outcome {
            Outcome::Block | Outcome::Limit => FirstMethodRule::AccessPass,
            Outcome::Require { .. } => FirstMethodRule::EmailCode,
            Outcome::Allow => FirstMethodRule::Password,
        })
        .max_by_key(|rule| strictness(*rule))
}

/// The rule that applies: the setting's, unless the policy matched. Only an explicit `allow`
/// loosens it (the password alone there); `require` and `block` only ever tighten it, so a
/// rule written to be stricter at high risk never asks less than the setting does.
#[must_use]
pub fn combined(setting: FirstMethodRule, from_policy: Option<FirstMethodRule>) -> FirstMethodRule {
    match from_policy {
        None => setting,
        Some(FirstMethodRule::Password) => FirstMethodRule::Password,
        Some(rule) if strictness(rule) > strictness(setting) => rule,
        Some(_) => setting,
    }
}

/// How much a rule asks, for "the strictest wins".
const fn strictness(rule: FirstMethodRule) -> u8 {
    match rule {
        FirstMethodRule::Password => 0,
        FirstMethodRule::EmailCode => 1,
        FirstMethodRule::Network => 2,
        FirstMethodRule::AccessPass => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::access::evaluate::{Facts, evaluate};
    use crate::access::{Action, Device, OutcomeKind, Risk, Rule, What, When, Who};
    use crate::identity::{Role, Tier};

    fn rule(name: &str, outcome: OutcomeKind, when: When, actions: Vec<Action>) -> Rule {
        Rule {
            name: name.into(),
            mode: Mode::Enforce,
            who: Who::default(),
            what: What { actions, ..What::default() },
            when,
            outcome,
            strength: (outcome == OutcomeKind::Require).then(|| "mfa".to_owned()),
            within_minutes: None,
        }
    }

    fn facts(ip: &str, risk: Risk) -> Facts<'static> {
        Facts {
            username: "newbie",
            groups: &[],
            tier: Tier::Standard,
            roles: &[Role::User],
            service_account: false,
            app: Some(crate::access::TWOFOLD_APP),
            host_path: None,
            action: Action::EnrolFirstMethod,
            ip: ip.parse().ok(),
            device: Device::New,
            country: None,
            risk,
            overdue: None,
            now: Timestamp(1_800_007_200_000),
        }
    }

    fn policy(rules: Vec<Rule>) -> Policy {
        Policy {
            zones: [("office".to_owned(), vec!["10.0.0.0/8".to_owned()])].into(),
            strengths: Default::default(),
            rules,
            ..Policy::default()
        }
    }

    fn decided(policy: &Policy, facts: &Facts<'_>) -> Option<FirstMethodRule> {
        rule_from(policy, &evaluate(policy, facts))
    }

    #[test]
    fn rules_naming_the_action_set_the_first_method_rule_where_they_match() {
        let office = When { zones: vec!["office".into()], ..When::default() };
        let risky = When { risk_at_least: Some(Risk::High), ..When::default() };
        let p = policy(vec![
            rule("password is enough in the office", OutcomeKind::Allow, office, vec![Action::EnrolFirstMethod]),
            rule("a pass only at high risk", OutcomeKind::Block, risky, vec![Action::EnrolFirstMethod]),
        ]);
        assert!(asks_about_first_methods(&p));
        assert_eq!(decided(&p, &facts("10.1.2.3", Risk::Low)), Some(FirstMethodRule::Password));
        assert_eq!(decided(&p, &facts("192.0.2.1", Risk::Low)), None, "elsewhere the setting decides");
        assert_eq!(
            decided(&p, &facts("10.1.2.3", Risk::High)),
            Some(FirstMethodRule::AccessPass),
            "the strictest matching rule wins"
        );
    }

    /// THREATS: enrolment hijack — a rule about sign-ins says nothing of first enrolment,
    /// and a report-only rule never loosens it.
    #[test]
    fn only_enforced_rules_that_name_the_action_count() {
        let everyone = rule("mfa for everyone", OutcomeKind::Require, When::default(), Vec::new());
        let allow_all = rule("allow reading", OutcomeKind::Allow, When::default(), vec![Action::Read]);
        let p = policy(vec![everyone, allow_all]);
        assert!(!asks_about_first_methods(&p));
        assert_eq!(decided(&p, &facts("10.1.2.3", Risk::Low)), None);
        let mut trial =
            rule("trial: password is enough", OutcomeKind::Allow, When::default(), vec![Action::EnrolFirstMethod]);
        trial.mode = Mode::ReportOnly;
        assert_eq!(decided(&policy(vec![trial]), &facts("10.1.2.3", Risk::Low)), None);
    }

    /// THREATS: enrolment hijack — a `require` written to tighten at high risk never loosens
    /// a stricter setting (passes only) to an emailed code.
    #[test]
    fn require_and_block_only_tighten_the_setting() {
        use FirstMethodRule::*;
        assert_eq!(combined(AccessPass, Some(EmailCode)), AccessPass);
        assert_eq!(combined(Network, Some(EmailCode)), Network);
        assert_eq!(combined(EmailCode, Some(AccessPass)), AccessPass);
        assert_eq!(combined(Password, Some(EmailCode)), EmailCode);
        assert_eq!(combined(AccessPass, Some(Password)), Password, "an explicit allow loosens");
        assert_eq!(combined(Network, None), Network);
    }

    #[test]
    fn a_first_method_rule_stands_alone_and_never_limits() {
        let mut mixed =
            rule("mixed", OutcomeKind::Allow, When::default(), vec![Action::EnrolFirstMethod, Action::Read]);
        mixed.what.apps = vec!["wiki".into()];
        let limit = rule("limit", OutcomeKind::Limit, When::default(), vec![Action::EnrolFirstMethod]);
        let errors = crate::access::check(&policy(vec![mixed, limit]), &[]).expect_err("refused");
        let text = errors.summary();
        assert!(text.contains("rule of its own"), "{text}");
        assert!(text.contains("block (a temporary access pass only)"), "{text}");
    }
}
