//! `/api/v1/clients` and `/api/v1/service-accounts`: registering OpenID Connect apps and
//! machine identities, with RFC 7591 field names (`client_name`, `redirect_uris`, `scope`,
//! `token_endpoint_auth_method`). A secret is in the 201 answer only, once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use twofold_app::oidc::NewClient;
use twofold_app::oidc::service_accounts::NewServiceAccount;
use twofold_core::oidc::Client;

use crate::extract::{Authorized, ClientMeta, JsonBody, ManageClients};
use crate::{ApiError, AppState};

/// A client as listed (never a secret or its hash).
fn describe(client: &Client) -> serde_json::Value {
    let method = client.auth_method();
    json!({
        "client_id": client.client_id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "scope": client.scopes.join(" "),
        "token_endpoint_auth_method": method,
        "grant_types": if client.service { json!(["client_credentials"]) } else { json!(["authorization_code", "refresh_token"]) },
        "min_acr": client.min_acr,
        "consent_required": client.consent_required,
        "id_token_signed_response_alg": (!client.service).then(|| client.id_token_alg.as_deref().unwrap_or("RS256")),
        "access_token_lifetime": client.token_lifetime_secs,
        "may_introspect": client.may_introspect,
        "resources": client.resources,
        "client_id_issued_at": client.created_at.millis() / 1000,
    })
}

/// `GET /clients` — apps and service accounts; requires an admin key.
pub async fn list(State(state): State<AppState>, _caller: Authorized<ManageClients>) -> Result<Response, ApiError> {
    let clients: Vec<_> = state.app.oidc().clients().await?.iter().map(describe).collect();
    Ok(Json(json!({ "clients": clients })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterClient {
    client_name: String,
    redirect_uris: Vec<String>,
    /// `client_secret_basic` (default) or `none` for a public client.
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    /// Space-separated.
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    min_acr: Option<String>,
    #[serde(default)]
    third_party: bool,
    /// `RS256` (default), `ES256` or `EdDSA`.
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
    /// May introspect tokens issued to other clients (a resource server).
    #[serde(default)]
    may_introspect: bool,
}

/// `POST /clients` — registers an app; 201 with `client_id` and (confidential) `client_secret`.
pub async fn create(
    State(state): State<AppState>,
    caller: Authorized<ManageClients>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<RegisterClient>,
) -> Result<Response, ApiError> {
    let public = match body.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic" | "client_secret_post") => false,
        Some("none") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "token_endpoint_auth_method '{other}' is not one of: client_secret_basic, client_secret_post, none"
            )));
        }
    };
    let new = NewClient {
        name: body.client_name,
        redirect_uris: body.redirect_uris,
        public,
        scopes: body.scope.unwrap_or_default().split_whitespace().map(str::to_owned).collect(),
        min_acr: body.min_acr,
        third_party: body.third_party,
        id_token_alg: body.id_token_signed_response_alg,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        may_introspect: body.may_introspect,
    };
    let (client, secret) = state.app.oidc().register_client(&caller.actor, &meta, &new).await?;
    let mut answer = describe(&client);
    answer["client_secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /service-accounts` — requires an admin key.
pub async fn list_service_accounts(
    State(state): State<AppState>,
    _caller: Authorized<ManageClients>,
) -> Result<Response, ApiError> {
    let accounts: Vec<_> = state.app.oidc().service_accounts().await?.iter().map(describe).collect();
    Ok(Json(json!({ "service_accounts": accounts })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccount {
    client_name: String,
    /// Space-separated scopes granted.
    scope: String,
    #[serde(default)]
    access_token_lifetime: Option<i64>,
    /// A JWK Set of public keys for `private_key_jwt` (then no secret is made).
    #[serde(default)]
    jwks: Option<serde_json::Value>,
    /// A PEM client certificate for `tls_client_auth` (then no secret is made).
    #[serde(default)]
    tls_client_certificate: Option<String>,
    /// With a secret: `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    /// May introspect tokens issued to other clients (a resource server).
    #[serde(default)]
    may_introspect: bool,
    /// RFC 8707: the resource servers its tokens may be for.
    #[serde(default)]
    resources: Vec<String>,
}

/// `POST /service-accounts` — 201 with `client_id` and `client_secret` (none with `jwks`).
pub async fn create_service_account(
    State(state): State<AppState>,
    caller: Authorized<ManageClients>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<CreateServiceAccount>,
) -> Result<Response, ApiError> {
    let new = NewServiceAccount {
        name: body.client_name,
        scopes: body.scope.split_whitespace().map(str::to_owned).collect(),
        token_lifetime_secs: body.access_token_lifetime,
        jwks: body.jwks.map(|keys| keys.to_string()),
        tls_certificate_pem: body.tls_client_certificate,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        may_introspect: body.may_introspect,
        resources: body.resources,
    };
    let (account, secret) = state.app.oidc().add_service_account(&caller.actor, &meta, &new).await?;
    let mut answer = describe(&account);
    answer["client_secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
