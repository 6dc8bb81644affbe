//! The one sign-in pipeline every way in goes through — the password step, the second step
//! (also a step-up), a passkey on its own, a temporary access pass, and later RADIUS:
//!
//! 1. claim the attempt's slot (throttling per username and source, before anything is checked);
//! 2. the way's own check (a password, a code, a passkey), which only says what it proved;
//! 3. on failure: the sign-in event, a notice when the person's failures now delay them;
//! 4. conditional access, asked once, its decision carried to what follows (a block is refused
//!    and recorded the same way for every way in; at the second step it is asked before the
//!    factor is tried, so a blocked attempt uses up no code);
//! 5. `exception.use` once per completed sign-in (written just before the session, so a crash
//!    between the two over-counts a use and never misses one);
//! 6. the session (started, awaiting its second step, or replacing the one it completes), stored
//!    with the sign-in event and its audit event in one transaction;
//! 7. what follows a sign-in: trusting the device, re-hashing an old password, and for a
//!    break-glass account a review and alerts to every admin.
//!
//! The person's trusted device is read once per attempt and shared with conditional access.

use super::SignIn;
use twofold_core::access::{SignInNeed, shortfall};
use twofold_core::audit::ActorKind;
use twofold_core::identity::User;
use twofold_core::signin::device_trust::TrustedDevice;
use twofold_core::signin::session::{AuthContext, Session};
use twofold_core::signin::{FailureReason, SignInEvent, SignInOutcome};

use super::{Authenticated, SignedIn, metrics_outcome, metrics_signed_in};
use crate::access::SignInCheck;
use crate::{Actor, AppError, AppResult, RequestMeta};

/// How an attempt comes in: what differs between the ways in once the check has passed.
pub(crate) enum Way<'a> {
    /// A password, the first step; a second step may follow. `rehash` holds the password when
    /// its stored hash was made under older parameters.
    Password {
        /// The password to hash again after the sign-in, if its hash is outdated.
        rehash: Option<String>,
    },
    /// The second factor for `current`'s session awaiting it, or a step-up of a signed-in one.
    SecondFactor {
        /// The session the proof completes (it is replaced by a new one).
        current: &'a Authenticated,
        /// Whether the person asked to trust this device.
        trust_device: bool,
    },
    /// A passkey on its own (username-less sign-in).
    Passkey,
    /// A temporary access pass: a session that opens Security info only, ending when the
    /// pass does at the latest.
    AccessPass {
        /// The pass's end.
        until: twofold_core::Timestamp,
    },
}

/// What a passed check proved.
pub(crate) struct Proof {
    /// The methods, for the sign-in event (`pwd`, `otp`, `hwk`, ...).
    pub(crate) methods: Vec<&'static str>,
    /// The authentication context a session started now records.
    pub(crate) auth: AuthContext,
}

/// Who an attempt names and what it tries.
pub(crate) struct Attempt<'a> {
    /// The username as typed (normalised), also for unknown users.
    pub(crate) username: &'a str,
    /// The person, when the username names one.
    pub(crate) user: Option<&'a User>,
    /// The methods tried, recorded on a refusal.
    pub(crate) tried: &'a [&'a str],
    /// Where it comes from.
    pub(crate) meta: &'a RequestMeta,
}

/// Failures that mean a wrong secret was tried, which the person is told of when they reach
/// the point where attempts are delayed.
const fn is_wrong_secret(reason: FailureReason) -> bool {
    matches!(reason, FailureReason::WrongPassword | FailureReason::WrongCode | FailureReason::ReplayedCode)
}

