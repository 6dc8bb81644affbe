//! Password sign-in and server-side sessions.
//!
//! Every attempt is recorded as a sign-in event and an audit event. Unknown users,
//! wrong passwords and disabled accounts get the same answer after the same work: an
//! unknown user's attempt is checked against a dummy hash so its timing matches.

use std::sync::OnceLock;

use twofold_core::access::SignInNeed;
use twofold_core::audit::ActorKind;
use twofold_core::identity::password::{hash_password, needs_rehash};
use twofold_core::identity::{User, normalize_username};
use twofold_core::signin::session::{AuthContext, Session, SessionState, hash_session_token};
use twofold_core::signin::{FailureReason, SignInEvent, SignInOutcome};
use uuid::Uuid;

use crate::{Actor, App, AppError, AppResult, RequestMeta};

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

/// A hash of a fixed password, made once with the configured parameters, that unknown
/// usernames are checked against.
fn dummy_hash(app: &App) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("twofold-dummy-password", app.settings.hash_params).unwrap_or_default())
}

impl App {
    /// Checks a username and password and starts a session.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for every kind of refusal alike; storage failures.
    pub async fn sign_in(&self, username: &str, password: String, meta: &RequestMeta) -> AppResult<SignedIn> {
        let username = normalize_username(username);
        let credentials = if username.is_empty() || username.len() > 64 {
            None
        } else {
            self.store.user_credentials(&username).await?
        };
        let (user, stored_hash) = credentials.map_or((None, None), |(user, hash)| (Some(user), hash));
        let claim = self.claim_attempt(&username, user.as_ref(), &["pwd"], meta).await?;
        let by_user = claim.by_user;
        let hash_to_check = stored_hash.clone().unwrap_or_else(|| dummy_hash(self).to_owned());
        let matches = self.verify_password(password.clone(), hash_to_check).await?;

        let failure = match (&user, &stored_hash) {
            (None, _) => Some(FailureReason::UnknownUser),
            (Some(_), None) => Some(FailureReason::NoPassword),
            (Some(_), Some(_)) if !matches => Some(FailureReason::WrongPassword),
            (Some(u), Some(_)) if !u.may_sign_in() => Some(FailureReason::AccountDisabled),
            _ => None,
        };
        let event = self.sign_in_event(&username, user.as_ref(), failure, meta).claimed(claim.id);
        let ctx = self.attempt_context(&event, meta);
        if let (Some(user), Some(FailureReason::WrongPassword)) = (&user, failure) {
            self.notify_if_now_throttled(user, by_user);
        }
        let (Some(user), None) = (user, failure) else {
            self.store.record_sign_in_attempt(&event, &ctx).await?;
            metrics_outcome("failure");
            return Err(AppError::Unauthenticated);
        };

        // What the policy in force asks of this sign-in (the default when none is in force).
        let check = self.check_sign_in(&user, by_user.count, meta).await?;
        let event = event.with_context(check.context.clone());
        if check.need == SignInNeed::Blocked {
            let refused = SignInEvent {
                outcome: twofold_core::signin::SignInOutcome::Failure,
                reason: Some(FailureReason::PolicyBlocked),
                ..event
            };
            self.store.record_sign_in_attempt(&refused, &self.attempt_context(&refused, meta)).await?;
            metrics_outcome("blocked");
            return Err(AppError::Forbidden(format!(
                "Your organisation's access policy does not allow this sign-in ({}).",
                check.rules
            )));
        }

        let now = self.now();
        let auth = AuthContext { amr: vec!["pwd".into()], acr: "pwd".into(), auth_time: Some(now) };
        let (token, session) = Session::start(
            user.id,
            auth.clone(),
            self.settings.session_policy,
            now,
            meta.ip.clone(),
            meta.user_agent.clone(),
        );
        let signed_in_actor =
            Actor { kind: ActorKind::User, id: Some(user.id.to_string()), name: user.username.clone(), auth };
        let ctx = self.audit_context(&signed_in_actor, meta);
        let has_second_factor = self.has_second_factor(&user).await?;
        let trusted = if has_second_factor { self.device_trust(&user, meta).await? } else { None };
        // A trusted device stands in for the second factor proved there at `mfa_at`, which
        // stays the session's auth time, so changes that need a fresh second factor still
        // ask for one.
        let trusted_auth = trusted.map(|device| AuthContext {
            amr: vec!["pwd".into(), "trusted_device".into()],
            acr: "mfa".into(),
            auth_time: Some(device.mfa_at),
        });
        let second_step = match &check.need {
            SignInNeed::PasswordOnly => SecondStep::None,
            SignInNeed::Default if trusted_auth.is_some() => SecondStep::TrustedDevice,
            SignInNeed::Default if has_second_factor => SecondStep::Ask,
            SignInNeed::Default => SecondStep::None,
            SignInNeed::Strengths(strengths, within) => {
                let by_device = trusted_auth.as_ref().is_some_and(|auth| {
                    let fresh = within.is_none_or(|m| {
                        auth.auth_time.is_some_and(|t| now.millis() - t.millis() <= i64::from(m) * 60_000)
                    });
                    fresh
                        && check.policy.as_deref().is_some_and(|policy| {
                            strengths.iter().all(|s| twofold_core::access::satisfies(policy, s, &auth.acr, &auth.amr))
                        })
                });
                if by_device {
                    SecondStep::TrustedDevice
                } else if has_second_factor {
                    SecondStep::Ask
                } else {
                    // Nothing to ask for: they are led to set a method up, and every app that
                    // needs more refuses until they have.
                    SecondStep::None
                }
            }
            SignInNeed::Blocked => SecondStep::None,
        };
        let session = match (second_step, trusted_auth) {
            (SecondStep::TrustedDevice, Some(auth)) => {
                let (token, session) = Session::start(
                    user.id,
                    auth,
                    self.settings.session_policy,
                    now,
                    meta.ip.clone(),
                    meta.user_agent.clone(),
                );
                let event = event.with_methods(&["pwd", "trusted_device"]);
                self.store.start_session(&session, &event, &ctx).await?;
                metrics_signed_in(&event.methods);
                return Ok(SignedIn { token, session, user, has_second_factor, strength: None });
            }
            (SecondStep::Ask, _) => {
                let pending = session.awaiting_second_factor();
                self.store.start_pending_session(&pending, &ctx).await?;
                // The password was right: the attempt is over, and the second step claims its own.
                self.store.release_attempt(claim.id).await?;
                pending
            }
            _ => {
                self.store.start_session(&session, &event, &ctx).await?;
                metrics_signed_in(&event.methods);
                session
            }
        };

        if stored_hash.as_deref().is_some_and(|h| needs_rehash(h, self.settings.hash_params)) {
            self.rehash(&user, password, &signed_in_actor, meta).await;
        }
        // The strength to offer methods for: a custom one (the narrower) before a built-in one.
        let strength = match &check.need {
            SignInNeed::Strengths(strengths, _) => strengths
                .iter()
                .find(|s| !twofold_core::oidc::STRENGTHS.contains(&s.as_str()))
                .or(strengths.first())
                .cloned(),
            _ => None,
        };
        Ok(SignedIn { token, session, user, has_second_factor, strength })
    }

