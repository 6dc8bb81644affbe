//! Rollout campaigns: their files and status, and one adoption snapshot per day.

use sqlx::{AnyPool, Row};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, Change};
use twofold_core::campaign::progress::Snapshot;
use twofold_core::campaign::{CampaignStatus, StoredCampaign};
use twofold_core::store::{StoreError, StoreResult};

use crate::store_error;
use crate::tx::AuditedTx;

const DAY_MS: i64 = 86_400_000;

pub(crate) async fn put(
    pool: &AnyPool,
    name: &str,
    source: &str,
    now: Timestamp,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    let before: Option<(String,)> = sqlx::query_as("SELECT status FROM campaigns WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    sqlx::query(
        "INSERT INTO campaigns (name, source, status, created_at, updated_at) VALUES ($1, $2, 'draft', $3, $3)
         ON CONFLICT (name) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(source)
    .bind(now.millis())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    let change = Change::new("campaign.apply", "campaign", Some(name.to_owned())).states(
        before.map(|(status,)| serde_json::json!({"status": status})),
        Some(serde_json::json!({"source_chars": source.len()})),
    );
    tx.append(&change, ctx).await?;
    tx.commit().await
}

pub(crate) async fn set_status(
    pool: &AnyPool,
    name: &str,
    status: CampaignStatus,
    now: Timestamp,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(pool).await?;
    let before: Option<(String,)> = sqlx::query_as("SELECT status FROM campaigns WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    let Some((before,)) = before else { return Ok(false) };
    sqlx::query("UPDATE campaigns SET status = $1, updated_at = $2 WHERE name = $3")
        .bind(status.as_str())
        .bind(now.millis())
        .bind(name)
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    let action = if status == CampaignStatus::Paused { "campaign.pause" } else { "campaign.start" };
    let change = Change::new(action, "campaign", Some(name.to_owned()))
        .states(Some(serde_json::json!({"status": before})), Some(serde_json::json!({"status": status.as_str()})));
    tx.append(&change, ctx).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn all(pool: &AnyPool) -> StoreResult<Vec<StoredCampaign>> {
    let rows = sqlx::query("SELECT name, source, status, created_at, updated_at FROM campaigns ORDER BY name")
        .fetch_all(pool)
        .await
        .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status").map_err(store_error)?;
            Ok(StoredCampaign {
                name: row.try_get("name").map_err(store_error)?,
                source: row.try_get("source").map_err(store_error)?,
                status: CampaignStatus::parse(&status)
                    .ok_or_else(|| StoreError::Other(format!("unknown campaign status {status}")))?,
                created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
                updated_at: Timestamp(row.try_get("updated_at").map_err(store_error)?),
            })
        })
        .collect()
}

pub(crate) async fn put_snapshot(pool: &AnyPool, name: &str, snapshot: &Snapshot) -> StoreResult<()> {
    let day = snapshot.at.millis().div_euclid(DAY_MS) * DAY_MS;
    sqlx::query(
        "INSERT INTO campaign_snapshots (campaign, day, in_scope, registered) VALUES ($1, $2, $3, $4)
         ON CONFLICT (campaign, day) DO UPDATE SET in_scope = excluded.in_scope, registered = excluded.registered",
    )
    .bind(name)
    .bind(day)
    .bind(i64::try_from(snapshot.in_scope).unwrap_or(i64::MAX))
    .bind(i64::try_from(snapshot.registered).unwrap_or(i64::MAX))
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn snapshots(pool: &AnyPool, name: &str) -> StoreResult<Vec<Snapshot>> {
    let rows: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT day, in_scope, registered FROM campaign_snapshots WHERE campaign = $1 ORDER BY day")
            .bind(name)
            .fetch_all(pool)
            .await
            .map_err(store_error)?;
    Ok(rows
        .into_iter()
        .map(|(day, in_scope, registered)| Snapshot {
            at: Timestamp(day),
            in_scope: u64::try_from(in_scope).unwrap_or(0),
            registered: u64::try_from(registered).unwrap_or(0),
        })
        .collect())
}
