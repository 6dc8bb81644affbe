//! Second factors: what a person has registered, trusted devices, matching a one-time code,
//! and checking codes for gateways (the verify API). The second step of sign-in is in
//! `signin::second_step`; adding and changing methods is in `enrolment.rs`.

use super::Factors;
use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
use twofold_core::factors::otp::{self, OtpRejection};
use twofold_core::factors::recovery;
use twofold_core::identity::{User, normalize_username};
use twofold_core::mail;
use twofold_core::signin::FailureReason;
use twofold_core::signin::session::{AuthContext, FRESH_MFA_SECS};
use twofold_core::signin::{device_trust, throttle};
use uuid::Uuid;

use crate::signin::Authenticated;
use crate::{Actor, AppError, AppResult, RequestMeta};

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

impl Factors {
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
        let methods = self.store.authenticators(user.id).await?;
        Ok(methods.iter().any(|a| self.usable_now(a, user)))
    }

    /// Whether `a` is a confirmed method `user` may use now (an email or SMS method only
    /// while the fallback policy allows its channel for their tier).
    pub(crate) fn usable_now(&self, a: &Authenticator, user: &User) -> bool {
        a.is_confirmed()
            && (!a.kind.is_fallback() || self.fallback_policy.allows(a.kind, user.tier, self.now()).is_ok())
    }

    /// Whether the user has any confirmed method, usable now or not (an email or SMS method
    /// past its end date still belongs to them).
    pub(crate) async fn has_any_method(&self, user: &User) -> AppResult<bool> {
        Ok(self.store.authenticators(user.id).await?.iter().any(Authenticator::is_confirmed))
    }

    /// Changing sign-in methods needs a recent second factor once the user has any confirmed
    /// method, so a stolen password alone cannot add an attacker's authenticator (THREATS:
    /// enrolment hijack) — also when their only method is an email or SMS channel the policy
    /// has since retired, which can then be proved for this purpose alone.
    ///
    /// Someone with no method yet enrols a first one only as the organisation's first-method
    /// rule allows (an emailed code, a named network, a temporary access pass), so a phished
    /// password alone enrols nothing.
    pub(crate) async fn require_fresh_mfa(&self, current: &Authenticated) -> AppResult<()> {
        if !self.has_any_method(&current.user).await? {
            return self.may_enrol_first(current).await;
        }
        if !current.session.auth.may_change_methods(self.now(), FRESH_MFA_SECS) {
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
    pub(crate) async fn trust_this_device(
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

    /// Finds which of the user's confirmed OTP authenticators (apps and hardware tokens)
    /// produced `code`, and at which step or counter, without using it yet.
    pub(crate) async fn match_otp(
        &self,
        user: &User,
        code: &str,
    ) -> AppResult<Result<(Authenticator, i64), FailureReason>> {
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
        // Counted per calling client (by its id: names need not be unique), not per address:
        // a gateway's address carries everyone behind it.
        let caller_key = caller.id.as_deref().unwrap_or(&caller.name);
        let meta = &RequestMeta { throttle_source: Some(format!("client:{}", caller_key)), ..meta.clone() };
        let mut limits = throttle::Limits::default();
        if let Some(free) = self.verify_caller_limits.get(&caller.name) {
            limits.free_per_source = *free;
        }
        let claim = self.attempts.claim_attempt_within(&username, user.as_ref(), &["otp"], meta, limits).await?;
        let candidate = match &user {
            Some(u) => self.match_otp(u, code).await?,
            None => Err(FailureReason::UnknownUser),
        };
        let failure_reason = candidate.as_ref().err().copied().unwrap_or(FailureReason::ReplayedCode);
        let success =
            self.attempts.sign_in_event(&username, user.as_ref(), None, meta).claimed(claim.id).with_methods(&["otp"]);
        let failure = self
            .attempts
            .sign_in_event(&username, user.as_ref(), Some(failure_reason), meta)
            .claimed(claim.id)
            .with_methods(&["otp"]);
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

    /// Whether `user` has a method that reaches strength `acr`.
    pub(crate) async fn can_reach(&self, user: &twofold_core::identity::User, acr: &str) -> AppResult<bool> {
        let methods = self.store.authenticators(user.id).await?;
        let passkey = |attested: bool| {
            methods.iter().any(|a| {
                a.is_confirmed()
                    && a.kind == twofold_core::factors::authenticator::AuthenticatorKind::Webauthn
                    && (a.attested || !attested)
            })
        };
        Ok(match acr {
            "phrh" => passkey(true),
            "phr" => passkey(false),
            "mfa" => self.has_second_factor(user).await?,
            _ => true,
        })
    }

    /// Checks a typed code: an app or token code first, then an email or SMS code sent to
    /// the user. The RFC 8176 method it proves (`otp`, or `sms` for a text message), and
    /// whether it came through a retired channel.
    pub(crate) async fn check_code(
        &self,
        user: &User,
        code: &str,
    ) -> AppResult<Result<(&'static str, bool), FailureReason>> {
        match self.check_otp(user, code).await? {
            Ok(a) => Ok(Ok((a.kind.amr(), false))),
            Err(FailureReason::WrongCode) => Ok(self
                .redeem_sign_in_code(user, code)
                .await?
                .map(|(a, retired)| (a.kind.amr(), retired))
                .ok_or(FailureReason::WrongCode)),
            Err(reason) => Ok(Err(reason)),
        }
    }

    /// Checks a one-time code and wins its step or counter atomically (the sign-in path).
    pub(crate) async fn check_otp(&self, user: &User, code: &str) -> AppResult<Result<Authenticator, FailureReason>> {
        match self.match_otp(user, code).await? {
            Ok((a, step)) if self.store.use_otp_step(a.id, step, a.drift_steps, self.now()).await? => Ok(Ok(a)),
            Ok(_) => Ok(Err(FailureReason::ReplayedCode)),
            Err(reason) => Ok(Err(reason)),
        }
    }

    /// Uses one of the person's recovery codes, telling them how many are left.
    pub(crate) async fn use_recovery_code(
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
}
