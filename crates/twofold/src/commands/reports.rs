//! `twofold report ...`: what the security team reviews.

use std::process::ExitCode;

use twofold_app::App;
use twofold_core::service_account::ReportPolicy;

use super::table_or;
use crate::cli::{OutputFormat, ReportCommand};
use crate::output::print;

pub async fn run(command: ReportCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    match command {
        ReportCommand::Coverage { days } => {
            anyhow::ensure!(days > 0, "--days must be positive");
            let c = app.coverage(days).await?;
            if matches!(format, Some(OutputFormat::Json)) {
                println!("{}", serde_json::to_string_pretty(&c)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("Registration coverage: {} of {} people ({} %)", c.registered, c.people, c.registration_percent);
            println!(
                "Effective coverage since {}: {} of {} sign-ins proved a second factor ({} %)",
                c.since.to_rfc3339(),
                c.sign_ins_with_mfa,
                c.sign_ins,
                c.effective_percent
            );
            let failures: Vec<String> = c.failures.iter().map(|(r, n)| format!("{r} {n}")).collect();
            println!("Failures by reason: {}", if failures.is_empty() { "none".into() } else { failures.join(", ") });
            let by_method: Vec<String> = c.failures_by_method.iter().map(|(m, n)| format!("{m}: {n}")).collect();
            println!("Failures by method: {}", if by_method.is_empty() { "none".into() } else { by_method.join(", ") });
            let enrolments: Vec<String> =
                c.enrolments.iter().map(|(k, e)| format!("{k} {} of {} finished", e.finished, e.started)).collect();
            println!("Enrolments: {}", if enrolments.is_empty() { "none".into() } else { enrolments.join(", ") });
            let exceptions: Vec<String> = c.exceptions.iter().map(|(s, n)| format!("{s} {n}")).collect();
            println!("Exceptions: {}", if exceptions.is_empty() { "none".into() } else { exceptions.join(", ") });
        }
        ReportCommand::Gaps { days, break_glass_days, unused_days, secret_max_age_days } => {
            anyhow::ensure!(
                days > 0 && break_glass_days > 0 && unused_days > 0 && secret_max_age_days > 0,
                "the day counts must be positive"
            );
            let report =
                app.gap_report(days, break_glass_days, ReportPolicy { unused_days, secret_max_age_days }).await?;
            if matches!(format, Some(OutputFormat::Json)) {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(ExitCode::SUCCESS);
            }
            let list = |names: &[String]| if names.is_empty() { "none".to_owned() } else { names.join(", ") };
            println!("No second factor: {}", list(&report.no_second_factor));
            println!("Methods weak for their tier: {}", list(&report.weak_for_tier));
            println!("Admins without a passkey or security key: {}", list(&report.admins_without_keys));
            let accounts: Vec<String> = report
                .service_accounts
                .iter()
                .map(|l| format!("{} ({})", l.client_id, l.findings.join("; ")))
                .collect();
            println!("Service accounts needing attention: {}", list(&accounts));
            let password_only: Vec<String> =
                report.password_only_sign_ins.iter().map(|(user, n)| format!("{user} ({n})")).collect();
            println!("Password-only sign-ins since {}: {}", report.since.to_rfc3339(), list(&password_only));
            let untested: Vec<String> = report
                .break_glass_untested
                .iter()
                .map(|(user, last)| {
                    format!("{user} (last {})", last.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339()))
                })
                .collect();
            println!(
                "Break-glass accounts not tested since {}: {}",
                report.break_glass_since.to_rfc3339(),
                list(&untested)
            );
        }
        ReportCommand::Compliance { campaign, state } => {
            return super::campaigns::compliance(app, campaign, state, format).await;
        }
        ReportCommand::Policy { days } => {
            anyhow::ensure!(days > 0, "--days must be positive");
            let since = app.now().plus_seconds(-days * 86_400);
            let report = app.policy_report(since).await?;
            if matches!(format, Some(OutputFormat::Json)) {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{} sign-ins since {} were decided by a policy; the report-only rules would have changed {} of them.",
                report.decided,
                since.to_rfc3339(),
                report.would_change
            );
            let rows = report
                .rules
                .iter()
                .map(|r| {
                    let said = if r.mode == twofold_core::policy::Mode::ReportOnly {
                        format!("would have: {}", r.outcome)
                    } else {
                        r.outcome.clone()
                    };
                    vec![r.rule.clone(), said, r.sign_ins.to_string(), r.users.len().to_string()]
                })
                .collect();
            print(table_or(format), &report, &["rule", "outcome", "sign-ins", "people"], rows)?;
            if !report.report_only_sign_ins.is_empty() {
                println!("\nLatest sign-ins a report-only rule matched:");
                let rows = report
                    .report_only_sign_ins
                    .iter()
                    .take(20)
                    .map(|s| {
                        vec![
                            s.at.to_rfc3339(),
                            s.username.clone(),
                            s.app.clone().unwrap_or_default(),
                            s.outcome.clone(),
                            s.would_be.clone(),
                            s.rules.join(", "),
                        ]
                    })
                    .collect();
                print(table_or(format), &report, &["at", "user", "app", "applied", "would have", "rules"], rows)?;
            }
        }
        ReportCommand::ServiceAccounts { unused_days, secret_max_age_days } => {
            anyhow::ensure!(unused_days > 0 && secret_max_age_days > 0, "the day counts must be positive");
            let lines = app.service_account_report(ReportPolicy { unused_days, secret_max_age_days }).await?;
            let rows = lines
                .iter()
                .map(|line| {
                    vec![
                        line.client_id.clone(),
                        line.name.clone(),
                        line.token_endpoint_auth_method.to_owned(),
                        line.last_used_at.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339()),
                        line.secret_age_days.map_or_else(|| "-".to_owned(), |d| format!("{d} days")),
                        if line.findings.is_empty() { "ok".to_owned() } else { line.findings.join("; ") },
                    ]
                })
                .collect();
            let headers = ["client_id", "name", "auth", "last used", "secret age", "findings"];
            print(table_or(format), &serde_json::json!({ "service_accounts": lines }), &headers, rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
