//! `twofold policy check FILE` and `twofold policy whatif --file FILE ...`: a conditional-access
//! policy file validated with every problem and where it is, and one hypothetical sign-in
//! explained. (Applying a policy, its versions and rollback come with the engine's wiring.)

use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Context;
use twofold_app::App;
use twofold_core::policy::{self, Action, Device, Policy, Risk};

use crate::cli::{OutputFormat, PolicyCommand};

/// One problem with where it is: `line L, column C` or `line L (rule 'name')`.
struct Problem {
    at: String,
    field: String,
    message: String,
}

/// Line numbers (1-based) of each `[[rule]]` header, in order.
fn rule_lines(source: &str) -> Vec<usize> {
    source.lines().enumerate().filter(|(_, l)| l.trim_start().starts_with("[[rule]]")).map(|(i, _)| i + 1).collect()
}

fn line_col(source: &str, offset: usize) -> String {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    format!("line {line}, column {column}")
}

/// Parses and checks a policy file; every problem, or the policy.
fn parse(source: &str, known_groups: &[String]) -> Result<Policy, Vec<Problem>> {
    let policy: Policy = toml::from_str(source).map_err(|e| {
        let at = e.span().map_or_else(|| "(file)".to_owned(), |span| line_col(source, span.start));
        vec![Problem { at, field: String::new(), message: e.message().to_owned() }]
    })?;
    let lines = rule_lines(source);
    policy::check(&policy, known_groups).map_err(|errors| {
        errors
            .0
            .into_iter()
            .map(|e| {
                let index = e
                    .field
                    .strip_prefix("rule[")
                    .and_then(|r| r.split(']').next())
                    .and_then(|n| n.parse::<usize>().ok());
                let at = match index {
                    Some(i) => {
                        let name = policy.rules.get(i).map_or("", |r| r.name.as_str());
                        lines.get(i).map_or_else(|| format!("rule '{name}'"), |l| format!("line {l} (rule '{name}')"))
                    }
                    None => e.field.split('.').next().map_or_else(String::new, |table| {
                        source
                            .lines()
                            .position(|l| l.trim() == format!("[{table}]"))
                            .map_or_else(String::new, |i| format!("line {}", i + 1))
                    }),
                };
                Problem { at, field: e.field, message: e.message }
            })
            .collect::<Vec<_>>()
    })?;
    Ok(policy)
}

fn read(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub async fn run(command: PolicyCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let groups: Vec<String> = app.list_groups().await?.into_iter().map(|g| g.group.name).collect();
    match command {
        PolicyCommand::Check { file } => match parse(&read(&file)?, &groups) {
            Ok(policy) => {
                println!("{}: {} rules, no problems", file.display(), policy.rules.len());
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => {
                for p in &problems {
                    let field = if p.field.is_empty() { String::new() } else { format!("{}: ", p.field) };
                    eprintln!("{}: {}: {field}{}", file.display(), p.at, p.message);
                }
                eprintln!("{} problem(s); nothing was applied", problems.len());
                Ok(ExitCode::from(1))
            }
        },
        PolicyCommand::Whatif { file, user, app: client, host, ip, device, action, country, risk } => {
            let policy = parse(&read(&file)?, &groups).map_err(|problems| {
                anyhow::anyhow!(
                    "{} has {} problem(s): run `twofold policy check` on it",
                    file.display(),
                    problems.len()
                )
            })?;
            let detail = app.user_detail(&user).await?;
            let ip: Option<IpAddr> = ip
                .as_deref()
                .map(|ip| ip.parse().with_context(|| format!("--ip '{ip}' is not an address")))
                .transpose()?;
            // The enums' own names (serde's snake_case), so the words match the policy file.
            fn word<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> anyhow::Result<T> {
                serde_json::from_value(serde_json::Value::String(text.to_owned()))
                    .map_err(|_| anyhow::anyhow!("--{what} '{text}' is not one of the allowed words (see --help)"))
            }
            let device: Device = word(&device, "device")?;
            let action: Action = word(&action, "action")?;
            let risk: Risk = word(&risk, "risk")?;
            let host_path = host.as_deref().map(|h| match h.find('/') {
                Some(i) => (&h[..i], &h[i..]),
                None => (h, "/"),
            });
            let facts = policy::Facts {
                username: &detail.user.username,
                groups: &detail.groups,
                tier: detail.user.tier,
                roles: &detail.user.roles,
                service_account: false,
                app: client.as_deref(),
                host_path,
                action,
                ip,
                device,
                country: country.as_deref(),
                risk,
                now: twofold_core::Clock::now(&twofold_core::clock::SystemClock),
            };
            let decision = policy::evaluate(&policy, &facts);
            match format {
                Some(OutputFormat::Json) => println!("{}", serde_json::to_string_pretty(&decision)?),
                _ => println!("{}", decision.explain()),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_line() {
        let source = "[zones]\ncorporate = [\"10.0.0.0/33\"]\n\n[[rule]]\nname = \"a\"\noutcome = \"require\"\n\n[[rule]]\nname = \"b\"\noutcome = \"block\"\nwhen = { zones = [\"moon\"] }\n";
        let problems = parse(source, &[]).err().unwrap();
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(at, ["line 1", "line 4 (rule 'a')", "line 8 (rule 'b')"]);
        let typo = parse("[[rule]]\nname = \"a\"\noutcom = \"block\"\n", &[]).err().unwrap();
        assert!(typo[0].at.starts_with("line "), "{}", typo[0].at);
        assert!(typo[0].message.contains("outcom"), "{}", typo[0].message);
    }
}
