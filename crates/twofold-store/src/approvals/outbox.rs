//! The outbox ([`twofold_core::store::OutboxStore`], impl in `mod.rs`): one row per message,
//! claimed for a lease by compare-and-swap on `claimed_until` under the claimer's token
//! (`claimed_by`), so one node delivers it at a time, only the holder records its outcome,
//! and a claim whose node died runs out and is taken again.

use sqlx::Row;
use twofold_core::Timestamp;
use twofold_core::outbox::{OutboxKind, OutboxMessage};
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

const COLUMNS: &str =
    "id, kind, subject_id, target, body, created_at, attempts, next_attempt_at, delivered_at, last_error";

/// Writes `message` inside the change that produced it.
pub(super) async fn insert(tx: &mut AuditedTx, message: &OutboxMessage) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (id, kind, subject_id, target, body, created_at, attempts, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(message.id.to_string())
    .bind(message.kind.as_str())
    .bind(&message.subject_id)
    .bind(&message.target)
    .bind(&message.body)
    .bind(message.created_at.millis())
    .bind(message.attempts)
    .bind(message.next_attempt_at.millis())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    Ok(())
}

fn message(row: &sqlx::any::AnyRow) -> StoreResult<OutboxMessage> {
    let id: String = row.try_get("id").map_err(store_error)?;
    let kind: String = row.try_get("kind").map_err(store_error)?;
    Ok(OutboxMessage {
        id: Uuid::parse_str(&id).map_err(|e| StoreError::Other(format!("outbox id {id}: {e}")))?,
        kind: OutboxKind::parse(&kind).ok_or_else(|| StoreError::Other(format!("unknown outbox kind {kind}")))?,
        subject_id: row.try_get("subject_id").map_err(store_error)?,
        target: row.try_get("target").map_err(store_error)?,
        body: row.try_get("body").map_err(store_error)?,
        created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
        attempts: row.try_get("attempts").map_err(store_error)?,
        next_attempt_at: Timestamp(row.try_get("next_attempt_at").map_err(store_error)?),
        delivered_at: row.try_get::<Option<i64>, _>("delivered_at").map_err(store_error)?.map(Timestamp),
        last_error: row.try_get("last_error").map_err(store_error)?,
    })
}

/// Claims the oldest due message until `now + lease_ms` under `claim`, if one is free.
pub(super) async fn claim(
    store: &SqlStore,
    now: Timestamp,
    lease_ms: i64,
    claim: &str,
) -> StoreResult<Option<OutboxMessage>> {
    // A few candidates, so a message another node takes between the read and the claim
    // does not stop this round.
    let due: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND claimed_until <= $1
         ORDER BY next_attempt_at, id LIMIT 5",
    )
    .bind(now.millis())
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    for (id,) in due {
        let won = sqlx::query(
            "UPDATE outbox SET claimed_until = $1, claimed_by = $2
             WHERE id = $3 AND delivered_at IS NULL AND claimed_until <= $4 AND next_attempt_at <= $4",
        )
        .bind(now.millis() + lease_ms)
        .bind(claim)
        .bind(&id)
        .bind(now.millis())
        .execute(&store.pool)
        .await
        .map_err(store_error)?
        .rows_affected();
        if won == 1 {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM outbox WHERE id = $1")))
                .bind(&id)
                .fetch_one(&store.pool)
                .await
                .map_err(store_error)?;
            return Ok(Some(message(&row)?));
        }
    }
    Ok(None)
}

/// Records an acknowledged delivery made under `claim`; false when the claim was lost.
pub(super) async fn delivered(store: &SqlStore, id: Uuid, claim: &str, at: Timestamp) -> StoreResult<bool> {
    let written = sqlx::query(
        "UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, last_error = NULL
         WHERE id = $2 AND claimed_by = $3 AND delivered_at IS NULL",
    )
    .bind(at.millis())
    .bind(id.to_string())
    .bind(claim)
    .execute(&store.pool)
    .await
    .map_err(store_error)?
    .rows_affected();
    Ok(written == 1)
}

/// Records a failed attempt made under `claim`; the claim ends so the retry can be taken at
/// `next_attempt_at`. False when the claim was lost.
pub(super) async fn failed(
    store: &SqlStore,
    id: Uuid,
    claim: &str,
    attempts: i64,
    next_attempt_at: Timestamp,
    error: &str,
) -> StoreResult<bool> {
    let written = sqlx::query(
        "UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3, claimed_until = 0, claimed_by = NULL
         WHERE id = $4 AND claimed_by = $5 AND delivered_at IS NULL",
    )
    .bind(attempts)
    .bind(next_attempt_at.millis())
    .bind(error.chars().take(500).collect::<String>())
    .bind(id.to_string())
    .bind(claim)
    .execute(&store.pool)
    .await
    .map_err(store_error)?
    .rows_affected();
    Ok(written == 1)
}

/// Messages about `subject_id`, oldest first.
pub(super) async fn about(store: &SqlStore, subject_id: &str) -> StoreResult<Vec<OutboxMessage>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox WHERE subject_id = $1 ORDER BY created_at, id"
    )))
    .bind(subject_id)
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    rows.iter().map(message).collect()
}
