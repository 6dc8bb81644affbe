//! The campaign scheduler's work, run every minute by every node (and by `twofold campaign
//! run-jobs`): for each running campaign, the day's snapshot, each identity's compliance
//! transitions (recorded once across nodes by compare-and-swap, each audited), and the
//! reminders due (each claimed once in the database, then mailed over SMTP, the manager
//! copied once the deadline is far enough past). Also what sign-in and the pages ask of a
//! person's standing.

use super::Rollout;
use std::collections::HashMap;

use serde::Serialize;
use twofold_core::rollout::compliance::{self, Assessment, Recorded, State};
use twofold_core::rollout::exception::{self, Attestation, Decision, Exception};
use twofold_core::rollout::progress::Snapshot;
use twofold_core::rollout::{CampaignStatus, StoredState, Transition, reminders};
use uuid::Uuid;

use crate::{Actor, AppResult, RequestMeta};

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    /// Running campaigns looked at.
    pub campaigns: usize,
    /// Transitions recorded by this run.
    pub transitions: usize,
    /// Reminders claimed and handed to the mailer by this run.
    pub reminders: usize,
    /// Exceptions recorded as expired by this run.
    pub expired: usize,
}

/// A person's standing in the campaigns that hold them to account, as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The campaign.
    pub campaign: String,
    /// The state.
    pub state: State,
    /// Days left (pending: before the deadline).
    pub days_left: Option<i64>,
}

