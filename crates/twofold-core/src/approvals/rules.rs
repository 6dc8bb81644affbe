//! Approval rules files, TOML or YAML like policy files: which requests need whom. Rules are
//! read in order and the **first** that matches a request decides it, so the largest
//! thresholds come first:
//!
//! ```toml
//! [[rule]]
//! name = "very-large-order"
//! apps = ["orders"]            # client ids; absent = every app
//! action = "approve_order"     # absent or "*" = every action
//! amount_above = 1000000
//! currency = "EUR"
//! approvers = "executives"     # a group
//! required = 2                 # two different executives
//! strength = "phr"             # each with a fresh passkey
//!
//! [[rule]]
//! name = "forecast-over-10-percent"
//! action = "adjust_forecast"
//! percent_above = 10
//! approvers = "supervisors"
//! ```
//!
//! A request within every threshold of the rules that name its app and action needs no
//! approval, and is refused as such; one whose size none of them can compare (no magnitude,
//! another kind or currency) is refused as malformed, never let through.

use serde::{Deserialize, Serialize};

use super::{AppliedRule, Proposal, is_currency};
use crate::access::file::Problem;
use crate::validation::ValidationErrors;

/// A rules file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRules {
    /// The rules, in the order they are tried.
    #[serde(default)]
    pub rule: Vec<ApprovalRule>,
}

/// One rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRule {
    /// A unique name, shown to approvers and in receipts.
    pub name: String,
    /// The apps (client ids) it covers; empty for all.
    #[serde(default)]
    pub apps: Vec<String>,
    /// The action it covers; absent or `*` for all.
    #[serde(default)]
    pub action: Option<String>,
    /// It covers only changes whose percentage is larger than this.
    #[serde(default)]
    pub percent_above: Option<f64>,
    /// It covers only changes whose amount is larger than this.
    #[serde(default)]
    pub amount_above: Option<f64>,
    /// The currency `amount_above` is in (amounts in others do not match).
    #[serde(default)]
    pub currency: Option<String>,
    /// The group whose members approve.
    pub approvers: String,
    /// How many different members must approve (default 1).
    #[serde(default = "one")]
    pub required: u32,
    /// The strength each approver's fresh second factor must reach (default `mfa`).
    #[serde(default = "mfa")]
    pub strength: String,
}

const fn one() -> u32 {
    1
}

fn mfa() -> String {
    "mfa".to_owned()
}

/// What the rules say about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleMatch {
    /// This rule decides it.
    Decided(AppliedRule),
    /// Rules cover the app and action, and the request is within their thresholds (or no
    /// rule names the app and action at all): it needs no approval.
    NotNeeded,
    /// Rules cover the app and action, but none can compare the request's size (no
    /// magnitude, a percent where they compare amounts, another currency): refused rather
    /// than let through unexamined.
    Incomparable(String),
}

impl ApprovalRule {
    /// Whether it names `client_id` and `proposal`'s action.
    fn covers(&self, client_id: &str, proposal: &Proposal) -> bool {
        let app = self.apps.is_empty() || self.apps.iter().any(|a| a == client_id);
        let action = self.action.as_deref().is_none_or(|a| a == "*" || a == proposal.action);
        app && action
    }

    /// Whether its threshold can be compared with `proposal`'s size: it has none, or the
    /// proposal carries a size of its kind (and currency).
    fn compares(&self, proposal: &Proposal) -> bool {
        let magnitude = proposal.magnitude.as_ref();
        if self.percent_above.is_some() {
            return magnitude.and_then(super::Magnitude::percent_size).is_some();
        }
        if self.amount_above.is_some() {
            return magnitude.is_some_and(|m| {
                m.amount_size().is_some() && self.currency.as_deref().is_none_or(|c| m.currency.as_deref() == Some(c))
            });
        }
        true
    }

    /// Whether it covers `proposal` from the app `client_id` and its size is over the
    /// threshold.
    #[must_use]
    pub fn matches(&self, client_id: &str, proposal: &Proposal) -> bool {
        let magnitude = proposal.magnitude.as_ref();
        let over = |limit: Option<f64>, size: Option<f64>| limit.is_none_or(|l| size.is_some_and(|s| s > l));
        self.covers(client_id, proposal)
            && self.compares(proposal)
            && over(self.percent_above, magnitude.and_then(super::Magnitude::percent_size))
            && over(self.amount_above, magnitude.and_then(super::Magnitude::amount_size))
    }
}

