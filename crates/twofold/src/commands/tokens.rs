//! `twofold token ...`.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Context;
use twofold_app::App;
use twofold_core::store::UserFilter;

use super::{cli_actor, table_or};
use crate::cli::{OutputFormat, TokenCommand};
use crate::output::print;

pub async fn run(command: TokenCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let format = table_or(format);
    match command {
        TokenCommand::Import { file } => {
            let reader = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
            let report = app
                .factors()
                .import_tokens(&actor, &meta, std::io::BufReader::new(reader), &crate::progress::Terminal::new())
                .await?;
            for error in &report.errors {
                eprintln!("{}:{}: {}", file.display(), error.line, error.message);
            }
            if !report.errors.is_empty() {
                eprintln!("nothing imported: {} row(s) refused", report.errors.len());
                return Ok(ExitCode::FAILURE);
            }
            let summary = format!("imported {} token(s), {} assigned", report.imported, report.assigned);
            print(format, &report, &["result"], vec![vec![summary]])?;
        }
        TokenCommand::List => {
            let tokens = app.factors().tokens().await?;
            let users: HashMap<_, _> = app
                .identity()
                .list_users(&UserFilter { limit: Some(10_000), ..UserFilter::default() })
                .await?
                .into_iter()
                .map(|u| (u.id, u.username))
                .collect();
            let rows = tokens
                .iter()
                .map(|t| {
                    let holder = t.user_id.and_then(|id| users.get(&id).cloned()).unwrap_or_else(|| "-".into());
                    let last = t.last_used_at.map_or_else(|| "never".to_owned(), |at| at.to_rfc3339());
                    vec![t.serial.clone().unwrap_or_default(), t.kind.as_str().to_owned(), holder, last]
                })
                .collect();
            print(format, &tokens, &["serial", "type", "user", "last used"], rows)?;
        }
        TokenCommand::Assign { serial, user } => {
            app.factors().assign_token(&actor, &meta, &serial, &user).await?;
            eprintln!("token {serial} assigned to {user}");
        }
        TokenCommand::Unassign { serial } => {
            app.factors().unassign_token(&actor, &meta, &serial).await?;
            eprintln!("token {serial} unassigned");
        }
        TokenCommand::Resync { serial, first_code, second_code } => {
            app.factors().resync_token(&actor, &meta, &serial, &first_code, &second_code).await?;
            eprintln!("token {serial} resynchronised");
        }
    }
    Ok(ExitCode::SUCCESS)
}
