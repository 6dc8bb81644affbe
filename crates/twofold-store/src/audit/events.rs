//! The audit log ([`AuditStore`]): stand-alone events are appended through the group commit
//! (`group_commit.rs`); reads chain what is pending first, so readers see every committed
//! event.

use async_trait::async_trait;
use sqlx::Row;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, AuditEvent, ChainHead, Change};
use twofold_core::store::{AuditFilter, AuditStore, StoreResult};

use super::chain::chain_pending;
use crate::rows;
use crate::{SqlStore, store_error};

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, change: &Change, ctx: &AuditContext) -> StoreResult<()> {
        self.verifications.append(change.clone(), ctx.clone()).await
    }

    async fn chain_audit(&self) -> StoreResult<u64> {
        chain_pending(&self.pool).await
    }

    async fn audit_events(&self, after_seq: i64, since: Timestamp, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        chain_pending(&self.pool).await?;
        sqlx::query(
            "SELECT seq, id, at, actor_kind, actor_id, actor_name, actor_auth, action, target_type, target_id,
                    before_state, after_state, ip, user_agent, device_id, prev_hash, hash
             FROM audit_events WHERE seq > $1 AND at >= $2 ORDER BY seq LIMIT $3",
        )
        .bind(after_seq)
        .bind(since.millis())
        .bind(limit.clamp(1, 100_000))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(rows::audit_event)
        .collect()
    }

    async fn search_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        chain_pending(&self.pool).await?;
        sqlx::query(
            "SELECT seq, id, at, actor_kind, actor_id, actor_name, actor_auth, action, target_type, target_id,
                    before_state, after_state, ip, user_agent, device_id, prev_hash, hash
             FROM audit_events
             WHERE seq < $1 AND at >= $2 AND at < $3
               AND ($4 IS NULL OR actor_name = $4) AND ($5 IS NULL OR action = $5) AND ($6 IS NULL OR target_id = $6)
             ORDER BY seq DESC LIMIT $7",
        )
        .bind(filter.before_seq.unwrap_or(i64::MAX))
        .bind(filter.since.map_or(i64::MIN, Timestamp::millis))
        .bind(filter.until.map_or(i64::MAX, Timestamp::millis))
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.target.as_deref())
        .bind(filter.limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(rows::audit_event)
        .collect()
    }

    async fn audit_head(&self) -> StoreResult<ChainHead> {
        chain_pending(&self.pool).await?;
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(ChainHead { seq: row.try_get(0).map_err(store_error)?, hash: row.try_get(1).map_err(store_error)? })
    }
}
