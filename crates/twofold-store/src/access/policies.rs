//! Conditional-access policy versions ([`PolicyStore`]): every applied file kept with its
//! author and time.

use async_trait::async_trait;
use sqlx::Row;
use twofold_core::Timestamp;
use twofold_core::access::PolicyVersion;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::store::{PolicyStore, StoreResult};

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

#[async_trait]
impl PolicyStore for SqlStore {
    async fn put_policy_version(
        &self,
        source: &str,
        note: Option<&str>,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<i64> {
        // An audited transaction holds the chain head's lock first, so two nodes applying at
        // once take turns and never pick the same number.
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS latest FROM policy_versions")
            .fetch_one(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        let version: i64 = row.try_get::<i64, _>("latest").map_err(store_error)? + 1;
        sqlx::query(
            "INSERT INTO policy_versions (version, source, author, created_at, note) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(version)
        .bind(source)
        .bind(&ctx.actor_name)
        .bind(now.millis())
        .bind(note)
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let after = serde_json::json!({"version": version, "note": note});
        tx.append(&Change::new(AuditAction::PolicyApply, Some(version.to_string())).states(None, Some(after)), ctx)
            .await?;
        tx.commit().await?;
        Ok(version)
    }

    async fn policy_versions(&self) -> StoreResult<Vec<PolicyVersion>> {
        let rows =
            sqlx::query("SELECT version, source, author, created_at, note FROM policy_versions ORDER BY version DESC")
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                Ok(PolicyVersion {
                    version: row.try_get("version").map_err(store_error)?,
                    source: row.try_get("source").map_err(store_error)?,
                    author: row.try_get("author").map_err(store_error)?,
                    created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
                    note: row.try_get("note").map_err(store_error)?,
                })
            })
            .collect()
    }
}
