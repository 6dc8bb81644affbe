//! Review tasks (the review half of [`twofold_core::store::EmergencyStore`], whose impl is in
//! `mod.rs`), one row per review in plain columns. Opening is an
//! `INSERT ... ON CONFLICT DO NOTHING`, so of any number of nodes opening the same review one
//! inserts it (and audits it); completing is a compare-and-swap
//! `UPDATE ... WHERE completed_at IS NULL`.

use sqlx::Row;
use sqlx::any::AnyRow;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::emergency::review::{Review, ReviewKind};
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

const COLUMNS: &str =
    "id, kind, subject_id, username, summary, opened_at, completed_at, completed_by, findings, control_test";

fn from_row(row: &AnyRow) -> StoreResult<Review> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(store_error);
    let optional_text = |c: &str| row.try_get::<Option<String>, _>(c).map_err(store_error);
    let id = text("id")?;
    let kind = text("kind")?;
    Ok(Review {
        id: Uuid::parse_str(&id).map_err(|_| StoreError::Other(format!("stored review id '{id}' is not a UUID")))?,
        kind: ReviewKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("stored review kind '{kind}' is unknown")))?,
        subject_id: text("subject_id")?,
        username: text("username")?,
        summary: text("summary")?,
        opened_at: row.try_get::<i64, _>("opened_at").map(Timestamp).map_err(store_error)?,
        completed_at: row.try_get::<Option<i64>, _>("completed_at").map(|t| t.map(Timestamp)).map_err(store_error)?,
        completed_by: optional_text("completed_by")?,
        findings: optional_text("findings")?,
        control_test: row.try_get::<i64, _>("control_test").map_err(store_error)? != 0,
    })
}

/// Opens `review` unless one of its kind about its subject exists: the insert that does
/// nothing on a conflict decides, so racing nodes never see a unique violation, and only the
/// one that inserted appends `review.open`. No conflict target: on PostgreSQL a target of
/// `(kind, subject_id)` alone would let the same review (same id) opened twice at once fail
/// on the primary key instead of doing nothing.
pub(super) async fn open(store: &SqlStore, review: &Review, ctx: &AuditContext) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(&store.pool).await?;
    let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO reviews ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT DO NOTHING"
    )))
    .bind(review.id.to_string())
    .bind(review.kind.as_str())
    .bind(&review.subject_id)
    .bind(&review.username)
    .bind(&review.summary)
    .bind(review.opened_at.millis())
    .bind(review.completed_at.map(|t| t.millis()))
    .bind(review.completed_by.as_deref())
    .bind(review.findings.as_deref())
    .bind(i64::from(review.control_test))
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?
    .rows_affected();
    let after = serde_json::json!({
        "kind": review.kind.as_str(),
        "subject_id": review.subject_id,
        "user": review.username,
    });
    let change = Change::new(AuditAction::ReviewOpen, Some(review.id.to_string())).states(None, Some(after));
    tx.commit_if_changed(inserted, &change, ctx).await
}

/// Reviews, oldest first; only the open ones when `open_only`.
pub(super) async fn list(store: &SqlStore, open_only: bool) -> StoreResult<Vec<Review>> {
    let condition = if open_only { "WHERE completed_at IS NULL" } else { "" };
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM reviews {condition} ORDER BY opened_at, id")))
        .fetch_all(&store.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(from_row)
        .collect()
}

/// One review.
pub(super) async fn one(store: &SqlStore, id: Uuid) -> StoreResult<Option<Review>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM reviews WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(&store.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Completes an open review once: the `UPDATE ... WHERE completed_at IS NULL` decides.
pub(super) async fn complete(
    store: &SqlStore,
    id: Uuid,
    by: &str,
    findings: &str,
    control_test: bool,
    at: Timestamp,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(&store.pool).await?;
    let completed = sqlx::query(
        "UPDATE reviews SET completed_at = $1, completed_by = $2, findings = $3, control_test = $4
         WHERE id = $5 AND completed_at IS NULL",
    )
    .bind(at.millis())
    .bind(by)
    .bind(findings)
    .bind(i64::from(control_test))
    .bind(id.to_string())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?
    .rows_affected();
    let change = Change::new(AuditAction::ReviewComplete, Some(id.to_string()))
        .states(None, Some(serde_json::json!({"findings": findings, "control_test": control_test})));
    tx.commit_if_changed(completed, &change, ctx).await
}
