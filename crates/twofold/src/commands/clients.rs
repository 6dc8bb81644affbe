//! `twofold client ...`, `twofold service-account ...` and `twofold keys ...`: OpenID Connect
//! clients, machine identities and signing keys.

use std::process::ExitCode;

use anyhow::Context;
use twofold_app::App;
use twofold_app::oidc::service_accounts::NewServiceAccount;

use super::{cli_actor, table_or};
use crate::cli::{ClientCommand, KeysCommand, OutputFormat, ServiceAccountCommand};
use crate::output::print;

pub async fn run(command: ClientCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let format = table_or(format);
    match command {
        ClientCommand::Add {
            name,
            redirect_uris,
            public,
            scopes,
            min_acr,
            third_party,
            id_token_alg,
            token_endpoint_auth_method,
            may_introspect,
        } => {
            let new = twofold_app::oidc::NewClient {
                name,
                redirect_uris,
                public,
                scopes,
                min_acr,
                third_party,
                id_token_alg,
                token_endpoint_auth_method,
                may_introspect,
            };
            let (client, secret) = app.oidc().register_client(&actor, &meta, &new).await?;
            let value = serde_json::json!({
                "client_id": client.client_id,
                "client_secret": secret,
                "name": client.name,
                "redirect_uris": client.redirect_uris,
                "scope": client.scopes.join(" "),
                "token_endpoint_auth_method": client.auth_method(),
                "may_introspect": client.may_introspect,
                "min_acr": client.min_acr,
                "consent_required": client.consent_required,
                "id_token_signed_response_alg": client.id_token_alg.as_deref().unwrap_or("RS256"),
            });
            let row = vec![client.client_id.clone(), secret.clone().unwrap_or_else(|| "(public client)".into())];
            print(format, &value, &["client_id", "client_secret"], vec![row])?;
            if format == OutputFormat::Table && secret.is_some() {
                eprintln!("Store the client_secret now: it is shown only once.");
            }
        }
        ClientCommand::Update {
            client_id,
            name,
            add_redirect_uris,
            remove_redirect_uris,
            scopes,
            min_acr,
            third_party,
            first_party,
        } => {
            let changes = twofold_app::oidc::ClientChanges {
                name,
                add_redirect_uris,
                remove_redirect_uris,
                scopes,
                min_acr,
                third_party: if third_party {
                    Some(true)
                } else if first_party {
                    Some(false)
                } else {
                    None
                },
            };
            let client = app.oidc().update_client(&actor, &meta, &client_id, &changes).await?;
            let value = serde_json::to_value(&client)?;
            let row = vec![client.client_id.clone(), client.name.clone(), client.redirect_uris.join(" ")];
            print(format, &value, &["client_id", "name", "redirect_uris"], vec![row])?;
        }
        ClientCommand::RotateSecret { client_id, overlap } => {
            let rotated = app.oidc().rotate_client_secret(&actor, &meta, &client_id, overlap).await?;
            print_rotated(format, &client_id, rotated)?;
        }
        ClientCommand::Remove { client_id, yes } => {
            if !yes {
                anyhow::bail!(
                    "removing {client_id} ends every sign-in and token of it and cannot be undone: add --yes to go ahead"
                );
            }
            app.oidc().remove_client(&actor, &meta, &client_id).await?;
            eprintln!(
                "Removed {client_id}: its consents, codes and refresh tokens are gone, and its access tokens no longer work."
            );
        }
        ClientCommand::List => {
            let clients = app.oidc().clients().await?;
            let rows = clients
                .iter()
                .map(|c| {
                    vec![
                        c.client_id.clone(),
                        c.name.clone(),
                        if c.public { "public" } else { "confidential" }.to_owned(),
                        c.redirect_uris.join(" "),
                    ]
                })
                .collect();
            let value = serde_json::to_value(&clients)?;
            print(format, &value, &["client_id", "name", "type", "redirect_uris"], rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a new secret (shown this once) and until when the previous one keeps working.
fn print_rotated(
    format: OutputFormat,
    client_id: &str,
    (secret, until): (String, twofold_core::Timestamp),
) -> anyhow::Result<()> {
    let value = serde_json::json!({
        "client_id": client_id,
        "client_secret": secret,
        "previous_secret_expires_at": until,
    });
    print(format, &value, &["client_id", "client_secret"], vec![vec![client_id.to_owned(), secret.clone()]])?;
    if format == OutputFormat::Table {
        eprintln!("The previous secret keeps working until {}.", until.to_rfc3339());
    }
    Ok(())
}

pub async fn keys(command: KeysCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    match command {
        KeysCommand::Rotate => {
            let kids = app.oidc().rotate_signing_key(&actor, &meta).await?;
            let value = serde_json::json!({ "kids": kids });
            let rows = kids.iter().map(|k| vec![k.clone()]).collect();
            print(table_or(format), &value, &["kid"], rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn service_accounts(
    command: ServiceAccountCommand,
    app: &App,
    format: Option<OutputFormat>,
) -> anyhow::Result<ExitCode> {
    let (actor, meta) = cli_actor();
    let format = table_or(format);
    match command {
        ServiceAccountCommand::Add {
            name,
            scopes,
            token_lifetime,
            jwks_file,
            tls_client_cert,
            token_endpoint_auth_method,
            may_introspect,
            resources,
        } => {
            let read = |path: Option<std::path::PathBuf>| {
                path.map(|path| {
                    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
                })
                .transpose()
            };
            let new = NewServiceAccount {
                name,
                scopes,
                token_lifetime_secs: token_lifetime,
                jwks: read(jwks_file)?,
                tls_certificate_pem: read(tls_client_cert)?,
                token_endpoint_auth_method,
                may_introspect,
                resources,
            };
            let (account, secret) = app.oidc().add_service_account(&actor, &meta, &new).await?;
            let value = serde_json::json!({
                "client_id": account.client_id,
                "client_secret": secret,
                "name": account.name,
                "scope": account.scopes.join(" "),
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": account.auth_method(),
                "may_introspect": account.may_introspect,
            });
            let shown = secret.clone().unwrap_or_else(|| "(none: keys or certificate)".into());
            print(format, &value, &["client_id", "client_secret"], vec![vec![account.client_id.clone(), shown]])?;
            if format == OutputFormat::Table && secret.is_some() {
                eprintln!("Store the client_secret now: it is shown only once.");
            }
        }
        ServiceAccountCommand::RotateSecret { client_id, overlap } => {
            let rotated = app.oidc().rotate_service_secret(&actor, &meta, &client_id, overlap).await?;
            print_rotated(format, &client_id, rotated)?;
        }
        ServiceAccountCommand::List => {
            let accounts = app.oidc().service_accounts().await?;
            let rows = accounts
                .iter()
                .map(|a| vec![a.client_id.clone(), a.name.clone(), a.scopes.join(" "), a.created_at.to_rfc3339()])
                .collect();
            print(format, &serde_json::to_value(&accounts)?, &["client_id", "name", "scope", "created"], rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
