//! Emergency accesses (the access half of [`twofold_core::store::EmergencyStore`], whose impl
//! is in `mod.rs`): the whole [`EmergencyAccess`] as JSON in `body`, its person, state, times
//! and version in columns for lists; every change is a compare-and-swap on the version.

use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::emergency::EmergencyAccess;
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

fn body(access: &EmergencyAccess) -> StoreResult<String> {
    serde_json::to_string(access)
        .map_err(|e| StoreError::Other(format!("cannot encode emergency access {}: {e}", access.id)))
}

fn from_body(body: &str) -> StoreResult<EmergencyAccess> {
    serde_json::from_str(body).map_err(|e| StoreError::Other(format!("stored emergency access is not valid: {e}")))
}

/// Stores a requested emergency access with its `emergency.request` event.
pub(super) async fn create(store: &SqlStore, access: &EmergencyAccess, ctx: &AuditContext) -> StoreResult<()> {
    let body = body(access)?;
    let mut tx = AuditedTx::begin(&store.pool).await?;
    sqlx::query(
        "INSERT INTO emergency_accesses (id, user_id, state, requested_at, ends_at, version, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(access.id.to_string())
    .bind(access.user_id.to_string())
    .bind(access.state.as_str())
    .bind(access.requested_at.millis())
    .bind(access.ends_at.map(|t| t.millis()))
    .bind(access.version)
    .bind(body)
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    let after = serde_json::json!({"user": access.username, "reason": access.reason, "hours": access.hours});
    tx.append(&Change::new(AuditAction::EmergencyRequest, Some(access.id.to_string())).states(None, Some(after)), ctx)
        .await?;
    tx.commit().await
}

/// One emergency access.
pub(super) async fn one(store: &SqlStore, id: Uuid) -> StoreResult<Option<EmergencyAccess>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT body FROM emergency_accesses WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&store.pool)
        .await
        .map_err(store_error)?;
    row.map(|(body,)| from_body(&body)).transpose()
}

/// Emergency accesses, newest first; only `user_id`'s when given.
pub(super) async fn list(store: &SqlStore, user_id: Option<Uuid>) -> StoreResult<Vec<EmergencyAccess>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT body FROM emergency_accesses WHERE ($1 IS NULL OR user_id = $1)
         ORDER BY requested_at DESC, id DESC",
    )
    .bind(user_id.map(|id| id.to_string()))
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    rows.iter().map(|(body,)| from_body(body)).collect()
}

/// Writes `access` over the version before its own, with `change`'s event; false when
/// someone else changed it first.
pub(super) async fn update(
    store: &SqlStore,
    access: &EmergencyAccess,
    change: &Change,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let body = body(access)?;
    let mut tx = AuditedTx::begin(&store.pool).await?;
    let written = sqlx::query(
        "UPDATE emergency_accesses SET body = $1, state = $2, ends_at = $3, version = $4
         WHERE id = $5 AND version = $6",
    )
    .bind(body)
    .bind(access.state.as_str())
    .bind(access.ends_at.map(|t| t.millis()))
    .bind(access.version)
    .bind(access.id.to_string())
    .bind(access.version - 1)
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?
    .rows_affected();
    tx.commit_if_changed(written, change, ctx).await
}
