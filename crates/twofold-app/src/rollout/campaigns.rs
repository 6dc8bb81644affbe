//! Rollout campaigns: applied from a file, started and paused, and their compliance —
//! every in-scope identity's state, each phase's counts and mode, progress against the
//! target with the projected completion date from the adoption curve (one snapshot a day,
//! taken whenever the status of a running campaign is read).

use super::Rollout;
use std::collections::BTreeMap;

use serde::Serialize;
use twofold_core::Timestamp;
use twofold_core::identity::UserStatus;
use twofold_core::rollout::compliance::{self, State};
use twofold_core::rollout::progress::{self, Snapshot};
use twofold_core::rollout::{Campaign, CampaignStatus, PhaseMode, StoredCampaign, file};

use crate::identity::directory::Member;
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

/// One identity's standing in a campaign.
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceRow {
    /// The identity (for reminders; not reported).
    #[serde(skip)]
    pub(crate) user: twofold_core::identity::User,
    /// The campaign.
    pub campaign: String,
    /// Its phase.
    pub phase: String,
    /// Who.
    pub username: String,
    /// Their tier.
    pub tier: String,
    /// Their department.
    pub department: Option<String>,
    /// Where they stand.
    pub state: State,
    /// Days until the deadline (pending), the end of grace (limited) or of the exception (exempt).
    pub days_left: Option<i64>,
    /// Registered methods (kinds).
    pub methods: Vec<String>,
    /// The strongest strength they reach.
    pub strongest: Option<&'static str>,
    /// Registered, but too weak for their tier.
    pub weak_for_tier: bool,
    /// Whether the whole recommended setup is held (what `done_means = "recommended_setup"`
    /// campaigns count).
    pub recommended_setup: bool,
    /// The exception that covers them (exempt).
    pub exception: Option<String>,
    /// When they entered the state, as the scheduler recorded it (none before its first run).
    pub since: Option<Timestamp>,
    /// Their latest sign-in that proved a second factor.
    pub last_mfa: Option<Timestamp>,
}

/// One phase's standing.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// The phase.
    pub name: String,
    /// Report-only or enforced now.
    pub mode: PhaseMode,
    /// Register by.
    pub deadline: Timestamp,
    /// Identities in scope.
    pub in_scope: u64,
    /// ... compliant.
    pub registered: u64,
    /// How many are in each state.
    pub states: BTreeMap<State, u64>,
}

/// A campaign's standing.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignReport {
    /// The campaign.
    pub name: String,
    /// Draft, running or paused.
    pub status: CampaignStatus,
    /// Identities in scope.
    pub in_scope: u64,
    /// ... compliant.
    pub registered: u64,
    /// Registered, in percent.
    pub percent: f64,
    /// The target percent.
    pub target_percent: u8,
    /// When the target is due.
    pub due: Option<Timestamp>,
    /// When the target will be reached at the pace so far, if it will.
    pub projected: Option<Timestamp>,
    /// Whether that is by the due date.
    pub on_track: bool,
    /// Median whole days from a phase's start to its people becoming compliant (as the
    /// scheduler recorded it), when anyone has.
    pub median_days_to_enrol: Option<i64>,
    /// Each phase.
    pub phases: Vec<PhaseReport>,
    /// The adoption curve: one snapshot a day.
    pub curve: Vec<Snapshot>,
}

fn invalid(problems: Vec<file::Problem>) -> AppError {
    twofold_core::access::file::into_errors(problems).into()
}

impl Rollout {
    /// Checks a campaign file against the directory's groups.
    ///
    /// # Errors
    /// Storage failures; the file's problems as the inner error.
    pub async fn check_campaign(&self, source: &str) -> AppResult<Result<Campaign, Vec<file::Problem>>> {
        let groups: Vec<String> = self.store.list_groups().await?.into_iter().map(|g| g.group.name).collect();
        Ok(file::load(source, &groups))
    }

    /// Applies a campaign file: a new campaign as a draft, or a new file for the campaign of
    /// that name (audited `campaign.apply`). A file with any problem changes nothing.
    ///
    /// # Errors
    /// [`AppError::Invalid`] with every problem; storage failures.
    pub async fn apply_campaign(&self, actor: &Actor, meta: &RequestMeta, source: &str) -> AppResult<String> {
        let campaign = self.check_campaign(source).await?.map_err(invalid)?;
        self.store.put_campaign(&campaign.name, source, self.now(), &self.audit_context(actor, meta)).await?;
        Ok(campaign.name)
    }

