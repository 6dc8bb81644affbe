//! Detection from support activity: alerts to the security team when the help desk changes a
//! privileged person's methods, when many changes come in a short time, and when one
//! person's verification keeps failing; and when the person a case changed is seen, within a
//! day, signing in from a new country or taking a sensitive action. (The risk engine reads
//! help-desk changes too: a change in the last day raises a sign-in's risk, see
//! `twofold_core::access::risk`.)

use twofold_core::access::risk::HELP_DESK_WINDOW_SECS;
use twofold_core::audit::AuditAction;
use twofold_core::cases::{Case, CaseAction, CaseEvent, UseAfterChange};
use twofold_core::identity::Tier;
use twofold_core::store::CaseFilter;

use super::{CaseOperator, Cases};
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

/// Changes of people's methods by the help desk within an hour from which the security team
/// is told: a burst like this is how a campaign of social engineering looks from inside.
pub const CHANGES_PER_HOUR_ALERT: usize = 5;
/// Failed verification steps for one person within a day from which the team is told.
pub const FAILURES_PER_DAY_ALERT: usize = 3;

impl Cases {
    /// After `case` changed something (`action`): an alert for a privileged person, and one
    /// when this change makes the hour's count reach [`CHANGES_PER_HOUR_ALERT`].
    pub(super) async fn watch_change(&self, case: &Case, action: CaseAction) -> AppResult<()> {
        if case.target.tier == Tier::Privileged {
            self.alert(
                &format!("Help-desk change on a privileged account: {}", case.target.username),
                format!(
                    "{}: {} on case {} for {} ({}), by {}.\n",
                    self.now(),
                    action.label(),
                    case.id,
                    case.target.username,
                    case.kind.label(),
                    case.operator
                ),
            );
        }
        let hour_ago = self.now().plus_seconds(-60 * 60);
        let recent = self.recent_cases(hour_ago.plus_seconds(-7 * 24 * 60 * 60)).await?;
        let changes: usize = recent
            .iter()
            .map(|c| {
                c.timeline
                    .iter()
                    .filter(|e| {
                        e.at >= hour_ago && matches!(e.event, twofold_core::cases::CaseEvent::ActionTaken { .. })
                    })
                    .count()
            })
            .sum();
        if changes == CHANGES_PER_HOUR_ALERT {
            self.alert(
                "Many help-desk changes in the last hour",
                format!(
                    "{changes} changes of people's sign-in methods by the help desk within the last hour (the latest on case {} for {}). Look at the cases now: a burst like this is how social engineering of the help desk looks.\n",
                    case.id, case.target.username
                ),
            );
        }
        Ok(())
    }

    /// After a failed verification step on `case`: an alert when the person's failures in
    /// the last day, across all their cases, reach [`FAILURES_PER_DAY_ALERT`].
    pub(super) async fn watch_failures(&self, case: &Case) -> AppResult<()> {
        let day_ago = self.now().plus_seconds(-24 * 60 * 60);
        let failures: usize =
            self.last_days_cases(case.target.id).await?.iter().map(|c| c.failures_since(day_ago)).sum();
        if failures == FAILURES_PER_DAY_ALERT {
            self.alert(
                &format!("Repeated failed verification for {}", case.target.username),
                format!(
                    "{failures} verification steps failed within a day for {} (the latest on case {}, by {}). Someone may be trying to talk the help desk into their account.\n",
                    case.target.username, case.id, case.operator
                ),
            );
        }
        Ok(())
    }

    /// Why `target`'s risk is raised for a new case, if it is: a help-desk change of their
    /// methods within the last day, a verification that failed for them within the last day,
    /// or failed sign-ins since their last success. A caller who tries again after being
    /// refused, or right after a change, is met with the strongest verification.
    pub(super) async fn raised_risk(&self, target: &twofold_core::identity::User) -> AppResult<Vec<String>> {
        let mut reasons = Vec::new();
        let day_ago = self.now().plus_seconds(-HELP_DESK_WINDOW_SECS);
        // One read serves both questions: a change and failures within the last day.
        let cases = self.last_days_cases(target.id).await?;
        if let Some(case) = latest_change(&cases, day_ago) {
            reasons.push(format!("the help desk changed their sign-in methods within the last day (case {})", case.id));
        }
        let failures: usize = cases.iter().map(|c| c.failures_since(day_ago)).sum();
        if failures > 0 {
            reasons.push(format!("{failures} verification step(s) failed for them within the last day"));
        }
        let since = self.now().plus_seconds(-twofold_core::signin::throttle::WINDOW_SECS);
        let sign_ins = self.store.sign_in_failures(&target.username, None, since).await?.0.count;
        if sign_ins >= twofold_core::access::risk::MEDIUM_AFTER_FAILURES {
            reasons.push(format!("{sign_ins} failed sign-ins since their last success"));
        }
        Ok(reasons)
    }

