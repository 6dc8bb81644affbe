//! Timers: a verification step past its deadline is marked overdue on its case and the
//! help desk's team lead is told by mail, once across nodes (the mark is written by
//! compare-and-swap; only the node that wrote it sends the mail). Run every minute by the
//! server and by `twofold case run-jobs`.

use twofold_core::audit::AuditAction;
use twofold_core::cases::CaseEvent;
use twofold_core::cases::CaseState;
use twofold_core::store::CaseFilter;

use super::{CaseOperator, Cases};
use crate::{Actor, AppResult, Refusal, RequestMeta};

impl Cases {
    /// Marks every overdue step of every open case and tells the team lead; how many were
    /// marked by this run.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn escalate_overdue(&self) -> AppResult<usize> {
        let now = self.now();
        let by = CaseOperator::cli(&Actor::system("help-desk scheduler"));
        let meta = RequestMeta::default();
        let mut marked = 0;
        for mut case in self.all_cases(CaseFilter { state: Some(CaseState::Open), ..CaseFilter::default() }).await? {
            for (channel, due) in case.overdue(now) {
                match self.write(&by, &mut case, CaseEvent::Overdue { channel }, AuditAction::CaseOverdue, &meta).await
                {
                    Ok(()) => {}
                    // Another node marked it (or an operator changed the case): next run looks again.
                    Err(crate::AppError::Refused(Refusal::CaseChangedMeanwhile)) => break,
                    Err(other) => return Err(other),
                }
                marked += 1;
                if let Some(lead) = &self.policy.team_lead {
                    self.notify(Some(twofold_core::mail::case_step_overdue(
                        lead,
                        &case.id.to_string(),
                        &case.target.username,
                        channel.label(),
                        due,
                        &case.operator,
                    )));
                } else {
                    tracing::warn!(case = %case.id, step = channel.as_str(), "help-desk step overdue; no team lead to tell ([helpdesk] team_lead)");
                }
            }
        }
        Ok(marked)
    }
}
