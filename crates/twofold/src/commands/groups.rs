//! `twofold group ...`.

use std::process::ExitCode;

use twofold_app::App;

use super::{cli_actor, table_or};
use crate::cli::{GroupCommand, OutputFormat};
use crate::output::{or_dash, print};

pub async fn run(command: GroupCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let format = table_or(format);
    match command {
        GroupCommand::Add { name, description } => {
            let group = app.identity().create_group(&actor, &meta, &name, description.as_deref()).await?;
            print(
                format,
                &group,
                &["name", "description"],
                vec![vec![group.name.clone(), or_dash(group.description.as_deref())]],
            )?;
        }
        GroupCommand::List => {
            let groups = app.identity().list_groups().await?;
            let rows = groups
                .iter()
                .map(|g| {
                    vec![g.group.name.clone(), g.member_count.to_string(), or_dash(g.group.description.as_deref())]
                })
                .collect();
            print(format, &groups, &["name", "members", "description"], rows)?;
        }
        GroupCommand::Members { group } => {
            let members = app.identity().group_members(&group).await?;
            let rows =
                members.iter().map(|u| vec![u.username.clone(), u.display_name.clone(), u.tier.to_string()]).collect();
            print(format, &members, &["username", "display name", "tier"], rows)?;
        }
        GroupCommand::AddMember { group, user } => {
            let added = app.identity().add_group_member(&actor, &meta, &group, &user).await?;
            eprintln!(
                "{}",
                if added { format!("{user} added to {group}") } else { format!("{user} was already in {group}") }
            );
        }
        GroupCommand::RemoveMember { group, user } => {
            let removed = app.identity().remove_group_member(&actor, &meta, &group, &user).await?;
            eprintln!(
                "{}",
                if removed { format!("{user} removed from {group}") } else { format!("{user} was not in {group}") }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
