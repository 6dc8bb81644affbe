//! The approvals API for apps: `POST /api/v1/approvals` raises a request for the app's
//! signed-in person, `GET /api/v1/approvals/{id}` reads where it stands (and, once decided,
//! its signed receipt). The app authenticates as its OpenID Connect client — by the method
//! it registered (Basic or body secret, `private_key_jwt`, or its TLS certificate) — and
//! names the person with their own access token, so it cannot invent a requester.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use twofold_app::AppError;
use twofold_app::approvals::RaisedRequest;
use twofold_core::approvals::{Magnitude, Proposal};
use twofold_core::oidc::Client;
use uuid::Uuid;

use crate::extract::{ClientCertificate, ClientMeta, JsonBody};
use crate::oidc::{PresentedCredentials, authenticate_app};
use crate::{ApiError, AppState};

/// The body of `POST /api/v1/approvals`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaiseBody {
    /// The signed-in person's access token from this app.
    subject_token: String,
    action: String,
    resource: String,
    #[serde(default)]
    before: serde_json::Value,
    #[serde(default)]
    after: serde_json::Value,
    magnitude: Option<Magnitude>,
    reason: String,
    expires_in: Option<i64>,
    callback_url: Option<String>,
    /// The person's address, as the app saw it.
    requester_ip: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// The app calling, or 401.
async fn app(
    state: &AppState,
    headers: &HeaderMap,
    certificate: Option<String>,
    presented: PresentedCredentials,
) -> Result<Client, ApiError> {
    authenticate_app(state, headers, certificate, presented).await.map_err(|e| {
        tracing::info!(error = %e.error, description = %e.description, "approvals API: client authentication failed");
        ApiError::App(AppError::Unauthenticated)
    })
}

/// 201 with the request (`state`, `content_hash`, `rule`, `approvers`, `required`,
/// `expires_at`); 422 for a bad token or proposal, an unregistered callback; 409 when no
/// rule covers it (it needs no approval).
pub async fn raise(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ClientCertificate(certificate): ClientCertificate,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RaiseBody>,
) -> Result<Response, ApiError> {
    let presented = PresentedCredentials {
        client_id: body.client_id,
        client_secret: body.client_secret,
        client_assertion_type: body.client_assertion_type,
        client_assertion: body.client_assertion,
    };
    let client = app(&state, &headers, certificate, presented).await?;
    let proposal = Proposal {
        action: body.action,
        resource: body.resource,
        before: body.before,
        after: body.after,
        magnitude: body.magnitude,
        reason: body.reason,
        expires_in: body.expires_in,
        callback_url: body.callback_url,
    };
    let meta = twofold_app::RequestMeta { app: Some(client.client_id.clone()), ..meta };
    let request = state
        .app
        .approvals()
        .raise(&client, &body.subject_token, proposal, body.requester_ip.as_deref(), &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(RaisedRequest::from(&request))).into_response())
}

/// 200 with where the request stands and, once decided, `receipt`; 404 for another app's.
pub async fn show(
    State(state): State<AppState>,
    ClientCertificate(certificate): ClientCertificate,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let client = app(&state, &headers, certificate, PresentedCredentials::default()).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::App(AppError::NotFound("approval request")))?;
    let request = state.app.approvals().for_app(&client, id).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Json(RaisedRequest::from(&request))).into_response())
}
