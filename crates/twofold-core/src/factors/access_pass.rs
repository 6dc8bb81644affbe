//! Temporary access passes: a passcode a help-desk operator issues on a verified case, so a
//! person who has lost every method can sign in once to Security info and enrol new ones.
//!
//! THREATS: temporary access pass abuse. A pass lives 10 minutes to 8 hours (1 hour by
//! default, the ceiling set by policy), is single use unless the operator says otherwise,
//! is the only active one of its person (issuing another revokes the first), is shown once
//! and kept only as a keyed hash bound to its person. A session it starts opens Security
//! info and nothing else: it counts as a second factor only for enrolling methods.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

// Crockford's base32, as recovery codes use: look-alikes read over the phone map back.
use super::recovery::ALPHABET;
use crate::Timestamp;
use crate::secret::{constant_time_eq, hmac_sha256, random_bytes};
use crate::validation::ValidationErrors;

/// The shortest lifetime a pass may be given.
pub const MIN_LIFETIME_SECS: i64 = 10 * 60;
/// The longest lifetime any policy may allow.
pub const MAX_LIFETIME_SECS: i64 = 8 * 60 * 60;
/// The lifetime when the operator names none.
pub const DEFAULT_LIFETIME_SECS: i64 = 60 * 60;

/// The `amr` entry of a session started with a pass. Such a session has `acr` `pwd`: no app
/// accepts it, and only Security info lets it enrol (see
/// [`crate::signin::session::AuthContext::may_change_methods`]).
pub const ACCESS_PASS_AMR: &str = "tap";

/// Characters in a pass (16 × 5 bits = 80 bits), shown in four groups of four.
const LENGTH: usize = 16;

/// The policy for passes: how long they may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPassPolicy {
    /// The longest lifetime an operator may choose, within [`MIN_LIFETIME_SECS`] ..=
    /// [`MAX_LIFETIME_SECS`].
    pub max_lifetime_secs: i64,
    /// The lifetime when the operator names none (at most the maximum).
    pub default_lifetime_secs: i64,
}

impl Default for AccessPassPolicy {
    fn default() -> Self {
        Self { max_lifetime_secs: MAX_LIFETIME_SECS, default_lifetime_secs: DEFAULT_LIFETIME_SECS }
    }
}

impl AccessPassPolicy {
    /// The lifetime for a request of `requested` seconds (the default when `None`).
    ///
    /// # Errors
    /// A lifetime below [`MIN_LIFETIME_SECS`] or above the policy's maximum, with both bounds
    /// named.
    pub fn lifetime(&self, requested: Option<i64>) -> Result<i64, ValidationErrors> {
        let secs = requested.unwrap_or(self.default_lifetime_secs.min(self.max_lifetime_secs));
        if secs < MIN_LIFETIME_SECS || secs > self.max_lifetime_secs {
            return Err(ValidationErrors::one(
                "lifetime",
                format!("must be from {} to {} minutes", MIN_LIFETIME_SECS / 60, self.max_lifetime_secs / 60),
            ));
        }
        Ok(secs)
    }

    /// Checks the policy itself (from configuration).
    ///
    /// # Errors
    /// A maximum outside the allowed range, or a default above it.
    pub fn check(&self) -> Result<(), String> {
        if !(MIN_LIFETIME_SECS..=MAX_LIFETIME_SECS).contains(&self.max_lifetime_secs) {
            return Err(format!(
                "the longest pass lifetime must be from {} to {} minutes",
                MIN_LIFETIME_SECS / 60,
                MAX_LIFETIME_SECS / 60
            ));
        }
        if !(MIN_LIFETIME_SECS..=self.max_lifetime_secs).contains(&self.default_lifetime_secs) {
            return Err("the default pass lifetime must lie between 10 minutes and the longest".into());
        }
        Ok(())
    }
}

/// One pass, as stored (only its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPass {
    /// Identifier.
    pub id: Uuid,
    /// Whose it is.
    pub user_id: Uuid,
    /// The support case it was issued on.
    pub case_id: Option<Uuid>,
    /// [`hash`] of the passcode.
    pub pass_hash: String,
    /// Who issued it (the operator's display name).
    pub issued_by: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Whether one sign-in uses it up.
    pub single_use: bool,
    /// When it was first used.
    pub used_at: Option<Timestamp>,
    /// When it was revoked (a newer pass, an operator, the case closed).
    pub revoked_at: Option<Timestamp>,
}

impl AccessPass {
    /// Whether it may sign in at `now`: not revoked, not expired, and not used when single use.
    #[must_use]
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at && !(self.single_use && self.used_at.is_some())
    }
}

