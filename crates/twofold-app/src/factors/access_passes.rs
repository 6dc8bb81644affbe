//! Temporary access passes (issued on a verified support case, checked at sign-in) and what
//! someone with no method yet must prove to enrol a first one (THREATS: enrolment hijack,
//! temporary access pass abuse).

use super::Factors;
use twofold_core::factors::access_pass::{self, AccessPass};
use twofold_core::factors::first_enrolment::{EMAILED_CODE_AMR, FirstEnrolmentPolicy};
use twofold_core::factors::one_time_codes::{self, CodePurpose, OneTimeCode};
use twofold_core::identity::User;
use twofold_core::signin::session::{AuthContext, Session};
use uuid::Uuid;

use crate::factors::one_time_codes::CodeSent;
use crate::signin::{Authenticated, SignedIn};
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

/// A pass just issued: the passcode is shown once, to the operator, and kept nowhere.
#[derive(Debug, Clone)]
pub struct IssuedAccessPass {
    /// The passcode (`xxxx-xxxx-xxxx-xxxx`).
    pub passcode: String,
    /// The pass as stored (its hash only).
    pub pass: AccessPass,
}

impl Factors {
    /// Issues a pass for `target` on support case `case` (the caller has checked the case
    /// allows it), revoking their earlier passes; the person is told by mail.
    ///
    /// # Errors
    /// A lifetime outside the policy's bounds; no master key; storage failures.
    pub(crate) async fn issue_access_pass(
        &self,
        target: &User,
        case: Uuid,
        lifetime_secs: Option<i64>,
        single_use: bool,
        operator: &Actor,
        meta: &RequestMeta,
    ) -> AppResult<IssuedAccessPass> {
        let lifetime = self.access_pass_policy.lifetime(lifetime_secs)?;
        let passcode = access_pass::generate();
        let normalized = access_pass::normalize(&passcode)
            .ok_or_else(|| AppError::Internal("a generated passcode did not normalise".into()))?;
        let now = self.now();
        let pass = AccessPass {
            id: Uuid::now_v7(),
            user_id: target.id,
            case_id: Some(case),
            pass_hash: access_pass::hash(&self.keys()?.recovery, target.id, &normalized),
            issued_by: operator.name.clone(),
            created_at: now,
            expires_at: now.plus_seconds(lifetime),
            single_use,
            used_at: None,
            revoked_at: None,
        };
        let ctx = self.audit_context(operator, meta).on_case(case);
        self.store.issue_access_pass(&pass, &target.username, &ctx).await?;
        self.notify(twofold_core::mail::access_pass_issued(target, &operator.name, pass.expires_at));
        Ok(IssuedAccessPass { passcode, pass })
    }

    /// Uses the person's pass that `typed` is, if it is usable now: the pass, or `None` for
    /// a wrong, used, revoked or expired one (the same answer for each).
    pub(crate) async fn use_access_pass(
        &self,
        user: &User,
        typed: &str,
        meta: &RequestMeta,
    ) -> AppResult<Option<AccessPass>> {
        let keys = self.keys()?;
        let now = self.now();
        let passes = self.store.access_passes(user.id).await?;
        let Some(pass) =
            passes.into_iter().find(|p| p.is_usable(now) && access_pass::matches(&keys.recovery, p, typed))
        else {
            return Ok(None);
        };
        let actor = Actor {
            kind: twofold_core::audit::ActorKind::User,
            id: Some(user.id.to_string()),
            name: user.username.clone(),
            auth: AuthContext::default(),
        };
        let mut ctx = self.audit_context(&actor, meta);
        ctx.case = pass.case_id;
        if !self.store.use_access_pass(pass.id, &user.username, now, &ctx).await? {
            return Ok(None);
        }
        self.notify(twofold_core::mail::access_pass_used(user, now, meta.ip.as_deref()));
        Ok(Some(pass))
    }

    /// The work of checking `typed` against a pass, for an attempt that names nobody, so its
    /// timing matches one that names a person.
    pub(crate) fn hash_for_nobody(&self, typed: &str) -> AppResult<()> {
        let normalized = access_pass::normalize(typed).unwrap_or_default();
        let _ = access_pass::hash(&self.keys()?.recovery, Uuid::nil(), &normalized);
        Ok(())
    }

