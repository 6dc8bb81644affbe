//! Emergency access and the reviews that follow it.
//!
//! **Emergency access** is a time-boxed, approved, monitored bypass for an enrolled person who
//! cannot use their methods for a few hours: with it, the password alone signs them in at
//! strength `mfa` (never `phr`), every such sign-in alerts the security team, it ends by
//! itself, and its end opens a **review** that stays open, visible and reported until someone
//! completes it with findings (THREATS: standing bypasses).
//!
//! **Break-glass accounts** (tier `break_glass`) are watched the same way: every sign-in opens
//! a review and alerts every admin, and each account must be tested every few days; the
//! evidence of a test is a completed review of one of its sign-ins ([`break_glass`]).

pub mod break_glass;
pub mod review;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::identity::{Role, User};
use crate::validation::ValidationErrors;

/// The `amr` entry of a session started under emergency access. Such a session reaches `mfa`
/// for apps, but never changes sign-in methods.
pub const EMERGENCY_AMR: &str = "emergency_access";

/// Hours an emergency access may last when the organisation says nothing.
pub const DEFAULT_MAX_HOURS: i64 = 8;
/// The longest any policy may allow: hours, not days.
pub const CEILING_HOURS: i64 = 24;

/// Where an emergency access stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmergencyState {
    /// Asked for, not decided.
    Requested,
    /// Approved: active from `starts_at` until `ends_at`.
    Approved,
    /// Refused by the approver.
    Rejected,
    /// Over (its time ran out, or it was revoked).
    Ended,
}

impl EmergencyState {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Ended => "ended",
        }
    }
}

/// One emergency access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyAccess {
    /// Identifier.
    pub id: Uuid,
    /// Whom it lets in.
    pub user_id: Uuid,
    /// Their username.
    pub username: String,
    /// Why it is needed.
    pub reason: String,
    /// Who asked (name as audited).
    pub requested_by: String,
    /// Who asked, for "not the requester" (a person's id, or `cli:<os user>`).
    pub requested_by_key: String,
    /// When it was asked for.
    pub requested_at: Timestamp,
    /// How many hours it lasts once approved.
    pub hours: i64,
    /// Where it stands.
    pub state: EmergencyState,
    /// Who decided (username).
    pub decided_by: Option<String>,
    /// When it was decided.
    pub decided_at: Option<Timestamp>,
    /// When it ends (set on approval).
    pub ends_at: Option<Timestamp>,
    /// Why it ended (`expired`, `revoked: ...`).
    pub end_reason: Option<String>,
    /// Bumped by every change; the store writes only over the version it read.
    pub version: i64,
}

/// Why emergency access is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmergencyRefusal {
    /// Only enrolled people get a bypass; the others enrol (or get a temporary access pass).
    #[error("emergency access is for people with a sign-in method; help the person enrol instead")]
    NotEnrolled,
    /// Machine and break-glass identities never get one.
    #[error("{0} accounts never get emergency access")]
    TierExcluded(crate::identity::Tier),
    /// Only a security admin decides.
    #[error("only an admin decides emergency access")]
    NotAnAdmin,
    /// The approver is the requester or the person.
    #[error("the approver must be someone other than the requester and the person")]
    SameApprover,
    /// It was decided already, or has ended.
    #[error("this emergency access is {0} already")]
    AlreadyDecided(&'static str),
}

impl EmergencyAccess {
    /// Asks for emergency access for `user` lasting `hours` (at most `max_hours`), by
    /// `requested_by` (name as audited, key for "not the requester"). Whether the person may
    /// have it at all is [`EmergencyAccess::eligible`].
    ///
    /// # Errors
    /// An empty reason, or hours outside 1..=`max_hours`.
    pub fn request(
        user: &User,
        reason: &str,
        hours: i64,
        max_hours: i64,
        requested_by: (&str, &str),
        now: Timestamp,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            errors.add("reason", "must say why, in up to 2000 characters");
        }
        if !(1..=max_hours).contains(&hours) {
            errors.add("hours", format!("must be 1 to {max_hours}: emergency access lasts hours, not days"));
        }
        errors.into_result()?;
        Ok(Self {
            id: Uuid::now_v7(),
            user_id: user.id,
            username: user.username.clone(),
            reason: reason.to_owned(),
            requested_by: requested_by.0.to_owned(),
            requested_by_key: requested_by.1.to_owned(),
            requested_at: now,
            hours,
            state: EmergencyState::Requested,
            decided_by: None,
            decided_at: None,
            ends_at: None,
            end_reason: None,
            version: 0,
        })
    }

    /// Whether `user` may have emergency access at all: enrolled, and not a machine or
    /// break-glass identity.
    ///
    /// # Errors
    /// Why not.
    pub fn eligible(user: &User, enrolled: bool) -> Result<(), EmergencyRefusal> {
        if matches!(user.tier, crate::identity::Tier::Service | crate::identity::Tier::BreakGlass) {
            return Err(EmergencyRefusal::TierExcluded(user.tier));
        }
        if !enrolled {
            return Err(EmergencyRefusal::NotEnrolled);
        }
        Ok(())
    }

    /// Decides the request as `approver` (who has proved a fresh second factor) at `now`.
    ///
    /// # Errors
    /// Decided already; the approver is no admin, or is the requester or the person.
    pub fn decide(&mut self, approver: &User, approve: bool, now: Timestamp) -> Result<(), EmergencyRefusal> {
        if self.state != EmergencyState::Requested {
            return Err(EmergencyRefusal::AlreadyDecided(self.state.as_str()));
        }
        if !approver.roles.contains(&Role::Admin) {
            return Err(EmergencyRefusal::NotAnAdmin);
        }
        if approver.id == self.user_id || approver.id.to_string() == self.requested_by_key {
            return Err(EmergencyRefusal::SameApprover);
        }
        self.decided_by = Some(approver.username.clone());
        self.decided_at = Some(now);
        if approve {
            self.state = EmergencyState::Approved;
            self.ends_at = Some(now.plus_seconds(self.hours * 60 * 60));
        } else {
            self.state = EmergencyState::Rejected;
        }
        self.version += 1;
        Ok(())
    }

    /// Whether it lets its person in at `now`.
    #[must_use]
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.state == EmergencyState::Approved && self.ends_at.is_some_and(|end| now < end)
    }

    /// Whether its time has run out at `now` and the end is still to be recorded.
    #[must_use]
    pub fn due_to_end(&self, now: Timestamp) -> bool {
        self.state == EmergencyState::Approved && self.ends_at.is_some_and(|end| now >= end)
    }

    /// Records its end (`reason`: `expired`, or why it was revoked).
    ///
    /// # Errors
    /// It is not running.
    pub fn end(&mut self, reason: &str) -> Result<(), EmergencyRefusal> {
        if self.state != EmergencyState::Approved {
            return Err(EmergencyRefusal::AlreadyDecided(self.state.as_str()));
        }
        self.state = EmergencyState::Ended;
        self.end_reason = Some(reason.to_owned());
        self.version += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
