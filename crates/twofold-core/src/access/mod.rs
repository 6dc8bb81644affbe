//! Conditional access: rules that say, for **who** asks for **what** and **when**, what is
//! required — `allow`, `require` an authentication strength (optionally fresh within N
//! minutes), `limit` to low-sensitivity apps, or `block`. Every matching rule contributes;
//! the strictest combination decides, and the decision lists every contributing rule and why.
//! Rules in `report_only` mode are evaluated and reported ("would have required") but never
//! applied; `off` rules are skipped.
//!
//! Pure: the caller gathers the facts of one sign-in or request ([`Facts`]) and passes the
//! time in them. The model deserialises from a policy file (`deny_unknown_fields`, so a typo
//! is an error, not a silently ignored key).
//!
//! Asked by the sign-in pages, OpenID Connect authorizations and forward-auth; risk comes
//! from [`risk::assess`], and [`simulate`] replays recorded sign-ins against a draft.

pub(crate) mod check;
mod evaluate;
pub mod file;
pub mod first_method;
pub mod geo;
pub mod paths;
pub mod risk;
pub mod simulate;

use serde::{Deserialize, Serialize};

use crate::identity::{Role, Tier};

pub use check::check;
pub use evaluate::{
    Decision, Facts, Hit, Overdue, Shortfall, SignInNeed, evaluate, outcome_words, satisfies, shortfall,
};

/// The app name of Twofold's own pages (sign-in, Security info) in rules and sign-in events.
pub const TWOFOLD_APP: &str = "twofold";

/// A whole policy: named network zones, custom strengths, and the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Network zones by name, each a list of CIDR blocks (`corporate = ["10.0.0.0/8"]`).
    #[serde(default)]
    pub zones: std::collections::BTreeMap<String, Vec<String>>,
    /// Strengths an administrator defines, each a list of allowed method combinations
    /// (RFC 8176 `amr` values), e.g. `app_or_key = [["pwd", "otp"], ["hwk"]]`.
    #[serde(default)]
    pub strengths: std::collections::BTreeMap<String, Vec<Vec<String>>>,
    /// The rules, each named.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// Apps and hosts a `limit` outcome leaves open for reading.
    #[serde(default)]
    pub low_sensitivity: LowSensitivity,
    /// Forward-auth paths named as exports, approvals or administration (`[[action]]`).
    #[serde(default, rename = "action")]
    pub actions: Vec<paths::PathAction>,
}

/// What stays reachable (for reading) under a `limit` outcome. Twofold's own Security info
/// always does, so a limited person can still set up what they lack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowSensitivity {
    /// OpenID Connect clients by `client_id`.
    #[serde(default)]
    pub apps: Vec<String>,
    /// Forward-auth hosts, optionally with a path prefix.
    #[serde(default)]
    pub hosts: Vec<String>,
}

impl Policy {
    /// Whether any rule in use asks how well the device is known (so callers look it up).
    #[must_use]
    pub fn uses_devices(&self) -> bool {
        self.rules.iter().any(|r| r.mode != Mode::Off && !r.when.devices.is_empty())
    }

    /// Whether any rule in use asks for a risk level (so callers compute it).
    #[must_use]
    pub fn uses_risk(&self) -> bool {
        self.rules.iter().any(|r| r.mode != Mode::Off && r.when.risk_at_least.is_some())
    }
}

/// One applied version of the policy: the file as written, who applied it and when. Every
/// version is kept; a rollback applies an old version's text again as a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// 1, 2, 3, ...; the highest is in force.
    pub version: i64,
    /// The TOML text.
    pub source: String,
    /// Who applied it (the audit actor's name).
    pub author: String,
    /// When.
    pub created_at: crate::Timestamp,
    /// Why, in the author's words.
    pub note: Option<String>,
}

/// Whether a rule is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Applied.
    #[default]
    Enforce,
    /// Evaluated and recorded as "would have", never applied.
    ReportOnly,
    /// Skipped.
    Off,
}

/// What a request does, for rules about sensitive actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Looking.
    Read,
    /// Changing.
    Modify,
    /// Taking data out.
    Export,
    /// Approving someone else's request.
    Approve,
    /// Administering.
    Admin,
    /// Someone with no sign-in method yet setting up their first one. Only rules that name
    /// this action decide it (see [`first_method`]): allow means the password is enough
    /// there, require a code to the email address on file (or a pass), block a temporary
    /// access pass only; no such rule leaves `[enrolment] first_method` to decide.
    EnrolFirstMethod,
}

