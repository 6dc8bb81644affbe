//! Sign-in: every way in goes through one pipeline (`pipeline`): the password step
//! (`password`), the second step and step-up (`second_step`), a passkey alone (`passkey`), a
//! temporary access pass (`access_pass`);
//! attempts are claimed and recorded in `attempts`. Here: what a sign-in yields, and the
//! server-side sessions it starts.

mod access_pass;
mod attempts;
mod passkey;
mod password;
mod pipeline;
mod second_step;

use twofold_core::audit::ActorKind;
use twofold_core::identity::User;
use twofold_core::signin::session::{Session, SessionState, hash_session_token};
use uuid::Uuid;

use crate::{Actor, AppResult, RequestMeta};

pub use attempts::Attempts;

/// The sign-in capability: every way in (through the pipeline) and the sessions it starts.
pub struct SignIn {
    pub(crate) shared: std::sync::Arc<crate::Shared>,
    pub(crate) hasher: std::sync::Arc<crate::identity::hasher::Hasher>,
    pub(crate) attempts: std::sync::Arc<Attempts>,
    pub(crate) factors: std::sync::Arc<crate::factors::Factors>,
    pub(crate) access: std::sync::Arc<crate::access::ConditionalAccess>,
    /// Emergency access (a bypass of the second step) and the break-glass watch.
    pub(crate) emergency: std::sync::Arc<crate::emergency::Emergency>,
}

crate::reads_shared!(SignIn);

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The cookie token: give it to the browser, keep it nowhere else.
    pub token: String,
    /// The stored session.
    pub session: Session,
    /// Who signed in.
    pub user: User,
    /// Whether the user has a confirmed second factor (else they are offered enrolment).
    pub has_second_factor: bool,
    /// The strength the policy asks the second step to reach, when it names one, so the
    /// page offers only the methods that meet it.
    pub strength: Option<String>,
}

/// A request's valid session and its user.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

impl Authenticated {
    /// The user as an audit actor, with the session's authentication context.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: Some(self.user.id.to_string()),
            name: self.user.username.clone(),
            auth: self.session.auth.clone(),
        }
    }
}

impl SignIn {
    /// The valid session a cookie token names, with its user; `None` when it is unknown,
    /// expired, revoked, or its user may no longer sign in.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn authenticate_session(&self, token: &str) -> AppResult<Option<Authenticated>> {
        if token.len() != 43 {
            return Ok(None);
        }
        let id_hash = hash_session_token(token);
        let Some(session) = self.store.session(&id_hash).await? else { return Ok(None) };
        let now = self.now();
        if session.state(now) != SessionState::Active {
            return Ok(None);
        }
        let Some(user) = self.store.user_by_id(session.user_id).await?.filter(User::may_sign_in) else {
            return Ok(None);
        };
        if session.needs_touch(now) {
            self.store.touch_session(&id_hash, now).await?;
        }
        Ok(Some(Authenticated { session, user }))
    }

    /// Signs out: ends the current session, or every session of its user.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn sign_out(&self, current: &Authenticated, everywhere: bool, meta: &RequestMeta) -> AppResult<()> {
        let ctx = self.audit_context(&current.actor(), meta);
        if everywhere {
            self.store.revoke_user_sessions(current.user.id, &ctx).await?;
        } else {
            self.store.revoke_session(&current.session.id_hash, &ctx).await?;
        }
        Ok(())
    }

    /// Ends one of `current`'s own other sessions, `id_hash` (a browser left signed in
    /// elsewhere); false when it is not theirs or has ended already.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn end_own_session(&self, current: &Authenticated, id_hash: &str, meta: &RequestMeta) -> AppResult<bool> {
        let theirs = self.store.user_sessions(current.user.id).await?.iter().any(|s| s.id_hash == id_hash);
        if !theirs {
            return Ok(false);
        }
        let ctx = self.audit_context(&current.actor(), meta);
        Ok(self.store.revoke_session(id_hash, &ctx).await?)
    }

    /// A user's sessions that are not revoked, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn user_sessions(&self, user_id: Uuid) -> AppResult<Vec<Session>> {
        Ok(self.store.user_sessions(user_id).await?)
    }
}

/// Counts a successful interactive sign-in, and whether it proved more than a password (the
/// effective coverage: `rate(twofold_sign_ins_by_protection_total{mfa="yes"})` over all).
pub(crate) fn metrics_signed_in(methods: &[String]) {
    metrics_outcome("success");
    let protected = if methods.iter().any(|m| m != "pwd") { "yes" } else { "no" };
    metrics::counter!("twofold_sign_ins_by_protection_total", "mfa" => protected).increment(1);
}

pub(crate) fn metrics_outcome(outcome: &'static str) {
    metrics::counter!("twofold_sign_ins_total", "outcome" => outcome).increment(1);
}
