//! `twofold campaign check|apply|start|pause|list|status` and `twofold report compliance`:
//! rollout campaigns from files, and where every in-scope identity stands.

use std::process::ExitCode;

use anyhow::Context;
use twofold_app::App;
use twofold_core::rollout::CampaignStatus;
use twofold_core::rollout::compliance::State;

use crate::cli::{CampaignCommand, ExceptionCommand, OutputFormat};
use crate::output::{or_dash, print};

fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn day(t: twofold_core::Timestamp) -> String {
    t.to_rfc3339().chars().take(10).collect()
}

pub async fn run(command: CampaignCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = super::cli_actor();
    match command {
        CampaignCommand::Check { file } => match app.rollout().check_campaign(&read(&file)?).await? {
            Ok(campaign) => println!(
                "{}: campaign '{}', {} phases, no problems",
                file.display(),
                campaign.name,
                campaign.phases.len()
            ),
            Err(problems) => return Ok(super::report_problems(&file, &problems)),
        },
        CampaignCommand::Apply { file } => {
            let name = app.rollout().apply_campaign(&actor, &meta, &read(&file)?).await?;
            println!("applied campaign '{name}' (start it with `twofold campaign start '{name}'`)");
        }
        CampaignCommand::Start { name } => {
            app.rollout().set_campaign_status(&actor, &meta, &name, CampaignStatus::Running).await?;
            println!("campaign '{name}' is running");
        }
        CampaignCommand::Pause { name } => {
            app.rollout().set_campaign_status(&actor, &meta, &name, CampaignStatus::Paused).await?;
            println!("campaign '{name}' is paused: nothing is enforced until it is started again");
        }
        CampaignCommand::Advance { name } => {
            let phase = app.rollout().advance_campaign(&actor, &meta, &name).await?;
            println!("campaign '{name}': phase '{phase}' enforces from today");
        }
        CampaignCommand::List => {
            let campaigns = app.rollout().campaigns().await?;
            let rows = campaigns
                .iter()
                .map(|c| vec![c.name.clone(), c.status.as_str().to_owned(), c.updated_at.to_rfc3339()])
                .collect();
            let listed: Vec<_> = campaigns
                .iter()
                .map(|c| serde_json::json!({"name": c.name, "status": c.status, "updated_at": c.updated_at}))
                .collect();
            print(super::table_or(format), &listed, &["name", "status", "updated"], rows)?;
        }
        CampaignCommand::RunJobs => {
            let report = app.rollout().run_campaign_jobs().await?;
            println!(
                "{} running campaign(s): {} transition(s) recorded, {} reminder(s) sent, {} exception(s) expired",
                report.campaigns, report.transitions, report.reminders, report.expired
            );
        }
        CampaignCommand::Status { name } => {
            let report = app.rollout().campaign_status(&name).await?;
            if matches!(format, Some(OutputFormat::Json)) {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "Campaign '{}' ({}): {} of {} in scope registered ({:.1} %), target {} % by {}.",
                report.name,
                report.status.as_str(),
                report.registered,
                report.in_scope,
                report.percent,
                report.target_percent,
                report.due.map_or_else(|| "-".into(), day)
            );
            println!(
                "{}",
                match report.projected {
                    Some(p) if report.on_track => format!("On track: projected to reach the target on {}.", day(p)),
                    Some(p) => format!("Behind: projected to reach the target on {}, after it is due.", day(p)),
                    None => "No projection yet: the adoption curve is too short or flat.".to_owned(),
                }
            );
            if let Some(days) = report.median_days_to_enrol {
                println!("Median time to enrol: {days} days from the phase's start.");
            }
            let rows = report
                .phases
                .iter()
                .map(|p| {
                    let states: Vec<String> = p.states.iter().map(|(s, n)| format!("{} {n}", s.as_str())).collect();
                    vec![
                        p.name.clone(),
                        format!("{:?}", p.mode).to_lowercase().replace("reportonly", "report_only"),
                        day(p.deadline),
                        format!("{}/{}", p.registered, p.in_scope),
                        states.join(", "),
                    ]
                })
                .collect();
            print(OutputFormat::Table, &report, &["phase", "mode", "deadline", "registered", "states"], rows)?;
            println!("\nAdoption curve (registered, in percent):");
            for snapshot in &report.curve {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let bar = "#".repeat((snapshot.percent() / 2.0).round() as usize);
                println!("{}  {:5.1}  {bar}", day(snapshot.at), snapshot.percent());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `twofold report compliance`.
pub async fn compliance(
    app: &App,
    campaign: Option<String>,
    state: Option<String>,
    format: Option<OutputFormat>,
) -> anyhow::Result<ExitCode> {
    let state: Option<State> = state
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.clone())).map_err(|_| {
                anyhow::anyhow!("--state '{s}' is not compliant, pending, overdue, exempt, limited or blocked")
            })
        })
        .transpose()?;
    let rows = app.rollout().compliance_report(campaign.as_deref(), state).await?;
    let table = rows
        .iter()
        .map(|r| {
            vec![
                r.username.clone(),
                r.campaign.clone(),
                r.phase.clone(),
                r.state.as_str().to_owned(),
                r.days_left.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                r.tier.clone(),
                or_dash(r.department.as_deref()),
                if r.methods.is_empty() { "-".to_owned() } else { r.methods.join(";") },
                or_dash(r.strongest),
                if r.weak_for_tier { "yes" } else { "no" }.to_owned(),
                r.since.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339()),
                r.last_mfa.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339()),
                if r.recommended_setup { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    let headers = [
        "username",
        "campaign",
        "phase",
        "state",
        "days_left",
        "tier",
        "department",
        "methods",
        "strongest",
        "weak_for_tier",
        "since",
        "last_mfa",
        "recommended_setup",
    ];
    print(super::table_or(format), &serde_json::json!({ "identities": rows }), &headers, table)?;
    Ok(ExitCode::SUCCESS)
}

/// `twofold exception ...`.
pub async fn exceptions(
    command: ExceptionCommand,
    app: &App,
    format: Option<OutputFormat>,
) -> anyhow::Result<ExitCode> {
    let (actor, meta) = super::cli_actor();
    let shown = |e: &twofold_core::rollout::exception::Exception| {
        format!("exception {} for {} until {}: {}", e.id, e.username, day(e.ends_at), e.state(app.now()))
    };
    match command {
        ExceptionCommand::Request { user, reason, until, requested_by } => {
            let until = twofold_core::Timestamp::parse(&until).map_err(anyhow::Error::msg)?;
            let e = app.rollout().request_exception(&actor, &meta, &user, &reason, until, Some(&requested_by)).await?;
            if matches!(format, Some(OutputFormat::Json)) {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!("{} (an approver decides it with `twofold exception approve {}`)", shown(&e), e.id);
            }
        }
        ExceptionCommand::Approve { id, approver, code } => {
            println!("{}", shown(&app.rollout().decide_exception(&actor, &meta, &id, &approver, &code, true).await?));
        }
        ExceptionCommand::Reject { id, approver, code } => {
            println!("{}", shown(&app.rollout().decide_exception(&actor, &meta, &id, &approver, &code, false).await?));
        }
        ExceptionCommand::Confirm { id, manager, code } => {
            let e = app.rollout().confirm_exception(&actor, &meta, &id, &manager, &code).await?;
            println!("{} (confirmed by {manager})", shown(&e));
        }
        ExceptionCommand::Revoke { id, reason } => {
            println!("{}", shown(&app.rollout().revoke_exception(&actor, &meta, &id, reason.as_deref()).await?));
        }
        ExceptionCommand::List => {
            let now = app.now();
            let list = app.rollout().exceptions().await?;
            let rows = list
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.username.clone(),
                        e.state(now).to_owned(),
                        day(e.ends_at),
                        e.requested_by.clone(),
                        or_dash(e.approved_by.as_deref()),
                        or_dash(e.ended_by.as_deref()),
                        or_dash(e.end_reason.as_deref()),
                        e.reason.clone(),
                    ]
                })
                .collect();
            let headers =
                ["id", "user", "state", "until", "requested by", "approved by", "ended by", "end reason", "reason"];
            // The JSON carries each exception's state now, as the API's list does.
            let list: Vec<serde_json::Value> = list
                .iter()
                .map(|e| {
                    let mut value = serde_json::json!(e);
                    value["state"] = serde_json::json!(e.state(now));
                    value
                })
                .collect();
            print(super::table_or(format), &serde_json::json!({ "exceptions": list }), &headers, rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