    /// Starts (`running`) or pauses a campaign (audited).
    ///
    /// # Errors
    /// [`AppError::NotFound`] for an unknown campaign.
    pub async fn set_campaign_status(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        name: &str,
        status: CampaignStatus,
    ) -> AppResult<()> {
        if self.store.set_campaign_status(name, status, self.now(), &self.audit_context(actor, meta)).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("campaign"))
        }
    }

    /// Moves a campaign on: the first phase that has started and only reports enforces from
    /// today (`enforce_on` set in the stored file, applied again and audited
    /// `campaign.apply`). Returns that phase's name.
    ///
    /// # Errors
    /// [`AppError::NotFound`] for an unknown campaign; [`Refusal::NoPhaseToAdvance`] when every
    /// started phase enforces already.
    pub async fn advance_campaign(&self, actor: &Actor, meta: &RequestMeta, name: &str) -> AppResult<String> {
        let now = self.now();
        let Some((stored, mut campaign)) = self.loaded_campaigns(Some(name)).await?.into_iter().next() else {
            return Err(AppError::NotFound("campaign"));
        };
        let today: String = now.to_rfc3339().chars().take(10).collect();
        let next = campaign
            .phases
            .iter_mut()
            .find(|p| p.dates().is_some_and(|d| d.starts <= now) && p.mode(now, 0.0) == PhaseMode::ReportOnly)
            .ok_or(AppError::Refused(Refusal::NoPhaseToAdvance))?;
        next.enforce_on = Some(today);
        let phase = next.name.clone();
        let source = toml::to_string(&campaign).map_err(|e| AppError::Internal(e.to_string()))?;
        let source = format!("# Advanced: phase '{phase}' enforces from {}.\n{source}", now.to_rfc3339());
        self.store.put_campaign(&stored.name, &source, now, &self.audit_context(actor, meta)).await?;
        Ok(phase)
    }

    /// Every campaign, by name.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn campaigns(&self) -> AppResult<Vec<StoredCampaign>> {
        Ok(self.store.campaigns().await?)
    }

    /// The stored campaigns (all, or the one named) with their checked files.
    async fn loaded_campaigns(&self, name: Option<&str>) -> AppResult<Vec<(StoredCampaign, Campaign)>> {
        let stored: Vec<StoredCampaign> =
            self.store.campaigns().await?.into_iter().filter(|c| name.is_none_or(|n| c.name == n)).collect();
        if name.is_some() && stored.is_empty() {
            return Err(AppError::NotFound("campaign"));
        }
        let mut loaded = Vec::new();
        for campaign in stored {
            let parsed = self.check_campaign(&campaign.source).await?.map_err(|problems| {
                AppError::Internal(format!(
                    "campaign {} no longer checks: {}",
                    campaign.name,
                    problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; ")
                ))
            })?;
            loaded.push((campaign, parsed));
        }
        Ok(loaded)
    }

    /// Every active identity's standing in the campaigns (all, or the one named), with each
    /// phase's report.
    pub(crate) async fn assess_campaigns(
        &self,
        name: Option<&str>,
    ) -> AppResult<Vec<(StoredCampaign, Campaign, Vec<PhaseReport>, Vec<ComplianceRow>)>> {
        let now = self.now();
        let directory: Vec<Member> =
            self.identity.directory().await?.into_iter().filter(|m| m.user.status == UserStatus::Active).collect();
        // The exception covering each person now, if any (the one ending last).
        let mut covering: std::collections::HashMap<uuid::Uuid, (String, Timestamp)> = std::collections::HashMap::new();
        for e in self.store.exceptions().await?.into_iter().filter(|e| e.covers(now)) {
            let reference = e.id.to_string();
            let entry = covering.entry(e.user_id).or_insert((reference.clone(), e.ends_at));
            if e.ends_at > entry.1 {
                *entry = (reference, e.ends_at);
            }
        }
        let last_mfa: std::collections::HashMap<uuid::Uuid, Timestamp> =
            self.store.last_mfa_sign_ins().await?.into_iter().collect();
        let mut out = Vec::new();
        for (stored, campaign) in self.loaded_campaigns(name).await? {
            let recorded: std::collections::HashMap<uuid::Uuid, (State, Timestamp)> = self
                .store
                .compliance_states(Some(&stored.name), None)
                .await?
                .into_iter()
                .map(|s| (s.user_id, (s.state, s.since)))
                .collect();
            let mut members_of: Vec<Vec<&Member>> = vec![Vec::new(); campaign.phases.len()];
            for member in &directory {
                let user = &member.user;
                if let Some(i) = campaign
                    .phases
                    .iter()
                    .position(|p| p.includes(&user.username, &member.groups, user.tier, user.department.as_deref()))
                {
                    members_of[i].push(member);
                }
            }
            let mut phases = Vec::new();
            let mut rows = Vec::new();
            for (phase, members) in campaign.phases.iter().zip(members_of) {
                let Some(dates) = phase.dates() else { continue };
                let registered =
                    members.iter().filter(|m| compliance::registered(&m.holdings(), campaign.done_means)).count()
                        as u64;
                let in_scope = members.len() as u64;
                #[allow(clippy::cast_precision_loss)]
                let percent = if in_scope == 0 { 100.0 } else { registered as f64 * 100.0 / in_scope as f64 };
                // Only a running campaign enforces; a draft or paused one reports.
                let mode = if stored.status == CampaignStatus::Running {
                    phase.mode(now, percent)
                } else {
                    PhaseMode::ReportOnly
                };
                let mut states = BTreeMap::new();
                for member in members.into_iter().filter(|_| now >= dates.starts) {
                    let exception = covering.get(&member.user.id).map(|(id, ends)| (id.as_str(), *ends));
                    let assessment =
                        compliance::assess(&dates, mode, &member.holdings(), campaign.done_means, exception, now);
                    *states.entry(assessment.state).or_insert(0) += 1;
                    rows.push(ComplianceRow {
                        user: member.user.clone(),
                        campaign: campaign.name.clone(),
                        phase: phase.name.clone(),
                        username: member.user.username.clone(),
                        tier: member.user.tier.to_string(),
                        department: member.user.department.clone(),
                        state: assessment.state,
                        days_left: assessment.days_left,
                        methods: member.methods.iter().map(|(k, _)| k.as_str().to_owned()).collect(),
                        strongest: assessment.strongest,
                        weak_for_tier: assessment.weak_for_tier,
                        recommended_setup: assessment.recommended_setup,
                        exception: assessment.exception,
                        since: recorded
                            .get(&member.user.id)
                            .filter(|(state, _)| *state == assessment.state)
                            .map(|(_, since)| *since),
                        last_mfa: last_mfa.get(&member.user.id).copied(),
                    });
                }
                phases.push(PhaseReport {
                    name: phase.name.clone(),
                    mode,
                    deadline: dates.deadline,
                    in_scope,
                    registered,
                    states,
                });
            }
            out.push((stored, campaign, phases, rows));
        }
        Ok(out)
    }

    /// Every in-scope identity's standing, optionally for one campaign and one state.
    ///
    /// # Errors
    /// [`AppError::NotFound`] for an unknown campaign; storage failures.
    pub async fn compliance_report(
        &self,
        campaign: Option<&str>,
        state: Option<State>,
    ) -> AppResult<Vec<ComplianceRow>> {
        Ok(self
            .assess_campaigns(campaign)
            .await?
            .into_iter()
            .flat_map(|(_, _, _, rows)| rows)
            .filter(|row| state.is_none_or(|s| row.state == s))
            .collect())
    }

    /// A campaign's standing: phases, progress against the target, the adoption curve and
    /// the projected completion. Reading a running campaign's status keeps the day's snapshot.
    ///
    /// # Errors
    /// [`AppError::NotFound`] for an unknown campaign; storage failures.
    pub async fn campaign_status(&self, name: &str) -> AppResult<CampaignReport> {
        let now = self.now();
        let Some((stored, campaign, phases, _)) = self.assess_campaigns(Some(name)).await?.into_iter().next() else {
            return Err(AppError::NotFound("campaign"));
        };
        let in_scope: u64 = phases.iter().map(|p| p.in_scope).sum();
        let registered: u64 = phases.iter().map(|p| p.registered).sum();
        let today = Snapshot { at: now, in_scope, registered };
        if stored.status == CampaignStatus::Running {
            self.store.put_campaign_snapshot(name, &today).await?;
        }
        let mut curve = self.store.campaign_snapshots(name).await?;
        if curve.is_empty() {
            curve.push(today);
        }
        let target = f64::from(campaign.target.percent);
        let due = campaign
            .phases
            .iter()
            .filter_map(|p| p.dates())
            .map(|d| d.starts)
            .min()
            .map(|start| start.plus_seconds(i64::from(campaign.target.within_days) * 86_400));
        let projected = progress::projected_completion(&curve, target);
        let starts: std::collections::HashMap<&str, Timestamp> =
            campaign.phases.iter().filter_map(|p| Some((p.name.as_str(), p.dates()?.starts))).collect();
        let mut days_to_enrol: Vec<i64> = self
            .store
            .compliance_states(Some(name), None)
            .await?
            .into_iter()
            .filter(|s| s.state == State::Compliant)
            .filter_map(|s| {
                starts.get(s.phase.as_str()).map(|start| (s.since.millis() - start.millis()).max(0) / 86_400_000)
            })
            .collect();
        days_to_enrol.sort_unstable();
        let median_days_to_enrol = days_to_enrol.get(days_to_enrol.len() / 2).copied();
        Ok(CampaignReport {
            median_days_to_enrol,
            name: stored.name,
            status: stored.status,
            in_scope,
            registered,
            percent: today.percent(),
            target_percent: campaign.target.percent,
            on_track: matches!((projected, due), (Some(p), Some(d)) if p <= d),
            due,
            projected,
            phases,
            curve,
        })
    }
}
