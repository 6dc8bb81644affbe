//! Approval requests (the request half of [`twofold_core::store::ApprovalStore`], whose impl
//! is in `mod.rs`): the whole [`ApprovalRequest`] as JSON in `body`, its app, requester,
//! state, times and version in columns for lists; every change is a compare-and-swap on the
//! version, written with the outbox row delivering its result when it has one.

use twofold_core::approvals::{ApprovalRequest, ApprovalState};
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::outbox::OutboxMessage;
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

fn body(request: &ApprovalRequest) -> StoreResult<String> {
    serde_json::to_string(request)
        .map_err(|e| StoreError::Other(format!("cannot encode approval request {}: {e}", request.id)))
}

fn from_body(body: &str) -> StoreResult<ApprovalRequest> {
    serde_json::from_str(body).map_err(|e| StoreError::Other(format!("stored approval request is not valid: {e}")))
}

/// Stores a raised request with its `approval.request` event.
pub(super) async fn create(store: &SqlStore, request: &ApprovalRequest, ctx: &AuditContext) -> StoreResult<()> {
    let body = body(request)?;
    let mut tx = AuditedTx::begin(&store.pool).await?;
    sqlx::query(
        "INSERT INTO approvals (id, client_id, requester_id, state, created_at, expires_at, version, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(request.id.to_string())
    .bind(&request.client_id)
    .bind(request.requester.user_id.to_string())
    .bind(request.state.as_str())
    .bind(request.created_at.millis())
    .bind(request.expires_at.millis())
    .bind(request.version)
    .bind(body)
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    let after = serde_json::json!({
        "client_id": request.client_id,
        "requester": request.requester.username,
        "action": request.proposal.action,
        "resource": request.proposal.resource,
        "content_hash": request.content_hash,
        "rule": request.rule.name,
        "rule_version": request.rule.version,
        "approvers": request.rule.approvers,
        "required": request.rule.required,
        "expires_at": request.expires_at,
    });
    tx.append(&Change::new(AuditAction::ApprovalRequest, Some(request.id.to_string())).states(None, Some(after)), ctx)
        .await?;
    tx.commit().await
}

/// One request.
pub(super) async fn one(store: &SqlStore, id: Uuid) -> StoreResult<Option<ApprovalRequest>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT body FROM approvals WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&store.pool)
        .await
        .map_err(store_error)?;
    row.map(|(body,)| from_body(&body)).transpose()
}

/// Pending requests whose time ran out by `now`, oldest first.
pub(super) async fn expired(store: &SqlStore, now: twofold_core::Timestamp) -> StoreResult<Vec<ApprovalRequest>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body FROM approvals WHERE state = 'pending' AND expires_at <= $1 ORDER BY expires_at, id",
    )
    .bind(now.millis())
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    rows.iter().map(|(body,)| from_body(body)).collect()
}

/// Requests, newest first, filtered by state and app when given.
pub(super) async fn list(
    store: &SqlStore,
    state: Option<ApprovalState>,
    client_id: Option<&str>,
) -> StoreResult<Vec<ApprovalRequest>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body FROM approvals WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR client_id = $2)
         ORDER BY created_at DESC, id DESC",
    )
    .bind(state.map(ApprovalState::as_str))
    .bind(client_id)
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    rows.iter().map(|(body,)| from_body(body)).collect()
}

/// Writes `request` over the version before its own, with `change`'s event and `delivery`'s
/// outbox row; false when someone else changed it first.
pub(super) async fn update(
    store: &SqlStore,
    request: &ApprovalRequest,
    change: &Change,
    delivery: Option<&OutboxMessage>,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let body = body(request)?;
    let mut tx = AuditedTx::begin(&store.pool).await?;
    let written =
        sqlx::query("UPDATE approvals SET body = $1, state = $2, version = $3 WHERE id = $4 AND version = $5")
            .bind(body)
            .bind(request.state.as_str())
            .bind(request.version)
            .bind(request.id.to_string())
            .bind(request.version - 1)
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?
            .rows_affected();
    if written == 1
        && let Some(message) = delivery
    {
        super::outbox::insert(&mut tx, message).await?;
    }
    tx.commit_if_changed(written, change, ctx).await
}
