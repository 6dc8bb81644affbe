//! Sign-in throttling: growing delays after repeated failures, per username and per source.
//!
//! Counted from stored sign-in events, so every node applies the same limit. A username
//! is throttled whether or not it exists, so throttling reveals nothing about accounts.

use crate::Timestamp;

/// Failures considered: those within this window (and after the last success).
pub const WINDOW_SECS: i64 = 15 * 60;

/// Failures allowed per username before delays start.
pub const FREE_FAILURES_PER_USERNAME: i64 = 5;
/// Failures allowed per source address before delays start (shared NATs send many).
pub const FREE_FAILURES_PER_SOURCE: i64 = 50;
/// The longest delay demanded between attempts.
pub const MAX_DELAY_SECS: i64 = 15 * 60;

/// Recent failures for one key (a username or a source address).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    /// How many, within the window and since the last success.
    pub count: i64,
    /// When the latest one happened.
    pub last_at: Option<Timestamp>,
}

/// The delay demanded after `count` failures when `free` are allowed: 0 up to `free`,
/// then 2 s, 4 s, 8 s ... doubling, capped at [`MAX_DELAY_SECS`].
#[must_use]
pub fn delay_secs(count: i64, free: i64) -> i64 {
    if count <= free {
        return 0;
    }
    let exponent = u32::try_from((count - free).min(20)).unwrap_or(20);
    2_i64.saturating_pow(exponent).min(MAX_DELAY_SECS)
}

/// Seconds until another attempt is allowed, or `None` when one is allowed now.
#[must_use]
pub fn retry_after(by_username: Failures, by_source: Failures, now: Timestamp) -> Option<i64> {
    let wait = |f: Failures, free| {
        let delay = delay_secs(f.count, free);
        f.last_at.map_or(0, |last| (last.plus_seconds(delay).millis() - now.millis() + 999) / 1000)
    };
    let seconds = wait(by_username, FREE_FAILURES_PER_USERNAME).max(wait(by_source, FREE_FAILURES_PER_SOURCE));
    (seconds > 0).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(count: i64, last_at: i64) -> Failures {
        Failures { count, last_at: Some(Timestamp(last_at)) }
    }

    #[test]
    fn the_first_failures_cost_nothing() {
        assert_eq!(retry_after(failures(5, 1_000), Failures::default(), Timestamp(1_000)), None);
    }

    #[test]
    fn delays_double_after_the_free_failures_and_are_capped() {
        assert_eq!(delay_secs(6, 5), 2);
        assert_eq!(delay_secs(7, 5), 4);
        assert_eq!(delay_secs(10, 5), 32);
        assert_eq!(delay_secs(500, 5), MAX_DELAY_SECS);
    }

    #[test]
    fn a_throttled_username_may_try_again_once_the_delay_has_passed() {
        let last = 100_000;
        assert_eq!(retry_after(failures(7, last), Failures::default(), Timestamp(last + 1_000)), Some(3));
        assert_eq!(retry_after(failures(7, last), Failures::default(), Timestamp(last + 4_000)), None);
    }

    #[test]
    fn a_source_spraying_many_usernames_is_throttled() {
        assert_eq!(retry_after(Failures::default(), failures(53, 0), Timestamp(0)), Some(8));
    }
}
