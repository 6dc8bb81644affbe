//! Server-side sessions: what a signed-in browser holds, and when it stops being valid.
//!
//! The browser keeps a random token; the database keeps only its SHA-256, so a stolen
//! database does not yield usable sessions.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::factors::access_pass::ACCESS_PASS_AMR;
use crate::secret::{random_token, sha256_hex};

/// How long sessions last. Idle: since the last request; absolute: since sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPolicy {
    /// Seconds without a request after which the session ends.
    pub idle_timeout_secs: i64,
    /// Seconds after sign-in after which the session ends whatever the activity.
    pub absolute_timeout_secs: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle_timeout_secs: 30 * 60, absolute_timeout_secs: 12 * 60 * 60 }
    }
}

/// How often the last-seen time is written back: at most once per this many seconds,
/// so that a busy browser does not cause a write per request.
pub const TOUCH_INTERVAL_SECS: i64 = 60;

/// What a sign-in proved; recorded on the session and on every audit event the session causes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthContext {
    /// RFC 8176 method references used (`pwd`, `otp`, `hwk`, ...).
    pub amr: Vec<String>,
    /// Strength reached: `pwd`, `mfa`, `phr` or `phrh`.
    pub acr: String,
    /// When the user last actively authenticated.
    pub auth_time: Option<Timestamp>,
}

/// One server-side session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 (hex) of the cookie token; the primary key.
    pub id_hash: String,
    /// Whose session it is.
    pub user_id: Uuid,
    /// What the sign-in proved.
    pub auth: AuthContext,
    /// Sign-in time.
    pub created_at: Timestamp,
    /// Last request seen (to within [`TOUCH_INTERVAL_SECS`]).
    pub last_seen_at: Timestamp,
    /// End regardless of activity.
    pub absolute_expires_at: Timestamp,
    /// Idle limit in seconds, fixed at creation.
    pub idle_timeout_secs: i64,
    /// Source address at sign-in.
    pub ip: Option<String>,
    /// Browser at sign-in.
    pub user_agent: Option<String>,
    /// Set when revoked (sign-out, admin action, account disabled).
    pub revoked_at: Option<Timestamp>,
    /// True while only the password has been checked and a second factor is still due.
    /// Such a session opens nothing but the second-factor step.
    pub mfa_pending: bool,
}

/// How long a sign-in may wait between the password and the second factor.
pub const PENDING_MFA_LIFETIME_SECS: i64 = 5 * 60;

/// Why a session is no longer usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Usable.
    Active,
    /// No request within the idle timeout.
    IdleExpired,
    /// Past its absolute lifetime.
    AbsoluteExpired,
    /// Signed out or revoked.
    Revoked,
}

impl Session {
    /// Starts a session for `user_id`; returns the cookie token (shown to the browser only) and the session.
    #[must_use]
    pub fn start(
        user_id: Uuid,
        auth: AuthContext,
        policy: SessionPolicy,
        now: Timestamp,
        ip: Option<String>,
        user_agent: Option<String>,
    ) -> (String, Self) {
        let token = random_token();
        let session = Self {
            id_hash: hash_session_token(&token),
            user_id,
            auth,
            created_at: now,
            last_seen_at: now,
            absolute_expires_at: now.plus_seconds(policy.absolute_timeout_secs),
            idle_timeout_secs: policy.idle_timeout_secs,
            ip,
            user_agent,
            revoked_at: None,
            mfa_pending: false,
        };
        (token, session)
    }

    /// Marks a just-started session as waiting for the second factor, with a short life.
    #[must_use]
    pub fn awaiting_second_factor(mut self) -> Self {
        self.mfa_pending = true;
        self.absolute_expires_at = self.created_at.plus_seconds(PENDING_MFA_LIFETIME_SECS);
        self
    }

    /// Whether the session opens apps and pages beyond Security info: its sign-in is complete
    /// (no second factor still due) and it was not started with a temporary access pass alone.
    #[must_use]
    pub fn opens_apps(&self) -> bool {
        !self.mfa_pending && !self.auth.is_access_pass_only()
    }

    /// Whether the session may be used at `now`.
    #[must_use]
    pub fn state(&self, now: Timestamp) -> SessionState {
        if self.revoked_at.is_some() {
            SessionState::Revoked
        } else if now >= self.absolute_expires_at {
            SessionState::AbsoluteExpired
        } else if now >= self.last_seen_at.plus_seconds(self.idle_timeout_secs) {
            SessionState::IdleExpired
        } else {
            SessionState::Active
        }
    }

    /// True when the last-seen time is old enough to be written back.
    #[must_use]
    pub fn needs_touch(&self, now: Timestamp) -> bool {
        now >= self.last_seen_at.plus_seconds(TOUCH_INTERVAL_SECS)
    }
}

/// How recent a second factor must be to add or remove sign-in methods (enrolment-hijack defence).
pub const FRESH_MFA_SECS: i64 = 15 * 60;

/// The `amr` entry of a step-up proved through an email or SMS method the fallback policy no
/// longer allows (past its end date, or forbidden for the person's tier since): it shows the
/// person still holds that phone or mailbox, which is enough to set up a replacement on
/// Security info, never enough for an app (the session's `acr` stays `pwd`).
pub const RETIRED_FALLBACK_AMR: &str = "retired_fallback";

