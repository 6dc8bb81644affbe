//! `POST /api/v1/verify`: checks a user's one-time code for a gateway or legacy app that
//! keeps its own first factor (privacyIDEA's `/validate/check`). Same replay protection,
//! throttling and audit as the sign-in flow.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use twofold_app::AppError;

use crate::extract::{Authorized, ClientMeta, JsonBody, VerifyCodes};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    username: String,
    code: String,
}

/// 200 `{"valid": true, "authenticator_id": ...}` or `{"valid": false}`; 429 when
/// throttled. Requires a key that may verify codes (admin).
pub async fn verify(
    State(state): State<AppState>,
    caller: Authorized<VerifyCodes>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<VerifyRequest>,
) -> Result<Json<Value>, ApiError> {
    match state.app.factors().verify_code(&caller.actor, &body.username, &body.code, &meta).await {
        Ok(verified) => Ok(Json(json!({ "valid": true, "authenticator_id": verified.authenticator_id }))),
        Err(AppError::Unauthenticated) => Ok(Json(json!({ "valid": false }))),
        Err(other) => Err(other.into()),
    }
}
