//! `/api/v1/groups`: list, create, members.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::extract::{Authorized, ClientMeta, JsonBody, ReadDirectory, WriteDirectory};
use crate::{ApiError, AppState};

/// `GET /groups` — requires a key that may read the directory.
pub async fn list(State(state): State<AppState>, _caller: Authorized<ReadDirectory>) -> Result<Response, ApiError> {
    Ok(Json(json!({ "groups": state.app.identity().list_groups().await? })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    name: String,
    description: Option<String>,
}

/// `POST /groups` — requires an admin key. 201 with the group.
pub async fn create(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<CreateGroup>,
) -> Result<Response, ApiError> {
    let group =
        state.app.identity().create_group(&caller.actor, &meta, &body.name, body.description.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(group)).into_response())
}

/// `GET /groups/{group}/members` — requires a key that may read the directory.
pub async fn members(
    State(state): State<AppState>,
    _caller: Authorized<ReadDirectory>,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(json!({ "members": state.app.identity().group_members(&group).await? })).into_response())
}

/// `PUT /groups/{group}/members/{user}` — requires an admin key; idempotent.
pub async fn add_member(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path((group, user)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let added = state.app.identity().add_group_member(&caller.actor, &meta, &group, &user).await?;
    Ok(Json(json!({ "added": added })).into_response())
}

/// `DELETE /groups/{group}/members/{user}` — requires an admin key; idempotent.
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Authorized<WriteDirectory>,
    ClientMeta(meta): ClientMeta,
    Path((group, user)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let removed = state.app.identity().remove_group_member(&caller.actor, &meta, &group, &user).await?;
    Ok(Json(json!({ "removed": removed })).into_response())
}
