//! Temporary access passes ([`AccessPassStore`]), kept only as keyed hashes. Issuing revokes
//! the person's live passes in the same transaction, serialised per person (SQLite's write
//! lock; a PostgreSQL advisory lock); using one is a compare-and-swap `UPDATE ... WHERE`
//! whose affected-row count says whether this caller won.
//!
//! Revocation (on issue and by [`AccessPassStore::revoke_access_passes`]) touches only passes
//! not yet revoked nor expired: an expired pass keeps its end as it was.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::factors::access_pass::AccessPass;
use twofold_core::store::{AccessPassStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::{AuditedTx, LockSpace, serialised};
use crate::{SqlStore, store_error};

const COLUMNS: &str =
    "id, user_id, case_id, pass_hash, issued_by, created_at, expires_at, single_use, used_at, revoked_at";

fn parse_uuid(column: &str, text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Other(format!("stored {column} '{text}' is not a UUID")))
}

fn from_row(row: &AnyRow) -> StoreResult<AccessPass> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(store_error);
    let time = |c: &str| row.try_get::<i64, _>(c).map(Timestamp).map_err(store_error);
    let optional_time = |c: &str| row.try_get::<Option<i64>, _>(c).map(|t| t.map(Timestamp)).map_err(store_error);
    let case_id: Option<String> = row.try_get("case_id").map_err(store_error)?;
    Ok(AccessPass {
        id: parse_uuid("id", &text("id")?)?,
        user_id: parse_uuid("user_id", &text("user_id")?)?,
        case_id: case_id.map(|c| parse_uuid("case_id", &c)).transpose()?,
        pass_hash: text("pass_hash")?,
        issued_by: text("issued_by")?,
        created_at: time("created_at")?,
        expires_at: time("expires_at")?,
        single_use: row.try_get::<i64, _>("single_use").map_err(store_error)? != 0,
        used_at: optional_time("used_at")?,
        revoked_at: optional_time("revoked_at")?,
    })
}

/// Revokes the person's passes that are neither revoked nor expired at `now`, inside `tx`;
/// returns their ids, oldest first.
async fn revoke_live(tx: &mut AuditedTx, user_id: Uuid, now: Timestamp) -> StoreResult<Vec<String>> {
    let mut revoked: Vec<(String,)> = sqlx::query_as(
        "UPDATE access_passes SET revoked_at = $1
         WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1
         RETURNING id",
    )
    .bind(now.millis())
    .bind(user_id.to_string())
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    revoked.sort();
    Ok(revoked.into_iter().map(|(id,)| id).collect())
}

#[async_trait]
impl AccessPassStore for SqlStore {
    async fn issue_access_pass(&self, pass: &AccessPass, username: &str, ctx: &AuditContext) -> StoreResult<()> {
        let person = pass.user_id.to_string();
        let mut tx = serialised(&self.pool, self.backend, &[(LockSpace::AccessPassPerson, Some(&person))]).await?;
        let revoked = revoke_live(&mut tx, pass.user_id, pass.created_at).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO access_passes ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)"
        )))
        .bind(pass.id.to_string())
        .bind(person)
        .bind(pass.case_id.map(|c| c.to_string()))
        .bind(&pass.pass_hash)
        .bind(&pass.issued_by)
        .bind(pass.created_at.millis())
        .bind(pass.expires_at.millis())
        .bind(i64::from(pass.single_use))
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let mut changes: Vec<Change> = revoked
            .into_iter()
            .map(|id| {
                Change::new(AuditAction::AccessPassRevoke, Some(id))
                    .states(None, Some(serde_json::json!({"user": username, "revoked": 1})))
            })
            .collect();
        changes.push(Change::new(AuditAction::AccessPassIssue, Some(pass.id.to_string())).states(
            None,
            Some(serde_json::json!({"user": username, "expires_at": pass.expires_at, "single_use": pass.single_use})),
        ));
        let with_ctx: Vec<(&Change, &AuditContext)> = changes.iter().map(|c| (c, ctx)).collect();
        tx.append_all(&with_ctx).await?;
        tx.commit().await
    }

    async fn access_passes(&self, user_id: Uuid) -> StoreResult<Vec<AccessPass>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_passes WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        )))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn use_access_pass(&self, id: Uuid, username: &str, now: Timestamp, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let used = sqlx::query(
            "UPDATE access_passes SET used_at = COALESCE(used_at, $1)
             WHERE id = $2 AND revoked_at IS NULL AND expires_at > $1 AND (single_use = 0 OR used_at IS NULL)",
        )
        .bind(now.millis())
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        let change = Change::new(AuditAction::AccessPassUse, Some(id.to_string()))
            .states(None, Some(serde_json::json!({"user": username})));
        tx.commit_if_changed(used, &change, ctx).await
    }

    async fn revoke_access_passes(
        &self,
        user_id: Uuid,
        username: &str,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<u64> {
        let person = user_id.to_string();
        let mut tx = serialised(&self.pool, self.backend, &[(LockSpace::AccessPassPerson, Some(&person))]).await?;
        let revoked = u64::try_from(revoke_live(&mut tx, user_id, now).await?.len()).unwrap_or(u64::MAX);
        let change = Change::new(AuditAction::AccessPassRevoke, None)
            .states(None, Some(serde_json::json!({"user": username, "revoked": revoked})));
        tx.commit_if_changed(revoked, &change, ctx).await?;
        Ok(revoked)
    }
}
