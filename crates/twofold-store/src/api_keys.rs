//! Admin API keys.

use sqlx::AnyPool;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, Change};
use twofold_core::identity::api_key::ApiKey;
use twofold_core::store::StoreResult;

use crate::rows;
use crate::store_error;
use crate::tx::AuditedTx;

const COLUMNS: &str = "id, name, role, secret_hash, created_at, expires_at, last_used_at, revoked_at";

pub(crate) async fn create(pool: &AnyPool, key: &ApiKey, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )))
    .bind(&key.id)
    .bind(&key.name)
    .bind(key.role.as_str())
    .bind(&key.secret_hash)
    .bind(key.created_at.millis())
    .bind(key.expires_at.map(Timestamp::millis))
    .bind(key.last_used_at.map(Timestamp::millis))
    .bind(key.revoked_at.map(Timestamp::millis))
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    // The serialised key omits the secret hash.
    let after = serde_json::to_value(key).unwrap_or_default();
    tx.append(&Change::new("api_key.create", "api_key", Some(key.id.clone())).states(None, Some(after)), ctx).await?;
    tx.commit().await
}

pub(crate) async fn get(pool: &AnyPool, id: &str) -> StoreResult<Option<ApiKey>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(rows::api_key)
        .transpose()
}

pub(crate) async fn list(pool: &AnyPool) -> StoreResult<Vec<ApiKey>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC")))
        .fetch_all(pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(rows::api_key)
        .collect()
}

pub(crate) async fn revoke(pool: &AnyPool, id: &str, ctx: &AuditContext) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(pool).await?;
    let revoked = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(ctx.at.millis())
        .bind(id)
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
    if revoked == 0 {
        return Ok(false);
    }
    tx.append(&Change::new("api_key.revoke", "api_key", Some(id.to_owned())), ctx).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn touch(pool: &AnyPool, id: &str, now: Timestamp) -> StoreResult<()> {
    // At most one write a minute per key.
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(now.millis())
        .bind(id)
        .bind(now.plus_seconds(-60).millis())
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(())
}
