//! Rollout campaigns: MFA as a programme, not a switch. A campaign has phases; each phase
//! names its cohort, a start date, a registration deadline and a grace period, and moves
//! from `report_only` to `enforce` on a date or once enough of its cohort has registered.
//! Each identity in scope is then `compliant`, `pending` (days left), `overdue`, `exempt`,
//! `limited` or `blocked` ([`compliance::assess`]); the campaign's progress and projected
//! completion come from its adoption curve ([`progress`]).
//!
//! Pure: the caller passes the time, the identity's methods and exceptions; the app stores
//! states, runs the scheduler and hands overdue identities to the policy engine.

pub mod compliance;
pub mod exception;
pub mod file;
pub mod progress;
pub mod reminders;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::identity::Tier;
use crate::validation::ValidationErrors;

/// A phased rollout, as written in a campaign file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// Unique name.
    pub name: String,
    /// What counts as done: this share of in-scope identities registered within so many days
    /// of the first phase's start.
    pub target: Target,
    /// The phases, in order; an identity belongs to the first phase whose cohort names it.
    #[serde(rename = "phase")]
    pub phases: Vec<Phase>,
    /// When reminders go out (default: 14, 7, 3 and 1 days before the deadline, then weekly
    /// with the manager copied from 3 days after it).
    #[serde(default)]
    pub reminders: reminders::Cadence,
    /// What counts as registered: a method strong enough for the tier (the default), or the
    /// whole recommended setup (`done_means = "recommended_setup"`).
    #[serde(default)]
    pub done_means: DoneMeans,
}

/// What a campaign counts as registered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoneMeans {
    /// A method strong enough for the tier: anything but email or SMS codes alone, and a
    /// passkey or security key for privileged and break-glass identities.
    #[default]
    StrongMethod,
    /// That, plus a second method and unused recovery codes: the recommended setup, so that
    /// losing one phone does not mean a call to the help desk.
    RecommendedSetup,
}

/// A campaign's goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Percent of in-scope identities registered (e.g. 95).
    pub percent: u8,
    /// Within this many days of the first phase's start (e.g. 90).
    pub within_days: u32,
}

/// Who a phase is for: anyone matching any listed item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cohort {
    /// Usernames (an explicit list, e.g. a pilot of power users).
    #[serde(default)]
    pub users: Vec<String>,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Tiers.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Departments.
    #[serde(default)]
    pub departments: Vec<String>,
}

/// One phase of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Unique within the campaign.
    pub name: String,
    /// Who.
    pub cohort: Cohort,
    /// From this date (`YYYY-MM-DD`, UTC) the cohort is in scope and reminded.
    pub starts: String,
    /// Register by this date.
    pub deadline: String,
    /// Days after the deadline with limited access before sign-in leads only to enrolment.
    #[serde(default)]
    pub grace_days: u32,
    /// The phase enforces from this date on...
    #[serde(default)]
    pub enforce_on: Option<String>,
    /// ... or once this percent of its cohort has registered, whichever comes first. With
    /// neither, the phase only reports.
    #[serde(default)]
    pub enforce_at_percent: Option<u8>,
}

/// Whether a campaign runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Applied, not started: nothing is reminded or enforced.
    Draft,
    /// Its phases report and enforce on their dates.
    Running,
    /// Held: nothing is reminded or enforced until it runs again.
    Paused,
}

impl CampaignStatus {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Running => "running",
            Self::Paused => "paused",
        }
    }

    /// The status a stored name stands for.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Draft, Self::Running, Self::Paused].into_iter().find(|s| s.as_str() == text)
    }
}

/// A campaign as stored: its file and whether it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCampaign {
    /// The campaign's name (unique).
    pub name: String,
    /// The file as applied.
    pub source: String,
    /// Whether it runs.
    pub status: CampaignStatus,
    /// First applied.
    pub created_at: Timestamp,
    /// Last applied or started or paused.
    pub updated_at: Timestamp,
}

/// An identity's compliance state as the scheduler last recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredState {
    /// The campaign.
    pub campaign: String,
    /// Who.
    pub user_id: uuid::Uuid,
    /// Their phase.
    pub phase: String,
    /// Their state.
    pub state: compliance::State,
    /// Since when.
    pub since: Timestamp,
}

/// One identity moving from one state to another (or entering the campaign).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// Who.
    pub user_id: uuid::Uuid,
    /// Their username, for the audit log.
    pub username: String,
    /// Their phase.
    pub phase: String,
    /// The state recorded before, if any.
    pub from: Option<compliance::State>,
    /// The new state.
    pub to: compliance::State,
}

