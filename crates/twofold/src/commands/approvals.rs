//! `twofold approvals rules check|apply|versions|show`, `callbacks`, `list`, `show`: the
//! rules that decide who approves, the URLs results go to, and the requests apps raised.

use std::process::ExitCode;

use anyhow::Context;
use twofold_app::App;
use twofold_core::approvals::ApprovalState;

use crate::cli::{ApprovalRulesCommand, ApprovalsCommand, OutputFormat};
use crate::output::{or_dash, print};

fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub async fn run(command: ApprovalsCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = super::cli_actor();
    let approvals = app.approvals();
    match command {
        ApprovalsCommand::Rules(rules) => run_rules(rules, app, format).await,
        ApprovalsCommand::Callbacks { client_id, urls } => {
            approvals.set_callbacks(&actor, &meta, &client_id, &urls).await?;
            match urls.len() {
                0 => println!("{client_id}: no approval callback URLs; its results are read by polling"),
                n => println!("{client_id}: {n} approval callback URL(s) registered"),
            }
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsCommand::List { state, app: client } => {
            let state = match state.as_deref() {
                Some(name) => Some(ApprovalState::parse(name).ok_or_else(|| {
                    anyhow::anyhow!("--state '{name}' is not one of pending, approved, rejected, expired")
                })?),
                None => None,
            };
            let requests = approvals.list(state, client.as_deref()).await?;
            let rows = requests
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.state.as_str().to_owned(),
                        r.client_id.clone(),
                        format!("{} {}", r.proposal.action, r.proposal.resource),
                        r.requester.username.clone(),
                        format!("{}/{} {}", r.approvals(), r.rule.required, r.rule.approvers),
                        r.expires_at.to_rfc3339(),
                    ]
                })
                .collect();
            let listed: Vec<_> = requests.iter().map(twofold_app::approvals::RaisedRequest::from).collect();
            print(
                super::table_or(format),
                &listed,
                &["id", "state", "app", "change", "requester", "approvals", "expires"],
                rows,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsCommand::Show { id } => {
            let id = uuid::Uuid::parse_str(&id).map_err(|_| anyhow::anyhow!("'{id}' is not a request id"))?;
            let (request, deliveries) = approvals.details(id).await?;
            if matches!(format, Some(OutputFormat::Json)) {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"request": request, "deliveries": deliveries}))?
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!("{} {} ({})", request.proposal.action, request.proposal.resource, request.state.as_str());
            println!("app:          {} ({})", request.client_name, request.client_id);
            println!(
                "asked by:     {} at {} from {}",
                request.requester.username,
                request.created_at.to_rfc3339(),
                or_dash(request.requester.ip.as_deref())
            );
            println!("reason:       {}", request.proposal.reason);
            println!(
                "rule:         {} (version {}): {} of {}, {}",
                request.rule.name,
                request.rule.version,
                request.rule.required,
                request.rule.approvers,
                request.rule.strength
            );
            println!("content hash: {}", request.content_hash);
            println!("before:       {}", request.proposal.before);
            println!("after:        {}", request.proposal.after);
            for v in &request.votes {
                println!(
                    "decision:     {} {} at {} ({}, {})",
                    v.username,
                    if v.approve { "approved" } else { "rejected" },
                    v.at.to_rfc3339(),
                    v.acr,
                    v.amr.join(" ")
                );
            }
            for d in &deliveries {
                let outcome = d.delivered_at.map_or_else(
                    || {
                        format!(
                            "not yet ({} attempt(s){})",
                            d.attempts,
                            d.last_error.as_deref().map(|e| format!(", last: {e}")).unwrap_or_default()
                        )
                    },
                    |t| format!("delivered {}", t.to_rfc3339()),
                );
                println!("callback:     {} {outcome}", d.target);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn run_rules(command: ApprovalRulesCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = super::cli_actor();
    let approvals = app.approvals();
    match command {
        ApprovalRulesCommand::Check { file } => match approvals.check_rules(&read(&file)?).await? {
            Ok(rules) => {
                println!("{}: {} rules, no problems", file.display(), rules.rule.len());
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => Ok(super::report_problems(&file, &problems)),
        },
        ApprovalRulesCommand::Apply { file, note } => {
            let version = approvals.apply_rules(&actor, &meta, &read(&file)?, note.as_deref()).await?;
            println!("applied {} as approval rules version {version}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        ApprovalRulesCommand::Versions => super::print_versions(format, &approvals.rules_versions().await?),
        ApprovalRulesCommand::Show { number } => {
            super::print_version_source(approvals.rules_versions().await?, number, "approval rules")
        }
    }
}
