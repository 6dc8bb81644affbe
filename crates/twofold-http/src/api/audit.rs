//! `/api/v1/audit`: read events page by page, verify the chain.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use twofold_core::Timestamp;

use crate::extract::{Authorized, QueryParams, ReadAudit};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// RFC 3339 time or date; events at or after it.
    since: Option<String>,
    /// Only events with a greater sequence number (for paging).
    after: Option<i64>,
    /// Page size, 1–1000 (default 100).
    limit: Option<i64>,
}

/// `GET /audit/events` — requires an admin or auditor key.
pub async fn events(
    State(state): State<AppState>,
    _caller: Authorized<ReadAudit>,
    QueryParams(query): QueryParams<EventsQuery>,
) -> Result<Response, ApiError> {
    let since = match query.since.as_deref() {
        Some(text) => Timestamp::parse(text).map_err(ApiError::BadRequest)?,
        None => Timestamp(0),
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let events = state.app.audit_events(query.after.unwrap_or(0), since, limit).await?;
    let next_after = events.last().map(|e| e.seq);
    Ok(Json(json!({ "events": events, "next_after": next_after })).into_response())
}

/// `GET /audit/verify` — walks the whole chain; requires an admin or auditor key.
pub async fn verify(State(state): State<AppState>, _caller: Authorized<ReadAudit>) -> Result<Response, ApiError> {
    Ok(Json(state.app.verify_audit().await?).into_response())
}
