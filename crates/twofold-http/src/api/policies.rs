//! `/api/v1/policies`: the conditional-access policy through the admin API — check a draft,
//! apply it as the next version (refused whole with every problem), list versions, roll
//! back, explain one hypothetical sign-in, and replay recorded sign-ins against a draft.
//! Changes need an admin key; reading needs an admin or auditor key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use twofold_app::access::policies::WhatIf;
use twofold_core::ValidationErrors;
use twofold_core::access::file::Problem;

use crate::extract::{Authorized, ClientMeta, JsonBody, ManagePolicy, QueryParams, ReadAudit};
use crate::{ApiError, AppState};

/// A policy file's text, with a note when it is applied.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The TOML text.
    source: String,
    /// Why (kept with the version).
    #[serde(default)]
    note: Option<String>,
}

/// A draft to replay.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    source: String,
    /// Days of sign-ins to replay (default 30).
    #[serde(default)]
    days: Option<i64>,
}

/// A question, with a draft to ask instead of the policy in force.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    #[serde(default)]
    source: Option<String>,
    user: String,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    device: Option<twofold_core::access::Device>,
    #[serde(default)]
    action: Option<twofold_core::access::Action>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    risk: Option<twofold_core::access::Risk>,
}

fn refused(problems: Vec<Problem>) -> ApiError {
    let mut errors = ValidationErrors::default();
    for p in problems {
        errors.add(format!("{} {}", p.at, p.field).trim().to_owned(), p.message);
    }
    twofold_app::AppError::from(errors).into()
}

/// `GET /policies` — every version, newest first (admin or auditor).
pub async fn versions(State(state): State<AppState>, _caller: Authorized<ReadAudit>) -> Result<Response, ApiError> {
    Ok(Json(json!({ "versions": state.app.access().policy_versions().await? })).into_response())
}

/// `POST /policies` — applies `source` as the next version (admin); 422 lists every problem.
pub async fn apply(
    State(state): State<AppState>,
    caller: Authorized<ManagePolicy>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<Source>,
) -> Result<Response, ApiError> {
    let version = state.app.access().apply_policy(&caller.actor, &meta, &body.source, body.note.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "version": version }))).into_response())
}

/// `POST /policies/check` — every problem of a draft, changing nothing (admin or auditor).
pub async fn check(
    State(state): State<AppState>,
    _caller: Authorized<ReadAudit>,
    JsonBody(body): JsonBody<Source>,
) -> Result<Response, ApiError> {
    Ok(match state.app.access().check_policy(&body.source).await? {
        Ok(policy) => Json(json!({ "valid": true, "rules": policy.rules.len(), "problems": [] })).into_response(),
        Err(problems) => Json(json!({ "valid": false, "problems": problems })).into_response(),
    })
}

/// `POST /policies/{version}/rollback` — that version's text applied again as a new version (admin).
pub async fn rollback(
    State(state): State<AppState>,
    caller: Authorized<ManagePolicy>,
    ClientMeta(meta): ClientMeta,
    Path(version): Path<i64>,
) -> Result<Response, ApiError> {
    let applied = state.app.access().rollback_policy(&caller.actor, &meta, version).await?;
    Ok((StatusCode::CREATED, Json(json!({ "version": applied }))).into_response())
}

/// `POST /policies/whatif` — one hypothetical sign-in explained (admin or auditor).
pub async fn whatif(
    State(state): State<AppState>,
    _caller: Authorized<ReadAudit>,
    JsonBody(body): JsonBody<Question>,
) -> Result<Response, ApiError> {
    let policy = match body.source.as_deref() {
        Some(source) => Some(state.app.access().check_policy(source).await?.map_err(refused)?),
        None => None,
    };
    let question = WhatIf {
        user: body.user,
        app: body.app,
        host: body.host,
        ip: body.ip,
        device: body.device,
        action: body.action,
        country: body.country,
        risk: body.risk,
    };
    let decision = state.app.access().whatif(policy, &question).await?;
    Ok(Json(json!({ "decision": decision, "explanation": decision.explain() })).into_response())
}

/// `POST /policies/simulate` — the recorded sign-ins of the last `days` days replayed
/// against a draft (admin or auditor).
pub async fn simulate(
    State(state): State<AppState>,
    _caller: Authorized<ReadAudit>,
    JsonBody(body): JsonBody<Draft>,
) -> Result<Response, ApiError> {
    let days = body.days.unwrap_or(30);
    if !(1..=3660).contains(&days) {
        return Err(twofold_app::AppError::from(ValidationErrors::one("days", "must be between 1 and 3660")).into());
    }
    let report = state
        .app
        .access()
        .simulate_policy(&body.source, days, &twofold_app::progress::Quiet)
        .await?
        .map_err(refused)?;
    let explanation = report.explain(true);
    Ok(Json(json!({ "report": report, "explanation": explanation })).into_response())
}

#[derive(Deserialize)]
pub struct ReportQuery {
    days: Option<i64>,
}

/// `GET /reports/policy?days=30` — what each rule matched and what the report-only rules
/// would have done (admin or auditor).
pub async fn report(
    State(state): State<AppState>,
    _caller: Authorized<ReadAudit>,
    QueryParams(query): QueryParams<ReportQuery>,
) -> Result<Response, ApiError> {
    let days = query.days.unwrap_or(30).clamp(1, 3660);
    let report = state.app.access().policy_report(state.app.now().plus_seconds(-days * 86_400)).await?;
    Ok(Json(report).into_response())
}
