//! Break-glass accounts' control tests: each account is tested every `every_days` days; a
//! test's evidence is a completed review of one of its sign-ins marked as a control test (who
//! reviewed it, when, with which key the account signed in).

use serde::Serialize;

use super::review::{Review, ReviewKind};
use crate::Timestamp;
use crate::identity::User;

/// How often each break-glass account must be tested, when the organisation says nothing.
pub const DEFAULT_TEST_EVERY_DAYS: i64 = 90;

/// One account's control-test standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestStanding {
    /// The account (username).
    pub username: String,
    /// When its last control test's sign-in was reviewed, if ever.
    pub last_tested_at: Option<Timestamp>,
    /// Who reviewed it.
    pub tested_by: Option<String>,
    /// When the next test is due.
    pub due_at: Timestamp,
    /// Whether that is past.
    pub overdue: bool,
}

/// The standing of each of `accounts` at `now`, from the `reviews` of break-glass sign-ins.
/// An account never tested is due from its creation.
#[must_use]
pub fn standings(accounts: &[User], reviews: &[Review], every_days: i64, now: Timestamp) -> Vec<TestStanding> {
    accounts
        .iter()
        .map(|account| {
            let last = reviews
                .iter()
                .filter(|r| r.kind == ReviewKind::BreakGlassSignIn && r.control_test && r.username == account.username)
                .filter_map(|r| r.completed_at.map(|at| (at, r.completed_by.clone())))
                .max_by_key(|(at, _)| *at);
            let since = last.as_ref().map_or(account.created_at, |(at, _)| *at);
            let due_at = since.plus_seconds(every_days * 24 * 60 * 60);
            TestStanding {
                username: account.username.clone(),
                last_tested_at: last.as_ref().map(|(at, _)| *at),
                tested_by: last.and_then(|(_, by)| by),
                due_at,
                overdue: now >= due_at,
            }
        })
        .collect()
}
