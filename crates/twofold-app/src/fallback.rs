//! Email and SMS one-time codes: enrolling a fallback method (with its test authentication),
//! sending a sign-in code, and redeeming one. Allowed only where the fallback policy allows
//! the channel for the person's tier, and only until the channel's end date.

use twofold_core::authenticator::{self, Authenticator, AuthenticatorKind};
use twofold_core::fallback::{self, CodePurpose, OneTimeCode};
use twofold_core::identity::User;
use twofold_core::mail;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::{App, AppError, AppResult, RequestMeta};

/// A code on its way: which method it went through and where, masked for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSent {
    /// The email or SMS method.
    pub authenticator_id: Uuid,
    /// `a•••@example.com` or `•••• 0123`.
    pub masked_destination: String,
    /// Minutes the code stays valid.
    pub valid_minutes: i64,
}

impl App {
    /// The fallback methods `user` may use now (confirmed, allowed for their tier today).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn usable_fallbacks(&self, user: &User) -> AppResult<Vec<Authenticator>> {
        let now = self.now();
        Ok(self
            .store
            .authenticators(user.id)
            .await?
            .into_iter()
            .filter(|a| a.is_confirmed() && self.fallback_policy.allows(a.kind, user.tier, now).is_ok())
            .collect())
    }

    /// Whether `user` may enrol `kind` now (for showing the choice at all).
    #[must_use]
    pub fn may_enrol_fallback(&self, user: &User, kind: AuthenticatorKind) -> bool {
        self.fallback_policy.allows(kind, user.tier, self.now()).is_ok()
            && (kind != AuthenticatorKind::EmailOtp || user.email.is_some())
    }

    /// Starts adding an email (`phone` = `None`) or SMS method and sends its confirmation
    /// code; the method counts once [`App::confirm_fallback`] sees that code.
    ///
    /// # Errors
    /// Step-up required; the channel not allowed for the user; no email address; a malformed
    /// phone number; too many sends; delivery failure.
    pub async fn begin_fallback_enrolment(
        &self,
        current: &Authenticated,
        kind: AuthenticatorKind,
        phone: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        self.require_fresh_mfa(current).await?;
        let user = &current.user;
        self.fallback_policy.allows(kind, user.tier, self.now()).map_err(|e| AppError::Forbidden(e.to_string()))?;
        let (destination, name) = match kind {
            AuthenticatorKind::EmailOtp => {
                let email = user.email.clone().ok_or_else(|| {
                    AppError::Conflict("your account has no email address; ask your help desk to add one".into())
                })?;
                (email, "Email".to_owned())
            }
            AuthenticatorKind::SmsOtp => {
                let phone = fallback::check_phone(phone.unwrap_or_default())?;
                let name = fallback::mask_destination(&phone).replace('•', "").trim().to_owned();
                (phone, format!("Phone ending {name}"))
            }
            _ => return Err(AppError::Forbidden("not an email or SMS method".into())),
        };
        let id = Uuid::now_v7();
        let authenticator = Authenticator {
            id,
            user_id: Some(user.id),
            kind,
            name: authenticator::check_name(&name)?,
            serial: None,
            destination: Some(destination),
            attested: false,
            credential: None,
            otp: None,
            last_used_step: None,
            drift_steps: 0,
            sealed_secret: Vec::new(),
            created_at: self.now(),
            confirmed_at: None,
            last_used_at: None,
        };
        self.store.create_authenticator(&authenticator, &self.audit_context(&current.actor(), meta)).await?;
        self.send_code(current, &authenticator, CodePurpose::Enrol, meta).await
    }

    /// Finishes adding an email or SMS method with the code sent to it.
    ///
    /// # Errors
    /// A wrong, used or expired code; an unknown or already confirmed method.
    pub async fn confirm_fallback(
        &self,
        current: &Authenticated,
        authenticator_id: Uuid,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let a = self.own_authenticator(&current.user, authenticator_id).await?;
        if a.is_confirmed() {
            return Err(AppError::Conflict("this method is already set up".into()));
        }
        let wrong = || twofold_core::ValidationErrors::one("code", "that code is wrong, used or expired");
        let normalized = fallback::normalize(code).ok_or_else(wrong)?;
        let hash = fallback::hash_code(&self.keys()?.recovery, current.user.id, &normalized);
        let redeemed = self.store.redeem_one_time_code(current.user.id, CodePurpose::Enrol, &hash, self.now()).await?;
        if redeemed != Some(a.id) {
            return Err(wrong().into());
        }
        if !self.store.confirm_authenticator(a.id, 0, &self.audit_context(&current.actor(), meta)).await? {
            return Err(AppError::Conflict("this method is already set up".into()));
        }
        self.notify(mail::method_added(&current.user, a.kind.label(), &a.name, self.now()));
        Ok(())
    }

    /// Sends a sign-in code through one of the user's email or SMS methods (second step of
    /// sign-in or a step-up).
    ///
    /// # Errors
    /// Not one of the user's usable fallback methods; too many sends; delivery failure.
    pub async fn send_sign_in_code(
        &self,
        current: &Authenticated,
        authenticator_id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        let a = self
            .usable_fallbacks(&current.user)
            .await?
            .into_iter()
            .find(|a| a.id == authenticator_id)
            .ok_or(AppError::NotFound("email or SMS method"))?;
        self.send_code(current, &a, CodePurpose::SignIn, meta).await
    }

    /// Uses a sign-in code sent to the user; the method it went through, if it is still allowed.
    pub(crate) async fn redeem_sign_in_code(&self, user: &User, code: &str) -> AppResult<Option<Authenticator>> {
        let Some(normalized) = fallback::normalize(code) else { return Ok(None) };
        let hash = fallback::hash_code(&self.keys()?.recovery, user.id, &normalized);
        let Some(id) = self.store.redeem_one_time_code(user.id, CodePurpose::SignIn, &hash, self.now()).await? else {
            return Ok(None);
        };
        let a = self.store.authenticator(id).await?;
        // A code sent before the channel ended (or before a tier change) no longer counts.
        Ok(a.filter(|a| a.is_confirmed() && self.fallback_policy.allows(a.kind, user.tier, self.now()).is_ok()))
    }

    /// Resends through one method for one purpose are limited (wait 30 s, five an hour).
    async fn check_send_limit(&self, authenticator_id: Uuid, purpose: CodePurpose) -> AppResult<()> {
        let now = self.now();
        let since = now.plus_seconds(-fallback::SEND_WINDOW_SECS);
        let recent = self.store.one_time_code_sends(authenticator_id, purpose, since).await?;
        fallback::may_send(&recent, now)
            .map_err(|limited| AppError::Throttled { retry_after_secs: limited.retry_after_secs })
    }

    async fn send_code(
        &self,
        current: &Authenticated,
        a: &Authenticator,
        purpose: CodePurpose,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        self.check_send_limit(a.id, purpose).await?;
        let destination =
            a.destination.clone().ok_or_else(|| AppError::Internal("method has no destination".into()))?;
        let code = fallback::generate_code();
        let now = self.now();
        let record = OneTimeCode {
            id: Uuid::now_v7(),
            user_id: current.user.id,
            authenticator_id: a.id,
            purpose,
            code_hash: fallback::hash_code(&self.keys()?.recovery, current.user.id, &code),
            created_at: now,
            expires_at: now.plus_seconds(fallback::CODE_LIFETIME_SECS),
        };
        self.store.create_one_time_code(&record, &destination, &self.audit_context(&current.actor(), meta)).await?;
        let undelivered = |e: String| {
            tracing::warn!(kind = a.kind.as_str(), error = %e, "one-time code not delivered");
            AppError::Unavailable("the code could not be sent; try again or use another method".into())
        };
        match a.kind {
            AuthenticatorKind::EmailOtp => {
                let mailer = self.mailer.clone().ok_or_else(|| undelivered("no SMTP relay configured".into()))?;
                let email = fallback::code_email(&current.user, &destination, &code, purpose);
                mailer.send(&email).await.map_err(|e| undelivered(e.to_string()))?;
            }
            AuthenticatorKind::SmsOtp => {
                let gateway = self.sms.clone().ok_or_else(|| undelivered("no SMS webhook configured".into()))?;
                gateway.send(&destination, &fallback::code_text(&code, purpose)).await.map_err(|e| undelivered(e.0))?;
            }
            _ => return Err(AppError::Internal("not an email or SMS method".into())),
        }
        metrics::counter!("twofold_one_time_codes_sent_total", "kind" => a.kind.as_str()).increment(1);
        Ok(CodeSent {
            authenticator_id: a.id,
            masked_destination: fallback::mask_destination(&destination),
            valid_minutes: fallback::CODE_LIFETIME_SECS / 60,
        })
    }
}
