//! What a verified case unlocks — a temporary access pass, retiring a lost device's
//! methods, resetting every method, resynchronising a drifting authenticator — and closing
//! the case. Each is refused until the case's verification is complete; each change's own
//! audit event names the case.

use twofold_core::audit::{AuditAction, Change};
use twofold_core::cases::{Case, CaseAction, CaseEvent, Checklist, Resolution};
use twofold_core::factors::access_pass::AccessPass;
use uuid::Uuid;

use super::verify::refused;
use super::{CaseOperator, Cases};
use crate::{AppError, AppResult, RequestMeta};

/// A pass issued on a case: the passcode is for the operator to give the person, once.
#[derive(Debug, Clone)]
pub struct PassIssued {
    /// The case, with the issue recorded.
    pub case: Case,
    /// The passcode, shown once.
    pub passcode: String,
    /// The pass as stored (its hash only).
    pub pass: AccessPass,
}

impl Cases {
    /// Issues a temporary access pass on a verified case (revoking the person's earlier
    /// passes), living `lifetime_secs` (the policy's default when `None`).
    ///
    /// # Errors
    /// The case not verified (or closed, or out of scope); a lifetime outside the policy.
    pub async fn issue_access_pass(
        &self,
        by: &CaseOperator,
        id: Uuid,
        lifetime_secs: Option<i64>,
        single_use: bool,
        meta: &RequestMeta,
    ) -> AppResult<PassIssued> {
        let (case, target) = self.load_open(by, id).await?;
        case.may_take(CaseAction::IssueAccessPass, &self.policy.verification).map_err(refused)?;
        let issued =
            self.factors.issue_access_pass(&target, case.id, lifetime_secs, single_use, &by.actor, meta).await?;
        let detail = format!(
            "pass {} until {}{}",
            issued.pass.id,
            issued.pass.expires_at,
            if single_use { ", single use" } else { ", several uses" }
        );
        let case = self.record_action(by, case, CaseAction::IssueAccessPass, detail, meta).await?;
        Ok(PassIssued { case, passcode: issued.passcode, pass: issued.pass })
    }

    /// Retires the person's methods `methods` (a lost or replaced device) on a verified case:
    /// they stop working at once, and the person's sessions and trusted devices end.
    ///
    /// # Errors
    /// The case not verified; a method that is not the person's.
    pub async fn retire_methods(
        &self,
        by: &CaseOperator,
        id: Uuid,
        methods: &[Uuid],
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        let (case, target) = self.load_open(by, id).await?;
        case.may_take(CaseAction::RetireMethods, &self.policy.verification).map_err(refused)?;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        let retired = self.factors.retire_methods(&target, methods, &ctx).await?;
        let detail =
            retired.iter().map(|a| format!("{} \"{}\"", a.kind.label(), a.name)).collect::<Vec<_>>().join(", ");
        self.record_action(by, case, CaseAction::RetireMethods, detail, meta).await
    }

    /// Removes every method and recovery code of the person, after the strongest
    /// verification their tier has; a temporary access pass then lets them enrol anew.
    ///
    /// # Errors
    /// The case not verified for a reset.
    pub async fn reset_all_methods(&self, by: &CaseOperator, id: Uuid, meta: &RequestMeta) -> AppResult<Case> {
        let (case, target) = self.load_open(by, id).await?;
        case.may_take(CaseAction::ResetAllMethods, &self.policy.verification).map_err(refused)?;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        let removed = self.factors.reset_methods(&target, &ctx).await?;
        let detail = format!("{removed} method(s) and every recovery code removed");
        self.record_action(by, case, CaseAction::ResetAllMethods, detail, meta).await
    }

    /// Resynchronises the person's authenticator app or token `method` from two consecutive
    /// codes the caller reads out (drift diagnosis), on a verified case.
    ///
    /// # Errors
    /// The case not verified; codes that are not consecutive.
    pub async fn resync_method(
        &self,
        by: &CaseOperator,
        id: Uuid,
        method: Uuid,
        first: &str,
        second: &str,
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        let (case, target) = self.load_open(by, id).await?;
        case.may_take(CaseAction::ResyncMethod, &self.policy.verification).map_err(refused)?;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        let a = self.factors.resync_method(&target, method, first, second, &ctx).await?;
        let detail = format!("{} \"{}\"", a.kind.label(), a.name);
        self.record_action(by, case, CaseAction::ResyncMethod, detail, meta).await
    }

    /// Closes the case with `resolution` once its checklist is complete.
    ///
    /// # Errors
    /// What the checklist lacks; closed already.
    pub async fn close(
        &self,
        by: &CaseOperator,
        id: Uuid,
        resolution: Resolution,
        checklist: Checklist,
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        let (mut case, _) = self.load_open(by, id).await?;
        let before = serde_json::json!({ "state": case.state.as_str() });
        let after = serde_json::json!({ "resolution": resolution.as_str(), "checklist": &checklist });
        case.close(resolution, checklist, by.name(), by.id(), &self.policy.verification, self.now())
            .map_err(refused)?;
        let change = Change::new(AuditAction::CaseClose, Some(case.id.to_string())).states(Some(before), Some(after));
        self.store_over(by, &mut case, change, meta).await?;
        Ok(case)
    }

    /// Records a change made on `case`. The change is done and audited already, so a write
    /// lost to another operator's is retried over the newer case (entries only append).
    async fn record_action(
        &self,
        by: &CaseOperator,
        mut case: Case,
        action: CaseAction,
        detail: String,
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        for _ in 0..3 {
            let event = CaseEvent::ActionTaken { action, detail: detail.clone() };
            match self.write(by, &mut case, event, AuditAction::CaseAction, meta).await {
                Err(AppError::Refused(crate::Refusal::CaseChangedMeanwhile)) => {
                    case = self.store.case(case.id).await?.ok_or(AppError::NotFound("case"))?;
                }
                other => return other.map(|()| case),
            }
        }
        Err(AppError::Refused(crate::Refusal::CaseChangedMeanwhile))
    }
}
