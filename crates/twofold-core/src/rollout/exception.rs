//! Exceptions: time-boxed, approved waivers from a campaign's requirement. Never open-ended
//! (at most [`DEFAULT_MAX_DAYS`] days unless configured otherwise), approved only by someone
//! other than the requester and the person it covers who holds the approver role and has
//! just proved a second factor, over on its end date without anyone acting, renewed only by
//! a new request and a new approval.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::identity::{Role, User};
use crate::validation::ValidationErrors;

/// The longest an exception may run unless configured otherwise.
pub const DEFAULT_MAX_DAYS: u32 = 30;
/// A running exception's manager is asked to confirm it this often (quarterly)...
pub const ATTEST_EVERY_DAYS: i64 = 90;
/// ... and it ends if they have not within this many days of being asked.
pub const ATTEST_WITHIN_DAYS: i64 = 14;

/// Where an exception stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Waiting for an approver.
    Requested,
    /// Approved: it covers its person until its end.
    Approved,
    /// Refused by an approver.
    Rejected,
    /// Withdrawn before its end.
    Revoked,
    /// Over: its end date passed (recorded by the scheduler; it stopped covering at the date
    /// whether or not this was recorded yet).
    Expired,
}

impl Decision {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// The decision a stored name stands for.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Requested, Self::Approved, Self::Rejected, Self::Revoked, Self::Expired]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// One exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// Identifier.
    pub id: Uuid,
    /// Whom it covers.
    pub user_id: Uuid,
    /// Their username.
    pub username: String,
    /// Why, in the requester's words.
    pub reason: String,
    /// Who asked (an audit actor's name).
    pub requested_by: String,
    /// When.
    pub requested_at: Timestamp,
    /// When it ends (it covers nothing from then on).
    pub ends_at: Timestamp,
    /// Where it stands.
    pub decision: Decision,
    /// Who approved it (kept when it ends), if anyone did.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<Timestamp>,
    /// Who ended it: the approver who rejected it, whoever revoked it, or the scheduler that
    /// recorded its expiry.
    pub ended_by: Option<String>,
    /// When.
    pub ended_at: Option<Timestamp>,
    /// Why it ended, in words (see [`EndReason`]).
    pub end_reason: Option<String>,
    /// When the manager was last asked to confirm it.
    pub attestation_asked_at: Option<Timestamp>,
    /// When the manager last confirmed it.
    pub attested_at: Option<Timestamp>,
}

/// What quarterly attestation asks of a running exception now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attestation {
    /// Nothing.
    Nothing,
    /// Ask the manager to confirm it.
    Ask,
    /// The manager was asked and did not confirm in time: it ends.
    Lapse,
}

/// Why an exception ended, as recorded in `end_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// An approver refused the request.
    Rejected,
    /// Someone withdrew it before its end.
    Revoked,
    /// Its end date came.
    EndDate,
    /// Its manager did not confirm it within [`ATTEST_WITHIN_DAYS`] days of being asked.
    NotConfirmed,
}

impl EndReason {
    /// The recorded words.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Revoked => "revoked",
            Self::EndDate => "end date reached",
            Self::NotConfirmed => "not confirmed by the manager in time",
        }
    }
}

impl Exception {
    /// Whether it covers its person at `now`: approved, not yet at its end date, and not
    /// left unconfirmed past the quarterly question's deadline. It stops covering at that
    /// moment whether or not the scheduler has recorded the end yet.
    #[must_use]
    pub fn covers(&self, now: Timestamp) -> bool {
        self.running(now) && !self.unconfirmed_too_long(now)
    }

    /// Approved and before its end date.
    fn running(&self, now: Timestamp) -> bool {
        self.decision == Decision::Approved && now < self.ends_at
    }

    /// Its manager was asked to confirm it and has not within [`ATTEST_WITHIN_DAYS`] days.
    fn unconfirmed_too_long(&self, now: Timestamp) -> bool {
        self.attestation_asked_at.is_some_and(|asked| {
            self.attested_at.is_none_or(|confirmed| confirmed < asked)
                && now >= asked.plus_seconds(ATTEST_WITHIN_DAYS * 86_400)
        })
    }

