//! Changing a person's sign-in methods: adding an authenticator app (with its test
//! authentication), the rules every confirmation of a new method follows (the same fresh
//! second factor as starting, a recent enrolment, a first method confirmed atomically and
//! renewing the session), replacing, renaming and removing methods, and recovery codes.
//! THREATS: enrolment hijack, enrolment left half-open.

use super::Factors;
use twofold_core::factors::authenticator::{self, Authenticator, AuthenticatorKind};
use twofold_core::factors::otp::{self, TotpParams};
use twofold_core::factors::recovery;
use twofold_core::identity::User;
use twofold_core::signin::session::{AuthContext, FRESH_MFA_SECS, Session};
use twofold_core::{mail, sealed};
use uuid::Uuid;

use crate::factors::mfa::TotpEnrolment;
use crate::signin::{Authenticated, SignedIn};
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

impl Factors {
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

    /// An authenticator app set-up of `current`'s still waiting for its first code (not
    /// confirmed, not expired), to show its QR code and key again after a wrong code. Only the
    /// page that started it asks (the HTTP edge checks the session it was shown to).
    ///
    /// # Errors
    /// Not found when it is not theirs, not pending, or expired.
    pub async fn pending_totp_enrolment(&self, current: &Authenticated, id: Uuid) -> AppResult<TotpEnrolment> {
        let a = self.own_authenticator(&current.user, id).await?;
        if a.kind != AuthenticatorKind::Totp || a.is_confirmed() || a.enrolment_expired(self.now()) {
            return Err(AppError::NotFound("authenticator app set-up"));
        }
        let secret = self.open_secret(&a)?;
        let account = current.user.email.clone().unwrap_or_else(|| current.user.username.clone());
        Ok(TotpEnrolment {
            otpauth_uri: otp::otpauth_uri("Twofold", &account, &secret, a.otp.unwrap_or_default()),
            secret_base32: otp::base32_encode(&secret),
            authenticator: a,
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
    /// in the same step and stops working at once. Needs the same fresh second factor as
    /// starting (see [`App::check_confirmation`]); the enrolment must be recent.
    ///
    /// # Errors
    /// Step-up required; a wrong or malformed code; an unknown, expired or already confirmed
    /// authenticator; an unknown method to replace.
    pub async fn confirm_totp(
        &self,
        current: &Authenticated,
        id: Uuid,
        code: &str,
        replaces: Option<Uuid>,
        meta: &RequestMeta,
    ) -> AppResult<Option<SignedIn>> {
        let replaced = self.check_confirmation(current, replaces, id).await?;
        let a = self.pending_enrolment(current, id, meta).await?;
        let secret = self.open_secret(&a)?;
        let step = otp::verify_totp(&secret, a.otp.unwrap_or_default(), code, self.now(), 0, None)
            .map_err(|e| twofold_core::ValidationErrors::one("code", e.to_string()))?;
        self.confirm_new_method(current, &a, step, meta).await?;
        self.notify(mail::method_added(&current.user, a.kind.label(), &a.name, self.now()));
        self.retire(current, replaced, meta).await?;
        self.after_first_method(current, "otp", meta).await
    }

    /// The user's enrolment `id` waiting for its test authentication: not one already set up,
    /// nor one left waiting too long (which is removed, so it cannot be confirmed later).
    pub(crate) async fn pending_enrolment(
        &self,
        current: &Authenticated,
        id: Uuid,
        meta: &RequestMeta,
    ) -> AppResult<Authenticator> {
        let a = self.own_authenticator(&current.user, id).await?;
        if a.is_confirmed() {
            return Err(AppError::Refused(Refusal::MethodAlreadySetUp));
        }
        if a.enrolment_expired(self.now()) {
            self.store.remove_authenticator(&a, &self.audit_context(&current.actor(), meta)).await?;
            return Err(AppError::Refused(Refusal::EnrolmentExpired));
        }
        Ok(a)
    }

    /// What confirming a new method needs, checked before it is confirmed so a refused
    /// request changes nothing (THREATS: enrolment left half-open): the same fresh second
    /// factor as starting one whenever the account has a method by now (an enrolment begun
    /// on a password-only session before the person set up their own cannot be finished on
    /// it), and for a `replaces`, always a fresh second factor. The method it replaces.
    pub(crate) async fn check_confirmation(
        &self,
        current: &Authenticated,
        replaces: Option<Uuid>,
        new_id: Uuid,
    ) -> AppResult<Option<Authenticator>> {
        self.require_fresh_mfa(current).await?;
        let replaced = self.method_to_replace(current, replaces, new_id).await?;
        if replaced.is_some()
            && (!current.session.auth.may_change_methods(self.now(), FRESH_MFA_SECS)
                || current.session.auth.is_access_pass_only())
        {
            return Err(AppError::StepUpRequired);
        }
        Ok(replaced)
    }

    /// Confirms a new method after its test authentication. A session that may not change
    /// methods got this far only because the person had none: its confirmation then holds
    /// only while that is still so, decided atomically (the person's own first method,
    /// confirmed meanwhile, turns it into a step-up).
    pub(crate) async fn confirm_new_method(
        &self,
        current: &Authenticated,
        a: &Authenticator,
        step: i64,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let ctx = self.audit_context(&current.actor(), meta);
        let confirmed = if current.session.auth.may_change_methods(self.now(), FRESH_MFA_SECS) {
            self.store.confirm_authenticator(a.id, step, &ctx).await?
        } else {
            self.store.confirm_first_authenticator(a.id, current.user.id, step, &ctx).await?
        };
        if confirmed {
            return Ok(());
        }
        match self.store.authenticator(a.id).await? {
            Some(stored) if stored.is_confirmed() => Err(AppError::Refused(Refusal::MethodAlreadySetUp)),
            _ => Err(AppError::StepUpRequired),
        }
    }

    /// After a method's test authentication on a session that had proved no second factor
    /// (the person's first method): that test is the session's second factor now, so it is
    /// replaced by one (new id) that records it; otherwise nothing changes.
    pub(crate) async fn after_first_method(
        &self,
        current: &Authenticated,
        method: &str,
        meta: &RequestMeta,
    ) -> AppResult<Option<SignedIn>> {
        if current.session.auth.amr.iter().any(|m| m == "mfa") {
            return Ok(None);
        }
        let now = self.now();
        // The first step was the password, or a temporary access pass from the help desk.
        let first = if current.session.auth.is_access_pass_only() {
            twofold_core::factors::access_pass::ACCESS_PASS_AMR
        } else {
            "pwd"
        };
        let auth = AuthContext {
            amr: vec![first.into(), method.to_owned(), "mfa".into()],
            acr: if method == "hwk" { "phr" } else { "mfa" }.into(),
            auth_time: Some(now),
        };
        let (token, session) = Session::start(
            current.user.id,
            auth.clone(),
            self.settings.session_policy,
            now,
            meta.ip.clone(),
            meta.user_agent.clone(),
        );
        let actor = Actor { auth, ..current.actor() };
        let reason = "the test authentication of the first method";
        if !self
            .store
            .renew_session(&current.session.id_hash, &session, reason, &self.audit_context(&actor, meta))
            .await?
        {
            return Err(AppError::Unauthenticated);
        }
        Ok(Some(SignedIn { token, session, user: current.user.clone(), has_second_factor: true, strength: None }))
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

    /// Renames one of the user's authenticators (a change of methods: fresh second factor).
    ///
    /// # Errors
    /// Step-up required, an invalid name or an unknown authenticator.
    pub async fn rename_authenticator(
        &self,
        current: &Authenticated,
        id: Uuid,
        name: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.require_fresh_mfa_for_existing(current).await?;
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
        self.require_fresh_mfa_for_existing(current).await?;
        let a = self.own_authenticator(&current.user, id).await?;
        let all = self.store.authenticators(current.user.id).await?;
        if let Some(refusal) = authenticator::removal_refusal(&all, a.id) {
            return Err(AppError::Refused(Refusal::LastMethod(refusal)));
        }
        if self.store.remove_authenticator(&a, &self.audit_context(&current.actor(), meta)).await? && a.is_confirmed() {
            self.notify(mail::method_removed(&current.user, a.kind.label(), &a.name, self.now()));
        }
        Ok(())
    }

    /// What renaming, removing or replacing a method the person has needs: the fresh second
    /// factor of any change, and more than a temporary access pass. A pass adds methods; it
    /// never takes the person's away (THREATS: temporary access pass abuse).
    async fn require_fresh_mfa_for_existing(&self, current: &Authenticated) -> AppResult<()> {
        self.require_fresh_mfa(current).await?;
        if current.session.auth.is_access_pass_only() {
            return Err(AppError::StepUpRequired);
        }
        Ok(())
    }
}