impl Rollout {
    /// One run of the campaign jobs at the current time.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn run_campaign_jobs(&self) -> AppResult<JobReport> {
        let now = self.now();
        let actor = Actor::system("campaign scheduler");
        let ctx = self.audit_context(&actor, &RequestMeta::default());
        let mut report = JobReport::default();
        // Exceptions: the quarterly question to managers; those past their end, or whose
        // question went unanswered, recorded as expired, once across nodes.
        let mut active = 0u64;
        for exception in self.store.exceptions().await? {
            let lapsed = match exception::attestation(&exception, now) {
                Attestation::Ask => {
                    self.ask_attestation(&exception, &ctx).await?;
                    false
                }
                Attestation::Lapse => true,
                Attestation::Nothing => false,
            };
            let reason = exception.lapse(now).map(exception::EndReason::as_str);
            if exception.covers(now) && !lapsed {
                active += 1;
            } else if exception.decision == Decision::Approved
                && self
                    .store
                    .decide_exception(exception.id, Decision::Approved, Decision::Expired, reason, &ctx)
                    .await?
            {
                report.expired += 1;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("twofold_exceptions_active").set(active as f64);
        for (stored, campaign, phases, rows) in self.assess_campaigns(None).await? {
            if stored.status != CampaignStatus::Running {
                continue;
            }
            report.campaigns += 1;
            let in_scope = phases.iter().map(|p| p.in_scope).sum();
            let registered = phases.iter().map(|p| p.registered).sum();
            self.store.put_campaign_snapshot(&stored.name, &Snapshot { at: now, in_scope, registered }).await?;
            #[allow(clippy::cast_precision_loss)]
            {
                metrics::gauge!("twofold_campaign_in_scope", "campaign" => stored.name.clone()).set(in_scope as f64);
                metrics::gauge!("twofold_campaign_registered", "campaign" => stored.name.clone())
                    .set(registered as f64);
                let mut by_state: std::collections::BTreeMap<State, u64> = std::collections::BTreeMap::new();
                for phase in &phases {
                    for (state, count) in &phase.states {
                        *by_state.entry(*state).or_insert(0) += count;
                    }
                }
                for state in
                    [State::Compliant, State::Pending, State::Overdue, State::Exempt, State::Limited, State::Blocked]
                {
                    let count = by_state.get(&state).copied().unwrap_or(0) as f64;
                    metrics::gauge!("twofold_campaign_identities", "campaign" => stored.name.clone(), "state" => state.as_str())
                        .set(count);
                }
            }

            let before: HashMap<Uuid, State> = self
                .store
                .compliance_states(Some(&stored.name), None)
                .await?
                .into_iter()
                .map(|s| (s.user_id, s.state))
                .collect();
            let transitions: Vec<Transition> = rows
                .iter()
                .filter(|row| before.get(&row.user.id) != Some(&row.state))
                .map(|row| Transition {
                    user_id: row.user.id,
                    username: row.username.clone(),
                    phase: row.phase.clone(),
                    from: before.get(&row.user.id).copied(),
                    to: row.state,
                })
                .collect();
            if !transitions.is_empty() {
                let recorded = self.store.record_transitions(&stored.name, &transitions, &ctx).await?;
                for t in &recorded {
                    metrics::counter!("twofold_compliance_transitions_total", "to" => t.to.as_str()).increment(1);
                }
                report.transitions += recorded.len();
            }

            let deadlines: HashMap<&str, twofold_core::Timestamp> =
                phases.iter().map(|p| (p.name.as_str(), p.deadline)).collect();
            // A reminder is claimed only where it can be sent.
            let Some(mailer) = self.mailer.clone() else {
                tracing::warn!(campaign = %stored.name, "campaign reminders not sent: no SMTP relay configured");
                continue;
            };
            for row in &rows {
                let Some(&deadline) = deadlines.get(row.phase.as_str()) else { continue };
                let assessment = Assessment {
                    state: row.state,
                    days_left: row.days_left,
                    strongest: row.strongest,
                    weak_for_tier: row.weak_for_tier,
                    exception: row.exception.clone(),
                    recommended_setup: row.recommended_setup,
                };
                let Some(due) = reminders::due(&campaign.reminders, &assessment, deadline, now) else { continue };
                if !self.store.claim_reminder(&stored.name, row.user.id, &due.key, now).await? {
                    continue;
                }
                let manager = match (&row.user.manager, due.copy_manager) {
                    (Some(manager), true) => self.store.user_by_username(manager).await?.and_then(|m| m.email),
                    _ => None,
                };
                let Some(email) = reminders::email(&row.user, &stored.name, &assessment, deadline, manager.as_deref())
                else {
                    continue;
                };
                // Sent before the next one, so a run (the CLI's too) ends with its mail delivered.
                match mailer.send(&email).await {
                    Ok(()) => {
                        report.reminders += 1;
                        let copied = if manager.is_some() { "yes" } else { "no" };
                        metrics::counter!("twofold_campaign_reminders_total", "copied_manager" => copied).increment(1);
                    }
                    Err(e) => tracing::warn!(user = %row.username, error = %e, "campaign reminder not delivered"),
                }
            }
        }
        Ok(report)
    }

    /// Asks the manager of the person `exception` covers to confirm it (claimed once, then
    /// mailed); nothing where no SMTP relay is configured or they have no manager with an address.
    async fn ask_attestation(&self, exception: &Exception, ctx: &twofold_core::audit::AuditContext) -> AppResult<()> {
        let Some(mailer) = self.mailer.clone() else { return Ok(()) };
        let Some(subject) = self.store.user_by_id(exception.user_id).await? else { return Ok(()) };
        let Some(manager) = match &subject.manager {
            Some(name) => self.store.user_by_username(name).await?,
            None => None,
        }
        .filter(|m| m.email.is_some()) else {
            tracing::warn!(user = %subject.username, "exception confirmation not asked: no manager with an email address");
            return Ok(());
        };
        if !self.store.ask_attestation(exception.id, exception.attestation_asked_at, ctx).await? {
            return Ok(());
        }
        if let Some(email) = exception::attestation_email(&manager, exception)
            && let Err(e) = mailer.send(&email).await
        {
            tracing::warn!(manager = %manager.username, error = %e, "exception confirmation request not delivered");
        }
        Ok(())
    }

    /// `user_id`'s states in the running campaigns, as the scheduler recorded them but
    /// reconciled with their exceptions as they stand in the database now (read on every
    /// call, never cached): an approval lifts a missed deadline at once, and a revoked,
    /// ended or lapsed exception stops counting at once — its person is assessed again
    /// rather than left `exempt` until the scheduler's next run. This is what every entry
    /// point (sign-in, OIDC authorize, forward-auth, the Security info page) enforces.
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn current_states(&self, user_id: Uuid) -> AppResult<Vec<StoredState>> {
        let states = self.store.compliance_states(None, Some(user_id)).await?;
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let running: Vec<String> = self
            .store
            .campaigns()
            .await?
            .into_iter()
            .filter(|c| c.status == CampaignStatus::Running)
            .map(|c| c.name)
            .collect();
        let now = self.now();
        let covered = self.store.user_exceptions(user_id).await?.iter().any(|e| e.covers(now));
        let mut current = Vec::new();
        for mut state in states.into_iter().filter(|s| running.contains(&s.campaign)) {
            match compliance::recorded_now(state.state, covered) {
                Recorded::Holds(now_state) => state.state = now_state,
                Recorded::Stale => match self.compliance_report(Some(&state.campaign), None).await {
                    Ok(rows) => {
                        let Some(row) = rows.into_iter().find(|r| r.user.id == user_id) else { continue };
                        (state.state, state.phase) = (row.state, row.phase);
                    }
                    Err(e) => {
                        // Fail closed: an exemption that ended is never honoured for want of a reassessment.
                        tracing::error!(campaign = %state.campaign, error = %e, "cannot assess an ended exemption: blocking");
                        state.state = State::Blocked;
                    }
                },
            }
            current.push(state);
        }
        Ok(current)
    }

    /// Records `user_id`'s new state in each running campaign where one is recorded, right
    /// after an exception decision or revocation (compare-and-swap like the scheduler's, audited
    /// `compliance.transition` by `actor`), so the record and the report's "since" follow
    /// at once; enforcement does not wait for it (see [`Self::current_states`]).
    pub(crate) async fn record_standing_of(&self, user_id: Uuid, actor: &Actor, meta: &RequestMeta) -> AppResult<()> {
        let ctx = self.audit_context(actor, meta);
        for (stored, _, _, rows) in self.assess_campaigns(None).await? {
            if stored.status != CampaignStatus::Running {
                continue;
            }
            let Some(row) = rows.into_iter().find(|r| r.user.id == user_id) else { continue };
            // Only a recorded state moves here; entering a campaign is the scheduler's to record.
            let Some(before) =
                self.store.compliance_states(Some(&stored.name), Some(user_id)).await?.into_iter().next()
            else {
                continue;
            };
            if before.state == row.state {
                continue;
            }
            let transition = Transition {
                user_id,
                username: row.username,
                phase: row.phase,
                from: Some(before.state),
                to: row.state,
            };
            for t in self.store.record_transitions(&stored.name, &[transition], &ctx).await? {
                metrics::counter!("twofold_compliance_transitions_total", "to" => t.to.as_str()).increment(1);
            }
        }
        Ok(())
    }

    /// `user_id`'s standing in the running campaigns (the strictest first), as recorded and
    /// reconciled with their exceptions now ([`Self::current_states`]).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn campaign_standing(&self, user_id: Uuid) -> AppResult<Vec<Standing>> {
        let mut states = self.current_states(user_id).await?;
        states.retain(|s| !matches!(s.state, State::Compliant | State::Exempt));
        let now = self.now();
        let mut standing: Vec<Standing> = Vec::new();
        for state in states {
            // Days left are counted from now, not from when the state was recorded.
            let days_left = if state.state == State::Pending {
                self.loaded_deadline(&state.campaign, &state.phase).await?.map(|deadline| {
                    let millis = (deadline.millis() - now.millis()).max(0);
                    (millis + 86_399_999) / 86_400_000
                })
            } else {
                None
            };
            standing.push(Standing { campaign: state.campaign, state: state.state, days_left });
        }
        standing.sort_by_key(|s| std::cmp::Reverse(s.state));
        Ok(standing)
    }

    async fn loaded_deadline(&self, campaign: &str, phase: &str) -> AppResult<Option<twofold_core::Timestamp>> {
        let Some(stored) = self.store.campaigns().await?.into_iter().find(|c| c.name == campaign) else {
            return Ok(None);
        };
        Ok(self
            .check_campaign(&stored.source)
            .await?
            .ok()
            .and_then(|c| c.phases.into_iter().find(|p| p.name == phase))
            .and_then(|p| p.dates())
            .map(|d| d.deadline))
    }
}
