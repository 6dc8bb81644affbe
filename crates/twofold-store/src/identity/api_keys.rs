//! Admin API keys ([`ApiKeyStore`]).

use async_trait::async_trait;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::identity::api_key::ApiKey;
use twofold_core::store::{ApiKeyStore, StoreResult};

use crate::rows;
use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

const COLUMNS: &str = "id, name, role, secret_hash, created_at, expires_at, last_used_at, revoked_at";

#[async_trait]
impl ApiKeyStore for SqlStore {
    async fn create_api_key(&self, key: &ApiKey, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
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
        tx.append(&Change::new(AuditAction::ApiKeyCreate, Some(key.id.clone())).states(None, Some(after)), ctx).await?;
        tx.commit().await
    }

    async fn api_key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(rows::api_key)
            .transpose()
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC")))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?
            .iter()
            .map(rows::api_key)
            .collect()
    }

    async fn revoke_api_key(&self, id: &str, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
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
        tx.append(&Change::new(AuditAction::ApiKeyRevoke, Some(id.to_owned())), ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn touch_api_key(&self, id: &str, now: Timestamp) -> StoreResult<()> {
        // At most one write a minute per key.
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now.millis())
        .bind(id)
        .bind(now.plus_seconds(-60).millis())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
