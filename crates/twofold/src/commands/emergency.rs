//! `twofold emergency ...`, `twofold review ...` and `twofold report break-glass`.

use std::process::ExitCode;

use twofold_app::App;
use twofold_core::emergency::EmergencyAccess;

use super::{cli_actor, table_or};
use crate::cli::{EmergencyCommand, OutputFormat, ReviewCommand};
use crate::output::print;

pub async fn run(command: EmergencyCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let outcome = work(command, app, table_or(format)).await;
    // The alerts a step caused (an approval, a sign-in, an end) go out before the process ends.
    app.settle_notifications().await;
    outcome
}

async fn work(command: EmergencyCommand, app: &App, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let key = format!("cli:{}", actor.id.clone().unwrap_or_default());
    let emergency = app.emergency();
    match command {
        EmergencyCommand::Request { user, reason, hours } => {
            let access = emergency.request(&actor, &key, &user, &reason, hours, &meta).await?;
            print(format, &access, HEADERS, vec![row(&access)])?;
        }
        EmergencyCommand::Approve { id, approver, code } => {
            let access = emergency.decide(&actor, id, &approver, &code, true, &meta).await?;
            print(format, &access, HEADERS, vec![row(&access)])?;
        }
        EmergencyCommand::Reject { id, approver, code } => {
            let access = emergency.decide(&actor, id, &approver, &code, false, &meta).await?;
            print(format, &access, HEADERS, vec![row(&access)])?;
        }
        EmergencyCommand::Revoke { id, reason } => {
            let access = emergency.revoke(&actor, id, &reason, &meta).await?;
            print(format, &access, HEADERS, vec![row(&access)])?;
        }
        EmergencyCommand::List { user } => {
            let list = emergency.list(user.as_deref()).await?;
            let rows = list.iter().map(row).collect();
            print(format, &list, HEADERS, rows)?;
        }
        EmergencyCommand::RunJobs => {
            let report = emergency.run_jobs().await?;
            println!(
                "{} emergency access(es) ended, {} review(s) opened, {} break-glass control test(s) asked for",
                report.ended, report.reviews_opened, report.tests_asked
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

const HEADERS: &[&str] = &["id", "user", "state", "hours", "ends", "requested by", "decided by"];

fn row(access: &EmergencyAccess) -> Vec<String> {
    vec![
        access.id.to_string(),
        access.username.clone(),
        access.state.as_str().to_owned(),
        access.hours.to_string(),
        access.ends_at.map_or_else(|| "-".into(), |t| t.to_rfc3339()),
        access.requested_by.clone(),
        access.decided_by.clone().unwrap_or_else(|| "-".into()),
    ]
}

pub async fn reviews(command: ReviewCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let format = table_or(format);
    match command {
        ReviewCommand::List { open } => {
            let list = app.emergency().reviews(open).await?;
            let rows = list
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.kind.as_str().to_owned(),
                        r.username.clone(),
                        r.opened_at.to_rfc3339(),
                        r.completed_at.map_or_else(|| "open".into(), |t| format!("done {}", t.to_rfc3339())),
                        r.summary.clone(),
                    ]
                })
                .collect();
            print(format, &list, &["id", "kind", "user", "opened", "state", "what"], rows)?;
            let open_count = list.iter().filter(|r| r.completed_at.is_none()).count();
            if format == OutputFormat::Table && open_count > 0 {
                eprintln!(
                    "{open_count} review(s) open: complete each with `twofold review complete ID --findings \"...\"`"
                );
            }
        }
        ReviewCommand::Complete { id, findings, control_test } => {
            let review = app.emergency().complete_review(&actor, id, &findings, control_test, &meta).await?;
            eprintln!("review {} completed", review.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `twofold report break-glass`: each account's last control test and whether one is overdue;
/// exit 1 when one is.
pub async fn break_glass(app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let standings = app.emergency().break_glass_standings().await?;
    let rows = standings
        .iter()
        .map(|s| {
            vec![
                s.username.clone(),
                s.last_tested_at.map_or_else(|| "never".into(), |t| t.to_rfc3339()),
                s.tested_by.clone().unwrap_or_else(|| "-".into()),
                s.due_at.to_rfc3339(),
                if s.overdue { "OVERDUE".into() } else { "ok".into() },
            ]
        })
        .collect();
    print(table_or(format), &standings, &["account", "last tested", "reviewed by", "next due", "state"], rows)?;
    Ok(if standings.iter().any(|s| s.overdue) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
