//! Emergency access, the review tasks that follow it and break-glass sign-ins, and the
//! break-glass accounts' control tests (rules in `twofold_core::emergency`).
//!
//! THREATS: standing bypasses. Emergency access is asked for with a reason, approved by an
//! admin other than the requester and the person with a one-time code from their own
//! authenticator (a second factor proved at that moment), lasts hours, alerts the security
//! team at every sign-in it lets in, ends by itself, and leaves a review open until someone
//! completes it with findings.

mod reviews;

use std::sync::Arc;

use twofold_core::Timestamp;
use twofold_core::audit::{ActorKind, AuditAction, Change};
use twofold_core::emergency::{EMERGENCY_AMR, EmergencyAccess, EmergencyRefusal, EmergencyState};
use twofold_core::identity::{User, normalize_username};
use twofold_core::signin::session::AuthContext;
use uuid::Uuid;

use crate::factors::Factors;
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta, Shared};

/// How emergency access and break-glass accounts are run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyPolicy {
    /// The longest an emergency access may last, in hours (at most 24).
    pub max_hours: i64,
    /// Where alerts go: every sign-in under emergency access, every end.
    pub security_team: Option<String>,
    /// How often each break-glass account must be tested, in days.
    pub break_glass_test_every_days: i64,
}

impl Default for EmergencyPolicy {
    fn default() -> Self {
        Self {
            max_hours: twofold_core::emergency::DEFAULT_MAX_HOURS,
            security_team: None,
            break_glass_test_every_days: twofold_core::emergency::break_glass::DEFAULT_TEST_EVERY_DAYS,
        }
    }
}

/// What one run of the emergency jobs did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EmergencyJobs {
    /// Emergency accesses recorded as ended by this run.
    pub ended: usize,
    /// Reviews opened by this run.
    pub reviews_opened: usize,
    /// Break-glass control tests that fell due, asked of the admins by this run.
    pub tests_asked: usize,
}

/// The emergency capability.
pub struct Emergency {
    pub(crate) shared: Arc<Shared>,
    pub(crate) factors: Arc<Factors>,
    pub(crate) policy: EmergencyPolicy,
}

crate::reads_shared!(Emergency);

fn refused(refusal: EmergencyRefusal) -> AppError {
    AppError::Refused(Refusal::Emergency(refusal))
}

impl Emergency {
    /// Asks for emergency access for `username`, lasting `hours`, by `caller` (`caller_key`
    /// names them for "not the requester": a person's id, or `cli:<os user>`).
    ///
    /// # Errors
    /// An unknown person; one with no method, or a machine or break-glass identity; an empty
    /// reason or hours outside the policy.
    pub async fn request(
        &self,
        caller: &Actor,
        caller_key: &str,
        username: &str,
        reason: &str,
        hours: i64,
        meta: &RequestMeta,
    ) -> AppResult<EmergencyAccess> {
        let user = self.user_named(username).await?;
        EmergencyAccess::eligible(&user, self.factors.has_second_factor(&user).await?).map_err(refused)?;
        let access = EmergencyAccess::request(
            &user,
            reason,
            hours,
            self.policy.max_hours,
            (&caller.name, caller_key),
            self.now(),
        )?;
        self.store.create_emergency_access(&access, &self.audit_context(caller, meta)).await?;
        Ok(access)
    }

    /// An admin's decision, with a one-time code from their own authenticator as the fresh
    /// second factor (single use, throttled, audited). Audited `emergency.approve` or
    /// `emergency.reject` with the approver as actor; the security team is told of an approval.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for a wrong code; the approver is no admin, the requester
    /// or the person; decided meanwhile.
    pub async fn decide(
        &self,
        caller: &Actor,
        id: Uuid,
        approver: &str,
        code: &str,
        approve: bool,
        meta: &RequestMeta,
    ) -> AppResult<EmergencyAccess> {
        let mut access = self.load(id).await?;
        let approver = self.user_named(approver).await?;
        self.factors.verify_code(caller, &approver.username, code, meta).await?;
        let now = self.now();
        access.decide(&approver, approve, now).map_err(refused)?;
        let actor = Actor {
            kind: ActorKind::User,
            id: Some(approver.id.to_string()),
            name: approver.username.clone(),
            auth: AuthContext { amr: vec!["otp".into()], acr: "mfa".into(), auth_time: Some(now) },
        };
        let (action, after) = if approve {
            (AuditAction::EmergencyApprove, serde_json::json!({ "user": access.username, "ends_at": access.ends_at }))
        } else {
            (AuditAction::EmergencyReject, serde_json::json!({ "user": access.username }))
        };
        let change = Change::new(action, Some(access.id.to_string())).states(None, Some(after));
        if !self.store.update_emergency_access(&access, &change, &self.audit_context(&actor, meta)).await? {
            return Err(AppError::Refused(Refusal::DecidedMeanwhile));
        }
        if approve {
            self.alert(
                &format!("Emergency access approved for {}", access.username),
                format!(
                    "{} approved emergency access for {} until {}.\n\nReason: {}\nRequested by: {}\n\nEvery sign-in under it will be reported to you.\n",
                    approver.username,
                    access.username,
                    access.ends_at.map(|t| t.to_string()).unwrap_or_default(),
                    access.reason,
                    access.requested_by
                ),
            );
        }
        Ok(access)
    }