    /// The case that most recently changed the methods of person `user_id` within the risk
    /// window ([`HELP_DESK_WINDOW_SECS`]), if one did.
    pub(crate) async fn recent_change(&self, user_id: uuid::Uuid) -> AppResult<Option<Case>> {
        let since = self.now().plus_seconds(-HELP_DESK_WINDOW_SECS);
        // A change in the window belongs to a case opened at most a week before it; one
        // indexed query of the newest 50 (asked on sign-ins and on every proxied change).
        let filter = CaseFilter {
            target_id: Some(user_id),
            opened_since: Some(since.plus_seconds(-7 * 24 * 60 * 60)),
            limit: 50,
            ..CaseFilter::default()
        };
        let (cases, _) = self.store.cases(&filter).await?;
        Ok(latest_change(&cases, since).cloned())
    }

    /// Every case of person `user_id` that can hold something of the last day: opened at
    /// most a week before it.
    async fn last_days_cases(&self, user_id: uuid::Uuid) -> AppResult<Vec<Case>> {
        let since = self.now().plus_seconds(-HELP_DESK_WINDOW_SECS - 7 * 24 * 60 * 60);
        self.all_cases(CaseFilter { target_id: Some(user_id), opened_since: Some(since), ..CaseFilter::default() })
            .await
    }

    /// After the person `case` changed was seen using the account as `kind` (`detail` says
    /// how): the first such use since the change is recorded on the case and the security
    /// team told, once across nodes (the entry is written by compare-and-swap; only the
    /// writer mails).
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn watch_use_after_change(
        &self,
        mut case: Case,
        kind: UseAfterChange,
        detail: String,
    ) -> AppResult<()> {
        if !case.first_use_after_change(kind, HELP_DESK_WINDOW_SECS, self.now()) {
            return Ok(());
        }
        let by = CaseOperator::cli(&Actor::system("risk engine"));
        let event = CaseEvent::UsedAfterChange { kind, detail: detail.clone() };
        match self.write(&by, &mut case, event, AuditAction::CaseUseAfterChange, &RequestMeta::default()).await {
            Ok(()) => {}
            // Another node recorded it, or someone wrote meanwhile: the next use looks again.
            Err(AppError::Refused(Refusal::CaseChangedMeanwhile)) => return Ok(()),
            Err(other) => return Err(other),
        }
        self.alert(
            &format!("{} for {} after a help-desk change", kind.label(), case.target.username),
            format!(
                "{}: {} for {} ({detail}), within a day of a change of their sign-in methods by the help desk on case {} (by {}). If the person did not ask for the change, the account may have been taken over through the help desk.\n",
                self.now(),
                kind.label(),
                case.target.username,
                case.id,
                case.operator
            ),
        );
        Ok(())
    }

    async fn recent_cases(&self, since: twofold_core::Timestamp) -> AppResult<Vec<Case>> {
        self.all_cases(CaseFilter { opened_since: Some(since), ..CaseFilter::default() }).await
    }

    /// Mails the security team, when one is configured (else only logs).
    fn alert(&self, subject: &str, body: String) {
        self.shared.alert(subject, body);
    }
}

/// Of `cases`, the one whose latest change of methods is the most recent, if one changed
/// anything at or after `since`.
fn latest_change(cases: &[Case], since: twofold_core::Timestamp) -> Option<&Case> {
    let last_change =
        |c: &&Case| c.timeline.iter().filter(|e| matches!(e.event, CaseEvent::ActionTaken { .. })).map(|e| e.at).max();
    cases.iter().filter(|c| c.changed_since(since)).max_by_key(last_change)
}
