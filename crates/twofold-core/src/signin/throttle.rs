//! Sign-in throttling: growing delays after repeated failures, per username and per source.
//!
//! Counted from stored sign-in events, so every node applies the same limit. A username
//! is throttled whether or not it exists, so throttling reveals nothing about accounts.
//!
//! The limit holds under concurrency: before an attempt is checked it claims a slot
//! ([`Claim`]) in the database, serialised per username and per source across nodes, and a
//! claimed attempt counts as a failure until its outcome is recorded. So however many
//! attempts arrive at once, only as many are evaluated as the limit allows (THREATS: racing
//! the limits).

use uuid::Uuid;

use crate::Timestamp;

/// Failures considered: those within this window (and after the last success).
pub const WINDOW_SECS: i64 = 15 * 60;

/// Failures allowed per username before delays start.
pub const FREE_FAILURES_PER_USERNAME: i64 = 5;
/// Failures allowed per source address before delays start (shared NATs send many).
pub const FREE_FAILURES_PER_SOURCE: i64 = 50;
/// The longest delay demanded between attempts.
pub const MAX_DELAY_SECS: i64 = 15 * 60;

/// How long a claim counts as a failure when its attempt never records an outcome (the node
/// stopped mid-attempt, or the attempt ended in an error): long enough for any attempt in
/// flight, short enough that a lost claim does not keep a person waiting.
pub const CLAIM_TTL_SECS: i64 = 120;

/// The source recorded on the sign-in event of a signed-in session's use of an app (a code
/// issued to an OpenID Connect client, or refused by conditional access): no attempt at a
/// credential, so it neither counts as a failure nor ends a run of them — else every app
/// sign-in of the victim would give someone guessing their second factor fresh free tries.
pub const SESSION_SOURCE: &str = "session";

/// The most attempts one source may have in flight at once while its failures are still
/// within its free allowance (a gateway or a shared NAT runs many at once, nearly all good).
/// Below the allowance a source's claims are not serialised across nodes, so the bound is
/// approximate by as many as race at that moment; past it, they are, and it is exact.
pub const MAX_IN_FLIGHT_PER_SOURCE: i64 = 256;

/// What a source's attempts count as, given its stored failures and its claims in flight:
/// once its failures have used up the free allowance every claim in flight counts as one
/// more (so after the allowance one attempt at a time gets through, however many race);
/// before that, claims in flight do not count, but more than [`MAX_IN_FLIGHT_PER_SOURCE`]
/// at once are refused (`None`).
#[must_use]
pub fn source_load(stored: Failures, in_flight: Failures, free: i64) -> Option<Failures> {
    if stored.count >= free {
        Some(stored.and(in_flight))
    } else if in_flight.count >= MAX_IN_FLIGHT_PER_SOURCE {
        None
    } else {
        Some(stored)
    }
}

/// How many failures each kind of key may have before delays start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per username.
    pub free_per_username: i64,
    /// Per source: an address, or a calling client of the verify API.
    pub free_per_source: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { free_per_username: FREE_FAILURES_PER_USERNAME, free_per_source: FREE_FAILURES_PER_SOURCE }
    }
}

/// The key a source address is counted under: an IPv4 address as it is, an IPv6 address by
/// its /64 network (one subscriber's allocation), so rotating through the addresses of one's
/// own /64 does not buy fresh attempts.
#[must_use]
pub fn source_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or_else(|| ip.to_owned(), |v4| v4.to_string()),
        _ => ip.to_owned(),
    }
}

/// Whether two addresses are on the same network as far as people's sign-ins go: the same
/// IPv4 /24 or IPv6 /64 (an office, a home line), so a pass used from elsewhere stands out.
#[must_use]
pub fn same_network(a: &str, b: &str) -> bool {
    let network = |ip: &str| -> Option<String> {
        match ip.parse::<std::net::IpAddr>().ok()? {
            std::net::IpAddr::V4(v4) => {
                let o = v4.octets();
                Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
            }
            std::net::IpAddr::V6(_) => Some(source_key(ip)),
        }
    };
    network(a).is_some_and(|n| network(b) == Some(n))
}

