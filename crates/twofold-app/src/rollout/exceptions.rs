//! Exceptions to a campaign's requirement: requested with a reason and an end date, decided
//! by another approver who proves a second factor with the decision, revoked or left to end.

use super::Rollout;
use twofold_core::Timestamp;
use twofold_core::audit::ActorKind;
use twofold_core::identity::{User, normalize_username};
use twofold_core::rollout::exception::{self, Decision, EndReason, Exception};
use twofold_core::signin::session::AuthContext;
use uuid::Uuid;

use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

impl Rollout {
    /// Requests an exception for `username` until `until` (at most the configured maximum
    /// away), with a reason. `requested_by` names the person asking; it is required unless
    /// the actor is a person (the CLI and API keys are not), so that the rule "the approver
    /// is not the requester" always has a requester to compare. Audited `exception.request`.
    ///
    /// # Errors
    /// [`AppError::Invalid`] for a missing reason, an end too far off or no requester; an
    /// unknown user.
    pub async fn request_exception(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        username: &str,
        reason: &str,
        until: Timestamp,
        requested_by: Option<&str>,
    ) -> AppResult<Exception> {
        let now = self.now();
        let requested_by = requested_by.map(str::trim).filter(|name| !name.is_empty());
        let mut errors = match exception::check_request(reason, until, now, self.exception_max_days) {
            Ok(()) => twofold_core::ValidationErrors::default(),
            Err(errors) => errors,
        };
        if requested_by.is_none() && actor.kind != ActorKind::User {
            errors.add("requested_by", "is required: name the person asking for the exception");
        }
        errors.into_result()?;
        let user = self.user_named(username).await?;
        let requested_by = match requested_by {
            Some(name) => self.user_named(name).await?.username,
            None => match actor.id.as_deref().and_then(|id| Uuid::parse_str(id).ok()) {
                Some(id) => self.store.user_by_id(id).await?.ok_or(AppError::NotFound("user"))?.username,
                None => return Err(AppError::NotFound("user")),
            },
        };
        let exception = Exception {
            id: Uuid::now_v7(),
            user_id: user.id,
            username: user.username,
            reason: reason.trim().to_owned(),
            requested_by,
            requested_at: now,
            ends_at: until,
            decision: Decision::Requested,
            approved_by: None,
            approved_at: None,
            ended_by: None,
            ended_at: None,
            end_reason: None,
            attestation_asked_at: None,
            attested_at: None,
        };
        self.store.create_exception(&exception, &self.audit_context(actor, meta)).await?;
        Ok(exception)
    }

    async fn user_named(&self, username: &str) -> AppResult<User> {
        self.store.user_by_username(&normalize_username(username)).await?.ok_or(AppError::NotFound("user"))
    }

    /// The exception with this id (or the unique one whose id starts with it).
    async fn exception(&self, id: &str) -> AppResult<Exception> {
        let id = id.trim().to_ascii_lowercase();
        let mut found =
            self.store.exceptions().await?.into_iter().filter(|e| !id.is_empty() && e.id.to_string().starts_with(&id));
        match (found.next(), found.next()) {
            (Some(one), None) => Ok(one),
            (Some(_), Some(_)) => Err(AppError::Refused(Refusal::AmbiguousExceptionId)),
            _ => Err(AppError::NotFound("exception")),
        }
    }

    /// An approver's decision on a requested exception, with a one-time code from their own
    /// authenticator as the fresh second factor (checked like any code: single use,
    /// throttled, audited). The approver holds the approver role and is neither the
    /// requester nor the person covered. Audited `exception.approve` or `exception.reject`
    /// with the approver as actor.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for a wrong code; [`Refusal::MayNotDecide`] naming why
    /// this approver may not decide; [`Refusal::DecidedMeanwhile`] when decided meanwhile.
    pub async fn decide_exception(
        &self,
        caller: &Actor,
        meta: &RequestMeta,
        id: &str,
        approver: &str,
        code: &str,
        approve: bool,
    ) -> AppResult<Exception> {
        let exception = self.exception(id).await?;
        let approver = self.user_named(approver).await?;
        self.factors.verify_code(caller, &approver.username, code, meta).await?;
        let now = self.now();
        if let Some(refusal) = exception::approval_refusal(&exception, &approver, now) {
            return Err(AppError::Refused(Refusal::MayNotDecide(refusal)));
        }
        let actor = Actor {
            kind: ActorKind::User,
            id: Some(approver.id.to_string()),
            name: approver.username.clone(),
            auth: AuthContext { amr: vec!["otp".into()], acr: "mfa".into(), auth_time: Some(now) },
        };
        let to = if approve { Decision::Approved } else { Decision::Rejected };
        if !self
            .store
            .decide_exception(exception.id, Decision::Requested, to, None, &self.audit_context(&actor, meta))
            .await?
        {
            return Err(AppError::Refused(Refusal::DecidedMeanwhile));
        }
        let decided = if approve {
            Exception { approved_by: Some(approver.username), approved_at: Some(now), ..exception }
        } else {
            Exception {
                ended_by: Some(approver.username),
                ended_at: Some(now),
                end_reason: Some(EndReason::Rejected.as_str().to_owned()),
                ..exception
            }
        };
        self.record_standing_after_decision(decided.user_id, &actor, meta).await;
        Ok(Exception { decision: to, ..decided })
    }

