//! `twofold user ...`.

use std::process::ExitCode;

use anyhow::Context;
use twofold_app::App;
use twofold_core::identity::{NewUser, Tier, User, UserPatch, UserStatus};
use twofold_core::store::UserFilter;

use super::{cli_actor, read_secret_line, table_or};
use crate::cli::{OutputFormat, UserCommand, UserFields};
use crate::output::{or_dash, print};

const HEADERS: &[&str] = &["username", "display name", "email", "department", "tier", "status", "roles"];

fn row(u: &User) -> Vec<String> {
    vec![
        u.username.clone(),
        u.display_name.clone(),
        or_dash(u.email.as_deref()),
        or_dash(u.department.as_deref()),
        u.tier.to_string(),
        u.status.to_string(),
        u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
    ]
}

/// `Some("")` clears; `Some(v)` sets; `None` leaves alone.
fn clearable(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| if v.is_empty() { None } else { Some(v) })
}

fn patch_from(fields: UserFields, status: Option<String>) -> UserPatch {
    UserPatch {
        email: clearable(fields.email),
        display_name: fields.display_name,
        phone: clearable(fields.phone),
        department: clearable(fields.department),
        manager: clearable(fields.manager),
        status,
        tier: fields.tier,
        roles: if fields.roles.is_empty() { None } else { Some(fields.roles) },
    }
}

pub async fn run(command: UserCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let format = table_or(format);
    match command {
        UserCommand::Add { username, fields, groups, password_stdin } => {
            let password = if password_stdin { Some(read_secret_line()?) } else { None };
            let new_user = NewUser {
                username,
                email: fields.email,
                display_name: fields.display_name,
                phone: fields.phone,
                department: fields.department,
                manager: fields.manager,
                tier: fields.tier,
                roles: if fields.roles.is_empty() { None } else { Some(fields.roles) },
            };
            let user = app.identity().create_user(&actor, &meta, new_user, password, groups).await?;
            print(format, &user, HEADERS, vec![row(&user)])?;
        }
        UserCommand::List { status, tier, group, department, limit, offset } => {
            let filter = UserFilter {
                status: status
                    .as_deref()
                    .map(UserStatus::parse)
                    .transpose()
                    .map_err(anyhow::Error::msg)
                    .context("--status")?,
                tier: tier.as_deref().map(Tier::parse).transpose().map_err(anyhow::Error::msg).context("--tier")?,
                group: group.map(|g| g.to_lowercase()),
                department,
                role: None,
                limit: Some(limit),
                offset: Some(offset),
            };
            let users = app.identity().list_users(&filter).await?;
            let total = app.identity().count_users(&filter).await?;
            print(format, &users, HEADERS, users.iter().map(row).collect())?;
            // On standard error, so that the JSON or CSV on standard output stays whole.
            if let Some(notice) = page_notice(offset, users.len(), total) {
                eprintln!("{notice}");
            }
        }
        UserCommand::Show { user } => {
            let detail = app.identity().user_detail(&user).await?;
            let methods = app.factors().security_info(detail.user.id).await?;
            let u = &detail.user;
            let method_words: Vec<String> = methods
                .authenticators
                .iter()
                .map(|a| {
                    let mut about = vec![a.kind.as_str().to_owned()];
                    if a.attested {
                        about.push("attested".into());
                    }
                    if !a.is_confirmed() {
                        about.push("not confirmed".into());
                    }
                    format!("{} ({})", a.name, about.join(", "))
                })
                .collect();
            let fields = [
                ("id", u.id.to_string()),
                ("username", u.username.clone()),
                ("display name", u.display_name.clone()),
                ("email", or_dash(u.email.as_deref())),
                ("phone", or_dash(u.phone.as_deref())),
                ("department", or_dash(u.department.as_deref())),
                ("manager", or_dash(u.manager.as_deref())),
                ("status", u.status.to_string()),
                ("tier", u.tier.to_string()),
                ("roles", u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")),
                ("groups", detail.groups.join(",")),
                ("methods", if method_words.is_empty() { "none".to_owned() } else { method_words.join("; ") }),
                ("recovery codes", format!("{} unused", methods.recovery_codes_left)),
                ("created", u.created_at.to_rfc3339()),
                ("updated", u.updated_at.to_rfc3339()),
            ];
            let mut shown = serde_json::to_value(&detail)?;
            shown["methods"] = serde_json::to_value(&methods.authenticators)?;
            shown["recovery_codes_left"] = methods.recovery_codes_left.into();
            print(
                format,
                &shown,
                &["field", "value"],
                fields.into_iter().map(|(k, v)| vec![k.to_owned(), v]).collect(),
            )?;
        }
        UserCommand::Update { user, fields, status } => {
            let updated = app.identity().update_user(&actor, &meta, &user, &patch_from(fields, status)).await?;
            print(format, &updated, HEADERS, vec![row(&updated)])?;
        }
        UserCommand::Disable { user } => {
            let updated = app.identity().disable_user(&actor, &meta, &user).await?;
            print(format, &updated, HEADERS, vec![row(&updated)])?;
        }
        UserCommand::SetPassword { user, .. } => {
            app.identity().set_password(&actor, &meta, &user, read_secret_line()?).await?;
            eprintln!("password set for {user}");
        }
        UserCommand::RevokeSessions { user } => {
            let revoked = app.identity().revoke_user_sessions(&actor, &meta, &user).await?;
            print(format, &serde_json::json!({ "revoked": revoked }), &["revoked"], vec![vec![revoked.to_string()]])?;
        }
        UserCommand::Import { file, skip_invalid } => {
            let reader = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
            let report = app
                .identity()
                .import_users(&actor, &meta, reader, skip_invalid, &crate::progress::Terminal::new())
                .await?;
            for error in &report.errors {
                eprintln!("{}:{}: {}", file.display(), error.line, error.message);
            }
            if format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if report.applied {
                println!(
                    "imported {} user(s){}",
                    report.created.len(),
                    if report.errors.is_empty() { "" } else { "; refused rows skipped" }
                );
            }
            if !report.applied && !report.errors.is_empty() {
                eprintln!(
                    "nothing imported: {} row(s) refused (use --skip-invalid to import the valid rows)",
                    report.errors.len()
                );
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// "showing 1–1000 of 12345; --offset 1000 for the next", when a list is not everything.
pub(crate) fn page_notice(offset: i64, shown: usize, total: i64) -> Option<String> {
    let shown = i64::try_from(shown).unwrap_or(i64::MAX);
    if offset == 0 && shown >= total {
        return None;
    }
    if shown == 0 {
        return Some(format!("showing none of {total} (--offset {offset} is past the end)"));
    }
    let last = offset + shown;
    let next = if last < total { format!("; --offset {last} for the next") } else { String::new() };
    Some(format!("showing {}–{last} of {total}{next}", offset + 1))
}

#[cfg(test)]
mod tests {
    use super::page_notice;

    #[test]
    fn a_list_that_is_not_everything_says_so() {
        assert_eq!(page_notice(0, 3, 3), None);
        assert_eq!(
            page_notice(0, 1000, 12_345).as_deref(),
            Some("showing 1–1000 of 12345; --offset 1000 for the next")
        );
        assert_eq!(page_notice(12_000, 345, 12_345).as_deref(), Some("showing 12001–12345 of 12345"));
        assert_eq!(
            page_notice(20_000, 0, 12_345).as_deref(),
            Some("showing none of 12345 (--offset 20000 is past the end)")
        );
    }
}
