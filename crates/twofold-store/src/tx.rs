//! The audited transaction: every state change and its audit events commit together.
//!
//! Events go to `audit_pending` inside the change's own transaction, so "no change without
//! its event" holds, but no writer waits for the chain: `audit/chain.rs` links pending
//! events into the hash chain in batches. On SQLite the first statement is a write that
//! touches no row, which takes the database write lock at once, so a transaction never has
//! to upgrade a read lock (which could fail with `SQLITE_BUSY` instead of waiting); on
//! PostgreSQL it locks nothing. [`serialised`] adds what must hold per key across nodes:
//! PostgreSQL advisory locks at READ COMMITTED.

use sqlx::{Any, AnyPool, Transaction};
use twofold_core::audit::{AuditContext, AuditEvent, Change};
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::{Backend, store_error};

/// A transaction that records audit events with its change.
pub(crate) struct AuditedTx {
    pub(crate) tx: Transaction<'static, Any>,
}

impl AuditedTx {
    /// Begins a transaction (taking SQLite's write lock up front).
    pub(crate) async fn begin(pool: &sqlx::AnyPool) -> Result<Self, StoreError> {
        let mut tx = pool.begin().await.map_err(store_error)?;
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 0").execute(&mut *tx).await.map_err(store_error)?;
        Ok(Self { tx })
    }

    /// Records one event, to be chained after everything committed before it.
    pub(crate) async fn append(&mut self, change: &Change, ctx: &AuditContext) -> Result<(), StoreError> {
        self.append_all(&[(change, ctx)]).await
    }

    /// Records several events, in order, with one statement per [`ROWS_PER_INSERT`]. Each is
    /// sealed only for its canonical field encoding; the chainer gives it seq and hash.
    pub(crate) async fn append_all(&mut self, changes: &[(&Change, &AuditContext)]) -> Result<(), StoreError> {
        let events: Vec<AuditEvent> =
            changes.iter().map(|(change, ctx)| AuditEvent::seal(0, Uuid::now_v7(), "", change, ctx)).collect();
        for chunk in events.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO audit_pending (id, at, actor_kind, actor_id, actor_name, actor_auth, action, target_type,
                    target_id, before_state, after_state, ip, user_agent, device_id) VALUES {}",
                values_list(chunk.len(), 14)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for event in chunk {
                query = bind_event_fields(query, event);
            }
            query.execute(&mut *self.tx).await.map_err(store_error)?;
        }
        Ok(())
    }

    /// Finishes a compare-and-swap: when `affected` rows changed, records `change` and commits
    /// (true); when none did (the state was not what the caller expected), rolls back (false).
    pub(crate) async fn commit_if_changed(
        mut self,
        affected: u64,
        change: &Change,
        ctx: &AuditContext,
    ) -> Result<bool, StoreError> {
        if affected == 0 {
            return Ok(false);
        }
        self.append(change, ctx).await?;
        self.commit().await?;
        Ok(true)
    }

    /// Commits the change with its events.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(store_error)
    }
}

/// An audited transaction in which the checks of one kind of key (`(namespace, key)` pairs,
/// taken in the order given) are serialised across nodes: what must hold per person or per
/// source under concurrency (a first method's confirmation, an email or SMS send) runs in
/// one; the namespaces are [`LockSpace`]. On SQLite it holds the database's write lock, taken first; on
/// PostgreSQL it runs at READ COMMITTED whatever the server's default (so each statement sees
/// what committed before it) and takes a transaction advisory lock on each key.
pub(crate) async fn serialised(
    pool: &AnyPool,
    backend: Backend,
    keys: &[(LockSpace, Option<&str>)],
) -> StoreResult<AuditedTx> {
    if backend == Backend::Sqlite {
        return AuditedTx::begin(pool).await;
    }
    let mut tx = AuditedTx { tx: pool.begin().await.map_err(store_error)? };
    sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED").execute(&mut *tx.tx).await.map_err(store_error)?;
    for (space, key) in keys {
        if let Some(key) = key {
            lock_key(&mut tx.tx, *space, key).await?;
        }
    }
    Ok(tx)
}

/// The namespaces of PostgreSQL advisory locks, one per kind of key, so that equal keys of
/// different kinds never wait on each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockSpace {
    /// A username's attempt claims.
    ClaimUsername = 1,
    /// A source's attempt claims.
    ClaimSource = 2,
    /// A person's email and SMS sends.
    SendPerson = 3,
    /// A source's email and SMS sends.
    SendSource = 4,
    /// A person's first method's confirmation.
    FirstMethod = 5,
    /// A person's temporary access passes being issued.
    AccessPassPerson = 6,
}

/// Takes PostgreSQL's transaction-scoped advisory lock on `key` in the namespace `space`.
pub(crate) async fn lock_key(conn: &mut sqlx::AnyConnection, space: LockSpace, key: &str) -> StoreResult<()> {
    // The lock function returns `void`, which the Any driver cannot decode: select around it.
    sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1, hashtext($2))) AS locked")
        .bind(space as i32)
        .bind(key)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Binds the 14 columns an event has before it is chained (`id` .. `device_id`), in table
/// order, for `audit_pending` and `audit_events` alike.
pub(crate) fn bind_event_fields<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    event: &'q AuditEvent,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    query
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
}

/// Rows per multi-row `INSERT`: well under both backends' limits on bound parameters.
pub(crate) const ROWS_PER_INSERT: usize = 64;

/// `($1, $2, ...), ($n+1, ...)`: the VALUES list for `rows` rows of `columns` parameters.
pub(crate) fn values_list(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=columns).map(|c| format!("${}", row * columns + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_lists_number_parameters_row_by_row() {
        assert_eq!(super::values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
