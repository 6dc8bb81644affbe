//! `GET /api/v1/session`: who the browser's own session is, and the token it sends in
//! `X-CSRF-Token` when it calls the API with that session (a help-desk tool working cases).
//! Another site's page cannot read this answer: no CORS header is ever sent.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use twofold_app::AppError;

use crate::extract::MaybeSession;
use crate::{ApiError, AppState, csrf};

/// `GET /session` — 401 without a signed-in session.
pub async fn show(State(state): State<AppState>, MaybeSession(session): MaybeSession) -> Result<Response, ApiError> {
    let current = session.ok_or(AppError::Unauthenticated)?;
    let auth = &current.session.auth;
    let body = json!({
        "username": current.user.username,
        "roles": current.user.roles,
        "acr": auth.acr,
        "amr": auth.amr,
        "auth_time": auth.auth_time,
        "csrf_token": csrf::session_token(&state.config.csrf_key, &current.session.id_hash),
    });
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
