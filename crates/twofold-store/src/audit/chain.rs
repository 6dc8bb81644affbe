//! The chainer: links pending audit events into the hash chain.
//!
//! Under the chain head's lock (a row lock on PostgreSQL, the write lock on SQLite) it
//! takes a batch of pending events in their order, gives each the next sequence number and
//! the previous event's hash, stores them in `audit_events`, deletes exactly those pending
//! rows, and moves the head, all in one transaction. Any number of nodes may run it at
//! once: the head lock makes them take turns, and each sees only rows not yet chained.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use twofold_core::Timestamp;
use twofold_core::audit::AuditEvent;
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::store_error;

const BATCH: i64 = 500;

fn pending_event(row: &AnyRow) -> StoreResult<(i64, AuditEvent)> {
    let get = |c: &str| row.try_get::<Option<String>, _>(c).map_err(store_error);
    let text = |c: &str| row.try_get::<String, _>(c).map_err(store_error);
    let id = text("id")?;
    Ok((
        row.try_get("pending_id").map_err(store_error)?,
        AuditEvent {
            seq: 0,
            id: Uuid::parse_str(&id)
                .map_err(|_| StoreError::Other(format!("pending event id '{id}' is not a UUID")))?,
            at: Timestamp(row.try_get("at").map_err(store_error)?),
            actor_kind: text("actor_kind")?,
            actor_id: get("actor_id")?,
            actor_name: text("actor_name")?,
            actor_auth: text("actor_auth")?,
            action: text("action")?,
            target_type: text("target_type")?,
            target_id: get("target_id")?,
            before: get("before_state")?,
            after: get("after_state")?,
            ip: get("ip")?,
            user_agent: get("user_agent")?,
            device_id: get("device_id")?,
            prev_hash: String::new(),
            hash: String::new(),
        },
    ))
}

/// Chains every committed pending event; returns how many were chained.
pub(crate) async fn chain_pending(pool: &AnyPool) -> StoreResult<u64> {
    let mut chained = 0;
    loop {
        let batch = chain_batch(pool).await?;
        chained += batch;
        if batch < u64::try_from(BATCH).unwrap_or(u64::MAX) {
            return Ok(chained);
        }
    }
}

async fn chain_batch(pool: &AnyPool) -> StoreResult<u64> {
    let mut tx = pool.begin().await.map_err(store_error)?;
    let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
    let mut seq: i64 = head.try_get(0).map_err(store_error)?;
    let mut last_hash: String = head.try_get(1).map_err(store_error)?;
    let pending = sqlx::query(
        "SELECT pending_id, id, at, actor_kind, actor_id, actor_name, actor_auth, action, target_type, target_id,
                before_state, after_state, ip, user_agent, device_id
         FROM audit_pending ORDER BY pending_id LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await
    .map_err(store_error)?;
    if pending.is_empty() {
        tx.rollback().await.map_err(store_error)?;
        return Ok(0);
    }
    let mut chained_ids = Vec::with_capacity(pending.len());
    let mut events = Vec::with_capacity(pending.len());
    for row in &pending {
        let (pending_id, mut event) = pending_event(row)?;
        seq += 1;
        event.seq = seq;
        event.prev_hash.clone_from(&last_hash);
        event.hash = event.compute_hash();
        last_hash.clone_from(&event.hash);
        events.push(event);
        chained_ids.push(pending_id.to_string());
    }
    for chunk in events.chunks(crate::tx::ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO audit_events (seq, id, at, actor_kind, actor_id, actor_name, actor_auth, action,
                target_type, target_id, before_state, after_state, ip, user_agent, device_id, prev_hash, hash)
             VALUES {}",
            crate::tx::values_list(chunk.len(), 17)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in chunk {
            query = crate::tx::bind_event_fields(query.bind(event.seq), event).bind(&event.prev_hash).bind(&event.hash);
        }
        query.execute(&mut *tx).await.map_err(store_error)?;
    }
    // Exactly the rows chained: a row committed since the SELECT waits for the next batch.
    let ids = chained_ids.join(",");
    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM audit_pending WHERE pending_id IN ({ids})")))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&last_hash)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    Ok(chained_ids.len() as u64)
}
