//! Coverage metrics: how much of the organisation MFA covers on paper (registration) and in
//! practice (the share of interactive sign-ins that proved a second factor), why sign-ins
//! fail, and how many bypasses (exceptions) are in play.

use super::Rollout;
use std::collections::BTreeMap;

use serde::Serialize;
use twofold_core::Timestamp;
use twofold_core::identity::{Tier, UserStatus};
use twofold_core::rollout::compliance::weak_for_tier;
use twofold_core::signin::SignInOutcome;

use crate::AppResult;

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Sign-ins counted from this time on.
    pub since: Timestamp,
    /// Active people (service and break-glass tiers excluded).
    pub people: u64,
    /// ... with a second factor strong enough for their tier.
    pub registered: u64,
    /// `registered` in percent of `people`.
    pub registration_percent: f64,
    /// Successful interactive sign-ins (app codes checked for gateways excluded).
    pub sign_ins: u64,
    /// ... that proved a second factor (or came from a trusted device).
    pub sign_ins_with_mfa: u64,
    /// `sign_ins_with_mfa` in percent of `sign_ins`: effective coverage.
    pub effective_percent: f64,
    /// Failed attempts by reason, most frequent first.
    pub failures: Vec<(String, u64)>,
    /// Failed attempts by the methods tried (`pwd`, `pwd otp`, `hwk`, ...).
    pub failures_by_method: BTreeMap<String, u64>,
    /// Exceptions by state (`requested`, `approved`, `expired`, `rejected`, `revoked`).
    pub exceptions: BTreeMap<String, u64>,
    /// Enrolments per kind of method: started, and finished with the test authentication
    /// (the difference dropped off at that step).
    pub enrolments: BTreeMap<String, Enrolments>,
}

/// Enrolments of one kind of method.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Enrolments {
    /// Begun (a key or options issued).
    pub started: i64,
    /// Confirmed by a test authentication.
    pub finished: i64,
}

fn percent(part: u64, whole: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let share = if whole == 0 { 100.0 } else { part as f64 * 100.0 / whole as f64 };
    (share * 10.0).round() / 10.0
}

impl Rollout {
    /// Coverage over the sign-ins of the last `days` days.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn coverage(&self, days: i64) -> AppResult<Coverage> {
        let now = self.now();
        let since = now.plus_seconds(-days.max(1) * 86_400);
        let mut people = 0;
        let mut registered = 0;
        for member in self.identity.directory().await? {
            let user = &member.user;
            if user.status != UserStatus::Active || matches!(user.tier, Tier::Service | Tier::BreakGlass) {
                continue;
            }
            people += 1;
            if !member.methods.is_empty() && !weak_for_tier(user.tier, &member.methods) {
                registered += 1;
            }
        }
        let (mut sign_ins, mut with_mfa) = (0, 0);
        let mut failures: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_method: BTreeMap<String, u64> = BTreeMap::new();
        self.attempts
            .each_sign_in_page(since, |page| {
                for event in page {
                    match event.outcome {
                        SignInOutcome::Success => {
                            // A code checked for a gateway (the verify API) names no password.
                            if !event.methods.iter().any(|m| m == "pwd" || m == "hwk") {
                                continue;
                            }
                            sign_ins += 1;
                            if event.methods.iter().any(|m| m != "pwd") {
                                with_mfa += 1;
                            }
                        }
                        SignInOutcome::Failure => {
                            let reason = event.reason.map_or("unknown", |r| r.as_str());
                            *failures.entry(reason.to_owned()).or_insert(0) += 1;
                            *by_method.entry(event.methods.join(" ")).or_insert(0) += 1;
                        }
                    }
                }
            })
            .await?;
        let mut failures: Vec<(String, u64)> = failures.into_iter().collect();
        failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut exceptions = BTreeMap::new();
        for e in self.store.exceptions().await? {
            *exceptions.entry(e.state(now).to_owned()).or_insert(0) += 1;
        }
        let enrolments = self
            .store
            .enrolment_counts()
            .await?
            .into_iter()
            .map(|(kind, started, finished)| (kind.as_str().to_owned(), Enrolments { started, finished }))
            .collect();
        Ok(Coverage {
            enrolments,
            since,
            people,
            registered,
            registration_percent: percent(registered, people),
            sign_ins,
            sign_ins_with_mfa: with_mfa,
            effective_percent: percent(with_mfa, sign_ins),
            failures,
            failures_by_method: by_method,
            exceptions,
        })
    }
}
