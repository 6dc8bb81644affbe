//! `twofold report ...`: what the security team reviews.

use std::process::ExitCode;

use twofold_app::App;
use twofold_core::service_account::ReportPolicy;

use super::table_or;
use crate::cli::{OutputFormat, ReportCommand};
use crate::output::print;

pub async fn run(command: ReportCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    match command {
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