/// How well the browser or machine is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// Never seen before.
    New,
    /// Seen before (a device cookie), not trusted.
    Known,
    /// Marked trusted after an MFA, until a date.
    Trusted,
}

/// A risk level computed from signals (recent failures, impossible travel, new country).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Nothing unusual.
    #[default]
    Low,
    /// Something unusual.
    Medium,
    /// Likely an attack.
    High,
}

/// Who a rule applies to: anyone matching any listed item (an empty `Who` is everyone),
/// minus anyone matching an exclusion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Who {
    /// Usernames.
    #[serde(default)]
    pub users: Vec<String>,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Tiers.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Roles.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Service accounts (machine identities), by `client_id`; `"*"` for all of them.
    #[serde(default)]
    pub service_accounts: Vec<String>,
    /// Excluded usernames.
    #[serde(default)]
    pub exclude_users: Vec<String>,
    /// Excluded groups.
    #[serde(default)]
    pub exclude_groups: Vec<String>,
    /// Excluded tiers (e.g. `break_glass`).
    #[serde(default)]
    pub exclude_tiers: Vec<Tier>,
}

/// What a rule is about: any listed app, host or action (empty lists: anything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct What {
    /// OpenID Connect clients by `client_id`.
    #[serde(default)]
    pub apps: Vec<String>,
    /// Forward-auth hosts, optionally with a path prefix (`wiki.example.com/admin`).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Actions.
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// When a rule applies: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// From inside one of these zones.
    #[serde(default)]
    pub zones: Vec<String>,
    /// From outside all of these zones.
    #[serde(default)]
    pub outside_zones: Vec<String>,
    /// From a device in one of these states.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// From one of these countries (ISO 3166 alpha-2), when the country is known.
    #[serde(default)]
    pub countries: Vec<String>,
    /// At this risk or above.
    #[serde(default)]
    pub risk_at_least: Option<Risk>,
    /// Hours of the day (UTC) `[from, to)`, e.g. `[22, 6]` for the night.
    #[serde(default)]
    pub hours: Option<[u8; 2]>,
    /// Only from this date on (`YYYY-MM-DD`, UTC), e.g. once SMS has been phased out.
    #[serde(default)]
    pub from: Option<String>,
    /// Only before this date (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub until: Option<String>,
}

/// What a matching rule says, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// No prompt.
    Allow,
    /// A strength (and maybe freshness).
    Require,
    /// Only low-sensitivity apps and actions.
    Limit,
    /// No access.
    Block,
}

/// What a matching rule says, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// No prompt.
    Allow,
    /// A sign-in of this strength, at most `within_minutes` old when given.
    Require {
        /// `mfa`, `phr`, `phrh`, or a strength the policy defines.
        strength: String,
        /// Freshness for sensitive actions.
        within_minutes: Option<u32>,
    },
    /// Only apps and actions marked low-sensitivity.
    Limit,
    /// No access.
    Block,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique; named in every decision it contributes to.
    pub name: String,
    /// `enforce` (default), `report_only` or `off`.
    #[serde(default)]
    pub mode: Mode,
    /// Who it applies to (default: everyone).
    #[serde(default)]
    pub who: Who,
    /// What it is about (default: everything).
    #[serde(default)]
    pub what: What,
    /// When (default: always).
    #[serde(default)]
    pub when: When,
    /// `allow`, `require`, `limit` or `block`.
    pub outcome: OutcomeKind,
    /// With `require`: the strength.
    #[serde(default)]
    pub strength: Option<String>,
    /// With `require`: the sign-in must be at most this many minutes old.
    #[serde(default)]
    pub within_minutes: Option<u32>,
}

impl Rule {
    /// The rule's outcome (a `require` without a strength reads as `mfa`; [`check`] refuses it).
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        match self.outcome {
            OutcomeKind::Allow => Outcome::Allow,
            OutcomeKind::Limit => Outcome::Limit,
            OutcomeKind::Block => Outcome::Block,
            OutcomeKind::Require => Outcome::Require {
                strength: self.strength.clone().unwrap_or_else(|| "mfa".into()),
                within_minutes: self.within_minutes,
            },
        }
    }
}

#[cfg(test)]
mod tests;
