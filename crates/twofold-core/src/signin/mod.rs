//! Sign-in events: one per authentication attempt, with its outcome and reason.

pub mod device;
pub mod device_trust;
pub mod session;
pub mod throttle;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;

/// The outcome of one sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInOutcome {
    /// A session was started.
    Success,
    /// The attempt was refused.
    Failure,
}

impl SignInOutcome {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// Why an attempt failed; recorded for analytics, never shown to the person signing in
/// (they see one message for all of these, so usernames cannot be enumerated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// No such username.
    UnknownUser,
    /// The password did not match.
    WrongPassword,
    /// The identity is suspended or deprovisioned.
    AccountDisabled,
    /// The identity has no password.
    NoPassword,
    /// Too many recent failures for this username or source; not checked.
    Throttled,
    /// The one-time or recovery code did not match.
    WrongCode,
    /// The code was right but already used (replay).
    ReplayedCode,
    /// The conditional-access policy in force blocks this sign-in.
    PolicyBlocked,
}

impl FailureReason {
    /// Every reason.
    pub const ALL: [Self; 8] = [
        Self::UnknownUser,
        Self::WrongPassword,
        Self::AccountDisabled,
        Self::NoPassword,
        Self::Throttled,
        Self::WrongCode,
        Self::ReplayedCode,
        Self::PolicyBlocked,
    ];

    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::AccountDisabled => "account_disabled",
            Self::NoPassword => "no_password",
            Self::Throttled => "throttled",
            Self::WrongCode => "wrong_code",
            Self::ReplayedCode => "replayed_code",
            Self::PolicyBlocked => "policy_blocked",
        }
    }
}

/// One recorded authentication attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInEvent {
    /// Identifier.
    pub id: Uuid,
    /// When it happened.
    pub at: Timestamp,
    /// The username as entered (normalised).
    pub username: String,
    /// The identity, when the username was known.
    pub user_id: Option<Uuid>,
    /// Success or failure.
    pub outcome: SignInOutcome,
    /// Why it failed.
    pub reason: Option<FailureReason>,
    /// Methods used (RFC 8176 values).
    pub methods: Vec<String>,
    /// Source address.
    pub ip: Option<String>,
    /// Browser.
    pub user_agent: Option<String>,
    /// What the attempt is throttled by besides the username when that is not the address:
    /// the calling client of the verify API (`client:NAME`). `None` means the address.
    #[serde(default)]
    pub source: Option<String>,
    /// What conditional access saw and decided, where it was asked.
    #[serde(default)]
    pub context: SignInContext,
}

/// The conditional-access side of a sign-in event: the facts the policy was asked about and
/// what it said, so report-only rules can be reported per sign-in and a draft policy can be
/// replayed against what really happened (`twofold policy simulate`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInContext {
    /// The app signed in to: an OpenID Connect `client_id`, a forward-auth `host/path`, or
    /// `twofold` for Twofold's own pages.
    pub app: Option<String>,
    /// How well the device was known.
    pub device: Option<crate::access::Device>,
    /// The device cookie's id (not secret: it only names the browser).
    pub device_id: Option<String>,
    /// Country of the address (ISO 3166 alpha-2), when a GeoIP database knew it.
    pub country: Option<String>,
    /// The risk computed for the attempt.
    pub risk: Option<crate::access::Risk>,
    /// What the policy in force decided, when one was in force.
    pub policy: Option<PolicyRecord>,
}

/// What the policy in force decided for one sign-in, as recorded on its event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// The policy version asked.
    pub version: i64,
    /// What was applied: `allow`, `require mfa`, `limit`, `block`, ...
    pub outcome: String,
    /// What would have applied with the report-only rules enforced too.
    pub would_be: String,
    /// Every rule that matched, with its mode and outcome.
    pub rules: Vec<RuleRecord>,
}

/// One rule that matched a sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRecord {
    /// The rule's name.
    pub rule: String,
    /// `enforce` or `report_only`.
    pub mode: crate::access::Mode,
    /// What it said, in words (`require mfa`, `block`).
    pub outcome: String,
}

impl SignInEvent {
    /// The same event as the outcome of the attempt that claimed `claim` (its id becomes the
    /// claim's, so recording it ends the claim).
    #[must_use]
    pub fn claimed(mut self, claim: uuid::Uuid) -> Self {
        self.id = claim;
        self
    }

    /// The source the attempt is throttled by: [`SignInEvent::source`], else the address.
    #[must_use]
    pub fn throttle_source(&self) -> Option<&str> {
        self.source.as_deref().or(self.ip.as_deref())
    }

    /// The same event with `methods` as the methods used.
    #[must_use]
    pub fn with_methods(mut self, methods: &[&str]) -> Self {
        self.methods = methods.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    /// The same event with what conditional access saw and decided.
    #[must_use]
    pub fn with_context(mut self, context: SignInContext) -> Self {
        self.context = context;
        self
    }
}
