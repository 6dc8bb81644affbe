//! What a verified case unlocks — a temporary access pass, retiring a lost device's
//! methods, resetting every method, resynchronising a drifting authenticator — and closing
//! the case. Each is refused until the case's verification is complete. The case records a
//! change before it is made (compare-and-swap on its version), so a change never races a
//! close, and each change's own audit event names the case.

use twofold_core::audit::{AuditAction, Change};
use twofold_core::cases::{Case, CaseAction, CaseEvent, Checklist, Resolution};
use twofold_core::factors::access_pass::AccessPass;
use twofold_core::identity::User;
use uuid::Uuid;

use super::verify::refused;
use super::{CaseOperator, Cases};
use crate::{AppResult, RequestMeta};

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
        let (mut case, target) = self.load_open(by, id).await?;
        case.may_take(CaseAction::IssueAccessPass, &self.policy.verification, by.key()).map_err(refused)?;
        // Checked before the case records anything, so a bad lifetime changes nothing.
        let lifetime = self.factors.access_pass_policy.lifetime(lifetime_secs)?;
        let until = self.now().plus_seconds(lifetime);
        let uses = if single_use { "single use" } else { "several uses" };
        self.record_action(
            by,
            &mut case,
            CaseAction::IssueAccessPass,
            format!("until {}, {uses}", until.to_minute_utc()),
            meta,
        )
        .await?;
        let issued = self.factors.issue_access_pass(&target, case.id, Some(lifetime), single_use, &by.actor, meta);
        let issued = self.or_note_failure(by, &mut case, issued.await, meta).await?;
        Ok(PassIssued { case, passcode: issued.passcode, pass: issued.pass })
    }

    /// Retires the person's methods `methods` (a lost or replaced device) on a verified case:
    /// they stop working at once, and the person's sessions, trusted devices and app tokens
    /// end. Retiring every usable method is a reset, and asks the reset's verification.
    ///
    /// # Errors
    /// The case not verified (for a reset, when nothing usable would remain); a method that
    /// is not the person's.
    pub async fn retire_methods(
        &self,
        by: &CaseOperator,
        id: Uuid,
        methods: &[Uuid],
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        let (mut case, target) = self.load_open(by, id).await?;
        let leaves_nothing = !self.usable_after(&target, methods).await?;
        let needs = if leaves_nothing { CaseAction::ResetAllMethods } else { CaseAction::RetireMethods };
        case.may_take(needs, &self.policy.verification, by.key()).map_err(refused)?;
        let chosen = self.factors.methods_of(&target, methods).await?;
        let detail = chosen.iter().map(|a| format!("{} \"{}\"", a.kind.label(), a.name)).collect::<Vec<_>>().join(", ");
        self.record_action(by, &mut case, CaseAction::RetireMethods, detail, meta).await?;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        let retired = self.factors.retire_methods(&target, &chosen, &ctx).await;
        self.or_note_failure(by, &mut case, retired, meta).await?;
        Ok(case)
    }

    /// Removes every method and recovery code of the person, after the strongest
    /// verification their tier has; a temporary access pass then lets them enrol anew.
    ///
    /// # Errors
    /// The case not verified for a reset.
    pub async fn reset_all_methods(&self, by: &CaseOperator, id: Uuid, meta: &RequestMeta) -> AppResult<Case> {
        let (mut case, target) = self.load_open(by, id).await?;
        case.may_take(CaseAction::ResetAllMethods, &self.policy.verification, by.key()).map_err(refused)?;
        let detail = "every method and recovery code".to_owned();
        self.record_action(by, &mut case, CaseAction::ResetAllMethods, detail, meta).await?;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        let reset = self.factors.reset_methods(&target, &ctx).await;
        self.or_note_failure(by, &mut case, reset, meta).await?;
        Ok(case)
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
        let (mut case, target) = self.load_open(by, id).await?;
        case.may_take(CaseAction::ResyncMethod, &self.policy.verification, by.key()).map_err(refused)?;
        let chosen = self.factors.methods_of(&target, &[method]).await?;
        let detail = chosen.iter().map(|a| format!("{} \"{}\"", a.kind.label(), a.name)).collect::<Vec<_>>().join(", ");
        self.record_action(by, &mut case, CaseAction::ResyncMethod, detail, meta).await?;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        let resynced = self.factors.resync_method(&target, method, first, second, &ctx).await;
        self.or_note_failure(by, &mut case, resynced, meta).await?;
        Ok(case)
    }

    /// Drift diagnosis on a verified case: how far one code read out from the person's
    /// authenticator app is off the server's clock, noted on the case (the code is not
    /// used); the fix is [`Self::resync_method`] with two consecutive codes.
    ///
    /// # Errors
    /// The case not verified; not one of the person's authenticator apps.
    pub async fn diagnose_drift(
        &self,
        by: &CaseOperator,
        id: Uuid,
        method: Uuid,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<(Case, Option<i64>)> {
        let (mut case, target) = self.load_open(by, id).await?;
        case.may_take(CaseAction::ResyncMethod, &self.policy.verification, by.key()).map_err(refused)?;
        let (a, offset) = self.factors.observed_drift(&target, method, code).await?;
        let period = i64::from(a.otp.unwrap_or_default().period);
        let text = match offset {
            Some(0) => format!("drift diagnosis: {} \"{}\" is in step with the server", a.kind.label(), a.name),
            Some(steps) => format!(
                "drift diagnosis: {} \"{}\" is {} steps ({} seconds) {} the server's clock; resynchronise it",
                a.kind.label(),
                a.name,
                steps.abs(),
                steps.abs() * period,
                if steps > 0 { "ahead of" } else { "behind" }
            ),
            None => format!(
                "drift diagnosis: the code matched {} \"{}\" nowhere near the server's clock",
                a.kind.label(),
                a.name
            ),
        };
        self.write(by, &mut case, CaseEvent::Note { text }, AuditAction::CaseNote, meta).await?;
        Ok((case, offset))
    }

    /// Revokes the person's temporary access passes and ends the sessions started with one
    /// that have proved nothing since.
    ///
    /// # Errors
    /// Out of scope; storage failures.
    pub async fn revoke_access_passes(&self, by: &CaseOperator, id: Uuid, meta: &RequestMeta) -> AppResult<u64> {
        let (case, target) = self.load_in_scope(by, id).await?;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        self.factors.revoke_access_passes(&target, &ctx).await
    }

    /// Closes the case with `resolution` once its checklist is complete; the person's
    /// temporary access passes end with it.
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
        let (mut case, target) = self.load_open(by, id).await?;
        let enrolled: Vec<String> = self
            .store
            .authenticators(target.id)
            .await?
            .iter()
            .filter(|a| a.confirmed_at.is_some_and(|at| at >= case.opened_at))
            .map(|a| {
                let at = a.confirmed_at.map(twofold_core::Timestamp::to_minute_utc).unwrap_or_default();
                format!("{} \"{}\" at {at}", a.kind.label(), a.name)
            })
            .collect();
        let before = serde_json::json!({ "state": case.state.as_str() });
        let after = serde_json::json!({
            "resolution": resolution.as_str(),
            "checklist": &checklist,
            "enrolled": &enrolled,
        });
        if !enrolled.is_empty() {
            case.record(by.name(), by.id(), self.now(), CaseEvent::MethodsEnrolled { methods: enrolled });
        }
        case.close(resolution, checklist, by.name(), by.id(), &self.policy.verification, self.now())
            .map_err(refused)?;
        let change = Change::new(AuditAction::CaseClose, Some(case.id.to_string())).states(Some(before), Some(after));
        self.store_over(by, &mut case, change, meta).await?;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        self.factors.revoke_access_passes(&target, &ctx).await?;
        Ok(case)
    }

    /// Records on the case, over the version it was read at, a change about to be made: a
    /// close or another operator's step racing it wins or loses as a whole.
    async fn record_action(
        &self,
        by: &CaseOperator,
        case: &mut Case,
        action: CaseAction,
        detail: String,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.write(by, case, CaseEvent::ActionTaken { action, detail }, AuditAction::CaseAction, meta).await?;
        self.watch_change(case, action).await
    }

    /// A change's result; when it failed after the case recorded it, a note says so on the
    /// case (best effort: the failure is what the caller hears).
    async fn or_note_failure<T>(
        &self,
        by: &CaseOperator,
        case: &mut Case,
        result: AppResult<T>,
        meta: &RequestMeta,
    ) -> AppResult<T> {
        if let Err(error) = &result {
            let text = format!("the change above did not complete: {error}");
            let event = CaseEvent::Note { text };
            if let Err(e) = self.write(by, case, event, AuditAction::CaseNote, meta).await {
                tracing::warn!(case = %case.id, error = %e, "could not note a failed change on its case");
            }
        }
        result
    }

    /// Whether `target` keeps a usable method once `removed` are gone.
    async fn usable_after(&self, target: &User, removed: &[Uuid]) -> AppResult<bool> {
        let info = self.factors.security_info(target.id).await?;
        Ok(info.authenticators.iter().any(|a| !removed.contains(&a.id) && self.factors.usable_now(a, target)))
    }
}