    /// Why it is over at `now` without anyone having ended it, if it is: its end date came,
    /// or its manager did not confirm it in time.
    #[must_use]
    pub fn lapse(&self, now: Timestamp) -> Option<EndReason> {
        if self.decision != Decision::Approved {
            None
        } else if now >= self.ends_at {
            Some(EndReason::EndDate)
        } else if self.unconfirmed_too_long(now) {
            Some(EndReason::NotConfirmed)
        } else {
            None
        }
    }

    /// Its state in words, expiry included: `requested`, `approved`, `expired`, `rejected`, `revoked`.
    #[must_use]
    pub fn state(&self, now: Timestamp) -> &'static str {
        match self.decision {
            Decision::Requested if now >= self.ends_at => "expired",
            Decision::Approved if !self.covers(now) => "expired",
            other => other.as_str(),
        }
    }
}

/// What quarterly attestation asks of `exception` at `now`: its manager is asked every
/// [`ATTEST_EVERY_DAYS`] days after its approval or last confirmation; unconfirmed
/// [`ATTEST_WITHIN_DAYS`] days after the question, it lapses.
#[must_use]
pub fn attestation(exception: &Exception, now: Timestamp) -> Attestation {
    if !exception.running(now) {
        return Attestation::Nothing;
    }
    let day = |days: i64| days * 86_400;
    match exception.attestation_asked_at {
        Some(asked) if exception.attested_at.is_none_or(|confirmed| confirmed < asked) => {
            if now >= asked.plus_seconds(day(ATTEST_WITHIN_DAYS)) { Attestation::Lapse } else { Attestation::Nothing }
        }
        _ => {
            let since = exception.attested_at.or(exception.approved_at).unwrap_or(exception.requested_at);
            if now >= since.plus_seconds(day(ATTEST_EVERY_DAYS)) { Attestation::Ask } else { Attestation::Nothing }
        }
    }
}

/// The quarterly question to `manager` about `exception`.
#[must_use]
pub fn attestation_email(manager: &User, exception: &Exception) -> Option<crate::mail::Email> {
    let to = manager.email.clone()?;
    let until: String = exception.ends_at.to_rfc3339().chars().take(10).collect();
    let body = format!(
        "Hello {},\n\n{} may sign in without two-step sign-in until {until} under an exception:\n\n    {}\n\nPlease confirm it still holds within {ATTEST_WITHIN_DAYS} days, or it ends:\n\n    twofold exception confirm {} --manager {} --code CODE-FROM-YOUR-AUTHENTICATOR\n",
        manager.display_name, exception.username, exception.reason, exception.id, manager.username
    );
    Some(crate::mail::Email {
        to,
        cc: Vec::new(),
        subject: format!("Please confirm the exception for {}", exception.username),
        body,
    })
}

/// Checks a request: a reason, an end in the future and at most `max_days` away.
///
/// # Errors
/// Every problem.
pub fn check_request(reason: &str, ends_at: Timestamp, now: Timestamp, max_days: u32) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if reason.trim().is_empty() {
        errors.add("reason", "is required: say why");
    } else if reason.chars().count() > 500 {
        errors.add("reason", "at most 500 characters");
    }
    if ends_at <= now {
        errors.add("until", "must be in the future");
    } else if ends_at > now.plus_seconds(i64::from(max_days) * 86_400) {
        errors.add("until", format!("an exception runs at most {max_days} days; ask again when it ends"));
    }
    errors.into_result()
}