impl AuthContext {
    /// True when the session may change the person's sign-in methods now: a second factor
    /// proved within `max_age_secs`, or a retired email or SMS method proved as recently
    /// (only to replace it).
    #[must_use]
    pub fn may_change_methods(&self, now: Timestamp, max_age_secs: i64) -> bool {
        let fresh = self.auth_time.is_some_and(|t| t.plus_seconds(max_age_secs) >= now);
        self.has_fresh_mfa(now, max_age_secs)
            || (fresh && self.amr.iter().any(|m| m == RETIRED_FALLBACK_AMR || m == ACCESS_PASS_AMR))
    }

    /// True when the session was started with a temporary access pass and has proved no
    /// method since: it opens Security info to enrol, and no app.
    #[must_use]
    pub fn is_access_pass_only(&self) -> bool {
        self.acr == "pwd" && self.amr.iter().any(|m| m == ACCESS_PASS_AMR)
    }

    /// True when the session proved a second factor within `max_age_secs` of `now`. A session
    /// let in by emergency access proved none: it reaches `mfa` for apps, but never counts for
    /// changing methods, approving or working cases.
    #[must_use]
    pub fn has_fresh_mfa(&self, now: Timestamp, max_age_secs: i64) -> bool {
        matches!(self.acr.as_str(), "mfa" | "phr" | "phrh")
            && !self.amr.iter().any(|m| m == crate::emergency::EMERGENCY_AMR)
            && self.auth_time.is_some_and(|t| t.plus_seconds(max_age_secs) >= now)
    }
}

/// The stored form of a session cookie token.
#[must_use]
pub fn hash_session_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(now: i64) -> Session {
        let policy = SessionPolicy { idle_timeout_secs: 600, absolute_timeout_secs: 3600 };
        Session::start(Uuid::nil(), AuthContext::default(), policy, Timestamp(now), None, None).1
    }

    #[test]
    fn a_session_stores_only_the_hash_of_its_token() {
        let (token, session) =
            Session::start(Uuid::nil(), AuthContext::default(), SessionPolicy::default(), Timestamp(0), None, None);
        assert_ne!(session.id_hash, token);
        assert_eq!(session.id_hash, hash_session_token(&token));
    }

    #[test]
    fn a_session_ends_after_the_idle_timeout() {
        let s = start(0);
        assert_eq!(s.state(Timestamp(599_999)), SessionState::Active);
        assert_eq!(s.state(Timestamp(600_000)), SessionState::IdleExpired);
    }

    #[test]
    fn activity_does_not_extend_past_the_absolute_timeout() {
        let mut s = start(0);
        s.last_seen_at = Timestamp(3_500_000);
        assert_eq!(s.state(Timestamp(3_599_000)), SessionState::Active);
        assert_eq!(s.state(Timestamp(3_600_000)), SessionState::AbsoluteExpired);
    }

    #[test]
    fn only_a_recent_second_factor_is_fresh() {
        let mfa =
            AuthContext { amr: vec!["pwd".into(), "otp".into()], acr: "mfa".into(), auth_time: Some(Timestamp(0)) };
        assert!(mfa.has_fresh_mfa(Timestamp(900_000), FRESH_MFA_SECS));
        assert!(!mfa.has_fresh_mfa(Timestamp(900_001), FRESH_MFA_SECS));
        let pwd = AuthContext { acr: "pwd".into(), ..mfa };
        assert!(!pwd.has_fresh_mfa(Timestamp(1), FRESH_MFA_SECS));
    }

    #[test]
    fn a_revoked_session_is_never_active() {
        let mut s = start(0);
        s.revoked_at = Some(Timestamp(1));
        assert_eq!(s.state(Timestamp(2)), SessionState::Revoked);
    }

    #[test]
    fn last_seen_is_written_back_at_most_once_a_minute() {
        let s = start(0);
        assert!(!s.needs_touch(Timestamp(59_999)));
        assert!(s.needs_touch(Timestamp(60_000)));
    }

    /// THREATS: temporary access pass abuse — a pass's session enrols methods while fresh and
    /// opens no app; once a method is proved (acr above `pwd`) it is an ordinary session.
    #[test]
    fn an_access_pass_session_enrols_while_fresh_and_opens_no_app() {
        let tap = AuthContext { amr: vec![ACCESS_PASS_AMR.into()], acr: "pwd".into(), auth_time: Some(Timestamp(0)) };
        assert!(tap.is_access_pass_only());
        assert!(tap.may_change_methods(Timestamp(900_000), FRESH_MFA_SECS));
        assert!(!tap.may_change_methods(Timestamp(900_001), FRESH_MFA_SECS), "only while fresh");
        assert!(!tap.has_fresh_mfa(Timestamp(1), FRESH_MFA_SECS), "never a second factor for anything else");
        let mut s = start(0);
        s.auth = tap.clone();
        assert!(!s.opens_apps());
        s.auth =
            AuthContext { amr: vec![ACCESS_PASS_AMR.into(), "otp".into(), "mfa".into()], acr: "mfa".into(), ..tap };
        assert!(s.opens_apps(), "after a method is enrolled and proved");
        s.mfa_pending = true;
        assert!(!s.opens_apps());
    }

    /// THREATS: standing bypasses — a session let in by emergency access opens apps at `mfa`
    /// but is never a fresh second factor for changes.
    #[test]
    fn an_emergency_session_is_no_second_factor_for_changes() {
        let emergency = AuthContext {
            amr: vec!["pwd".into(), crate::emergency::EMERGENCY_AMR.into()],
            acr: "mfa".into(),
            auth_time: Some(Timestamp(0)),
        };
        assert!(!emergency.has_fresh_mfa(Timestamp(1), FRESH_MFA_SECS));
        assert!(!emergency.may_change_methods(Timestamp(1), FRESH_MFA_SECS));
    }
}
