//! `twofold report ...`: what the security team reviews.

use std::process::ExitCode;

use twofold_app::App;
use twofold_core::identity::service_account::ReportPolicy;

use super::table_or;
use crate::cli::{OutputFormat, ReportCommand};
use crate::output::print;

pub async fn run(command: ReportCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    match command {
        ReportCommand::BreakGlass => return super::emergency::break_glass(app, format).await,
        ReportCommand::Coverage { days } => {
            anyhow::ensure!(days > 0, "--days must be positive");
            let c = app.rollout().coverage(days).await?;
            if matches!(format, Some(OutputFormat::Json)) {
                println!("{}", serde_json::to_string_pretty(&c)?);
                return Ok(ExitCode::SUCCESS);
            }
            let failures: Vec<String> = c.failures.iter().map(|(r, n)| format!("{r} {n}")).collect();
            let by_method: Vec<String> = c.failures_by_method.iter().map(|(m, n)| format!("{m}: {n}")).collect();
            let enrolments: Vec<String> =
                c.enrolments.iter().map(|(k, e)| format!("{k} {} of {} finished", e.finished, e.started)).collect();
            let exceptions: Vec<String> = c.exceptions.iter().map(|(s, n)| format!("{s} {n}")).collect();
            let lines = vec![
                (
                    "Registration coverage".to_owned(),
                    format!("{} of {} people ({} %)", c.registered, c.people, c.registration_percent),
                ),
                (
                    format!("Effective coverage since {}", c.since.to_rfc3339()),
                    format!(
                        "{} of {} sign-ins proved a second factor ({} %)",
                        c.sign_ins_with_mfa, c.sign_ins, c.effective_percent
                    ),
                ),
                ("Failures by reason".to_owned(), none_or_list(&failures)),
                ("Failures by method".to_owned(), none_or_list(&by_method)),
                ("Enrolments".to_owned(), none_or_list(&enrolments)),
                ("Exceptions".to_owned(), none_or_list(&exceptions)),
            ];
            print_measures(format, &c, lines)?;
        }
        ReportCommand::Gaps { days, break_glass_days, unused_days, secret_max_age_days, details } => {
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
            let accounts: Vec<String> = report
                .service_accounts
                .iter()
                .map(|l| format!("{} ({})", l.client_id, l.findings.join("; ")))
                .collect();
            let password_only: Vec<String> =
                report.password_only_sign_ins.iter().map(|(user, n)| format!("{user} ({n})")).collect();
            let untested: Vec<String> = report
                .break_glass_untested
                .iter()
                .map(|(user, last)| {
                    format!("{user} (last {})", last.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339()))
                })
                .collect();
            // A table for people: how many, and the first few; every name with --details or in CSV.
            let listed = |names: &[String]| {
                if details || matches!(format, Some(OutputFormat::Csv)) { none_or_list(names) } else { summary(names) }
            };
            let lines = vec![
                ("No second factor".to_owned(), listed(&report.no_second_factor)),
                ("Methods weak for their tier".to_owned(), listed(&report.weak_for_tier)),
                ("Admins without a passkey or security key".to_owned(), listed(&report.admins_without_keys)),
                ("Service accounts needing attention".to_owned(), listed(&accounts)),
                (format!("Password-only sign-ins since {}", report.since.to_rfc3339()), listed(&password_only)),
                (
                    format!("Break-glass accounts not tested since {}", report.break_glass_since.to_rfc3339()),
                    listed(&untested),
                ),
            ];
            print_measures(format, &report, lines)?;
        }
        ReportCommand::Compliance { campaign, state } => {
            return super::campaigns::compliance(app, campaign, state, format).await;
        }
        ReportCommand::Policy { days } => {
            anyhow::ensure!(days > 0, "--days must be positive");
            let since = app.now().plus_seconds(-days * 86_400);
            let report = app.access().policy_report(since).await?;
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
                    let said = if r.mode == twofold_core::access::Mode::ReportOnly {
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
            let lines = app.oidc().service_account_report(ReportPolicy { unused_days, secret_max_age_days }).await?;
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

/// `names` joined with commas, or "none".
/// How many names and the first few: "1204: ann, bob, cem, dan, eve and 1199 more
/// (--details for all)".
fn summary(names: &[String]) -> String {
    const SHOWN: usize = 5;
    if names.len() <= SHOWN {
        return none_or_list(names);
    }
    format!("{}: {} and {} more (--details for all)", names.len(), names[..SHOWN].join(", "), names.len() - SHOWN)
}

fn none_or_list(names: &[String]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// A summary report's lines: `measure: value` for people, or a two-column CSV (through the
/// one CSV writer, so names in it cannot run as formulas).
fn print_measures<T: serde::Serialize>(
    format: Option<OutputFormat>,
    value: &T,
    lines: Vec<(String, String)>,
) -> anyhow::Result<()> {
    if format == Some(OutputFormat::Csv) {
        let rows = lines.into_iter().map(|(measure, value)| vec![measure, value]).collect();
        return print(OutputFormat::Csv, value, &["measure", "value"], rows);
    }
    for (measure, value) in lines {
        println!("{measure}: {value}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn a_long_gap_is_a_count_and_the_first_names() {
        let names: Vec<String> = (0..1204).map(|i| format!("p{i}")).collect();
        assert_eq!(summary(&names), "1204: p0, p1, p2, p3, p4 and 1199 more (--details for all)");
        assert_eq!(summary(&names[..2]), "p0, p1");
        assert_eq!(summary(&[]), "none");
    }
}
