//! `twofold policy check|apply|versions|show|diff|rollback|whatif`: conditional-access policy
//! files validated with every problem and where it is, applied as numbered versions (each
//! kept with author, time and note), compared, rolled back, and one hypothetical sign-in
//! explained.

use std::process::ExitCode;

use anyhow::Context;
use twofold_app::App;
use twofold_app::access::policies::WhatIf;
use twofold_core::access::{self, Action, Device, PolicyVersion, Risk};

use crate::cli::{OutputFormat, PolicyCommand};

fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn version_of(versions: &[PolicyVersion], wanted: i64) -> anyhow::Result<PolicyVersion> {
    versions.iter().find(|v| v.version == wanted).cloned().ok_or_else(|| anyhow::anyhow!("no policy version {wanted}"))
}

pub async fn run(command: PolicyCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = super::cli_actor();
    match command {
        PolicyCommand::Check { file } => match app.access().check_policy(&read(&file)?).await? {
            Ok(policy) => {
                println!("{}: {} rules, no problems", file.display(), policy.rules.len());
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => Ok(super::report_problems(&file, &problems)),
        },
        PolicyCommand::Apply { file, note } => {
            let version = app.access().apply_policy(&actor, &meta, &read(&file)?, note.as_deref()).await?;
            println!("applied {} as policy version {version}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Versions => super::print_versions(format, &app.access().policy_versions().await?),
        PolicyCommand::Show { number } => {
            super::print_version_source(app.access().policy_versions().await?, number, "policy")
        }
        PolicyCommand::Diff { from, to } => {
            let versions = app.access().policy_versions().await?;
            let (old, new) = (version_of(&versions, from)?, version_of(&versions, to)?);
            for line in access::file::diff(&old.source, &new.source).iter().filter(|l| !l.starts_with("  ")) {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Rollback { number } => {
            let applied = app.access().rollback_policy(&actor, &meta, number).await?;
            println!("version {number} applied again as policy version {applied}");
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Simulate { file, days } => {
            anyhow::ensure!(days > 0, "--days must be positive");
            match app.access().simulate_policy(&read(&file)?, days, &crate::progress::Terminal::new()).await? {
                Ok(report) => {
                    match format {
                        Some(OutputFormat::Json) => println!("{}", serde_json::to_string_pretty(&report)?),
                        _ => println!("{}", report.explain(true)),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => anyhow::bail!(
                    "{} has {} problem(s): run `twofold policy check` on it",
                    file.display(),
                    problems.len()
                ),
            }
        }
        PolicyCommand::Whatif { file, user, app: client, host, ip, device, action, country, risk } => {
            let policy = match file {
                Some(file) => Some(app.access().check_policy(&read(&file)?).await?.map_err(|problems| {
                    anyhow::anyhow!(
                        "{} has {} problem(s): run `twofold policy check` on it",
                        file.display(),
                        problems.len()
                    )
                })?),
                None => None,
            };
            // The enums' own names (serde's snake_case), so the words match the policy file.
            fn word<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> anyhow::Result<T> {
                serde_json::from_value(serde_json::Value::String(text.to_owned()))
                    .map_err(|_| anyhow::anyhow!("--{what} '{text}' is not one of the allowed words (see --help)"))
            }
            let question = WhatIf {
                user,
                app: client,
                host,
                ip,
                device: Some(word::<Device>(&device, "device")?),
                action: Some(word::<Action>(&action, "action")?),
                country,
                risk: Some(word::<Risk>(&risk, "risk")?),
            };
            let decision = app.access().whatif(policy, &question).await?;
            match format {
                Some(OutputFormat::Json) => println!("{}", serde_json::to_string_pretty(&decision)?),
                _ => println!("{}", decision.explain()),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