impl ApprovalRules {
    /// What the rules, applied from `version`, say about `proposal` from `client_id`: the
    /// first rule that covers it and whose threshold it passes decides.
    #[must_use]
    pub fn rule_for(&self, client_id: &str, proposal: &Proposal, version: i64) -> RuleMatch {
        if let Some(r) = self.rule.iter().find(|r| r.matches(client_id, proposal)) {
            return RuleMatch::Decided(AppliedRule {
                name: r.name.clone(),
                version,
                approvers: r.approvers.clone(),
                required: r.required,
                strength: r.strength.clone(),
            });
        }
        let covering: Vec<&ApprovalRule> = self.rule.iter().filter(|r| r.covers(client_id, proposal)).collect();
        if covering.is_empty() || covering.iter().any(|r| r.compares(proposal)) {
            return RuleMatch::NotNeeded;
        }
        let wanted: Vec<String> = covering
            .iter()
            .map(|r| match (&r.percent_above, &r.currency) {
                (Some(_), _) => format!("rule '{}' compares a percent", r.name),
                (None, Some(c)) => format!("rule '{}' compares an amount in {c}", r.name),
                (None, None) => format!("rule '{}' compares an amount", r.name),
            })
            .collect();
        RuleMatch::Incomparable(format!("no rule can compare this size: {}", wanted.join("; ")))
    }
}

/// Checks the rules against the directory's groups.
///
/// # Errors
/// Every problem, keyed `rule[i].field`.
pub fn check(rules: &ApprovalRules, known_groups: &[String]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut names = std::collections::BTreeSet::new();
    for (i, rule) in rules.rule.iter().enumerate() {
        let at = |field: &str| format!("rule[{i}].{field}");
        if rule.name.trim().is_empty() {
            errors.add(at("name"), "every rule needs a name");
        } else if !names.insert(rule.name.as_str()) {
            errors.add(at("name"), format!("another rule is named '{}' already", rule.name));
        }
        if !known_groups.contains(&rule.approvers) {
            errors.add(at("approvers"), format!("no group named '{}'", rule.approvers));
        }
        if !(1..=10).contains(&rule.required) {
            errors.add(at("required"), "must be 1 to 10 approvers");
        }
        if !matches!(rule.strength.as_str(), "mfa" | "phr" | "phrh") {
            errors.add(at("strength"), "must be mfa, phr or phrh: an approval always needs a second factor");
        }
        if rule.percent_above.is_some() && rule.amount_above.is_some() {
            errors.add(at("amount_above"), "a rule compares a percent or an amount, not both");
        }
        for (field, limit) in [("percent_above", rule.percent_above), ("amount_above", rule.amount_above)] {
            if limit.is_some_and(|l| !l.is_finite() || l < 0.0) {
                errors.add(at(field), "must be a number of 0 or more");
            }
        }
        match (&rule.currency, rule.amount_above) {
            (Some(c), _) if !is_currency(c) => errors.add(at("currency"), "must be three capital letters, e.g. EUR"),
            (Some(_), None) => errors.add(at("currency"), "a currency goes with amount_above"),
            _ => {}
        }
        if rule.action.as_deref().is_some_and(str::is_empty) {
            errors.add(at("action"), "name an action, or leave it out for every action");
        }
    }
    errors.into_result()
}

/// Parses and checks a rules file (TOML or YAML).
///
/// # Errors
/// Every problem found, located by line.
pub fn load(source: &str, known_groups: &[String]) -> Result<ApprovalRules, Vec<Problem>> {
    let rules: ApprovalRules = crate::access::file::parse_any(source).map_err(|p| vec![p])?;
    check(&rules, known_groups).map_err(|errors| {
        crate::access::file::locate(source, &errors, |i| rules.rule.get(i).map(|r| r.name.clone()))
    })?;
    Ok(rules)
}
