//! Second factors: enrolling an authenticator app and recovery codes, the second step of
//! sign-in (also used to step up), and checking codes for gateways (the verify API).

use twofold_core::authenticator::{self, Authenticator, AuthenticatorKind};
use twofold_core::identity::{User, normalize_username};
use twofold_core::otp::{self, OtpRejection, TotpParams};
use twofold_core::session::{AuthContext, FRESH_MFA_SECS, Session};
use twofold_core::signin::{FailureReason, SignInOutcome};
use twofold_core::{device_trust, mail, recovery, sealed, throttle};
use uuid::Uuid;

use crate::auth::{Authenticated, SignedIn};
use crate::{Actor, App, AppError, AppResult, RequestMeta};

/// A TOTP enrolment waiting for its test authentication.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// The new (unconfirmed) authenticator.
    pub authenticator: Authenticator,
    /// The seed in base32, for manual entry. Shown once, on the enrolment page.
    pub secret_base32: String,
    /// The `otpauth://` URI for the QR code.
    pub otpauth_uri: String,
}

/// What a user has registered.
#[derive(Debug, Clone)]
pub struct SecurityInfo {
    /// Authenticators, oldest first (unconfirmed ones included, marked).
    pub authenticators: Vec<Authenticator>,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

/// A code offered as the second factor.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    /// A one-time code from an authenticator app.
    Code(String),
    /// A recovery code.
    RecoveryCode(String),
    /// A passkey's answer to the ceremony `ceremony`.
    Passkey {
        /// The ceremony id from the options.
        ceremony: String,
        /// `PublicKeyCredential` in WebAuthn JSON form.
        answer: serde_json::Value,
    },
}

/// The result of checking a code for a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    /// The authenticator that matched.
    pub authenticator_id: Uuid,
}