/// Why `approver` may not decide `exception`, or `None` when they may: they must hold the
/// approver role and be neither the requester nor the person covered, and the request must
/// still be open and not ended.
#[must_use]
pub fn approval_refusal(exception: &Exception, approver: &User, now: Timestamp) -> Option<&'static str> {
    if exception.decision != Decision::Requested {
        Some("this exception was decided already")
    } else if now >= exception.ends_at {
        Some("this request has ended; ask again")
    } else if !approver.has_role(Role::Approver) {
        Some("only someone with the approver role may decide exceptions")
    } else if approver.id == exception.user_id {
        Some("nobody may decide their own exception")
    } else if approver.username == exception.requested_by {
        Some("the requester may not decide their own request")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Tier, UserStatus};

    fn user(name: &str, roles: &[Role]) -> User {
        User {
            id: Uuid::now_v7(),
            username: name.into(),
            email: None,
            display_name: name.into(),
            phone: None,
            department: None,
            manager: None,
            status: UserStatus::Active,
            tier: Tier::Standard,
            roles: roles.to_vec(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    const DAY: i64 = 86_400;

    #[test]
    fn requests_are_never_open_ended() {
        let now = Timestamp(1_800_000_000_000);
        assert_eq!(check_request("travelling", now.plus_seconds(14 * DAY), now, 30), Ok(()));
        let fields =
            |r: Result<(), ValidationErrors>| r.unwrap_err().0.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(check_request(" ", now.plus_seconds(31 * DAY), now, 30)), ["reason", "until"]);
        assert_eq!(fields(check_request("x", now, now, 30)), ["until"]);
    }

    #[test]
    fn only_another_approver_decides_and_an_approval_ends_by_itself() {
        let now = Timestamp(1_800_000_000_000);
        let (dave, erin, carol, bob) = (
            user("dave", &[Role::User]),
            user("erin", &[Role::Approver]),
            user("carol", &[Role::Approver]),
            user("bob", &[Role::User]),
        );
        let mut exception = Exception {
            id: Uuid::now_v7(),
            user_id: dave.id,
            username: "dave".into(),
            reason: "no phone until the 20th".into(),
            requested_by: "erin".into(),
            requested_at: now,
            ends_at: now.plus_seconds(7 * DAY),
            decision: Decision::Requested,
            approved_by: None,
            approved_at: None,
            ended_by: None,
            ended_at: None,
            end_reason: None,
            attestation_asked_at: None,
            attested_at: None,
        };
        assert!(approval_refusal(&exception, &bob, now).is_some_and(|r| r.contains("approver role")));
        assert!(approval_refusal(&exception, &erin, now).is_some_and(|r| r.contains("requester")));
        let mut self_approver = dave.clone();
        self_approver.roles.push(Role::Approver);
        assert!(approval_refusal(&exception, &self_approver, now).is_some_and(|r| r.contains("own exception")));
        assert_eq!(approval_refusal(&exception, &carol, now), None);
        exception.decision = Decision::Approved;
        assert!(exception.covers(now) && exception.state(now) == "approved");
        let later = now.plus_seconds(7 * DAY);
        assert!(!exception.covers(later), "over on its end date");
        assert_eq!(exception.state(later), "expired");
        assert!(approval_refusal(&exception, &carol, now).is_some(), "decided once");
    }

    #[test]
    fn a_long_exception_is_confirmed_by_the_manager_every_quarter_or_lapses() {
        let start = Timestamp(1_800_000_000_000);
        let mut e = Exception {
            id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            username: "sam".into(),
            reason: "lab machine".into(),
            requested_by: "erin".into(),
            requested_at: start,
            ends_at: start.plus_seconds(300 * DAY),
            decision: Decision::Approved,
            approved_by: Some("mia".into()),
            approved_at: Some(start),
            ended_by: None,
            ended_at: None,
            end_reason: None,
            attestation_asked_at: None,
            attested_at: None,
        };
        assert_eq!(attestation(&e, start.plus_seconds(89 * DAY)), Attestation::Nothing);
        assert_eq!(attestation(&e, start.plus_seconds(90 * DAY)), Attestation::Ask);
        e.attestation_asked_at = Some(start.plus_seconds(90 * DAY));
        assert_eq!(attestation(&e, start.plus_seconds(100 * DAY)), Attestation::Nothing, "asked, waiting");
        assert_eq!(attestation(&e, start.plus_seconds(104 * DAY)), Attestation::Lapse, "14 days without an answer");
        assert!(!e.covers(start.plus_seconds(104 * DAY)), "it stops covering at once, recorded or not");
        assert_eq!(e.lapse(start.plus_seconds(104 * DAY)), Some(EndReason::NotConfirmed));
        assert_eq!(e.state(start.plus_seconds(104 * DAY)), "expired");
        assert_eq!(e.lapse(start.plus_seconds(300 * DAY)), Some(EndReason::EndDate));
        e.attested_at = Some(start.plus_seconds(95 * DAY));
        assert_eq!(attestation(&e, start.plus_seconds(104 * DAY)), Attestation::Nothing, "confirmed");
        assert_eq!(attestation(&e, start.plus_seconds(185 * DAY)), Attestation::Ask, "next quarter");
    }
}
