//! The gap analysis: where MFA does not yet protect the organisation — identities with no
//! second factor or only ones weak for their tier, administrators without phishing-resistant
//! keys, service accounts with long-lived or unrotated secrets, sign-ins that proved only a
//! password, and break-glass accounts nobody has tested lately.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use twofold_core::Timestamp;
use twofold_core::factors::authenticator::AuthenticatorKind;
use twofold_core::identity::service_account::{ReportLine, ReportPolicy};
use twofold_core::identity::{Role, Tier, UserStatus};
use twofold_core::rollout::compliance::weak_for_tier;
use twofold_core::signin::SignInOutcome;

use crate::{App, AppResult};

/// Methods that prove a second factor in a sign-in event.
const SECOND_FACTORS: [&str; 5] = ["otp", "hwk", "sms", "swk", "trusted_device"];

/// What the gap analysis found.
#[derive(Debug, Clone, Serialize)]
pub struct GapReport {
    /// Sign-ins looked at from this time on.
    pub since: Timestamp,
    /// Active people with no second factor.
    pub no_second_factor: Vec<String>,
    /// Active people whose methods are weak for their tier (only email/SMS; no passkey for privileged).
    pub weak_for_tier: Vec<String>,
    /// Administrators without a passkey or security key.
    pub admins_without_keys: Vec<String>,
    /// Service accounts with findings (unused, old or unrotated secrets).
    pub service_accounts: Vec<ReportLine>,
    /// Successful sign-ins that proved only a password, per person.
    pub password_only_sign_ins: BTreeMap<String, u64>,
    /// Break-glass accounts with no successful sign-in since `break_glass_since`, with their
    /// latest one if any.
    pub break_glass_untested: Vec<(String, Option<Timestamp>)>,
    /// The break-glass test window's start.
    pub break_glass_since: Timestamp,
}

impl App {
    /// The gap analysis over the sign-ins of the last `days` days; break-glass accounts must
    /// have signed in within `break_glass_days`, service accounts are judged by `accounts`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn gap_report(&self, days: i64, break_glass_days: i64, accounts: ReportPolicy) -> AppResult<GapReport> {
        let now = self.now();
        let since = now.plus_seconds(-days.max(1) * 86_400);
        let break_glass_since = now.plus_seconds(-break_glass_days.max(1) * 86_400);
        let mut report = GapReport {
            since,
            no_second_factor: Vec::new(),
            weak_for_tier: Vec::new(),
            admins_without_keys: Vec::new(),
            service_accounts: Vec::new(),
            password_only_sign_ins: BTreeMap::new(),
            break_glass_untested: Vec::new(),
            break_glass_since,
        };
        let directory = self.identity.directory().await?;
        let mut break_glass: HashMap<uuid::Uuid, (String, Option<Timestamp>)> = HashMap::new();
        for member in directory.iter().filter(|m| m.user.status == UserStatus::Active && m.user.tier != Tier::Service) {
            let name = member.user.username.clone();
            if member.methods.is_empty() {
                report.no_second_factor.push(name.clone());
            } else if weak_for_tier(member.user.tier, &member.methods) {
                report.weak_for_tier.push(name.clone());
            }
            if member.user.has_role(Role::Admin)
                && !member.methods.iter().any(|(k, _)| *k == AuthenticatorKind::Webauthn)
            {
                report.admins_without_keys.push(name.clone());
            }
            if member.user.tier == Tier::BreakGlass {
                break_glass.insert(member.user.id, (name, None));
            }
        }
        let earliest = since.min(break_glass_since);
        self.attempts
            .each_sign_in_page(earliest, |page| {
                for event in page.iter().filter(|e| e.outcome == SignInOutcome::Success) {
                    if event.at >= since && !event.methods.iter().any(|m| SECOND_FACTORS.contains(&m.as_str())) {
                        *report.password_only_sign_ins.entry(event.username.clone()).or_insert(0) += 1;
                    }
                    if let Some((_, last)) = event.user_id.and_then(|id| break_glass.get_mut(&id)) {
                        *last = Some(last.map_or(event.at, |t: Timestamp| t.max(event.at)));
                    }
                }
            })
            .await?;
        report.break_glass_untested =
            break_glass.into_values().filter(|(_, last)| last.is_none_or(|t| t < break_glass_since)).collect();
        report.break_glass_untested.sort();
        report.service_accounts = self
            .oidc
            .service_account_report(accounts)
            .await?
            .into_iter()
            .filter(|line| !line.findings.is_empty())
            .collect();
        Ok(report)
    }
}