impl App {
    /// The user's methods.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn security_info(&self, user_id: Uuid) -> AppResult<SecurityInfo> {
        Ok(SecurityInfo {
            authenticators: self.store.authenticators(user_id).await?,
            recovery_codes_left: self.store.recovery_codes_left(user_id).await?,
        })
    }

    /// Whether the user has a confirmed second factor they may use now (an email or SMS
    /// method past its end date, or forbidden for their tier, does not count).
    pub(crate) async fn has_second_factor(&self, user: &User) -> AppResult<bool> {
        let now = self.now();
        Ok(self.store.authenticators(user.id).await?.iter().any(|a| {
            a.is_confirmed() && (!a.kind.is_fallback() || self.fallback_policy.allows(a.kind, user.tier, now).is_ok())
        }))
    }

    /// Changing sign-in methods needs a recent second factor once the user has one, so a
    /// stolen password alone cannot add an attacker's authenticator (THREATS: enrolment hijack).
    pub(crate) async fn require_fresh_mfa(&self, current: &Authenticated) -> AppResult<()> {
        if self.has_second_factor(&current.user).await?
            && !current.session.auth.has_fresh_mfa(self.now(), FRESH_MFA_SECS)
        {
            return Err(AppError::StepUpRequired);
        }
        Ok(())
    }

    /// Whether `user` may be offered "trust this device" from a browser known by `meta`.
    #[must_use]
    pub fn may_trust_device(&self, user: &User, meta: &RequestMeta) -> bool {
        meta.device_id.is_some() && device_trust::tier_may_trust_devices(user.tier)
    }

    /// Trusts the requesting device for the user after a second factor proved at `mfa_at`.
    async fn trust_this_device(
        &self,
        user: &User,
        mfa_at: twofold_core::Timestamp,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let Some(device_id) = meta.device_id.clone().filter(|_| self.may_trust_device(user, meta)) else {
            return Ok(());
        };
        let device = device_trust::TrustedDevice {
            device_id,
            user_id: user.id,
            trusted_until: mfa_at.plus_seconds(device_trust::DEFAULT_TRUST_DAYS * 24 * 60 * 60),
            mfa_at,
            created_at: mfa_at,
            user_agent: meta.user_agent.clone(),
            ip: meta.ip.clone(),
            revoked_at: None,
        };
        let actor = Actor {
            kind: twofold_core::audit::ActorKind::User,
            id: Some(user.id.to_string()),
            name: user.username.clone(),
            auth: AuthContext::default(),
        };
        Ok(self.store.trust_device(&device, &self.audit_context(&actor, meta)).await?)
    }

    /// The requesting device's valid trust for `user`, if any.
    pub(crate) async fn device_trust(
        &self,
        user: &User,
        meta: &RequestMeta,
    ) -> AppResult<Option<device_trust::TrustedDevice>> {
        let Some(device_id) = meta.device_id.as_deref() else { return Ok(None) };
        if !device_trust::tier_may_trust_devices(user.tier) {
            return Ok(None);
        }
        Ok(self.store.trusted_device(device_id, user.id).await?.filter(|d| d.is_valid(self.now())))
    }

    /// The user's trusted devices.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn trusted_devices(&self, user_id: Uuid) -> AppResult<Vec<device_trust::TrustedDevice>> {
        let now = self.now();
        Ok(self.store.trusted_devices(user_id).await?.into_iter().filter(|d| d.is_valid(now)).collect())
    }

    /// Withdraws trust from one of the user's devices: it asks for a second factor again.
    ///
    /// # Errors
    /// [`AppError::NotFound`] when that device is not trusted.
    pub async fn forget_device(&self, current: &Authenticated, device_id: &str, meta: &RequestMeta) -> AppResult<()> {
        if self.store.forget_device(device_id, current.user.id, &self.audit_context(&current.actor(), meta)).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("trusted device"))
        }
    }

    /// Starts adding an authenticator app: a new seed, sealed at rest; the method counts
    /// only after [`App::confirm_totp`] sees a code from it.
    ///
    /// # Errors
    /// Step-up required, an invalid name, or no master key.
    pub async fn begin_totp_enrolment(
        &self,
        current: &Authenticated,
        name: &str,
        meta: &RequestMeta,
    ) -> AppResult<TotpEnrolment> {
        self.require_fresh_mfa(current).await?;
        let name = authenticator::check_name(name)?;
        let keys = self.keys()?;
        let secret = twofold_core::secret::random_bytes::<20>();
        let id = Uuid::now_v7();
        let params = TotpParams::default();
        let authenticator = Authenticator {
            id,
            user_id: Some(current.user.id),
            kind: AuthenticatorKind::Totp,
            name,
            serial: None,
            destination: None,
            attested: false,
            credential: None,
            otp: Some(params),
            last_used_step: None,
            drift_steps: 0,
            sealed_secret: sealed::seal(&keys.seal, &Authenticator::seal_context(id), &secret),
            created_at: self.now(),
            confirmed_at: None,
            last_used_at: None,
        };
        self.store.create_authenticator(&authenticator, &self.audit_context(&current.actor(), meta)).await?;
        let account = current.user.email.clone().unwrap_or_else(|| current.user.username.clone());
        Ok(TotpEnrolment {
            otpauth_uri: otp::otpauth_uri("Twofold", &account, &secret, params),
            secret_base32: otp::base32_encode(&secret),
            authenticator,
        })
    }

    /// The user's own authenticator, or not found (never someone else's).
    pub(crate) async fn own_authenticator(&self, user: &User, id: Uuid) -> AppResult<Authenticator> {
        self.store
            .authenticator(id)
            .await?
            .filter(|a| a.user_id == Some(user.id))
            .ok_or(AppError::NotFound("authenticator"))
    }

    pub(crate) fn open_secret(&self, a: &Authenticator) -> AppResult<Vec<u8>> {
        sealed::open(&self.keys()?.seal, &Authenticator::seal_context(a.id), &a.sealed_secret)
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Finishes adding an authenticator app with a code from it (the test authentication).
    /// When it `replaces` one of the user's methods (a new phone), that method is removed
    /// in the same step and stops working at once.
    ///
    /// # Errors
    /// A wrong or malformed code, an unknown or already confirmed authenticator, an unknown
    /// method to replace.
    pub async fn confirm_totp(
        &self,
        current: &Authenticated,
        id: Uuid,
        code: &str,
        replaces: Option<Uuid>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let replaced = self.method_to_replace(current, replaces, id).await?;
        let a = self.own_authenticator(&current.user, id).await?;
        if a.is_confirmed() {
            return Err(AppError::Conflict("this authenticator is already set up".into()));
        }
        let secret = self.open_secret(&a)?;
        let step = otp::verify_totp(&secret, a.otp.unwrap_or_default(), code, self.now(), 0, None)
            .map_err(|e| twofold_core::ValidationErrors::one("code", e.to_string()))?;
        if !self.store.confirm_authenticator(a.id, step, &self.audit_context(&current.actor(), meta)).await? {
            return Err(AppError::Conflict("this authenticator is already set up".into()));
        }
        self.notify(mail::method_added(&current.user, a.kind.label(), &a.name, self.now()));
        self.retire(current, replaced, meta).await
    }

    /// The confirmed method of the user's that a new one (`new_id`) is to replace, checked
    /// before the new one is confirmed so a bad request changes nothing.
    pub(crate) async fn method_to_replace(
        &self,
        current: &Authenticated,
        replaces: Option<Uuid>,
        new_id: Uuid,
    ) -> AppResult<Option<Authenticator>> {
        let Some(old) = replaces.filter(|old| *old != new_id) else { return Ok(None) };
        let old = self.own_authenticator(&current.user, old).await?;
        Ok(Some(old).filter(Authenticator::is_confirmed))
    }

    /// Removes the method a new one replaced (the new one is confirmed by now, so the rule
    /// against removing the last method does not stand in the way).
    pub(crate) async fn retire(
        &self,
        current: &Authenticated,
        replaced: Option<Authenticator>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let Some(old) = replaced else { return Ok(()) };
        if self.store.remove_authenticator(&old, &self.audit_context(&current.actor(), meta)).await? {
            self.notify(mail::method_removed(&current.user, old.kind.label(), &old.name, self.now()));
        }
        Ok(())
    }

    /// Replaces the user's recovery codes with ten new ones, returned once for display.
    ///
    /// # Errors
    /// Step-up required, or no master key.
    pub async fn generate_recovery_codes(&self, current: &Authenticated, meta: &RequestMeta) -> AppResult<Vec<String>> {
        self.require_fresh_mfa(current).await?;
        let key = self.keys()?.recovery;
        let codes = recovery::generate();
        let user_id = current.user.id.to_string();
        let hashes: Vec<String> =
            codes.iter().filter_map(|c| recovery::normalize(c)).map(|c| recovery::hash(&key, &user_id, &c)).collect();
        self.store
            .replace_recovery_codes(current.user.id, &hashes, &self.audit_context(&current.actor(), meta))
            .await?;
        Ok(codes)
    }

    /// Renames one of the user's authenticators.
    ///
    /// # Errors
    /// An invalid name or an unknown authenticator.
    pub async fn rename_authenticator(
        &self,
        current: &Authenticated,
        id: Uuid,
        name: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let name = authenticator::check_name(name)?;
        let a = self.own_authenticator(&current.user, id).await?;
        Ok(self.store.rename_authenticator(a.id, &name, &self.audit_context(&current.actor(), meta)).await?)
    }

    /// Removes one of the user's authenticators; never the last confirmed one, nor the last
    /// one stronger than email or SMS codes. It stops working at once.
    ///
    /// # Errors
    /// Step-up required, the last factor, or an unknown authenticator.
    pub async fn remove_authenticator(&self, current: &Authenticated, id: Uuid, meta: &RequestMeta) -> AppResult<()> {
        self.require_fresh_mfa(current).await?;
        let a = self.own_authenticator(&current.user, id).await?;
        let all = self.store.authenticators(current.user.id).await?;
        if let Some(refusal) = authenticator::removal_refusal(&all, a.id) {
            return Err(AppError::Conflict(refusal.into()));
        }
        if self.store.remove_authenticator(&a, &self.audit_context(&current.actor(), meta)).await? && a.is_confirmed() {
            self.notify(mail::method_removed(&current.user, a.kind.label(), &a.name, self.now()));
        }
        Ok(())
    }

    /// Finds which of the user's confirmed OTP authenticators (apps and hardware tokens)
    /// produced `code`, and at which step or counter, without using it yet.
    async fn match_otp(&self, user: &User, code: &str) -> AppResult<Result<(Authenticator, i64), FailureReason>> {
        let now = self.now();
        let mut replayed = false;
        for a in self.store.authenticators(user.id).await?.into_iter().filter(Authenticator::is_confirmed) {
            let params = a.otp.unwrap_or_default();
            let matched = match a.kind {
                AuthenticatorKind::Totp => {
                    otp::verify_totp(&self.open_secret(&a)?, params, code, now, a.drift_steps, a.last_used_step)
                }
                AuthenticatorKind::Hotp => {
                    let next = a.last_used_step.map_or(0, |last| u64::try_from(last + 1).unwrap_or(0));
                    otp::verify_hotp(&self.open_secret(&a)?, params.algorithm, params.digits, code, next)
                        .map(|counter| i64::try_from(counter).unwrap_or(i64::MAX))
                }
                _ => continue,
            };
            match matched {
                Ok(step) => return Ok(Ok((a, step))),
                Err(OtpRejection::Replayed) => replayed = true,
                Err(OtpRejection::Malformed(_) | OtpRejection::Invalid) => {}
            }
        }
        Ok(Err(if replayed { FailureReason::ReplayedCode } else { FailureReason::WrongCode }))
    }

    /// Checks a typed code: an app or token code first, then an email or SMS code sent to
    /// the user. The RFC 8176 method it proves (`otp`, or `sms` for a text message).
    async fn check_code(&self, user: &User, code: &str) -> AppResult<Result<&'static str, FailureReason>> {
        match self.check_otp(user, code).await? {
            Ok(a) => Ok(Ok(a.kind.amr())),
            Err(FailureReason::WrongCode) => {
                Ok(self.redeem_sign_in_code(user, code).await?.map(|a| a.kind.amr()).ok_or(FailureReason::WrongCode))
            }
            Err(reason) => Ok(Err(reason)),
        }
    }

    /// Tells the user when their failures just reached the point where attempts are delayed
    /// (once per run of failures: `before` is the count before this one).
    pub(crate) fn notify_if_now_throttled(&self, user: &User, before: throttle::Failures) {
        if before.count + 1 == throttle::FREE_FAILURES_PER_USERNAME {
            self.notify(mail::sign_in_paused(user, before.count + 1, self.now()));
        }
    }

    /// Checks a one-time code and wins its step or counter atomically (the sign-in path).
    async fn check_otp(&self, user: &User, code: &str) -> AppResult<Result<Authenticator, FailureReason>> {
        match self.match_otp(user, code).await? {
            Ok((a, step)) if self.store.use_otp_step(a.id, step, a.drift_steps, self.now()).await? => Ok(Ok(a)),
            Ok(_) => Ok(Err(FailureReason::ReplayedCode)),
            Err(reason) => Ok(Err(reason)),
        }
    }

    /// Refuses attempts for `username` while its failures (passwords and codes alike) demand a
    /// wait; otherwise the username's recent failures.
    pub(crate) async fn check_throttle(
        &self,
        username: &str,
        user: Option<&User>,
        methods: &[&str],
        meta: &RequestMeta,
    ) -> AppResult<throttle::Failures> {
        let now = self.now();
        let (by_user, by_source) =
            self.store.sign_in_failures(username, meta.ip.as_deref(), now.plus_seconds(-throttle::WINDOW_SECS)).await?;
        if let Some(retry_after_secs) = throttle::retry_after(by_user, by_source, now) {
            self.record_attempt(username, user, Some(FailureReason::Throttled), methods, meta).await?;
            return Err(AppError::Throttled { retry_after_secs });
        }
        Ok(by_user)
    }

    /// The second step of sign-in, or a step-up of a signed-in session: checks the code,
    /// then replaces the session with a new one (new id) that records `mfa`.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for a wrong or used code, throttling, storage failures.
    pub async fn second_factor(
        &self,
        current: &Authenticated,
        factor: SecondFactor,
        trust_device: bool,
        meta: &RequestMeta,
    ) -> AppResult<SignedIn> {
        let user = &current.user;
        let attempted = match factor {
            SecondFactor::Code(_) => "otp",
            SecondFactor::RecoveryCode(_) => "recovery_code",
            SecondFactor::Passkey { .. } => "hwk",
        };
        let by_user = self.check_throttle(&user.username, Some(user), &["pwd", attempted], meta).await?;
        // The method proved (RFC 8176) and the strength reached: a passkey is phishing-resistant
        // (`phr`), an attested hardware key also hardware-bound (`phrh`).
        let outcome = match &factor {
            SecondFactor::Code(code) => self.check_code(user, code).await?.map(|amr| (amr, "mfa")),
            SecondFactor::RecoveryCode(code) => {
                self.use_recovery_code(current, code, meta).await?.map(|()| ("otp", "mfa"))
            }
            SecondFactor::Passkey { ceremony, answer } => self
                .check_passkey(current, ceremony, answer.clone())
                .await?
                .map(|attested| ("hwk", if attested { "phrh" } else { "phr" })),
        };
        let (method, acr) = match outcome {
            Ok(method) => method,
            Err(reason) => {
                self.record_attempt(&user.username, Some(user), Some(reason), &["pwd", attempted], meta).await?;
                self.notify_if_now_throttled(user, by_user);
                return Err(AppError::Unauthenticated);
            }
        };
        let now = self.now();
        let mut amr = current.session.auth.amr.clone();
        amr.retain(|m| !["mfa", "otp", "hwk", "sms"].contains(&m.as_str()));
        amr.extend([method.to_owned(), "mfa".to_owned()]);
        let auth = AuthContext { amr, acr: acr.into(), auth_time: Some(now) };
        let (token, session) = Session::start(
            user.id,
            auth.clone(),
            self.settings.session_policy,
            now,
            meta.ip.clone(),
            meta.user_agent.clone(),
        );
        let check = self.check_sign_in(user, by_user.count, meta).await?;
        let event = self
            .sign_in_event(&user.username, Some(user), None, meta)
            .with_methods(&["pwd", method])
            .with_context(check.context);
        let actor = Actor { auth, ..current.actor() };
        if !self
            .store
            .complete_session(&current.session.id_hash, &session, &event, &self.audit_context(&actor, meta))
            .await?
        {
            return Err(AppError::Unauthenticated);
        }
        crate::auth::metrics_signed_in(&event.methods);
        if trust_device {
            self.trust_this_device(user, now, meta).await?;
        }
        Ok(SignedIn { token, session, user: user.clone(), has_second_factor: true, strength: None })
    }

    async fn use_recovery_code(
        &self,
        current: &Authenticated,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<Result<(), FailureReason>> {
        let Some(normalized) = recovery::normalize(code) else { return Ok(Err(FailureReason::WrongCode)) };
        let hash = recovery::hash(&self.keys()?.recovery, &current.user.id.to_string(), &normalized);
        let used = self
            .store
            .consume_recovery_code(current.user.id, &hash, &self.audit_context(&current.actor(), meta))
            .await?;
        if !used {
            return Ok(Err(FailureReason::WrongCode));
        }
        let remaining = self.store.recovery_codes_left(current.user.id).await?;
        self.notify(mail::recovery_code_used(&current.user, remaining, self.now()));
        Ok(Ok(()))
    }

    /// Checks a user's one-time code for a gateway or legacy app (the verify API), with the
    /// same replay protection, throttling and audit as sign-in.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for an unknown user or a wrong or used code; throttling.
    pub async fn verify_code(
        &self,
        caller: &Actor,
        username: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<Verified> {
        let username = normalize_username(username);
        let user = self.store.user_by_username(&username).await?.filter(User::may_sign_in);
        self.check_throttle(&username, user.as_ref(), &["otp"], meta).await?;
        let candidate = match &user {
            Some(u) => self.match_otp(u, code).await?,
            None => Err(FailureReason::UnknownUser),
        };
        let failure_reason = candidate.as_ref().err().copied().unwrap_or(FailureReason::ReplayedCode);
        let success = self.sign_in_event(&username, user.as_ref(), None, meta).with_methods(&["otp"]);
        let failure = self.sign_in_event(&username, user.as_ref(), Some(failure_reason), meta).with_methods(&["otp"]);
        let mut ctx = self.audit_context(caller, meta);
        ctx.actor_name = format!("{} (verify for {username})", caller.name);
        // One transaction: win the step, record the event and its audit entry.
        let won_step = candidate.as_ref().ok().map(|(a, step)| (a.id, *step, a.drift_steps));
        let won = self.store.record_verification(won_step, &success, &failure, &ctx).await?;
        let verified = candidate.ok().filter(|_| won).map(|(a, _)| Verified { authenticator_id: a.id });
        metrics::counter!("twofold_verify_total", "outcome" => if verified.is_some() { "success" } else { "failure" })
            .increment(1);
        verified.ok_or(AppError::Unauthenticated)
    }

    /// Records an attempt that starts no session.
    pub(crate) async fn record_attempt(
        &self,
        username: &str,
        user: Option<&User>,
        reason: Option<FailureReason>,
        methods: &[&str],
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let event = self.sign_in_event(username, user, reason, meta).with_methods(methods);
        debug_assert!(reason.is_some() == (event.outcome == SignInOutcome::Failure));
        self.store.record_sign_in_attempt(&event, &self.attempt_context(&event, meta)).await?;
        Ok(())
    }
}
