//! Review tasks: what must be looked at after an emergency access ends or a break-glass
//! account signs in. A review is opened once per subject, stays open until someone completes
//! it with findings, and open reviews are reported.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::validation::ValidationErrors;

/// What a review is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    /// An emergency access that ended (the subject is its id).
    EmergencyAccess,
    /// A break-glass account's sign-in (the subject is the sign-in event's id).
    BreakGlassSignIn,
    /// A break-glass account's control test is due (the subject is the account and the date
    /// it fell due): the admins are asked to test it, once per due date.
    BreakGlassTestDue,
}

impl ReviewKind {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EmergencyAccess => "emergency_access",
            Self::BreakGlassSignIn => "break_glass_sign_in",
            Self::BreakGlassTestDue => "break_glass_test_due",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::EmergencyAccess, Self::BreakGlassSignIn, Self::BreakGlassTestDue]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// One review task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Identifier.
    pub id: Uuid,
    /// What it is about.
    pub kind: ReviewKind,
    /// Which one: the emergency access's id or the sign-in event's id (unique per kind).
    pub subject_id: String,
    /// The person concerned (username).
    pub username: String,
    /// What happened, for the reviewer.
    pub summary: String,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// When it was completed.
    pub completed_at: Option<Timestamp>,
    /// Who completed it.
    pub completed_by: Option<String>,
    /// What the review found.
    pub findings: Option<String>,
    /// A break-glass sign-in that was a scheduled control test (its evidence).
    pub control_test: bool,
}

impl Review {
    /// Opens a review of `kind` about `subject_id` (for `username`) at `now`.
    #[must_use]
    pub fn open(kind: ReviewKind, subject_id: &str, username: &str, summary: String, now: Timestamp) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            subject_id: subject_id.to_owned(),
            username: username.to_owned(),
            summary,
            opened_at: now,
            completed_at: None,
            completed_by: None,
            findings: None,
            control_test: false,
        }
    }

    /// Checks findings before a review is completed: they say what was found.
    ///
    /// # Errors
    /// Findings shorter than a sentence or over-long.
    pub fn check_findings(findings: &str) -> Result<String, ValidationErrors> {
        let findings = findings.trim();
        if findings.chars().count() < 10 || findings.chars().count() > 4000 {
            return Err(ValidationErrors::one("findings", "must say what the review found, in 10 to 4000 characters"));
        }
        Ok(findings.to_owned())
    }
}