    /// Ends a running emergency access early (`emergency.end` with the reason); its review
    /// opens at once.
    ///
    /// # Errors
    /// Unknown, or not running; ended meanwhile.
    pub async fn revoke(
        &self,
        caller: &Actor,
        id: Uuid,
        reason: &str,
        meta: &RequestMeta,
    ) -> AppResult<EmergencyAccess> {
        let mut access = self.load(id).await?;
        access.end(&format!("revoked: {}", reason.trim())).map_err(refused)?;
        if !self.record_end(&access, caller, meta).await? {
            return Err(AppError::Refused(Refusal::DecidedMeanwhile));
        }
        self.open_review_for(&access, caller, meta).await?;
        Ok(access)
    }

    /// Emergency accesses, newest first; only `username`'s when given.
    ///
    /// # Errors
    /// An unknown person; storage failures.
    pub async fn list(&self, username: Option<&str>) -> AppResult<Vec<EmergencyAccess>> {
        let user_id = match username {
            Some(name) => Some(self.user_named(name).await?.id),
            None => None,
        };
        Ok(self.store.emergency_accesses(user_id).await?)
    }

    /// The emergency access letting `user` in now, if one is.
    pub(crate) async fn active_for(&self, user: &User) -> AppResult<Option<EmergencyAccess>> {
        let now = self.now();
        Ok(self.store.emergency_accesses(Some(user.id)).await?.into_iter().find(|a| a.is_active(now)))
    }

    /// The authentication context of a sign-in let in by emergency access: `mfa` for apps,
    /// never a second factor for changing methods or approving anything.
    pub(crate) fn auth_context(now: Timestamp) -> AuthContext {
        AuthContext { amr: vec!["pwd".into(), EMERGENCY_AMR.into()], acr: "mfa".into(), auth_time: Some(now) }
    }

    /// Records a sign-in let in by `access` (`emergency.use`) and alerts the security team.
    pub(crate) async fn note_use(&self, access: &EmergencyAccess, actor: &Actor, meta: &RequestMeta) -> AppResult<()> {
        let after = serde_json::json!({ "user": access.username, "ends_at": access.ends_at });
        let change = Change::new(AuditAction::EmergencyUse, Some(access.id.to_string())).states(None, Some(after));
        self.store.append_audit(&change, &self.audit_context(actor, meta)).await?;
        self.alert(
            &format!("Sign-in under emergency access: {}", access.username),
            format!(
                "{} signed in under emergency access at {} from {}.\n\nThe access ends at {}. Reason given: {}\n",
                access.username,
                self.now(),
                meta.ip.as_deref().unwrap_or("an unknown address"),
                access.ends_at.map(|t| t.to_string()).unwrap_or_default(),
                access.reason
            ),
        );
        Ok(())
    }

    /// Records the end of every emergency access whose time ran out (once across nodes) and
    /// opens its review; asks the admins, once per due date, to test each break-glass account
    /// whose control test is due.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn run_jobs(&self) -> AppResult<EmergencyJobs> {
        let now = self.now();
        let system = Actor::system("emergency scheduler");
        let meta = RequestMeta::default();
        let mut report = EmergencyJobs::default();
        for mut access in self.store.emergency_accesses(None).await? {
            if access.due_to_end(now)
                && access.end("expired").is_ok()
                && self.record_end(&access, &system, &meta).await?
            {
                report.ended += 1;
            }
            if access.state == EmergencyState::Ended && self.open_review_for(&access, &system, &meta).await? {
                report.reviews_opened += 1;
            }
        }
        report.tests_asked = self.ask_due_control_tests(&system, &meta).await?;
        Ok(report)
    }

    /// Stores an ended access over the version it was read at; whether this caller won.
    async fn record_end(&self, access: &EmergencyAccess, actor: &Actor, meta: &RequestMeta) -> AppResult<bool> {
        let after = serde_json::json!({ "user": access.username, "end_reason": access.end_reason });
        let change = Change::new(AuditAction::EmergencyEnd, Some(access.id.to_string())).states(None, Some(after));
        Ok(self.store.update_emergency_access(access, &change, &self.audit_context(actor, meta)).await?)
    }

    async fn load(&self, id: Uuid) -> AppResult<EmergencyAccess> {
        self.store.emergency_access(id).await?.ok_or(AppError::NotFound("emergency access"))
    }

    async fn user_named(&self, name: &str) -> AppResult<User> {
        self.store.user_by_username(&normalize_username(name)).await?.ok_or(AppError::NotFound("user"))
    }

    /// Mails the security team, when one is configured (else only logs).
    pub(crate) fn alert(&self, subject: &str, body: String) {
        self.shared.alert(subject, body);
    }
}
