//! Conditional access over history: a draft policy replayed against the recorded sign-ins
//! (`policy simulate`), and what the rules — report-only ones above all — matched
//! (`report policy`).

use super::ConditionalAccess;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use twofold_core::Timestamp;
use twofold_core::access::{Mode, file, simulate};
use uuid::Uuid;

use crate::AppResult;

/// What the rules of the recorded decisions matched over a period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyReport {
    /// Since when.
    pub since: Timestamp,
    /// Sign-ins that carry a decision.
    pub decided: u64,
    /// Sign-ins where the report-only rules would have changed the outcome.
    pub would_change: u64,
    /// Per rule (name, mode, outcome as written).
    pub rules: Vec<RuleTally>,
    /// The latest sign-ins a report-only rule matched (at most 100), newest first.
    pub report_only_sign_ins: Vec<ReportOnlySignIn>,
}

/// One rule's matches.
#[derive(Debug, Clone, Serialize)]
pub struct RuleTally {
    /// The rule.
    pub rule: String,
    /// `enforce` or `report_only`.
    pub mode: Mode,
    /// What it says.
    pub outcome: String,
    /// Sign-ins it matched.
    pub sign_ins: u64,
    /// Distinct people, sorted.
    pub users: Vec<String>,
}

/// A sign-in a report-only rule matched.
#[derive(Debug, Clone, Serialize)]
pub struct ReportOnlySignIn {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub username: String,
    /// To what.
    pub app: Option<String>,
    /// What was applied.
    pub outcome: String,
    /// What the report-only rules would have made of it.
    pub would_be: String,
    /// The report-only rules that matched.
    pub rules: Vec<String>,
}

impl ConditionalAccess {
    /// Everyone in the directory as the simulation sees them: groups, tier, roles, and what
    /// their confirmed methods can prove.
    async fn simulation_people(&self) -> AppResult<Vec<(Uuid, simulate::Person)>> {
        Ok(self
            .identity
            .directory()
            .await?
            .into_iter()
            .map(|member| {
                let best_acr = twofold_core::rollout::compliance::strongest(&member.methods).unwrap_or("pwd");
                let mut amr: BTreeSet<String> = member.methods.iter().map(|(k, _)| k.amr().to_owned()).collect();
                amr.insert("pwd".into());
                let person = simulate::Person {
                    username: member.user.username.clone(),
                    groups: member.groups,
                    tier: member.user.tier,
                    roles: member.user.roles.clone(),
                    best_acr: best_acr.into(),
                    methods: amr.into_iter().collect(),
                };
                (member.user.id, person)
            })
            .collect())
    }

    /// Replays the sign-ins of the last `days` days against the draft `source`, compared with
    /// the policy in force (or, with none, with no policy at all).
    ///
    /// # Errors
    /// Storage failures; the draft's problems as the inner error.
    pub async fn simulate_policy(
        &self,
        source: &str,
        days: i64,
        progress: &dyn crate::progress::Progress,
    ) -> AppResult<Result<simulate::Report, Vec<file::Problem>>> {
        let draft = match self.check_policy(source).await? {
            Ok(draft) => draft,
            Err(problems) => return Ok(Err(problems)),
        };
        let current = self.current_policy().await?.map(|(_, policy)| policy).unwrap_or_default();
        let people = self.simulation_people().await?;
        let mut simulation = simulate::Simulation::new(&draft, Some(&current), people);
        let since = self.now().plus_seconds(-days.max(0) * 86_400);
        let mut replayed = 0u64;
        self.attempts
            .each_sign_in_page(since, |page| {
                replayed += page.len() as u64;
                progress.step("replaying sign-ins", replayed, None);
                simulation.feed(page);
            })
            .await?;
        Ok(Ok(simulation.report()))
    }

    /// What the recorded decisions' rules matched since `since`; report-only rules show
    /// what they would have done.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn policy_report(&self, since: Timestamp) -> AppResult<PolicyReport> {
        let mut report = PolicyReport { since, ..PolicyReport::default() };
        let mut tallies: BTreeMap<(String, Mode, String), (u64, BTreeSet<String>)> = BTreeMap::new();
        let mut latest: Vec<ReportOnlySignIn> = Vec::new();
        self.attempts
            .each_sign_in_page(since, |page| {
                for event in page {
                    let Some(decision) = &event.context.policy else { continue };
                    report.decided += 1;
                    if decision.would_be != decision.outcome {
                        report.would_change += 1;
                    }
                    for rule in &decision.rules {
                        let tally = tallies.entry((rule.rule.clone(), rule.mode, rule.outcome.clone())).or_default();
                        tally.0 += 1;
                        tally.1.insert(event.username.clone());
                    }
                    let report_only: Vec<String> =
                        decision.rules.iter().filter(|r| r.mode == Mode::ReportOnly).map(|r| r.rule.clone()).collect();
                    if !report_only.is_empty() {
                        latest.push(ReportOnlySignIn {
                            at: event.at,
                            username: event.username.clone(),
                            app: event.context.app.clone(),
                            outcome: decision.outcome.clone(),
                            would_be: decision.would_be.clone(),
                            rules: report_only,
                        });
                        if latest.len() > 200 {
                            latest.drain(..100);
                        }
                    }
                }
            })
            .await?;
        latest.reverse();
        latest.truncate(100);
        report.report_only_sign_ins = latest;
        report.rules = tallies
            .into_iter()
            .map(|((rule, mode, outcome), (sign_ins, users))| RuleTally {
                rule,
                mode,
                outcome,
                sign_ins,
                users: users.into_iter().collect(),
            })
            .collect();
        Ok(report)
    }
}