    /// Whether someone with no method yet may enrol one on this session, by the
    /// organisation's first-method rule: the access policy's where one of its rules about
    /// `enrol_first_method` matches, else `[enrolment] first_method` (the address the
    /// session signed in from counts for a named network).
    ///
    /// # Errors
    /// [`Refusal::FirstMethodNeedsProof`] saying what would do; a policy that cannot be read.
    pub(crate) async fn may_enrol_first(&self, current: &Authenticated) -> AppResult<()> {
        let ip = current.session.ip.as_deref().and_then(|ip| ip.parse().ok());
        let from_policy = match self.access.get().and_then(std::sync::Weak::upgrade) {
            Some(access) => access.first_method_rule(&current.user, ip).await?,
            None => None,
        };
        let policy = FirstEnrolmentPolicy {
            rule: twofold_core::access::first_method::combined(self.first_enrolment.rule, from_policy),
            networks: self.first_enrolment.networks.clone(),
        };
        policy.allows(&current.session.auth, ip, current.user.email.is_some()).map_err(|needs| {
            AppError::Refused(Refusal::FirstMethodNeedsProof { email_code: needs.email_code, network: needs.network })
        })
    }

    /// Whether this session may set up a first method now, for pages to show the set-up or
    /// what to prove first (`None` when it may, or when the person has a method already).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn first_method_needs(&self, current: &Authenticated) -> AppResult<Option<Refusal>> {
        if self.has_any_method(&current.user).await? {
            return Ok(None);
        }
        match self.may_enrol_first(current).await {
            Ok(()) => Ok(None),
            Err(AppError::Refused(refusal)) => Ok(Some(refusal)),
            Err(other) => Err(other),
        }
    }

    /// Sends a code to the email address on file so the person may enrol a first method.
    ///
    /// # Errors
    /// The person has a method already (they prove it instead), or no address on file; send
    /// limits; delivery failure.
    pub async fn send_first_method_code(&self, current: &Authenticated, meta: &RequestMeta) -> AppResult<CodeSent> {
        if self.has_any_method(&current.user).await? {
            return Err(AppError::StepUpRequired);
        }
        self.send_code_on_file(&current.user, CodePurpose::FirstMethod, current.user.id, &current.actor(), meta).await
    }

    /// Proves the code sent by [`Self::send_first_method_code`]: the session is renewed with
    /// the proof recorded (`amr` gains `email_on_file`; `acr` stays `pwd`).
    ///
    /// # Errors
    /// A wrong, used or expired code; a session that changed meanwhile.
    pub async fn prove_first_method_code(
        &self,
        current: &Authenticated,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<SignedIn> {
        if !self.redeem_code_on_file(&current.user, CodePurpose::FirstMethod, current.user.id, code).await? {
            return Err(twofold_core::ValidationErrors::one("code", "that code is wrong, used or expired").into());
        }
        let mut auth = current.session.auth.clone();
        if !auth.amr.iter().any(|m| m == EMAILED_CODE_AMR) {
            auth.amr.push(EMAILED_CODE_AMR.into());
        }
        let now = self.now();
        let (token, session) = Session::start(
            current.user.id,
            auth.clone(),
            self.settings.session_policy,
            now,
            meta.ip.clone(),
            meta.user_agent.clone(),
        );
        let session = Session { absolute_expires_at: current.session.absolute_expires_at, ..session };
        let actor = Actor { auth, ..current.actor() };
        let renewed = self
            .store
            .renew_session(
                &current.session.id_hash,
                &session,
                "the email address on file proved",
                &self.audit_context(&actor, meta),
            )
            .await?;
        if !renewed {
            return Err(AppError::Unauthenticated);
        }
        Ok(SignedIn { token, session, user: current.user.clone(), has_second_factor: false, strength: None })
    }

    /// Sends a code of `purpose` to the email address on `user`'s record (never one typed
    /// in), under the person's and the source's send limits; `reference` ties it to what it
    /// is for (the person, a support case).
    pub(crate) async fn send_code_on_file(
        &self,
        user: &User,
        purpose: CodePurpose,
        reference: Uuid,
        actor: &Actor,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        let email = user.email.clone().ok_or(AppError::Refused(Refusal::NoEmailAddress))?;
        let mailer = self.mailer.clone().ok_or_else(|| {
            AppError::Unavailable("no SMTP relay is configured, so no code can be sent by email".into())
        })?;
        let code = self.record_code_on_file(user, "email_otp", &email, purpose, reference, actor, meta).await?;
        let message = one_time_codes::code_email(user, &email, &code, purpose);
        mailer.send(&message).await.map_err(|e| undelivered(&e.to_string(), purpose))?;
        Ok(sent("email_otp", reference, &email))
    }

    /// Sends a code of `purpose` by text message to the phone number on `user`'s record
    /// (never one typed in), under the send limits and the SMS destination rules.
    pub(crate) async fn send_text_on_file(
        &self,
        user: &User,
        purpose: CodePurpose,
        reference: Uuid,
        actor: &Actor,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        let phone = user
            .phone
            .clone()
            .ok_or(AppError::Refused(Refusal::ChannelUnavailable("the person has no phone number on file")))?;
        let gateway = self.sms.clone().ok_or(AppError::Refused(Refusal::ChannelUnavailable(
            "no SMS webhook is configured ([sms_otp] webhook_url)",
        )))?;
        one_time_codes::check_sms_destination(&phone, &self.fallback_policy.sms.allowed_calling_codes)
            .map_err(|e| AppError::Refused(Refusal::Fallback(e)))?;
        let code = self.record_code_on_file(user, "sms_otp", &phone, purpose, reference, actor, meta).await?;
        gateway
            .send(&phone, &one_time_codes::code_text(&code, purpose))
            .await
            .map_err(|e| undelivered(&e.0, purpose))?;
        Ok(sent("sms_otp", reference, &phone))
    }

    /// Claims a send of `purpose` over `kind` (`email_otp`, `sms_otp`) to `user` from the
    /// request's source, then makes a code and stores its hash (audited `one_time_code.send`,
    /// naming the case when it is for one): the code, to deliver.
    #[allow(clippy::too_many_arguments, reason = "one private step of the two senders above")]
    async fn record_code_on_file(
        &self,
        user: &User,
        kind: &str,
        destination: &str,
        purpose: CodePurpose,
        reference: Uuid,
        actor: &Actor,
        meta: &RequestMeta,
    ) -> AppResult<String> {
        let now = self.now();
        let channel = format!("{kind}:{}", purpose.as_str());
        let source = meta.ip.as_deref().map(twofold_core::signin::throttle::source_key);
        if let Err(limited) = self.store.claim_code_send(user.id, source.as_deref(), &channel, now).await? {
            return Err(AppError::Throttled { retry_after_secs: limited.retry_after_secs });
        }
        let code = one_time_codes::generate_code();
        let record = OneTimeCode {
            id: Uuid::now_v7(),
            user_id: user.id,
            authenticator_id: reference,
            purpose,
            code_hash: one_time_codes::hash_code(&self.keys()?.recovery, user.id, &code),
            created_at: now,
            expires_at: now.plus_seconds(one_time_codes::CODE_LIFETIME_SECS),
        };
        let mut ctx = self.audit_context(actor, meta);
        let for_case = matches!(purpose, CodePurpose::CaseVerification | CodePurpose::CaseVerificationSms);
        ctx.case = Some(reference).filter(|_| for_case);
        self.store.create_one_time_code(&record, destination, &ctx).await?;
        Ok(code)
    }

    /// Redeems a code sent by [`Self::send_code_on_file`] for `reference`, once; a miss counts
    /// against the live codes of that purpose.
    pub(crate) async fn redeem_code_on_file(
        &self,
        user: &User,
        purpose: CodePurpose,
        reference: Uuid,
        code: &str,
    ) -> AppResult<bool> {
        let Some(normalized) = one_time_codes::normalize(code) else { return Ok(false) };
        let hash = one_time_codes::hash_code(&self.keys()?.recovery, user.id, &normalized);
        Ok(self.store.redeem_one_time_code(user.id, purpose, &hash, self.now()).await? == Some(reference))
    }
}

/// A code that could not be delivered: logged, and said plainly.
fn undelivered(error: &str, purpose: CodePurpose) -> AppError {
    tracing::warn!(%error, purpose = purpose.as_str(), "code to the contact on file not delivered");
    AppError::Unavailable("the code could not be sent; try again".into())
}

/// What a page or verb says of a code sent over `kind` to `destination`, counted as sent.
fn sent(kind: &'static str, reference: Uuid, destination: &str) -> CodeSent {
    metrics::counter!("twofold_one_time_codes_sent_total", "kind" => kind).increment(1);
    CodeSent {
        authenticator_id: reference,
        masked_destination: one_time_codes::mask_destination(destination),
        valid_minutes: one_time_codes::CODE_LIFETIME_SECS / 60,
    }
}