impl SignIn {
    /// Runs one sign-in attempt through the pipeline (see the module documentation); `check`
    /// is the way's own check, run after the attempt's slot is claimed.
    ///
    /// # Errors
    /// [`AppError::Throttled`] before the check; [`AppError::Unauthenticated`] for any failed
    /// check alike; [`crate::Refusal::SignInBlocked`] when conditional access blocks; storage failures.
    pub(crate) async fn sign_in_through(
        &self,
        way: Way<'_>,
        attempt: Attempt<'_>,
        check: impl AsyncFnOnce() -> AppResult<Result<Proof, FailureReason>>,
    ) -> AppResult<SignedIn> {
        let Attempt { username, user, tried, meta } = attempt;
        let claim = self.attempts.claim_attempt(username, user, tried, meta).await?;
        // The second step's person has proved a password already and the decision does not
        // depend on the factor: a block is decided before the factor is tried, so a blocked
        // attempt uses up no code. Elsewhere only after the check, so that a block reveals
        // nothing to someone who has not proved who they are.
        let decided_first = match (&way, user) {
            (Way::SecondFactor { .. }, Some(user)) => {
                let (trusted, check) = self.ask_access(user, &claim, meta).await?;
                if check.need == SignInNeed::Blocked {
                    let event = self.attempts.sign_in_event(username, Some(user), None, meta).with_methods(tried);
                    return Err(self.refuse_blocked(event.claimed(claim.id), check, meta).await?);
                }
                Some((trusted, check))
            }
            _ => None,
        };
        let proof = match (check().await?, user) {
            (Ok(proof), Some(_)) => proof,
            (outcome, user) => {
                let reason = outcome.err().unwrap_or(FailureReason::UnknownUser);
                self.attempts.record_claimed_attempt(&claim, username, user, Some(reason), tried, meta).await?;
                if let Some(user) = user.filter(|_| is_wrong_secret(reason)) {
                    self.attempts.notify_if_now_throttled(user, claim.by_user);
                }
                metrics_outcome("failure");
                return Err(AppError::Unauthenticated);
            }
        };
        let Some(user) = user else { return Err(AppError::Unauthenticated) };

        let (trusted, check) = match decided_first {
            Some(decided) => decided,
            None => self.ask_access(user, &claim, meta).await?,
        };
        let event = self
            .attempts
            .sign_in_event(username, Some(user), None, meta)
            .claimed(claim.id)
            .with_methods(&proof.methods)
            .with_context(check.context.clone());
        if check.need == SignInNeed::Blocked {
            return Err(self.refuse_blocked(event, check, meta).await?);
        }

        let now = self.now();
        let actor = match &way {
            Way::SecondFactor { current, .. } => Actor { auth: proof.auth.clone(), ..current.actor() },
            Way::Password { .. } | Way::Passkey | Way::AccessPass { .. } => Actor {
                kind: ActorKind::User,
                id: Some(user.id.to_string()),
                name: user.username.clone(),
                auth: proof.auth.clone(),
            },
        };
        let ctx = self.audit_context(&actor, meta);
        let start = |auth: AuthContext| {
            Session::start(user.id, auth, self.settings.session_policy, now, meta.ip.clone(), meta.user_agent.clone())
        };
        // Every completed sign-in of a break-glass account is watched (review and alerts).
        let watched = (user.tier == twofold_core::identity::Tier::BreakGlass).then(|| event.clone());
        let signed_in = match way {
            Way::Password { rehash } => {
                let has_second_factor = self.factors.has_second_factor(user).await?;
                let emergency = self.emergency.active_for(user).await?;
                let (token, session) = start(proof.auth.clone());
                let step = after_password(&check, has_second_factor, trusted.as_ref(), emergency.is_some(), now);
                let signed_in = match step {
                    SecondStep::TrustedDevice(auth) => {
                        let (token, session) = start(auth);
                        let event = event.with_methods(&["pwd", "trusted_device"]);
                        self.access.note_exception_use(user, meta).await?;
                        self.store.start_session(&session, &event, &ctx).await?;
                        metrics_signed_in(&event.methods);
                        SignedIn { token, session, user: user.clone(), has_second_factor, strength: None }
                    }
                    SecondStep::Emergency(auth) => {
                        let (token, session) = start(auth.clone());
                        let event = event.with_methods(&["pwd", twofold_core::emergency::EMERGENCY_AMR]);
                        self.access.note_exception_use(user, meta).await?;
                        self.store.start_session(&session, &event, &ctx).await?;
                        metrics_signed_in(&event.methods);
                        if let Some(access) = &emergency {
                            self.emergency.note_use(access, &Actor { auth, ..actor.clone() }, meta).await?;
                        }
                        SignedIn { token, session, user: user.clone(), has_second_factor, strength: None }
                    }
                    SecondStep::Ask => {
                        let pending = session.awaiting_second_factor();
                        self.store.start_pending_session(&pending, &ctx).await?;
                        // The password was right: the attempt is over, and the second step claims its own.
                        self.store.release_attempt(claim.id).await?;
                        let strength = strength_to_offer(&check.need);
                        SignedIn { token, session: pending, user: user.clone(), has_second_factor, strength }
                    }
                    SecondStep::None => {
                        self.access.note_exception_use(user, meta).await?;
                        self.store.start_session(&session, &event, &ctx).await?;
                        metrics_signed_in(&event.methods);
                        let strength = strength_to_offer(&check.need);
                        SignedIn { token, session, user: user.clone(), has_second_factor, strength }
                    }
                };
                if let Some(password) = rehash {
                    self.rehash(user, password, &actor, meta).await;
                }
                signed_in
            }
            Way::SecondFactor { current, trust_device } => {
                let (token, session) = start(proof.auth.clone());
                self.access.note_exception_use(user, meta).await?;
                if !self.store.complete_session(&current.session.id_hash, &session, &event, &ctx).await? {
                    return Err(AppError::Unauthenticated);
                }
                metrics_signed_in(&event.methods);
                if trust_device {
                    self.factors.trust_this_device(user, now, meta).await?;
                }
                SignedIn { token, session, user: user.clone(), has_second_factor: true, strength: None }
            }
            Way::AccessPass { until } => {
                let (token, session) = start(proof.auth.clone());
                let session = Session { absolute_expires_at: session.absolute_expires_at.min(until), ..session };
                self.access.note_exception_use(user, meta).await?;
                self.store.start_session(&session, &event, &ctx).await?;
                metrics_signed_in(&event.methods);
                SignedIn { token, session, user: user.clone(), has_second_factor: false, strength: None }
            }
            Way::Passkey => {
                let (token, session) = start(proof.auth.clone());
                self.access.note_exception_use(user, meta).await?;
                self.store.start_session(&session, &event, &ctx).await?;
                metrics_signed_in(&event.methods);
                SignedIn { token, session, user: user.clone(), has_second_factor: true, strength: None }
            }
        };
        if let Some(event) = watched.filter(|_| !signed_in.session.mfa_pending) {
            self.emergency.break_glass_signed_in(user, &event, meta).await?;
        }
        Ok(signed_in)
    }
}

