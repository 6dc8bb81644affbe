//! Sign-in events: one per authentication attempt, with its outcome and reason.

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
}

impl FailureReason {
    /// Every reason.
    pub const ALL: [Self; 7] = [
        Self::UnknownUser,
        Self::WrongPassword,
        Self::AccountDisabled,
        Self::NoPassword,
        Self::Throttled,
        Self::WrongCode,
        Self::ReplayedCode,
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
}

impl SignInEvent {
    /// The same event with `methods` as the methods used.
    #[must_use]
    pub fn with_methods(mut self, methods: &[&str]) -> Self {
        self.methods = methods.iter().map(|m| (*m).to_owned()).collect();
        self
    }
}
