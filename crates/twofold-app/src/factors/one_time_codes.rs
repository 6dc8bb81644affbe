//! Email and SMS one-time codes: enrolling a fallback method (with its test authentication),
//! sending a sign-in code, and redeeming one. Allowed only where the fallback policy allows
//! the channel for the person's tier, and only until the channel's end date.

use super::Factors;
use twofold_core::factors::authenticator::{self, Authenticator, AuthenticatorKind};
use twofold_core::factors::one_time_codes::{self, CodePurpose, OneTimeCode};
use twofold_core::identity::User;
use twofold_core::mail;
use uuid::Uuid;

use crate::signin::Authenticated;
use crate::{AppError, AppResult, Refusal, RequestMeta};

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

impl Factors {
    /// The fallback methods `user` may use now (confirmed, allowed for their tier today); when
    /// none is and they have no other usable second factor, their retired ones, whose codes
    /// prove only enough to set up a replacement.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn usable_fallbacks(&self, user: &User) -> AppResult<Vec<Authenticator>> {
        // One read: whether anything is usable is judged from the same list.
        let confirmed: Vec<Authenticator> =
            self.store.authenticators(user.id).await?.into_iter().filter(Authenticator::is_confirmed).collect();
        let usable: Vec<Authenticator> =
            confirmed.iter().filter(|a| a.kind.is_fallback() && self.usable_now(a, user)).cloned().collect();
        if !usable.is_empty() || confirmed.iter().any(|a| self.usable_now(a, user)) {
            return Ok(usable);
        }
        // Nothing usable is left: a retired channel may still prove the person, to replace it.
        Ok(confirmed.into_iter().filter(|a| a.kind.is_fallback()).collect())
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
        self.fallback_policy
            .allows(kind, user.tier, self.now())
            .map_err(|e| AppError::Refused(Refusal::Fallback(e)))?;
        let (destination, name) = match kind {
            AuthenticatorKind::EmailOtp => {
                let email = user.email.clone().ok_or(AppError::Refused(Refusal::NoEmailAddress))?;
                (email, "Email".to_owned())
            }
            AuthenticatorKind::SmsOtp => {
                let phone = one_time_codes::check_phone(phone.unwrap_or_default())?;
                if let Err(refusal) =
                    one_time_codes::check_sms_destination(&phone, &self.fallback_policy.sms.allowed_calling_codes)
                {
                    self.refuse_send(
                        current,
                        kind,
                        "number_not_allowed",
                        &one_time_codes::mask_destination(&phone),
                        meta,
                    )
                    .await?;
                    return Err(AppError::Refused(Refusal::Fallback(refusal)));
                }
                let name = one_time_codes::mask_destination(&phone).replace('•', "").trim().to_owned();
                (phone, format!("Phone ending {name}"))
            }
            _ => return Err(AppError::Refused(Refusal::Fallback(one_time_codes::FallbackRefusal::NotAFallback))),
        };
        let now = self.now();
        let waiting = self
            .store
            .authenticators(user.id)
            .await?
            .iter()
            .filter(|a| a.kind.is_fallback() && !a.is_confirmed() && !a.enrolment_expired(now))
            .count();
        if waiting >= one_time_codes::MAX_PENDING_ENROLMENTS {
            self.refuse_send(current, kind, "too_many_pending", &one_time_codes::mask_destination(&destination), meta)
                .await?;
            return Err(AppError::Refused(Refusal::TooManyPendingSetUps));
        }
        // Claimed before anything is created, so a refused send leaves nothing behind.
        self.claim_send(current, kind, CodePurpose::Enrol, &destination, meta).await?;
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
        self.deliver_code(current, &authenticator, CodePurpose::Enrol, meta).await
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
    ) -> AppResult<Option<crate::signin::SignedIn>> {
        self.check_confirmation(current, None, authenticator_id).await?;
        let a = self.pending_enrolment(current, authenticator_id, meta).await?;
        let wrong = || twofold_core::ValidationErrors::one("code", "that code is wrong, used or expired");
        let normalized = one_time_codes::normalize(code).ok_or_else(wrong)?;
        let hash = one_time_codes::hash_code(&self.keys()?.recovery, current.user.id, &normalized);
        let redeemed = self.store.redeem_one_time_code(current.user.id, CodePurpose::Enrol, &hash, self.now()).await?;
        if redeemed != Some(a.id) {
            return Err(wrong().into());
        }
        self.confirm_new_method(current, &a, 0, meta).await?;
        self.notify(mail::method_added(&current.user, a.kind.label(), &a.name, self.now()));
        self.after_first_method(current, a.kind.amr(), meta).await
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

    /// Uses a sign-in code sent to the user: the method it went through, and whether that
    /// channel is retired (no longer allowed, so the code proves only enough to replace it;
    /// counted so only while the person has nothing usable).
    pub(crate) async fn redeem_sign_in_code(
        &self,
        user: &User,
        code: &str,
    ) -> AppResult<Option<(Authenticator, bool)>> {
        let Some(normalized) = one_time_codes::normalize(code) else { return Ok(None) };
        let hash = one_time_codes::hash_code(&self.keys()?.recovery, user.id, &normalized);
        let Some(id) = self.store.redeem_one_time_code(user.id, CodePurpose::SignIn, &hash, self.now()).await? else {
            return Ok(None);
        };
        let Some(a) = self.store.authenticator(id).await?.filter(Authenticator::is_confirmed) else { return Ok(None) };
        if self.fallback_policy.allows(a.kind, user.tier, self.now()).is_ok() {
            return Ok(Some((a, false)));
        }
        // A code sent before the channel ended (or before a tier change) is no second factor.
        let retired_only = !self.has_second_factor(user).await?;
        Ok(retired_only.then_some((a, true)))
    }

    /// Resends through one method for one purpose are limited (wait 30 s, five an hour).
    async fn check_send_limit(&self, authenticator_id: Uuid, purpose: CodePurpose) -> AppResult<()> {
        let now = self.now();
        let since = now.plus_seconds(-one_time_codes::SEND_WINDOW_SECS);
        let recent = self.store.one_time_code_sends(authenticator_id, purpose, since).await?;
        one_time_codes::may_send(&recent, now)
            .map_err(|limited| AppError::Throttled { retry_after_secs: limited.retry_after_secs })
    }

    /// Claims a send to the person from the request's source, across all their methods and
    /// enrolments (in the database, so every node agrees); a refusal is counted and audited.
    /// Sends of one channel and purpose (`sms_otp:enrol`) are spaced apart per person.
    async fn claim_send(
        &self,
        current: &Authenticated,
        kind: AuthenticatorKind,
        purpose: CodePurpose,
        destination: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let channel = format!("{}:{}", kind.as_str(), purpose.as_str());
        let source = meta.ip.as_deref().map(twofold_core::signin::throttle::source_key);
        match self.store.claim_code_send(current.user.id, source.as_deref(), &channel, self.now()).await? {
            Ok(()) => Ok(()),
            Err(limited) => {
                self.refuse_send(current, kind, "send_limit", &one_time_codes::mask_destination(destination), meta)
                    .await?;
                Err(AppError::Throttled { retry_after_secs: limited.retry_after_secs })
            }
        }
    }

    /// Counts and audits a code that was not sent, and why.
    async fn refuse_send(
        &self,
        current: &Authenticated,
        kind: AuthenticatorKind,
        reason: &'static str,
        masked_destination: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        metrics::counter!("twofold_one_time_codes_refused_total", "kind" => kind.as_str(), "reason" => reason)
            .increment(1);
        let change = twofold_core::audit::Change::new(
            twofold_core::audit::AuditAction::OneTimeCodeRefused,
            Some(current.user.id.to_string()),
        )
        .states(
            None,
            Some(serde_json::json!({ "kind": kind.as_str(), "reason": reason, "destination": masked_destination })),
        );
        Ok(self.store.append_audit(&change, &self.audit_context(&current.actor(), meta)).await?)
    }

    /// Sends a code through an existing method: within its own resend limit, then the
    /// person's and the source's.
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
        // A number set up before the allow-list changed is checked again at every send.
        if a.kind == AuthenticatorKind::SmsOtp
            && let Err(refusal) =
                one_time_codes::check_sms_destination(&destination, &self.fallback_policy.sms.allowed_calling_codes)
        {
            self.refuse_send(
                current,
                a.kind,
                "number_not_allowed",
                &one_time_codes::mask_destination(&destination),
                meta,
            )
            .await?;
            return Err(AppError::Refused(Refusal::Fallback(refusal)));
        }
        self.claim_send(current, a.kind, purpose, &destination, meta).await?;
        self.deliver_code(current, a, purpose, meta).await
    }

    /// Makes, stores and delivers a code through `a` (its send already claimed).
    async fn deliver_code(
        &self,
        current: &Authenticated,
        a: &Authenticator,
        purpose: CodePurpose,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        let destination =
            a.destination.clone().ok_or_else(|| AppError::Internal("method has no destination".into()))?;
        let code = one_time_codes::generate_code();
        let now = self.now();
        let record = OneTimeCode {
            id: Uuid::now_v7(),
            user_id: current.user.id,
            authenticator_id: a.id,
            purpose,
            code_hash: one_time_codes::hash_code(&self.keys()?.recovery, current.user.id, &code),
            created_at: now,
            expires_at: now.plus_seconds(one_time_codes::CODE_LIFETIME_SECS),
        };
        self.store.create_one_time_code(&record, &destination, &self.audit_context(&current.actor(), meta)).await?;
        let undelivered = |e: String| {
            tracing::warn!(kind = a.kind.as_str(), error = %e, "one-time code not delivered");
            AppError::Unavailable("the code could not be sent; try again or use another method".into())
        };
        match a.kind {
            AuthenticatorKind::EmailOtp => {
                let mailer = self.mailer.clone().ok_or_else(|| undelivered("no SMTP relay configured".into()))?;
                let email = one_time_codes::code_email(&current.user, &destination, &code, purpose);
                mailer.send(&email).await.map_err(|e| undelivered(e.to_string()))?;
            }
            AuthenticatorKind::SmsOtp => {
                let gateway = self.sms.clone().ok_or_else(|| undelivered("no SMS webhook configured".into()))?;
                gateway
                    .send(&destination, &one_time_codes::code_text(&code, purpose))
                    .await
                    .map_err(|e| undelivered(e.0))?;
            }
            _ => return Err(AppError::Internal("not an email or SMS method".into())),
        }
        metrics::counter!("twofold_one_time_codes_sent_total", "kind" => a.kind.as_str()).increment(1);
        Ok(CodeSent {
            authenticator_id: a.id,
            masked_destination: one_time_codes::mask_destination(&destination),
            valid_minutes: one_time_codes::CODE_LIFETIME_SECS / 60,
        })
    }
}
