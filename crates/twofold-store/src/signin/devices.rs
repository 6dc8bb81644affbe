//! Trusted devices ([`DeviceStore`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::signin::device_trust::TrustedDevice;
use twofold_core::store::{DeviceStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

const COLUMNS: &str = "device_id, user_id, trusted_until, mfa_at, created_at, user_agent, ip, revoked_at";

fn from_row(row: &AnyRow) -> StoreResult<TrustedDevice> {
    let user_id: String = row.try_get("user_id").map_err(store_error)?;
    let time = |c: &str| row.try_get::<i64, _>(c).map(Timestamp).map_err(store_error);
    Ok(TrustedDevice {
        device_id: row.try_get("device_id").map_err(store_error)?,
        user_id: Uuid::parse_str(&user_id)
            .map_err(|_| StoreError::Other(format!("stored user_id '{user_id}' is not a UUID")))?,
        trusted_until: time("trusted_until")?,
        mfa_at: time("mfa_at")?,
        created_at: time("created_at")?,
        user_agent: row.try_get("user_agent").map_err(store_error)?,
        ip: row.try_get("ip").map_err(store_error)?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at").map(|t| t.map(Timestamp)).map_err(store_error)?,
    })
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn trust_device(&self, device: &TrustedDevice, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        sqlx::query("DELETE FROM trusted_devices WHERE device_id = $1 AND user_id = $2")
            .bind(&device.device_id)
            .bind(device.user_id.to_string())
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO trusted_devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(&device.device_id)
        .bind(device.user_id.to_string())
        .bind(device.trusted_until.millis())
        .bind(device.mfa_at.millis())
        .bind(device.created_at.millis())
        .bind(&device.user_agent)
        .bind(&device.ip)
        .bind(device.revoked_at.map(Timestamp::millis))
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let change = Change::new(AuditAction::DeviceTrust, Some(device.device_id.clone()))
            .states(None, Some(serde_json::json!({"user_id": device.user_id, "trusted_until": device.trusted_until})));
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn trusted_device(&self, device_id: &str, user_id: Uuid) -> StoreResult<Option<TrustedDevice>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM trusted_devices WHERE device_id = $1 AND user_id = $2"
        )))
        .bind(device_id)
        .bind(user_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
    }

    async fn trusted_devices(&self, user_id: Uuid) -> StoreResult<Vec<TrustedDevice>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM trusted_devices WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC"
        )))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn forget_device(&self, device_id: &str, user_id: Uuid, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let forgotten = sqlx::query(
            "UPDATE trusted_devices SET revoked_at = $1 WHERE device_id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(ctx.at.millis())
        .bind(device_id)
        .bind(user_id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        if forgotten == 0 {
            return Ok(false);
        }
        let change = Change::new(AuditAction::DeviceForget, Some(device_id.to_owned()))
            .states(None, Some(serde_json::json!({"user_id": user_id})));
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }
}
