//! Support cases ([`CaseStore`]): the whole [`Case`] as JSON in `body`, its kind, target,
//! state, times and version in columns for lists; every change is a compare-and-swap on the
//! version.

use async_trait::async_trait;
use sqlx::Row;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::cases::Case;
use twofold_core::store::{CaseFilter, CaseStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

/// The conditions of a [`CaseFilter`], `$1`–`$4`: each is "$n IS NULL OR column ...", so one
/// statement serves every combination (bound by [`bind_filter`]).
const FILTER: &str = "WHERE ($1 IS NULL OR state = $1)
       AND ($2 IS NULL OR target_id = $2)
       AND ($3 IS NULL OR kind = $3)
       AND ($4 IS NULL OR opened_at >= $4)";

/// Binds a [`CaseFilter`]'s conditions as [`FILTER`] numbers them.
fn bind_filter<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    filter: &CaseFilter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(filter.state.map(|s| s.as_str().to_owned()))
        .bind(filter.target_id.map(|id| id.to_string()))
        .bind(filter.kind.map(|k| k.as_str().to_owned()))
        .bind(filter.opened_since.map(|t| t.millis()))
}

fn body(case: &Case) -> StoreResult<String> {
    serde_json::to_string(case).map_err(|e| StoreError::Other(format!("cannot encode case {}: {e}", case.id)))
}

fn from_body(body: &str) -> StoreResult<Case> {
    serde_json::from_str(body).map_err(|e| StoreError::Other(format!("stored case is not valid: {e}")))
}

#[async_trait]
impl CaseStore for SqlStore {
    async fn create_case(&self, case: &Case, ctx: &AuditContext) -> StoreResult<()> {
        let body = body(case)?;
        let mut tx = AuditedTx::begin(&self.pool).await?;
        sqlx::query(
            "INSERT INTO cases (id, kind, target_id, operator, state, opened_at, closed_at, resolution, version, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(case.id.to_string())
        .bind(case.kind.as_str())
        .bind(case.target.id.to_string())
        .bind(&case.operator)
        .bind(case.state.as_str())
        .bind(case.opened_at.millis())
        .bind(case.closed_at.map(|t| t.millis()))
        .bind(case.resolution.map(|r| r.as_str()))
        .bind(case.version)
        .bind(body)
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let after = serde_json::json!({
            "kind": case.kind.as_str(),
            "user": case.target.username,
            "tier": case.target.tier.as_str(),
            "summary": case.summary(),
        });
        tx.append(&Change::new(AuditAction::CaseOpen, Some(case.id.to_string())).states(None, Some(after)), ctx)
            .await?;
        tx.commit().await
    }

    async fn case(&self, id: Uuid) -> StoreResult<Option<Case>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT body FROM cases WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(|(body,)| from_body(&body)).transpose()
    }

    async fn cases(&self, filter: &CaseFilter) -> StoreResult<(Vec<Case>, i64)> {
        let sql = format!("SELECT body FROM cases {FILTER} ORDER BY opened_at DESC, id DESC LIMIT $5 OFFSET $6");
        let cases = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .bind(filter.limit.clamp(1, 10_000))
            .bind(filter.offset.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?
            .iter()
            .map(|row| from_body(&row.try_get::<String, _>("body").map_err(store_error)?))
            .collect::<StoreResult<Vec<_>>>()?;
        let count =
            bind_filter(sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM cases {FILTER}"))), filter)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
        Ok((cases, count.try_get::<i64, _>(0).map_err(store_error)?))
    }

    async fn update_case(&self, case: &Case, change: &Change, ctx: &AuditContext) -> StoreResult<bool> {
        let body = body(case)?;
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let written = sqlx::query(
            "UPDATE cases SET body = $1, state = $2, closed_at = $3, resolution = $4, version = $5
             WHERE id = $6 AND version = $7",
        )
        .bind(body)
        .bind(case.state.as_str())
        .bind(case.closed_at.map(|t| t.millis()))
        .bind(case.resolution.map(|r| r.as_str()))
        .bind(case.version)
        .bind(case.id.to_string())
        .bind(case.version - 1)
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        tx.commit_if_changed(written, change, ctx).await
    }
}
