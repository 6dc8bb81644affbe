//! The admin verbs. Each builds the CLI actor, calls use cases, prints a table or JSON.

pub mod api_keys;
pub mod approvals;
pub mod audit;
pub mod campaigns;
pub mod cases;
pub mod clients;
pub mod emergency;
pub mod groups;
pub mod policy;
pub mod reports;
pub mod tokens;
pub mod users;

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use twofold_app::{Actor, RequestMeta};

use crate::cli::{ConfigCommand, GlobalArgs, OutputFormat};
use crate::config;

/// The operating-system user running the CLI, as the audit actor.
pub fn cli_actor() -> (Actor, RequestMeta) {
    let os_user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    (
        Actor::cli(&os_user),
        RequestMeta {
            ip: None,
            user_agent: Some(format!("twofold-cli/{}", env!("CARGO_PKG_VERSION"))),
            device_id: None,
            app: None,
            throttle_source: None,
        },
    )
}

/// Prints each problem of a rules file (policy, campaign, approval rules) with its place, on
/// standard error; the exit code that says the file was refused.
pub fn report_problems(file: &std::path::Path, problems: &[twofold_core::access::file::Problem]) -> ExitCode {
    for p in problems {
        let field = if p.field.is_empty() { String::new() } else { format!("{}: ", p.field) };
        eprintln!("{}: {}: {field}{}", file.display(), p.at, p.message);
    }
    eprintln!("{} problem(s); nothing was applied", problems.len());
    ExitCode::from(1)
}

/// Lists applied versions of a rules file (policies, approval rules), newest first.
pub fn print_versions(
    format: Option<OutputFormat>,
    versions: &[twofold_core::access::PolicyVersion],
) -> anyhow::Result<ExitCode> {
    let rows = versions
        .iter()
        .map(|v| {
            vec![
                v.version.to_string(),
                v.created_at.to_rfc3339(),
                v.author.clone(),
                crate::output::or_dash(v.note.as_deref()),
            ]
        })
        .collect();
    let listed: Vec<_> = versions
        .iter()
        .map(|v| serde_json::json!({"version": v.version, "created_at": v.created_at, "author": v.author, "note": v.note}))
        .collect();
    crate::output::print(table_or(format), &listed, &["version", "applied", "by", "note"], rows)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the text of version `number` (the newest when `None`) of a rules file; `what` names
/// the file in errors ("policy", "approval rules").
pub fn print_version_source(
    versions: Vec<twofold_core::access::PolicyVersion>,
    number: Option<i64>,
    what: &str,
) -> anyhow::Result<ExitCode> {
    let shown = match number {
        Some(wanted) => versions
            .into_iter()
            .find(|v| v.version == wanted)
            .ok_or_else(|| anyhow::anyhow!("no {what} version {wanted}"))?,
        None => versions.into_iter().next().ok_or_else(|| anyhow::anyhow!("no {what} has been applied"))?,
    };
    print!("{}", shown.source);
    Ok(ExitCode::SUCCESS)
}

/// Table unless `--format` says otherwise.
pub fn table_or(format: Option<OutputFormat>) -> OutputFormat {
    format.unwrap_or(OutputFormat::Table)
}

/// The first line of standard input, without its line ending.
pub fn read_secret_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read standard input")?;
    let secret = line.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        anyhow::bail!("nothing on standard input");
    }
    Ok(secret)
}

/// `twofold config check|generate`.
pub fn config(command: &ConfigCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Generate => {
            print!("{}", config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Check { file } => {
            let path =
                file.clone().or_else(|| global.config.clone()).context("name a file: twofold config check FILE")?;
            let source = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let problems = config::check(&source);
            if problems.is_empty() {
                println!("{}: no problems", path.display());
                return Ok(ExitCode::SUCCESS);
            }
            for problem in &problems {
                println!("{}: {problem}", path.display());
            }
            eprintln!("{} problem(s) found", problems.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