    /// A sign-in event for an attempt now.
    pub(crate) fn sign_in_event(
        &self,
        username: &str,
        user: Option<&User>,
        failure: Option<FailureReason>,
        meta: &RequestMeta,
    ) -> SignInEvent {
        SignInEvent {
            id: Uuid::now_v7(),
            at: self.now(),
            username: username.chars().take(64).collect(),
            user_id: user.map(|u| u.id),
            outcome: if failure.is_some() { SignInOutcome::Failure } else { SignInOutcome::Success },
            reason: failure,
            methods: vec!["pwd".into()],
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            source: meta.throttle_source.clone().or_else(|| {
                meta.ip
                    .as_deref()
                    .map(twofold_core::signin::throttle::source_key)
                    .filter(|key| Some(key) != meta.ip.as_ref())
            }),
            context: twofold_core::signin::SignInContext {
                app: meta.app.clone(),
                device_id: meta.device_id.clone(),
                ..Default::default()
            },
        }
    }

    /// The audit context of an attempt by someone not yet authenticated.
    pub(crate) fn attempt_context(&self, event: &SignInEvent, meta: &RequestMeta) -> twofold_core::audit::AuditContext {
        let attempt = Actor {
            kind: ActorKind::Anonymous,
            id: event.user_id.map(|u| u.to_string()),
            name: event.username.clone(),
            auth: AuthContext::default(),
        };
        self.audit_context(&attempt, meta)
    }

    /// Re-hashes a password made under older parameters. A failure here only logs:
    /// the sign-in itself already succeeded.
    async fn rehash(&self, user: &User, password: String, actor: &Actor, meta: &RequestMeta) {
        let Ok(hash) = self.hash_password(password).await else { return };
        if let Err(e) =
            self.store.set_password_hash(user.id, &hash, "user.password.rehash", &self.audit_context(actor, meta)).await
        {
            tracing::warn!(user = %user.username, error = %e, "password re-hash not stored");
        }
    }

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

    /// A user's sessions that are not revoked, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn user_sessions(&self, user_id: Uuid) -> AppResult<Vec<Session>> {
        Ok(self.store.user_sessions(user_id).await?)
    }
}

/// What follows a correct password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecondStep {
    /// Nothing: the session starts.
    None,
    /// The device's trust stands in for the second factor.
    TrustedDevice,
    /// The second factor is asked for.
    Ask,
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
