//! Versioned rules files (policy files, approval rules files): every applied file kept with
//! its author, time and note in a table of the same shape, numbered 1, 2, 3, ... under the
//! chain head's lock.

use sqlx::Row;
use twofold_core::Timestamp;
use twofold_core::access::PolicyVersion;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::store::StoreResult;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

/// The tables that hold versioned files (never a name from input).
#[derive(Debug, Clone, Copy)]
pub(crate) enum VersionTable {
    /// Conditional-access policy files.
    Policies,
    /// Approval rules files.
    ApprovalRules,
}

impl VersionTable {
    const fn name(self) -> &'static str {
        match self {
            Self::Policies => "policy_versions",
            Self::ApprovalRules => "approval_rules_versions",
        }
    }
}

/// Stores the next version of `table` with `action`'s audit event; its number.
pub(crate) async fn put(
    store: &SqlStore,
    table: VersionTable,
    action: AuditAction,
    source: &str,
    note: Option<&str>,
    now: Timestamp,
    ctx: &AuditContext,
) -> StoreResult<i64> {
    // An audited transaction holds the chain head's lock first, so two nodes applying at
    // once take turns and never pick the same number.
    let mut tx = AuditedTx::begin(&store.pool).await?;
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COALESCE(MAX(version), 0) AS latest FROM {}", table.name())))
            .fetch_one(&mut *tx.tx)
            .await
            .map_err(store_error)?;
    let version: i64 = row.try_get::<i64, _>("latest").map_err(store_error)? + 1;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {} (version, source, author, created_at, note) VALUES ($1, $2, $3, $4, $5)",
        table.name()
    )))
    .bind(version)
    .bind(source)
    .bind(&ctx.actor_name)
    .bind(now.millis())
    .bind(note)
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    let after = serde_json::json!({"version": version, "note": note});
    tx.append(&Change::new(action, Some(version.to_string())).states(None, Some(after)), ctx).await?;
    tx.commit().await?;
    Ok(version)
}

/// Every version of `table`, newest first.
pub(crate) async fn list(store: &SqlStore, table: VersionTable) -> StoreResult<Vec<PolicyVersion>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT version, source, author, created_at, note FROM {} ORDER BY version DESC",
        table.name()
    )))
    .fetch_all(&store.pool)
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