/// A fresh passcode, formatted for people (`abcd-efgh-jkmn-pqrs`).
#[must_use]
pub fn generate() -> String {
    let bytes = random_bytes::<LENGTH>();
    let chars: Vec<char> = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect();
    chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The canonical form of a typed passcode: lower case, without spaces or dashes, with the
/// look-alikes mapped (`i`/`l` → `1`, `o` → `0`). `None` when it cannot be a passcode.
#[must_use]
pub fn normalize(typed: &str) -> Option<String> {
    super::recovery::normalize_crockford(typed, LENGTH)
}

/// The stored form of a passcode for `user_id`: HMAC-SHA-256 under a key from the master
/// key, bound to the person, so a stolen table can neither be searched offline nor a pass
/// moved to someone else.
#[must_use]
pub fn hash(key: &[u8; 32], user_id: Uuid, normalized: &str) -> String {
    hex::encode(hmac_sha256(key, format!("access-pass:{user_id}:{normalized}").as_bytes()))
}

/// Whether `typed` is the passcode of `pass` (constant time over the hashes).
#[must_use]
pub fn matches(key: &[u8; 32], pass: &AccessPass, typed: &str) -> bool {
    let Some(normalized) = normalize(typed) else { return false };
    constant_time_eq(hash(key, pass.user_id, &normalized).as_bytes(), pass.pass_hash.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const MINUTE: i64 = 60;

    fn pass(code: &str, single_use: bool) -> AccessPass {
        let user_id = Uuid::from_u128(1);
        AccessPass {
            id: Uuid::from_u128(2),
            user_id,
            case_id: None,
            pass_hash: hash(&KEY, user_id, &normalize(code).unwrap_or_default()),
            issued_by: "op".into(),
            created_at: Timestamp(0),
            expires_at: Timestamp(60 * MINUTE * 1000),
            single_use,
            used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_passcode_has_four_groups_of_four_and_80_bits() {
        let code = generate();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.split('-').count(), 4);
        assert!(normalize(&code).is_some());
        assert_ne!(generate(), generate());
    }

    #[test]
    fn typing_is_forgiving_of_case_spaces_and_dashes_only() {
        let code = generate();
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(normalize(&typed), normalize(&code));
        assert_eq!(normalize("abcd-efgh-jkmn-pqr"), None, "too short");
        assert_eq!(normalize("abcd-efgh-jkmn-pqru"), None, "u is not in the alphabet");
        assert_eq!(normalize("abcd-efgh-jkmn-pqro"), normalize("abcd-efgh-jkmn-pqr0"), "o is read as 0");
    }

    #[test]
    fn the_hash_is_keyed_and_bound_to_the_person() {
        let a = hash(&KEY, Uuid::from_u128(1), "abcdefghjkmnpqrs");
        assert_ne!(a, hash(&[8; 32], Uuid::from_u128(1), "abcdefghjkmnpqrs"), "another key");
        assert_ne!(a, hash(&KEY, Uuid::from_u128(3), "abcdefghjkmnpqrs"), "another person");
        assert!(!a.contains("abcdefghjkmnpqrs"));
    }

    #[test]
    fn only_the_right_passcode_matches() {
        let p = pass("abcd-efgh-jkmn-pqrs", true);
        assert!(matches(&KEY, &p, "ABCD EFGH JKMN PQRS"));
        assert!(!matches(&KEY, &p, "abcd-efgh-jkmn-pqrt"));
        assert!(!matches(&KEY, &p, ""));
    }

    #[test]
    fn a_pass_stops_working_when_used_revoked_or_expired() {
        let now = Timestamp(MINUTE * 1000);
        let fresh = pass("abcd-efgh-jkmn-pqrs", true);
        assert!(fresh.is_usable(now));
        assert!(!AccessPass { used_at: Some(now), ..fresh.clone() }.is_usable(now), "single use");
        assert!(AccessPass { used_at: Some(now), single_use: false, ..fresh.clone() }.is_usable(now), "multi use");
        assert!(!AccessPass { revoked_at: Some(now), ..fresh.clone() }.is_usable(now));
        assert!(!fresh.is_usable(fresh.expires_at), "ends at its expiry");
    }

    #[test]
    fn lifetimes_stay_between_ten_minutes_and_the_policy_maximum() {
        let policy = AccessPassPolicy::default();
        assert_eq!(policy.lifetime(None), Ok(DEFAULT_LIFETIME_SECS));
        assert_eq!(policy.lifetime(Some(10 * MINUTE)), Ok(600));
        assert!(policy.lifetime(Some(9 * MINUTE)).is_err());
        assert!(policy.lifetime(Some(8 * 60 * MINUTE + 1)).is_err());
        let short = AccessPassPolicy { max_lifetime_secs: 30 * MINUTE, default_lifetime_secs: 30 * MINUTE };
        assert!(short.lifetime(Some(60 * MINUTE)).is_err(), "the policy's ceiling holds");
        let Err(errors) = short.lifetime(Some(60 * MINUTE)) else { return };
        assert!(errors.to_string().contains("from 10 to 30 minutes"), "{errors}");
    }

    #[test]
    fn a_policy_outside_the_bounds_is_refused() {
        assert!(AccessPassPolicy::default().check().is_ok());
        assert!(AccessPassPolicy { max_lifetime_secs: 9 * 60 * MINUTE, ..Default::default() }.check().is_err());
        assert!(
            AccessPassPolicy { max_lifetime_secs: 30 * MINUTE, default_lifetime_secs: 60 * MINUTE }.check().is_err()
        );
    }
}
