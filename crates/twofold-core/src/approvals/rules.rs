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
//! A request no rule matches needs no approval, and is refused as such.

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

impl ApprovalRule {
    /// Whether it covers `proposal` from the app `client_id`.
    #[must_use]
    pub fn matches(&self, client_id: &str, proposal: &Proposal) -> bool {
        let app = self.apps.is_empty() || self.apps.iter().any(|a| a == client_id);
        let action = self.action.as_deref().is_none_or(|a| a == "*" || a == proposal.action);
        let magnitude = proposal.magnitude.as_ref();
        let percent = self
            .percent_above
            .is_none_or(|limit| magnitude.and_then(super::Magnitude::percent_size).is_some_and(|size| size > limit));
        let amount = self.amount_above.is_none_or(|limit| {
            magnitude.is_some_and(|m| {
                m.amount_size().is_some_and(|size| size > limit)
                    && self.currency.as_deref().is_none_or(|c| m.currency.as_deref() == Some(c))
            })
        });
        app && action && percent && amount
    }
}

impl ApprovalRules {
    /// The first rule covering `proposal` from `client_id`, as applied from `version`.
    #[must_use]
    pub fn rule_for(&self, client_id: &str, proposal: &Proposal, version: i64) -> Option<AppliedRule> {
        self.rule.iter().find(|r| r.matches(client_id, proposal)).map(|r| AppliedRule {
            name: r.name.clone(),
            version,
            approvers: r.approvers.clone(),
            required: r.required,
            strength: r.strength.clone(),
        })
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
