//! The audited transaction: every state change and its audit events commit together.
//!
//! The first statement locks the chain head row (a no-op `UPDATE`). On PostgreSQL this
//! row lock queues concurrent writers; on SQLite a write as the first statement takes the
//! database write lock at once, so a transaction never has to upgrade a read lock (which
//! could fail with `SQLITE_BUSY` instead of waiting). Holding the head while appending is
//! what keeps the chain from forking.

use sqlx::{Any, Row, Transaction};
use twofold_core::audit::{AuditContext, AuditEvent, Change};
use twofold_core::store::StoreError;
use uuid::Uuid;

use crate::store_error;

/// A transaction holding the audit chain head.
pub(crate) struct AuditedTx {
    pub(crate) tx: Transaction<'static, Any>,
    next_seq: i64,
    last_hash: String,
    appended: bool,
}

impl AuditedTx {
    /// Begins a transaction and locks the chain head.
    pub(crate) async fn begin(pool: &sqlx::AnyPool) -> Result<Self, StoreError> {
        let mut tx = pool.begin().await.map_err(store_error)?;
        let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
        let seq: i64 = head.try_get(0).map_err(store_error)?;
        let last_hash: String = head.try_get(1).map_err(store_error)?;
        Ok(Self { tx, next_seq: seq + 1, last_hash, appended: false })
    }

    /// Appends one event after the current head.
    pub(crate) async fn append(&mut self, change: &Change, ctx: &AuditContext) -> Result<AuditEvent, StoreError> {
        let event = AuditEvent::seal(self.next_seq, Uuid::now_v7(), &self.last_hash, change, ctx);
        sqlx::query(
            "INSERT INTO audit_events (seq, id, at, actor_kind, actor_id, actor_name, actor_auth, action,
                target_type, target_id, before_state, after_state, ip, user_agent, device_id, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(event.seq)
        .bind(event.id.to_string())
        .bind(event.at.millis())
        .bind(&event.actor_kind)
        .bind(&event.actor_id)
        .bind(&event.actor_name)
        .bind(&event.actor_auth)
        .bind(&event.action)
        .bind(&event.target_type)
        .bind(&event.target_id)
        .bind(&event.before)
        .bind(&event.after)
        .bind(&event.ip)
        .bind(&event.user_agent)
        .bind(&event.device_id)
        .bind(&event.prev_hash)
        .bind(&event.hash)
        .execute(&mut *self.tx)
        .await
        .map_err(store_error)?;
        self.next_seq += 1;
        self.last_hash.clone_from(&event.hash);
        self.appended = true;
        Ok(event)
    }

    /// Moves the head to the last appended event and commits everything.
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        if self.appended {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(self.next_seq - 1)
                .bind(&self.last_hash)
                .execute(&mut *self.tx)
                .await
                .map_err(store_error)?;
        }
        self.tx.commit().await.map_err(store_error)
    }
}
