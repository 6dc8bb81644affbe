//! A case's timeline: what happened, when and by whom, and what closing it confirms.

use serde::{Deserialize, Serialize};

use super::verification::Channel;
use super::{CaseAction, Resolution};
use crate::Timestamp;

/// What closing a case confirms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    /// What was changed, in the operator's words (or why nothing was).
    pub changes: String,
    /// The person confirmed they can sign in again.
    pub person_confirmed: bool,
}

/// A use of the account soon after a help-desk change that the security team hears of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseAfterChange {
    /// A sign-in from a country never seen for the person.
    NewCountry,
    /// A sensitive action (modify, export, approve, admin).
    SensitiveAction,
}

impl UseAfterChange {
    /// The spelling in audit events.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NewCountry => "new_country",
            Self::SensitiveAction => "sensitive_action",
        }
    }

    /// In words.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::NewCountry => "A sign-in from a new country",
            Self::SensitiveAction => "A sensitive action",
        }
    }
}

/// One thing that happened on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    /// The case was opened.
    Opened {
        /// The caller's request, in the operator's words.
        summary: String,
    },
    /// The person's risk was raised when the case opened (a help-desk change or a failed
    /// verification within the last day, failed sign-ins): the case asks the verification for
    /// resetting every method, whatever it changes.
    RiskRaised {
        /// Why, in words.
        reasons: Vec<String>,
    },
    /// The methods the person set up while the case was open (a new phone enrolled with a
    /// temporary access pass), recorded when it closes.
    MethodsEnrolled {
        /// Each as "kind \"name\" at time".
        methods: Vec<String>,
    },
    /// A verification step was started (a code sent, an approval asked for).
    StepStarted {
        /// Through which channel.
        channel: Channel,
        /// Where it went, masked (`a•••@example.com`), or whom it asks.
        to: String,
        /// When it is overdue.
        due: Timestamp,
    },
    /// A verification step passed.
    Verified {
        /// Through which channel.
        channel: Channel,
        /// What showed it (which method, which approver).
        evidence: String,
    },
    /// A verification step failed (a wrong code, a refusal).
    VerificationFailed {
        /// Through which channel.
        channel: Channel,
        /// What went wrong.
        reason: String,
    },
    /// A second operator approved the changes (two-person rule).
    Approved {
        /// The approving operator's identity.
        operator_id: Option<String>,
    },
    /// The person was seen using the account, within a day of this case's change, in a way
    /// an attacker who talked the help desk into it would (the security team was told).
    UsedAfterChange {
        /// Which kind of use.
        kind: UseAfterChange,
        /// What was seen (the country, the action and app).
        detail: String,
    },
    /// A verified case changed something.
    ActionTaken {
        /// What.
        action: CaseAction,
        /// Which methods, which pass (never a secret).
        detail: String,
    },
    /// A step ran past its deadline and the team lead was told.
    Overdue {
        /// Which step.
        channel: Channel,
    },
    /// A note by the operator.
    Note {
        /// Its text.
        text: String,
    },
    /// The case was closed.
    Closed {
        /// How it ended.
        resolution: Resolution,
        /// What closing confirmed.
        checklist: Checklist,
    },
}

impl CaseEvent {
    /// What happened, in a line for people (the timeline of the CLI and the pages).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            CaseEvent::Opened { summary } => format!("opened: {summary}"),
            CaseEvent::StepStarted { channel, to, due } => {
                format!("{} sent to {to}, due {}", channel.label(), due.to_minute_utc())
            }
            CaseEvent::Verified { channel, evidence } => format!("verified by {}: {evidence}", channel.label()),
            CaseEvent::VerificationFailed { channel, reason } => format!("{} failed: {reason}", channel.label()),
            CaseEvent::Approved { operator_id } => {
                format!("approved by a second operator ({})", operator_id.as_deref().unwrap_or("-"))
            }
            CaseEvent::ActionTaken { action, detail } => format!("{}: {detail}", action.label()),
            CaseEvent::Overdue { channel } => format!("{} is overdue; the team lead was told", channel.label()),
            CaseEvent::MethodsEnrolled { methods } => {
                format!("the person set up while the case was open: {}", methods.join("; "))
            }
            CaseEvent::RiskRaised { reasons } => {
                format!("verification raised to the reset level: {}", reasons.join("; "))
            }
            CaseEvent::UsedAfterChange { kind, detail } => {
                format!("{} soon after the change ({detail}); the security team was told", kind.label())
            }
            CaseEvent::Note { text } => format!("note: {text}"),
            CaseEvent::Closed { resolution, checklist } => format!(
                "closed as {}: {}{}",
                resolution.label(),
                checklist.changes,
                if checklist.person_confirmed { " (the person confirmed it works)" } else { "" }
            ),
        }
    }
}

/// One timeline entry: when, by whom, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When.
    pub at: Timestamp,
    /// Who (an operator's name, the person, or Twofold).
    pub by: String,
    /// The operator's or person's identity, when a person.
    pub by_id: Option<String>,
    /// What happened.
    pub event: CaseEvent,
}
