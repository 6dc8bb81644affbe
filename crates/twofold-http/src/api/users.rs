//! `/api/v1/users`: list, create, import, show, update, disable, password, sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use twofold_core::ValidationErrors;
use twofold_core::identity::{NewUser, Tier, UserPatch, UserStatus};
use twofold_core::store::UserFilter;

use crate::extract::{Authorized, ClientMeta, JsonBody, QueryParams, ReadDirectory, WriteDirectory};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    tier: Option<String>,
    group: Option<String>,
    department: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// `GET /users` — requires a key that may read the directory.
pub async fn list(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut errors = ValidationErrors::default();
    let status = query.status.as_deref().and_then(|s| UserStatus::parse(s).map_err(|e| errors.add("status", e)).ok());
    let tier = query.tier.as_deref().and_then(|t| Tier::parse(t).map_err(|e| errors.add("tier", e)).ok());
    errors.into_result().map_err(twofold_app::AppError::from)?;
    let filter = UserFilter {
        status,
        tier,
        group: query.group.map(|g| g.to_lowercase()),
        department: query.department,
        role: None,
        limit: query.limit,
        offset: query.offset,
    };
    let users = state.app.identity().list_users(&filter).await?;
    Ok(Json(json!({ "users": users })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    username: String,
    email: Option<String>,
    display_name: Option<String>,
    phone: Option<String>,
    department: Option<String>,
    manager: Option<String>,
    tier: Option<String>,
    roles: Option<Vec<String>>,
    /// Initial password; checked against the password rules.
    password: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// `POST /users` — requires an admin key. 201 with the user.
pub async fn create(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<Response, ApiError> {
    let new_user = NewUser {
        username: body.username,
        email: body.email,
        display_name: body.display_name,
        phone: body.phone,
        department: body.department,
        manager: body.manager,
        tier: body.tier,
        roles: body.roles,
    };
    let user = state.app.identity().create_user(&caller.actor, &meta, new_user, body.password, body.groups).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    skip_invalid: bool,
}

/// `POST /users/import` with a CSV body — requires an admin key. 200 when applied,
/// 422 with every bad line when refused.
pub async fn import(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    QueryParams(query): QueryParams<ImportQuery>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let report = state
        .app
        .identity()
        .import_users(&caller.actor, &meta, body.as_ref(), query.skip_invalid, &twofold_app::progress::Quiet)
        .await?;
    let status =
        if report.applied || report.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, Json(report)).into_response())
}

/// `GET /users/{user}` (username or id) — requires a key that may read the directory.
pub async fn show(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.app.identity().user_detail(&user).await?).into_response())
}

/// `PATCH /users/{user}` with a partial user — requires an admin key.
pub async fn update(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path(user): Path<String>,
    JsonBody(patch): JsonBody<UserPatch>,
) -> Result<Response, ApiError> {
    Ok(Json(state.app.identity().update_user(&caller.actor, &meta, &user, &patch).await?).into_response())
}

/// `POST /users/{user}/disable` — suspends and ends sessions; requires an admin key.
pub async fn disable(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.app.identity().disable_user(&caller.actor, &meta, &user).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    password: String,
}

/// `PUT /users/{user}/password` — requires an admin key. 204.
pub async fn set_password(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path(user): Path<String>,
    JsonBody(body): JsonBody<SetPassword>,
) -> Result<StatusCode, ApiError> {
    state.app.identity().set_password(&caller.actor, &meta, &user, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A session as the API shows it: never the token or its full hash.
#[derive(Serialize)]
pub struct SessionView {
    id: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    amr: Vec<String>,
    acr: String,
    ip: Option<String>,
    user_agent: Option<String>,
}

/// `GET /users/{user}/sessions` — requires a key that may read the directory.
pub async fn sessions(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    let user = state.app.identity().find_user(&user).await?;
    let sessions: Vec<SessionView> = state
        .app
        .signin()
        .user_sessions(user.id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            id: s.id_hash.chars().take(12).collect(),
            created_at: s.created_at.to_rfc3339(),
            last_seen_at: s.last_seen_at.to_rfc3339(),
            expires_at: s.absolute_expires_at.to_rfc3339(),
            amr: s.auth.amr,
            acr: s.auth.acr,
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(Json(json!({ "sessions": sessions })).into_response())
}

/// `DELETE /users/{user}/sessions` — ends every session; requires an admin key.
pub async fn revoke_sessions(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    let revoked = state.app.identity().revoke_user_sessions(&caller.actor, &meta, &user).await?;
    Ok(Json(json!({ "revoked": revoked })).into_response())
}
