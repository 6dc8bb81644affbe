//! `/api/v1/cases`: help-desk support cases and their metrics, for admin, help-desk and
//! auditor keys (cases are evidence). Cases are worked by operators with their own fresh
//! passkey and session (the pages, or the same session through `case_work`), or from the
//! machine's console (`twofold case`), never by a key.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::json;
use twofold_core::ValidationErrors;
use twofold_core::cases::{CaseKind, CaseState};
use twofold_core::store::CaseFilter;

use crate::extract::{Authorized, QueryParams, ReadCases};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
    kind: Option<String>,
    user: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// `GET /cases?state=open&kind=lost_device&user=bob&limit=100&offset=0` — newest first, with
/// the total that matches.
pub async fn list(
    State(state): State<AppState>,
    _caller: Authorized<ReadCases>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut errors = ValidationErrors::default();
    let case_state = match query.state.as_deref() {
        None => None,
        Some("open") => Some(CaseState::Open),
        Some("closed") => Some(CaseState::Closed),
        Some(other) => {
            errors.add("state", format!("'{other}' is not one of: open, closed"));
            None
        }
    };
    let kind = query.kind.as_deref().and_then(|k| CaseKind::parse(k).map_err(|e| errors.add("kind", e)).ok());
    errors.into_result().map_err(twofold_app::AppError::from)?;
    let target_id = match &query.user {
        Some(user) => Some(state.app.identity().find_user(user).await?.id),
        None => None,
    };
    let filter = CaseFilter {
        state: case_state,
        kind,
        target_id,
        limit: query.limit.unwrap_or(100),
        offset: query.offset.unwrap_or(0),
        ..CaseFilter::default()
    };
    let (cases, total) = state.app.cases().list(&filter).await?;
    Ok(Json(json!({ "cases": cases, "total": total })))
}

/// `GET /cases/{id}` — one case with its timeline and where its verification stands.
pub async fn show(
    State(state): State<AppState>,
    _caller: Authorized<ReadCases>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = id.parse().map_err(|_| twofold_app::AppError::NotFound("case"))?;
    let view = state.app.cases().show(id).await?;
    Ok(Json(json!({ "case": view.case, "verification": view.verification })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    days: Option<i64>,
}

/// `GET /reports/cases?days=30` — support metrics over the cases opened in the window.
pub async fn metrics(
    State(state): State<AppState>,
    _caller: Authorized<ReadCases>,
    QueryParams(query): QueryParams<MetricsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if let Some(days) = query.days
        && !(1..=3660).contains(&days)
    {
        return Err(twofold_app::AppError::from(ValidationErrors::one("days", "must be 1 to 3660")).into());
    }
    let since = query.days.map(|d| state.app.now().plus_seconds(-d * 24 * 60 * 60));
    Ok(Json(json!(state.app.cases().metrics(since).await?)))
}
