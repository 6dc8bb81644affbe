//! Reading the audit log (stand-alone events are appended through group_commit.rs).

use sqlx::{AnyPool, Row};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditEvent, ChainHead};
use twofold_core::store::StoreResult;

use crate::rows;
use crate::store_error;

/// Reads chained events; pending ones are chained first, so readers see every committed event.
pub(crate) async fn events(
    pool: &AnyPool,
    after_seq: i64,
    since: Timestamp,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    crate::chain::chain_pending(pool).await?;
    sqlx::query(
        "SELECT seq, id, at, actor_kind, actor_id, actor_name, actor_auth, action, target_type, target_id,
                before_state, after_state, ip, user_agent, device_id, prev_hash, hash
         FROM audit_events WHERE seq > $1 AND at >= $2 ORDER BY seq LIMIT $3",
    )
    .bind(after_seq)
    .bind(since.millis())
    .bind(limit.clamp(1, 100_000))
    .fetch_all(pool)
    .await
    .map_err(store_error)?
    .iter()
    .map(rows::audit_event)
    .collect()
}

pub(crate) async fn head(pool: &AnyPool) -> StoreResult<ChainHead> {
    crate::chain::chain_pending(pool).await?;
    let row =
        sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(pool).await.map_err(store_error)?;
    Ok(ChainHead { seq: row.try_get(0).map_err(store_error)?, hash: row.try_get(1).map_err(store_error)? })
}
