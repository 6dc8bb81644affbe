//! Checking a policy before it is applied: every problem is listed (a bad CIDR, an unknown
//! zone, strength or group, a rule that can never match, duplicate names), keyed by where it
//! is (`rule[2].when.zones`), so that a refused file changes nothing.

use std::collections::BTreeSet;

use super::{Action, OutcomeKind, Policy};
use crate::oidc::STRENGTHS;
use crate::validation::ValidationErrors;

/// Midnight UTC at the start of `YYYY-MM-DD`, in milliseconds (policy and campaign dates).
pub(crate) fn date_millis(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// Every problem in `policy`; `known_groups` are the directory's group names (a rule naming
/// another group would silently match nobody).
///
/// # Errors
/// The problems, each keyed by where it is.
pub fn check(policy: &Policy, known_groups: &[String]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    for (zone, blocks) in &policy.zones {
        if blocks.is_empty() {
            errors.add(format!("zones.{zone}"), "lists no network");
        }
        for block in blocks {
            if block.parse::<ipnet::IpNet>().is_err() {
                errors.add(format!("zones.{zone}"), format!("'{block}' is not a network like 10.0.0.0/8"));
            }
        }
    }
    for (name, combinations) in &policy.strengths {
        if STRENGTHS.contains(&name.as_str()) {
            errors.add(format!("strengths.{name}"), "is a built-in strength's name");
        }
        if combinations.is_empty() || combinations.iter().any(Vec::is_empty) {
            errors.add(format!("strengths.{name}"), "needs at least one non-empty method combination");
        }
    }
    let mut names = BTreeSet::new();
    for (i, rule) in policy.rules.iter().enumerate() {
        let key = |field: &str| format!("rule[{i}].{field}");
        if rule.name.trim().is_empty() {
            errors.add(key("name"), "is required");
        } else if !names.insert(rule.name.as_str()) {
            errors.add(key("name"), format!("'{}' names two rules", rule.name));
        }
        for zone in rule.when.zones.iter().chain(&rule.when.outside_zones) {
            if !policy.zones.contains_key(zone) {
                errors.add(key("when"), format!("zone '{zone}' is not defined under [zones]"));
            }
        }
        for group in rule.who.groups.iter().chain(&rule.who.exclude_groups) {
            if !known_groups.contains(group) {
                errors.add(key("who"), format!("group '{group}' does not exist"));
            }
        }
        match (rule.outcome, &rule.strength) {
            (OutcomeKind::Require, None) => errors.add(key("strength"), "a require rule names a strength"),
            (OutcomeKind::Require, Some(s))
                if !STRENGTHS.contains(&s.as_str()) && !policy.strengths.contains_key(s) =>
            {
                errors
                    .add(key("strength"), format!("'{s}' is neither built in (mfa, phr, phrh) nor under [strengths]"));
            }
            (OutcomeKind::Allow | OutcomeKind::Limit | OutcomeKind::Block, Some(_)) => {
                errors.add(key("strength"), "only a require rule has a strength");
            }
            _ => {}
        }
        if rule.what.actions.contains(&Action::EnrolFirstMethod) {
            if rule.what.actions.len() > 1 || !rule.what.apps.is_empty() || !rule.what.hosts.is_empty() {
                errors.add(
                    key("what"),
                    "a rule about enrol_first_method names no apps, hosts or other actions: give it a rule of its own",
                );
            }
            if rule.outcome == OutcomeKind::Require && rule.strength.as_deref() != Some("mfa") {
                errors.add(
                    key("strength"),
                    "an enrol_first_method rule that requires asks strength mfa (a code to the email on file): no first method can prove more",
                );
            }
            if rule.outcome == OutcomeKind::Limit {
                errors.add(
                    key("outcome"),
                    "enrol_first_method rules allow (the password is enough), require (a code to the email on file) or block (a temporary access pass only)",
                );
            }
        }
        if rule.within_minutes == Some(0) {
            errors.add(key("within_minutes"), "must be at least 1");
        }
        if rule.within_minutes.is_some() && rule.outcome != OutcomeKind::Require {
            errors.add(key("within_minutes"), "only a require rule asks for freshness");
        }
        if let Some([from, to]) = rule.when.hours {
            if from > 23 || to > 24 {
                errors.add(key("when.hours"), "hours are 0–24");
            } else if from == to {
                errors.add(key("when.hours"), "an empty range: the rule can never match");
            }
        }
        for (field, date) in [("when.from", &rule.when.from), ("when.until", &rule.when.until)] {
            if let Some(date) = date
                && date_millis(date).is_none()
            {
                errors.add(key(field), format!("'{date}' is not a date like 2027-03-31"));
            }
        }
        if let (Some(from), Some(until)) =
            (rule.when.from.as_deref().and_then(date_millis), rule.when.until.as_deref().and_then(date_millis))
            && from >= until
        {
            errors.add(key("when"), "from is not before until: the rule can never match");
        }
        // Rules that can never match.
        let never = |why: String| (key("who"), why);
        let contradictions =
            [
                rule.when.zones.iter().find(|z| rule.when.outside_zones.contains(z)).map(|z| {
                    (key("when"), format!("zone '{z}' is both required and excluded: the rule can never match"))
                }),
                rule.who
                    .groups
                    .iter()
                    .find(|g| rule.who.exclude_groups.contains(g))
                    .map(|g| never(format!("group '{g}' is both included and excluded"))),
                rule.who
                    .users
                    .iter()
                    .find(|u| rule.who.exclude_users.contains(u))
                    .map(|u| never(format!("user '{u}' is both included and excluded"))),
                rule.who
                    .tiers
                    .iter()
                    .find(|t| rule.who.exclude_tiers.contains(t))
                    .map(|t| never(format!("tier '{t}' is both included and excluded"))),
            ];
        for (field, message) in contradictions.into_iter().flatten() {
            errors.add(field, message);
        }
    }
    super::paths::check(policy, &mut errors);
    errors.into_result()
}
