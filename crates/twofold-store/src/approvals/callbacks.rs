//! The callback URLs registered for an app's approval results (one row per app, the URLs as
//! a JSON list).

use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::store::{StoreError, StoreResult};

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

/// The URLs registered for `client_id` (none when it has no row).
pub(super) async fn list(store: &SqlStore, client_id: &str) -> StoreResult<Vec<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT urls FROM approval_callbacks WHERE client_id = $1")
        .bind(client_id)
        .fetch_optional(&store.pool)
        .await
        .map_err(store_error)?;
    row.map_or(Ok(Vec::new()), |(urls,)| {
        serde_json::from_str(&urls).map_err(|e| StoreError::Other(format!("stored approval callbacks: {e}")))
    })
}

/// Replaces `client_id`'s URLs; false for an unknown client.
pub(super) async fn set(store: &SqlStore, client_id: &str, urls: &[String], ctx: &AuditContext) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(&store.pool).await?;
    let known: Option<(String,)> = sqlx::query_as("SELECT client_id FROM oidc_clients WHERE client_id = $1")
        .bind(client_id)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    if known.is_none() {
        return Ok(false);
    }
    sqlx::query("DELETE FROM approval_callbacks WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    if !urls.is_empty() {
        sqlx::query("INSERT INTO approval_callbacks (client_id, urls) VALUES ($1, $2)")
            .bind(client_id)
            .bind(serde_json::to_string(urls).map_err(|e| StoreError::Other(e.to_string()))?)
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
    }
    let after = serde_json::json!({ "approval_callback_uris": urls });
    tx.append(&Change::new(AuditAction::ClientUpdate, Some(client_id.to_owned())).states(None, Some(after)), ctx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
