//! One identity's compliance with its phase: the state machine of graduated enforcement.
//!
//! ```text
//! compliant  ← a method strong enough for the tier is registered (at any time), or, where the
//!              campaign's `done_means = "recommended_setup"`, the whole recommended setup
//! exempt     ← otherwise, an approved exception covers now
//! pending    ← otherwise, before the registration deadline (days left)
//! overdue    ← past the deadline while the phase only reports
//! limited    ← past the deadline, enforced, within the grace period (low-sensitivity apps only)
//! blocked    ← past the grace period, enforced (sign-in leads only to enrolment or the help desk)
//! ```

use serde::{Deserialize, Serialize};

use super::{DoneMeans, PhaseDates, PhaseMode};
use crate::Timestamp;
use crate::factors::authenticator::AuthenticatorKind;
use crate::identity::Tier;

/// Where an identity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Registered with a method strong enough for the tier.
    Compliant,
    /// Not yet, with days left before the deadline.
    Pending,
    /// Past the deadline; the phase only reports.
    Overdue,
    /// Covered by an approved, unexpired exception.
    Exempt,
    /// Past the deadline, enforced: low-sensitivity apps only.
    Limited,
    /// Past the grace period, enforced: enrolment or the help desk only.
    Blocked,
}

impl State {
    /// The stored and reported name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::Pending => "pending",
            Self::Overdue => "overdue",
            Self::Exempt => "exempt",
            Self::Limited => "limited",
            Self::Blocked => "blocked",
        }
    }

    /// The state a stored name stands for.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Compliant, Self::Pending, Self::Overdue, Self::Exempt, Self::Limited, Self::Blocked]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A confirmed method: its kind and whether it is an attested hardware key.
pub type Method = (AuthenticatorKind, bool);

/// The strongest strength the methods reach: `phrh`, `phr`, `mfa`, or `None` with none.
#[must_use]
pub fn strongest(methods: &[Method]) -> Option<&'static str> {
    if methods.iter().any(|(k, attested)| *k == AuthenticatorKind::Webauthn && *attested) {
        Some("phrh")
    } else if methods.iter().any(|(k, _)| *k == AuthenticatorKind::Webauthn) {
        Some("phr")
    } else if methods.is_empty() {
        None
    } else {
        Some("mfa")
    }
}

/// Whether registered methods are too weak for the tier: only email or SMS codes, or no
/// passkey for the `privileged` and `break_glass` tiers. `false` with no method at all
/// (that is unregistered, not weak).
#[must_use]
pub fn weak_for_tier(tier: Tier, methods: &[Method]) -> bool {
    if methods.is_empty() {
        return false;
    }
    let only_fallbacks = methods.iter().all(|(k, _)| k.is_fallback());
    let needs_key = matches!(tier, Tier::Privileged | Tier::BreakGlass);
    only_fallbacks || (needs_key && !methods.iter().any(|(k, _)| *k == AuthenticatorKind::Webauthn))
}

/// What an identity holds, as compliance sees it.
#[derive(Debug, Clone, Copy)]
pub struct Holdings<'a> {
    /// Its tier.
    pub tier: Tier,
    /// Its confirmed methods.
    pub methods: &'a [Method],
    /// Whether it has unused recovery codes.
    pub recovery_codes: bool,
}

/// Whether `methods` and codes make the recommended setup: two methods, one of them neither
/// email nor SMS, and unused recovery codes (the Security info page's checklist).
#[must_use]
pub fn recommended_setup(methods: &[Method], recovery_codes: bool) -> bool {
    methods.len() >= 2 && methods.iter().any(|(k, _)| !k.is_fallback()) && recovery_codes
}

/// Whether `holdings` count as registered under `done_means`: a method strong enough for the
/// tier, and with `RecommendedSetup` the whole recommended setup besides.
#[must_use]
pub fn registered(holdings: &Holdings<'_>, done_means: DoneMeans) -> bool {
    let strong = !holdings.methods.is_empty() && !weak_for_tier(holdings.tier, holdings.methods);
    strong
        && match done_means {
            DoneMeans::StrongMethod => true,
            DoneMeans::RecommendedSetup => recommended_setup(holdings.methods, holdings.recovery_codes),
        }
}

/// An identity's standing in its phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// The state.
    pub state: State,
    /// Whole days until the deadline (pending) or until the grace period ends (limited).
    pub days_left: Option<i64>,
    /// The strongest strength reached by registered methods.
    pub strongest: Option<&'static str>,
    /// Methods registered but too weak for the tier.
    pub weak_for_tier: bool,
    /// The exception that covers it (exempt).
    pub exception: Option<String>,
    /// Whether it holds the whole recommended setup (required where the campaign says so).
    pub recommended_setup: bool,
}

/// Days from `now` to `until`, rounded up.
fn days_until(now: Timestamp, until: Timestamp) -> i64 {
    let millis = (until.millis() - now.millis()).max(0);
    (millis + 86_399_999) / 86_400_000
}

/// Where an identity with `holdings` stands in a phase with `dates` and `mode` at `now`, when
/// the campaign's `done_means` says what registered means; `exception` is an approved one
/// (reference, end) if any.
#[must_use]
pub fn assess(
    dates: &PhaseDates,
    mode: PhaseMode,
    holdings: &Holdings<'_>,
    done_means: DoneMeans,
    exception: Option<(&str, Timestamp)>,
    now: Timestamp,
) -> Assessment {
    let mut assessment = Assessment {
        state: State::Compliant,
        days_left: None,
        strongest: strongest(holdings.methods),
        weak_for_tier: weak_for_tier(holdings.tier, holdings.methods),
        exception: None,
        recommended_setup: recommended_setup(holdings.methods, holdings.recovery_codes),
    };
    if registered(holdings, done_means) {
        return assessment;
    }
    if let Some((reference, ends)) = exception.filter(|(_, ends)| now < *ends) {
        assessment.state = State::Exempt;
        assessment.exception = Some(reference.to_owned());
        assessment.days_left = Some(days_until(now, ends));
        return assessment;
    }
    (assessment.state, assessment.days_left) = if now < dates.deadline {
        (State::Pending, Some(days_until(now, dates.deadline)))
    } else if mode == PhaseMode::ReportOnly {
        (State::Overdue, None)
    } else if now < dates.grace_ends {
        (State::Limited, Some(days_until(now, dates.grace_ends)))
    } else {
        (State::Blocked, None)
    };
    assessment
}

/// What a state the scheduler recorded means now, given whether an exception covers the
/// identity at this moment (read from the database at the time of the request, never cached).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The recorded state stands (or, covered now, `exempt` replaces a missed deadline).
    Holds(State),
    /// Recorded `exempt`, but no exception covers any more (revoked, ended or lapsed since
    /// the scheduler's last run): the state must be assessed again before anything is allowed.
    Stale,
}

/// Reconciles a recorded `state` with the exceptions as they are now: an approval takes
/// effect at once (a missed deadline is `exempt` while an exception covers), and so does the
/// end of one (an `exempt` record with no covering exception is [`Recorded::Stale`]).
#[must_use]
pub fn recorded_now(state: State, covered: bool) -> Recorded {
    match (state, covered) {
        (State::Compliant, _) => Recorded::Holds(State::Compliant),
        (_, true) => Recorded::Holds(State::Exempt),
        (State::Exempt, false) => Recorded::Stale,
        (other, false) => Recorded::Holds(other),
    }
}