    /// The manager of the person an exception covers confirms it still holds, answering the
    /// quarterly question with a one-time code from their own authenticator. Audited
    /// `exception.attest` with the manager as actor.
    ///
    /// # Errors
    /// [`Refusal::NotTheirManager`] for anyone but that person's manager; [`AppError::Unauthenticated`]
    /// for a wrong code; [`Refusal::NoConfirmationAsked`] when no confirmation is being asked.
    pub async fn confirm_exception(
        &self,
        caller: &Actor,
        meta: &RequestMeta,
        id: &str,
        manager: &str,
        code: &str,
    ) -> AppResult<Exception> {
        let exception = self.exception(id).await?;
        let manager = self.user_named(manager).await?;
        let subject = self.store.user_by_id(exception.user_id).await?.ok_or(AppError::NotFound("user"))?;
        if subject.manager.as_deref().map(normalize_username) != Some(manager.username.clone()) {
            return Err(AppError::Refused(Refusal::NotTheirManager { username: subject.username }));
        }
        self.factors.verify_code(caller, &manager.username, code, meta).await?;
        let now = self.now();
        let actor = Actor {
            kind: ActorKind::User,
            id: Some(manager.id.to_string()),
            name: manager.username.clone(),
            auth: AuthContext { amr: vec!["otp".into()], acr: "mfa".into(), auth_time: Some(now) },
        };
        if !self.store.attest_exception(exception.id, &self.audit_context(&actor, meta)).await? {
            return Err(AppError::Refused(Refusal::NoConfirmationAsked));
        }
        Ok(Exception { attested_at: Some(now), ..exception })
    }

    /// Withdraws an exception, approved or still requested, with an optional reason
    /// (recorded as its `end_reason`; "revoked" without one). It stops covering at once on
    /// every node: sign-in reads the exception's state, not a record of it. Audited
    /// `exception.revoke`.
    ///
    /// # Errors
    /// [`AppError::Invalid`] for a reason over 500 characters; [`AppError::NotFound`];
    /// [`Refusal::AlreadyEnded`] when it was rejected or revoked already.
    pub async fn revoke_exception(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        id: &str,
        reason: Option<&str>,
    ) -> AppResult<Exception> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > 500) {
            let mut errors = twofold_core::ValidationErrors::default();
            errors.add("reason", "at most 500 characters");
            return Err(errors.into());
        }
        let exception = self.exception(id).await?;
        let ctx = self.audit_context(actor, meta);
        let end_reason = reason.unwrap_or(EndReason::Revoked.as_str());
        for from in [Decision::Approved, Decision::Requested] {
            if self.store.decide_exception(exception.id, from, Decision::Revoked, Some(end_reason), &ctx).await? {
                self.record_standing_after_decision(exception.user_id, actor, meta).await;
                return Ok(Exception {
                    decision: Decision::Revoked,
                    ended_by: Some(ctx.actor_name.clone()),
                    ended_at: Some(ctx.at),
                    end_reason: Some(end_reason.to_owned()),
                    ..exception
                });
            }
        }
        Err(AppError::Refused(Refusal::AlreadyEnded))
    }

    /// Records the covered person's new state at once after a decision (see
    /// `record_standing_of`). The decision stands whatever happens here, and enforcement does
    /// not depend on it, so a failure is logged rather than reported as the decision's.
    async fn record_standing_after_decision(&self, user_id: Uuid, actor: &Actor, meta: &RequestMeta) {
        if let Err(e) = self.record_standing_of(user_id, actor, meta).await {
            tracing::warn!(user = %user_id, error = %e, "new compliance state not recorded yet; the scheduler will");
        }
    }

    /// Every exception, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn exceptions(&self) -> AppResult<Vec<Exception>> {
        Ok(self.store.exceptions().await?)
    }
}
