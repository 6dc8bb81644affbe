//! `twofold case ...`: support cases from the console, acting as the CLI's operator (the
//! machine's administrator): the case's rules still decide every step.

use std::process::ExitCode;

use twofold_app::App;
use twofold_app::cases::{CaseOperator, CaseView, Reviewer};
use twofold_core::cases::verification::Channel;
use twofold_core::cases::{Case, CaseEvent, CaseKind, CaseState, Checklist, Resolution};
use twofold_core::store::CaseFilter;
use uuid::Uuid;

use super::{cli_actor, table_or};
use crate::cli::{CaseCommand, OutputFormat};
use crate::output::print;

pub async fn run(command: CaseCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let outcome = work(command, app, format).await;
    // The mail a step caused (a pass issued, a method retired) goes out before the process ends.
    app.settle_notifications().await;
    outcome
}

async fn work(command: CaseCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let by = CaseOperator::cli(&actor);
    let format = table_or(format);
    let cases = app.cases();
    match command {
        CaseCommand::Open { user, kind, summary } => {
            let kind = CaseKind::parse(&kind).map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
            let case = cases.open(&by, kind, &user, &summary, &meta).await?;
            show(format, &cases.show(case.id).await?)?;
        }
        CaseCommand::Show { id } => show(format, &cases.show(case_id(&id)?).await?)?,
        CaseCommand::List { state, user, limit, offset } => {
            let state = match state.as_deref() {
                None => None,
                Some("open") => Some(CaseState::Open),
                Some("closed") => Some(CaseState::Closed),
                Some(other) => anyhow::bail!("--state '{other}' is not one of: open, closed"),
            };
            let target_id = match user {
                Some(name) => Some(app.identity().find_user(&name).await?.id),
                None => None,
            };
            let filter = CaseFilter { state, target_id, limit, offset, ..CaseFilter::default() };
            let (list, total) = cases.list(&filter).await?;
            let rows = list.iter().map(row).collect();
            print(format, &list, &["id", "opened", "kind", "user", "tier", "state", "operator"], rows)?;
            if let Some(line) =
                super::users::page_notice(offset, list.len(), total).filter(|_| format == OutputFormat::Table)
            {
                eprintln!("{line}");
            }
        }
        CaseCommand::Verify { id, channel, code } => {
            let channel = Channel::parse(&channel).map_err(|e| anyhow::anyhow!("--channel: {e}"))?;
            let id = case_id(&id)?;
            match code {
                None => {
                    let (_, sent) = cases.start_step(&by, id, channel, &meta).await?;
                    eprintln!(
                        "a code went to {}; ask the caller to read it out (it works for {} minutes), then: twofold case verify {id} --channel {} --code CODE",
                        sent.masked_destination,
                        sent.valid_minutes,
                        channel.as_str()
                    );
                }
                Some(code) => {
                    let code = if code == "-" { super::read_secret_line()? } else { code };
                    let case = cases.check_code(&by, id, channel, &code, &meta).await?;
                    let passed = case.verified_channels().contains(&channel);
                    show(format, &cases.show(case.id).await?)?;
                    if !passed {
                        eprintln!("verification failed: {}", last_failure(&case));
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
        }
        CaseCommand::Ask { id, reviewer } => {
            let reviewer = match reviewer.as_str() {
                "manager" => Reviewer::Manager,
                "hr" => Reviewer::Hr,
                other => anyhow::bail!("--reviewer '{other}' is not one of: manager, hr"),
            };
            let case = cases.ask_review(&by, case_id(&id)?, reviewer, &meta).await?;
            show(format, &cases.show(case.id).await?)?;
        }
        CaseCommand::RunJobs => {
            let marked = cases.escalate_overdue().await?;
            println!("{marked} overdue step(s) marked and reported");
        }
        CaseCommand::Approve { id } => {
            let case = cases.approve(&by, case_id(&id)?, &meta).await?;
            show(format, &cases.show(case.id).await?)?;
        }
        CaseCommand::Note { id, text } => {
            cases.note(&by, case_id(&id)?, &text, &meta).await?;
            eprintln!("note added");
        }
        CaseCommand::Pass { id, minutes, multi_use } => {
            let issued =
                cases.issue_access_pass(&by, case_id(&id)?, minutes.map(|m| m * 60), !multi_use, &meta).await?;
            let result = serde_json::json!({
                "passcode": issued.passcode,
                "expires_at": issued.pass.expires_at,
                "single_use": issued.pass.single_use,
                "case": issued.case.id,
            });
            let uses = if issued.pass.single_use { "one sign-in" } else { "sign-ins" };
            let summary = vec![vec![issued.passcode.clone(), issued.pass.expires_at.to_rfc3339(), uses.to_owned()]];
            print(format, &result, &["passcode", "expires", "good for"], summary)?;
            if format == OutputFormat::Table {
                eprintln!(
                    "give the passcode to the person now: it is not shown again, and it opens only Security info"
                );
            }
        }
        CaseCommand::RevokePass { id } => {
            let revoked = cases.revoke_access_passes(&by, case_id(&id)?, &meta).await?;
            eprintln!("{revoked} temporary access pass(es) revoked; sessions started with one ended");
        }
        CaseCommand::Retire { id, methods } => {
            let case = cases.retire_methods(&by, case_id(&id)?, &methods, &meta).await?;
            show(format, &cases.show(case.id).await?)?;
        }
        CaseCommand::Reset { id } => {
            let case = cases.reset_all_methods(&by, case_id(&id)?, &meta).await?;
            show(format, &cases.show(case.id).await?)?;
        }
        CaseCommand::Resync { id, method, first_code, second_code } => {
            let case = cases.resync_method(&by, case_id(&id)?, method, &first_code, &second_code, &meta).await?;
            show(format, &cases.show(case.id).await?)?;
        }
        CaseCommand::Diagnose { id, method, code } => {
            let code = if code == "-" { super::read_secret_line()? } else { code };
            let (case, _) = cases.diagnose_drift(&by, case_id(&id)?, method, &code, &meta).await?;
            let note = case.timeline.last().map(|e| e.event.describe()).unwrap_or_default();
            println!("{note}");
        }
        CaseCommand::Close { id, resolution, changes, confirmed } => {
            let resolution = Resolution::parse(&resolution).map_err(|e| anyhow::anyhow!("--resolution: {e}"))?;
            let checklist = Checklist { changes, person_confirmed: confirmed };
            let case = cases.close(&by, case_id(&id)?, resolution, checklist, &meta).await?;
            show(format, &cases.show(case.id).await?)?;
        }
        CaseCommand::Metrics { days } => {
            let since = days.map(|d| app.now().plus_seconds(-d * 24 * 60 * 60));
            let metrics = cases.metrics(since).await?;
            let mut rows = vec![
                vec!["opened".into(), metrics.opened.to_string()],
                vec!["closed".into(), metrics.closed.to_string()],
                vec!["open".into(), metrics.open.to_string()],
                vec![
                    "median minutes to close".into(),
                    metrics.median_minutes_to_close.map_or_else(|| "-".into(), |m| m.to_string()),
                ],
                vec!["verification failures".into(), metrics.verification_failures.to_string()],
                vec!["cases with an overdue step".into(), metrics.overdue.to_string()],
            ];
            for (label, map) in [
                ("kind", &metrics.by_kind),
                ("tier", &metrics.by_tier),
                ("resolution", &metrics.by_resolution),
                ("verified by", &metrics.verified_by_channel),
            ] {
                rows.extend(map.iter().map(|(k, n)| vec![format!("{label}: {k}"), n.to_string()]));
            }
            print(format, &metrics, &["measure", "value"], rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn case_id(text: &str) -> anyhow::Result<Uuid> {
    text.trim().parse().map_err(|_| anyhow::anyhow!("'{text}' is not a case id (a UUID, as `twofold case list` shows)"))
}

fn row(case: &Case) -> Vec<String> {
    vec![
        case.id.to_string(),
        case.opened_at.to_rfc3339(),
        case.kind.as_str().to_owned(),
        case.target.username.clone(),
        case.target.tier.as_str().to_owned(),
        case.resolution.map_or_else(|| case.state.as_str().to_owned(), |r| format!("closed: {r}")),
        case.operator.clone(),
    ]
}

fn last_failure(case: &Case) -> String {
    case.timeline
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            CaseEvent::VerificationFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A case as the header, what verification still needs, and its timeline.
fn show(format: OutputFormat, view: &CaseView) -> anyhow::Result<()> {
    let case = &view.case;
    let verification = view.verification.as_ref().map_or_else(
        || "the help desk does not serve this tier".to_owned(),
        |s| if s.complete() { "complete".to_owned() } else { s.describe() },
    );
    let value = serde_json::json!({ "case": case, "verification": view.verification });
    if format != OutputFormat::Table {
        let rows = case.timeline.iter().map(|e| vec![e.at.to_rfc3339(), e.by.clone(), e.event.describe()]).collect();
        return print(format, &value, &["at", "by", "what"], rows);
    }
    println!("case {} ({})", case.id, case.kind.label());
    println!("  person:       {} ({})", case.target.username, case.target.tier);
    println!("  opened:       {} by {}", case.opened_at.to_rfc3339(), case.operator);
    println!(
        "  state:        {}",
        case.resolution.map_or_else(|| "open".to_owned(), |r| format!("closed: {}", r.label()))
    );
    println!("  verification: {verification}");
    println!();
    let rows: Vec<Vec<String>> =
        case.timeline.iter().map(|e| vec![e.at.to_rfc3339(), e.by.clone(), e.event.describe()]).collect();
    print(format, &value, &["at", "by", "what"], rows)
}