impl SignIn {
    /// The device's trust (read once, shared with conditional access) and conditional
    /// access's answer for this attempt.
    async fn ask_access(
        &self,
        user: &User,
        claim: &super::attempts::Claimed,
        meta: &RequestMeta,
    ) -> AppResult<(Option<TrustedDevice>, SignInCheck)> {
        let trusted = self.factors.device_trust(user, meta).await?;
        let check = self.access.check_sign_in(user, claim.by_user.count, trusted.is_some(), meta).await?;
        Ok((trusted, check))
    }

    /// Records `event` as refused by conditional access (ending its claim) and gives the
    /// refusal naming the rules that decided.
    async fn refuse_blocked(&self, event: SignInEvent, check: SignInCheck, meta: &RequestMeta) -> AppResult<AppError> {
        let refused = SignInEvent {
            outcome: SignInOutcome::Failure,
            reason: Some(FailureReason::PolicyBlocked),
            context: check.context,
            ..event
        };
        self.store.record_sign_in_attempt(&refused, &self.attempts.attempt_context(&refused, meta)).await?;
        metrics_outcome("blocked");
        Ok(AppError::Refused(crate::Refusal::SignInBlocked { rules: check.rules }))
    }
}

/// What follows a correct password.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SecondStep {
    /// Nothing: the session starts.
    None,
    /// The device's trust stands in for the second factor, with this authentication context.
    TrustedDevice(AuthContext),
    /// An approved emergency access stands in for it, with this authentication context
    /// (`mfa` for apps, monitored; never enough for changes).
    Emergency(AuthContext),
    /// The second factor is asked for.
    Ask,
}

/// Decides what follows a correct password from the policy's need, whether the person has a
/// second factor they may use, and the device's trust (valid, for them) if any.
///
/// A trusted device stands in for the second factor proved there at `mfa_at`, which stays
/// the session's auth time, so changes that need a fresh second factor still ask for one;
/// where the policy names strengths, only if that proof meets them ([`shortfall`]).
fn after_password(
    check: &SignInCheck,
    has_second_factor: bool,
    trusted: Option<&TrustedDevice>,
    emergency: bool,
    now: twofold_core::Timestamp,
) -> SecondStep {
    let by_emergency = emergency.then(|| crate::emergency::Emergency::auth_context(now));
    let meets = |auth: &AuthContext| match &check.need {
        SignInNeed::Strengths(strengths, within) => {
            check.policy.as_deref().is_some_and(|policy| shortfall(policy, strengths, *within, auth, now).is_none())
        }
        _ => true,
    };
    let by_device = trusted.filter(|_| has_second_factor).map(|device| AuthContext {
        amr: vec!["pwd".into(), "trusted_device".into()],
        acr: "mfa".into(),
        auth_time: Some(device.mfa_at),
    });
    match (&check.need, by_device) {
        (SignInNeed::PasswordOnly | SignInNeed::Blocked, _) => SecondStep::None,
        (SignInNeed::Default, Some(auth)) => SecondStep::TrustedDevice(auth),
        (SignInNeed::Strengths(strengths, within), Some(auth))
            if check
                .policy
                .as_deref()
                .is_some_and(|policy| shortfall(policy, strengths, *within, &auth, now).is_none()) =>
        {
            SecondStep::TrustedDevice(auth)
        }
        // Emergency access: where the second step would be asked, and what it reaches is
        // enough (never a phishing-resistant requirement), the password lets them in.
        (SignInNeed::Default | SignInNeed::Strengths(..), _)
            if has_second_factor && by_emergency.as_ref().is_some_and(meets) =>
        {
            SecondStep::Emergency(by_emergency.unwrap_or_default())
        }
        // Nothing to ask for: they are led to set a method up, and every app that needs more
        // refuses until they have.
        _ if has_second_factor => SecondStep::Ask,
        _ => SecondStep::None,
    }
}

/// The strength the second step's page offers methods for: a custom one (the narrower)
/// before a built-in one.
fn strength_to_offer(need: &SignInNeed) -> Option<String> {
    match need {
        SignInNeed::Strengths(strengths, _) => strengths
            .iter()
            .find(|s| !twofold_core::oidc::STRENGTHS.contains(&s.as_str()))
            .or(strengths.first())
            .cloned(),
        _ => None,
    }
}