/// Whether a phase's consequences apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseMode {
    /// States are computed and reported; nobody is limited or blocked.
    ReportOnly,
    /// Overdue identities are limited, then blocked.
    Enforce,
}

/// Midnight UTC at the start of `YYYY-MM-DD`.
fn date(text: &str) -> Option<Timestamp> {
    crate::access::check::date_millis(text).map(Timestamp)
}

/// A phase's dates, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseDates {
    /// In scope from.
    pub starts: Timestamp,
    /// Register by.
    pub deadline: Timestamp,
    /// Blocked from (deadline plus grace).
    pub grace_ends: Timestamp,
    /// Enforced from, when a date is set.
    pub enforce_on: Option<Timestamp>,
}

impl Phase {
    /// The phase's dates; `None` when one does not parse ([`Campaign::check`] says which).
    #[must_use]
    pub fn dates(&self) -> Option<PhaseDates> {
        let deadline = date(&self.deadline)?;
        Some(PhaseDates {
            starts: date(&self.starts)?,
            deadline,
            grace_ends: deadline.plus_seconds(i64::from(self.grace_days) * 86_400),
            enforce_on: match &self.enforce_on {
                Some(text) => Some(date(text)?),
                None => None,
            },
        })
    }

    /// The phase's mode at `now`, given the share (percent) of its cohort registered.
    #[must_use]
    pub fn mode(&self, now: Timestamp, registered_percent: f64) -> PhaseMode {
        let by_date = self.dates().and_then(|d| d.enforce_on).is_some_and(|on| now >= on);
        let by_share = self.enforce_at_percent.is_some_and(|p| registered_percent >= f64::from(p));
        if by_date || by_share { PhaseMode::Enforce } else { PhaseMode::ReportOnly }
    }

    /// Whether the cohort names someone with this username, groups, tier and department.
    #[must_use]
    pub fn includes(&self, username: &str, groups: &[String], tier: Tier, department: Option<&str>) -> bool {
        let c = &self.cohort;
        c.users.iter().any(|u| u == username)
            || c.groups.iter().any(|g| groups.contains(g))
            || c.tiers.contains(&tier)
            || department.is_some_and(|d| c.departments.iter().any(|x| x.eq_ignore_ascii_case(d)))
    }
}

impl Campaign {
    /// The phase an identity belongs to (the first whose cohort names it), if any. Break-glass
    /// accounts belong to none: no campaign reminds, limits or blocks them, whatever the
    /// cohort says (they are held to their own rule and control tests instead).
    #[must_use]
    pub fn phase_of(&self, username: &str, groups: &[String], tier: Tier, department: Option<&str>) -> Option<&Phase> {
        if tier == Tier::BreakGlass {
            return None;
        }
        self.phases.iter().find(|p| p.includes(username, groups, tier, department))
    }

    /// Every problem with the campaign, keyed by where it is (`phase[1].deadline`).
    ///
    /// # Errors
    /// The problems.
    pub fn check(&self, known_groups: &[String]) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.name.trim().is_empty() {
            errors.add("name", "is required");
        }
        if self.target.percent == 0 || self.target.percent > 100 {
            errors.add("target.percent", "must be 1–100");
        }
        if self.target.within_days == 0 {
            errors.add("target.within_days", "must be at least 1");
        }
        if self.phases.is_empty() {
            errors.add("phase", "a campaign needs at least one phase");
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, phase) in self.phases.iter().enumerate() {
            let key = |field: &str| format!("phase[{i}].{field}");
            if !names.insert(phase.name.as_str()) {
                errors.add(key("name"), format!("'{}' names two phases", phase.name));
            }
            let c = &phase.cohort;
            if c.users.is_empty() && c.groups.is_empty() && c.tiers.is_empty() && c.departments.is_empty() {
                errors.add(key("cohort"), "names nobody");
            }
            for group in &c.groups {
                if !known_groups.contains(group) {
                    errors.add(key("cohort"), format!("group '{group}' does not exist"));
                }
            }
            for (field, text) in [("starts", Some(&phase.starts)), ("deadline", Some(&phase.deadline))]
                .into_iter()
                .chain([("enforce_on", phase.enforce_on.as_ref())])
            {
                if let Some(text) = text
                    && date(text).is_none()
                {
                    errors.add(key(field), format!("'{text}' is not a date like 2027-03-31"));
                }
            }
            if let Some(d) = phase.dates()
                && d.deadline <= d.starts
            {
                errors.add(key("deadline"), "must come after the start");
            }
            if phase.enforce_at_percent.is_some_and(|p| p == 0 || p > 100) {
                errors.add(key("enforce_at_percent"), "must be 1–100");
            }
        }
        errors.into_result()
    }
}

#[cfg(test)]
mod tests;