/// The answer to a claim for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The attempt may be checked. Record its outcome as the sign-in event with this id,
    /// which ends the claim in the same transaction.
    Granted {
        /// The claim's id, to be the id of the attempt's sign-in event.
        id: Uuid,
        /// The username's failures before this attempt (claims in flight included).
        by_username: Failures,
    },
    /// Too many recent failures (or attempts in flight): refused without being checked.
    Refused {
        /// Seconds until another attempt may be made.
        retry_after_secs: i64,
    },
}

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
    retry_after_within(by_username, by_source, Limits::default(), now)
}

/// As [`retry_after`], with `limits` in place of the defaults.
#[must_use]
pub fn retry_after_within(by_username: Failures, by_source: Failures, limits: Limits, now: Timestamp) -> Option<i64> {
    let wait = |f: Failures, free| {
        let delay = delay_secs(f.count, free);
        // Within the free failures nothing waits, even when the latest failure or claim was
        // stamped a moment after `now` (a concurrent attempt that read the clock later).
        if delay == 0 {
            return 0;
        }
        f.last_at.map_or(0, |last| (last.plus_seconds(delay).millis() - now.millis() + 999) / 1000)
    };
    let seconds = wait(by_username, limits.free_per_username).max(wait(by_source, limits.free_per_source));
    (seconds > 0).then_some(seconds)
}

impl Failures {
    /// These failures and `other` together (stored failures and claims in flight).
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        Self { count: self.count + other.count, last_at: self.last_at.max(other.last_at) }
    }
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
    fn a_burst_is_cut_off_once_the_free_attempts_are_claimed() {
        // Each claim counts as a failure at once: after the free ones, the next claim in the
        // same instant must wait for the first delay.
        let now = Timestamp(50_000);
        let mut in_flight = Failures::default();
        let mut granted = 0;
        for _ in 0..300 {
            if retry_after(in_flight, Failures::default(), now).is_none() {
                granted += 1;
                in_flight = in_flight.and(failures(1, now.millis()));
            }
        }
        assert_eq!(granted, FREE_FAILURES_PER_USERNAME + 1);
    }

    #[test]
    fn a_claim_stamped_a_moment_later_does_not_delay_a_free_attempt() {
        assert_eq!(retry_after(failures(3, 1_005), failures(20, 1_005), Timestamp(1_000)), None);
    }

    #[test]
    fn ipv6_sources_are_counted_by_their_64_network() {
        assert_eq!(source_key("2001:db8:1:2:aaaa::1"), source_key("2001:db8:1:2:bbbb::9"));
        assert_ne!(source_key("2001:db8:1:2::1"), source_key("2001:db8:1:3::1"));
        assert_eq!(source_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(source_key("::ffff:192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn a_busy_source_is_held_to_one_attempt_at_a_time_only_once_it_has_failed_enough() {
        let gateway = source_load(failures(3, 0), failures(100, 0), FREE_FAILURES_PER_SOURCE);
        assert_eq!(gateway, Some(failures(3, 0)), "a gateway's good traffic in flight costs nothing");
        let flood = source_load(Failures::default(), failures(MAX_IN_FLIGHT_PER_SOURCE, 0), 50);
        assert_eq!(flood, None, "but only so much at once");
        let sprayer = source_load(failures(50, 0), failures(2, 5), 50).unwrap();
        assert_eq!(sprayer.count, 52, "past the allowance every attempt in flight counts");
    }

    #[test]
    fn limits_can_allow_a_trusted_gateway_more_failures() {
        let many = failures(60, 0);
        assert!(retry_after(Failures::default(), many, Timestamp(0)).is_some());
        let gateway = Limits { free_per_source: 500, ..Limits::default() };
        assert_eq!(retry_after_within(Failures::default(), many, gateway, Timestamp(0)), None);
    }

    #[test]
    fn a_source_spraying_many_usernames_is_throttled() {
        assert_eq!(retry_after(Failures::default(), failures(53, 0), Timestamp(0)), Some(8));
    }

    #[test]
    fn networks_are_an_ipv4_24_or_an_ipv6_64() {
        assert!(same_network("192.0.2.10", "192.0.2.200"));
        assert!(!same_network("192.0.2.10", "192.0.3.10"));
        assert!(same_network("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"));
        assert!(!same_network("2001:db8:1:2::1", "2001:db8:1:3::1"));
        assert!(!same_network("not an address", "not an address"));
    }
}
