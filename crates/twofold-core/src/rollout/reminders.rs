//! Which reminder an identity is due, and the mail that carries it. Before the deadline the
//! cadence tightens (by default 14, 7, 3 and 1 days left); after it, a reminder every week
//! with the manager copied once the deadline is a set number of days past. Each reminder has
//! a key, claimed once in the database, so every one goes out once however many nodes run
//! the job and however often.

use serde::{Deserialize, Serialize};

use super::compliance::{Assessment, State};
use crate::Timestamp;
use crate::identity::User;
use crate::mail::Email;

/// A campaign's reminder cadence (`[reminders]` in the campaign file; every key optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cadence {
    /// Remind when this many days (or fewer) are left before the deadline.
    pub days_before: Vec<u32>,
    /// After the deadline, remind every this many days.
    pub every_days_after: u32,
    /// Copy the manager once the deadline is this many days past.
    pub copy_manager_after_days: u32,
}

impl Default for Cadence {
    fn default() -> Self {
        Self { days_before: vec![14, 7, 3, 1], every_days_after: 7, copy_manager_after_days: 3 }
    }
}

/// A reminder due now: its key (sent once) and whether the manager is copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// `left-7`, `after-2`, ...: unique per campaign and person.
    pub key: String,
    /// Copy the manager.
    pub copy_manager: bool,
}

/// The reminder `assessment` calls for at `now`, the deadline being `deadline`: `None` for
/// compliant and exempt identities.
#[must_use]
pub fn due(cadence: &Cadence, assessment: &Assessment, deadline: Timestamp, now: Timestamp) -> Option<Due> {
    match assessment.state {
        State::Compliant | State::Exempt => None,
        State::Pending => {
            let left = assessment.days_left.unwrap_or(i64::MAX);
            let threshold = cadence.days_before.iter().map(|d| i64::from(*d)).filter(|d| left <= *d).min()?;
            Some(Due { key: format!("left-{threshold}"), copy_manager: false })
        }
        State::Overdue | State::Limited | State::Blocked => {
            let days_past = (now.millis() - deadline.millis()).max(0) / 86_400_000;
            let every = i64::from(cadence.every_days_after.max(1));
            Some(Due {
                key: format!("after-{}", days_past / every),
                copy_manager: days_past >= i64::from(cadence.copy_manager_after_days),
            })
        }
    }
}

/// The reminder mail for `user` (their manager's address in copy when given).
#[must_use]
pub fn email(
    user: &User,
    campaign: &str,
    assessment: &Assessment,
    deadline: Timestamp,
    manager: Option<&str>,
) -> Option<Email> {
    let to = user.email.clone()?;
    let deadline_day: String = deadline.to_rfc3339().chars().take(10).collect();
    let (subject, what) = match assessment.state {
        State::Pending => (
            format!("Set up two-step sign-in: {} days left", assessment.days_left.unwrap_or(0)),
            format!("Please set up two-step sign-in by {deadline_day}."),
        ),
        State::Overdue => (
            "Two-step sign-in is overdue".to_owned(),
            format!("The deadline to set up two-step sign-in was {deadline_day}. Please set it up now."),
        ),
        State::Limited => (
            "Your access is limited until you set up two-step sign-in".to_owned(),
            format!(
                "The deadline was {deadline_day}: only low-sensitivity apps stay open until you set up two-step sign-in{}.",
                assessment
                    .days_left
                    .map_or_else(String::new, |d| format!(", and in {d} days sign-in will lead only to setting it up"))
            ),
        ),
        State::Blocked => (
            "Sign-in now leads only to setting up two-step sign-in".to_owned(),
            format!("The deadline was {deadline_day}. Sign in to set up two-step sign-in, or call the help desk."),
        ),
        State::Compliant | State::Exempt => return None,
    };
    // Held to a missed deadline with a strong method: the campaign asks for the whole setup.
    let setup = if assessment.strongest.is_some() && !assessment.weak_for_tier && !assessment.recommended_setup {
        "\n\nYou have a sign-in method already; your organisation also asks for a second one and recovery codes, so that losing a phone does not lock you out."
    } else {
        ""
    };
    let body = format!(
        "Hello {},\n\n{what}{setup}\n\nSign in and open Security info to add an authenticator app or a passkey. ({campaign})\n",
        user.display_name
    );
    Some(Email { to, cc: manager.map(str::to_owned).into_iter().collect(), subject, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assessment(state: State, days_left: Option<i64>) -> Assessment {
        Assessment {
            state,
            days_left,
            strongest: None,
            weak_for_tier: false,
            exception: None,
            recommended_setup: false,
        }
    }

    #[test]
    fn the_cadence_tightens_before_the_deadline_and_copies_the_manager_after_it() {
        let cadence = Cadence::default();
        let deadline = Timestamp(100 * 86_400_000);
        let now = Timestamp(90 * 86_400_000);
        let key = |state, left| due(&cadence, &assessment(state, left), deadline, now).map(|d| d.key);
        assert_eq!(key(State::Pending, Some(20)), None, "not yet");
        assert_eq!(key(State::Pending, Some(10)).as_deref(), Some("left-14"));
        assert_eq!(key(State::Pending, Some(7)).as_deref(), Some("left-7"));
        assert_eq!(key(State::Pending, Some(1)).as_deref(), Some("left-1"));
        assert_eq!(key(State::Compliant, None), None);
        let after = |days: i64| {
            due(&cadence, &assessment(State::Limited, Some(3)), deadline, deadline.plus_seconds(days * 86_400)).unwrap()
        };
        assert_eq!(after(0), Due { key: "after-0".into(), copy_manager: false });
        assert_eq!(after(3), Due { key: "after-0".into(), copy_manager: true }, "same week: sent already");
        assert_eq!(after(8).key, "after-1");
    }
}
