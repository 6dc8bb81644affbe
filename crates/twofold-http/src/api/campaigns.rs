//! `/api/v1/campaigns`, `/api/v1/compliance`, `/api/v1/exceptions` and the coverage and gap
//! reports: rollout campaigns through the admin API. Admin keys change things; admin,
//! help-desk and auditor keys read (the directory's readers). An approver decides an
//! exception with a one-time code from their own authenticator, whoever's key calls.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use twofold_core::Timestamp;
use twofold_core::identity::service_account::ReportPolicy;
use twofold_core::rollout::CampaignStatus;
use twofold_core::rollout::compliance::State as ComplianceState;

use crate::extract::{Authorized, ClientMeta, JsonBody, QueryParams, ReadDirectory, WriteDirectory};
use crate::{ApiError, AppState};

/// A campaign file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The TOML text.
    source: String,
}

/// `GET /campaigns` — every campaign with its status.
pub async fn list(State(state): State<AppState>, _caller: Authorized<ReadDirectory>) -> Result<Response, ApiError> {
    let campaigns: Vec<_> = state
        .app
        .rollout()
        .campaigns()
        .await?
        .into_iter()
        .map(|c| json!({"name": c.name, "status": c.status, "created_at": c.created_at, "updated_at": c.updated_at}))
        .collect();
    Ok(Json(json!({ "campaigns": campaigns })).into_response())
}

/// `POST /campaigns` — applies a campaign file (a new one as a draft); 422 lists every problem.
pub async fn apply(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<Source>,
) -> Result<Response, ApiError> {
    let name = state.app.rollout().apply_campaign(&caller.actor, &meta, &body.source).await?;
    Ok((StatusCode::CREATED, Json(json!({ "name": name }))).into_response())
}

/// `GET /campaigns/{name}` — progress, phases, adoption curve and projected completion.
pub async fn status(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.app.rollout().campaign_status(&name).await?).into_response())
}

/// `POST /campaigns/{name}/start` and `POST /campaigns/{name}/pause`.
pub async fn set_status(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path((name, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let status = match action.as_str() {
        "start" => CampaignStatus::Running,
        "pause" => CampaignStatus::Paused,
        _ => return Err(twofold_app::AppError::NotFound("API endpoint").into()),
    };
    state.app.rollout().set_campaign_status(&caller.actor, &meta, &name, status).await?;
    Ok(Json(json!({ "name": name, "status": status })).into_response())
}

#[derive(Deserialize)]
pub struct ComplianceQuery {
    campaign: Option<String>,
    state: Option<ComplianceState>,
}

/// `GET /compliance?campaign=&state=` — every in-scope identity's standing.
pub async fn compliance(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
    QueryParams(query): QueryParams<ComplianceQuery>,
) -> Result<Response, ApiError> {
    let rows = state.app.rollout().compliance_report(query.campaign.as_deref(), query.state).await?;
    Ok(Json(json!({ "identities": rows })).into_response())
}

#[derive(Deserialize)]
pub struct DaysQuery {
    days: Option<i64>,
    break_glass_days: Option<i64>,
}

/// `GET /reports/coverage?days=30` — registration and effective coverage, failures, exceptions.
pub async fn coverage(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
    QueryParams(query): QueryParams<DaysQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(state.app.rollout().coverage(query.days.unwrap_or(30).clamp(1, 3660)).await?).into_response())
}

/// `GET /reports/gaps?days=30&break_glass_days=90` — the gap analysis.
pub async fn gaps(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
    QueryParams(query): QueryParams<DaysQuery>,
) -> Result<Response, ApiError> {
    let days = query.days.unwrap_or(30).clamp(1, 3660);
    let break_glass = query.break_glass_days.unwrap_or(90).clamp(1, 3660);
    Ok(Json(state.app.gap_report(days, break_glass, ReportPolicy::default()).await?).into_response())
}

/// An exception request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    username: String,
    reason: String,
    /// `2027-01-31` or RFC 3339.
    until: String,
    /// The person asking (username). Required: an API key is not a person, and the approver
    /// must not be the requester.
    #[serde(default)]
    requested_by: Option<String>,
}

/// `GET /exceptions` — every exception, newest first, with its state.
pub async fn exceptions(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
) -> Result<Response, ApiError> {
    let now = state.app.now();
    let list: Vec<_> = state
        .app
        .rollout()
        .exceptions()
        .await?
        .into_iter()
        .map(|e| {
            let state = e.state(now);
            let mut value = json!(e);
            value["state"] = json!(state);
            value
        })
        .collect();
    Ok(Json(json!({ "exceptions": list })).into_response())
}

/// `POST /exceptions` — requests one (at most 30 days long).
pub async fn request_exception(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<ExceptionRequest>,
) -> Result<Response, ApiError> {
    let until = Timestamp::parse(&body.until).map_err(ApiError::BadRequest)?;
    let exception = state
        .app
        .rollout()
        .request_exception(&caller.actor, &meta, &body.username, &body.reason, until, body.requested_by.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(exception)).into_response())
}

/// An approver's decision, proved with a one-time code from their own authenticator.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    approver: String,
    code: String,
}

/// `POST /exceptions/{id}/approve` and `POST /exceptions/{id}/reject`.
pub async fn decide(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path((id, verdict)): Path<(String, String)>,
    JsonBody(body): JsonBody<Decision>,
) -> Result<Response, ApiError> {
    let approve = match verdict.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(twofold_app::AppError::NotFound("API endpoint").into()),
    };
    let e =
        state.app.rollout().decide_exception(&caller.actor, &meta, &id, &body.approver, &body.code, approve).await?;
    Ok(Json(e).into_response())
}

/// A manager's confirmation, proved with a one-time code from their own authenticator.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    manager: String,
    code: String,
}

/// `POST /exceptions/{id}/confirm` — the quarterly question, answered by the person's manager.
pub async fn confirm(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Confirmation>,
) -> Result<Response, ApiError> {
    Ok(Json(state.app.rollout().confirm_exception(&caller.actor, &meta, &id, &body.manager, &body.code).await?)
        .into_response())
}

/// Why an exception is revoked (the body is optional).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Recorded as the exception's `end_reason` ("revoked" without one); at most 500 characters.
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /exceptions/{id}/revoke` with an optional `{"reason"}` — the exception stops
/// covering at once; the caller is recorded as `ended_by`.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: Revocation = if body.iter().all(u8::is_ascii_whitespace) {
        Revocation::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?
    };
    Ok(Json(state.app.rollout().revoke_exception(&caller.actor, &meta, &id, body.reason.as_deref()).await?)
        .into_response())
}
