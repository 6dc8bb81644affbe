//! `twofold apikey ...`.

use std::process::ExitCode;

use twofold_app::App;
use twofold_core::Timestamp;
use twofold_core::identity::api_key::api_key_role;

use super::{cli_actor, table_or};
use crate::cli::{ApiKeyCommand, OutputFormat};
use crate::output::print;

pub async fn run(command: ApiKeyCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let format = table_or(format);
    match command {
        ApiKeyCommand::Create { name, role, expires } => {
            let role = api_key_role(&role).map_err(|e| anyhow::anyhow!("--role {e}"))?;
            let expires_at =
                expires.as_deref().map(Timestamp::parse).transpose().map_err(|e| anyhow::anyhow!("--expires {e}"))?;
            let (token, key) = app.identity().create_api_key(&actor, &meta, &name, role, expires_at).await?;
            let value = serde_json::json!({ "id": key.id, "name": key.name, "role": key.role, "token": token });
            print(
                format,
                &value,
                &["id", "role", "token"],
                vec![vec![key.id.clone(), key.role.to_string(), token.clone()]],
            )?;
            if format == OutputFormat::Table {
                eprintln!("Store the token now: it is shown only once. Use it as 'Authorization: Bearer <token>'.");
            }
        }
        ApiKeyCommand::List => {
            let keys = app.identity().list_api_keys().await?;
            let state = |k: &twofold_core::identity::api_key::ApiKey| {
                if k.revoked_at.is_some() {
                    "revoked".to_owned()
                } else if k.expires_at.is_some_and(|e| e <= app.now()) {
                    "expired".to_owned()
                } else {
                    "active".to_owned()
                }
            };
            let rows = keys
                .iter()
                .map(|k| {
                    let last_used = k.last_used_at.map_or_else(|| "never".to_owned(), Timestamp::to_rfc3339);
                    vec![
                        k.id.clone(),
                        k.name.clone(),
                        k.role.to_string(),
                        state(k),
                        k.created_at.to_rfc3339(),
                        last_used,
                    ]
                })
                .collect();
            print(format, &keys, &["id", "name", "role", "state", "created", "last used"], rows)?;
        }
        ApiKeyCommand::Revoke { id } => {
            app.identity().revoke_api_key(&actor, &meta, &id).await?;
            eprintln!("API key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
