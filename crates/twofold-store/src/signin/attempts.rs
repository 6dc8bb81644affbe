//! Throttling's reads and claims ([`AttemptStore`]): the failure counts of a username and
//! of a source, and the claims that hold an attempt's place while it is checked.

use async_trait::async_trait;
use twofold_core::Timestamp;
use twofold_core::signin::throttle::{self, Claim, Failures, Limits};
use twofold_core::store::{AttemptStore, StoreResult};
use uuid::Uuid;

use crate::tx::{LockSpace, lock_key};
use crate::{Backend, SqlStore, store_error};

/// The four failure counts throttling reads ($1 username, $2 since, $3 source): the
/// username's count and latest failure since its last success, then the source's; throttled
/// attempts and a session's app sign-ins are not attempts at a credential.
const FAILURE_COUNTS: &str = "
            (SELECT COUNT(*) FROM sign_in_events f WHERE f.username = $1 AND f.outcome = 'failure' AND COALESCE(f.source, '') <> 'session'
                AND (f.reason IS NULL OR f.reason <> 'throttled') AND f.at >= $2 AND f.at > COALESCE(
                    (SELECT MAX(s.at) FROM sign_in_events s WHERE s.username = $1 AND s.outcome = 'success' AND COALESCE(s.source, '') <> 'session'), 0)),
            (SELECT MAX(f.at) FROM sign_in_events f WHERE f.username = $1 AND f.outcome = 'failure' AND COALESCE(f.source, '') <> 'session'
                AND (f.reason IS NULL OR f.reason <> 'throttled') AND f.at >= $2),
            (SELECT COUNT(*) FROM sign_in_events f WHERE f.source = $3 AND f.outcome = 'failure'
                AND (f.reason IS NULL OR f.reason <> 'throttled') AND f.at >= $2),
            (SELECT MAX(f.at) FROM sign_in_events f WHERE f.source = $3 AND f.outcome = 'failure'
                AND (f.reason IS NULL OR f.reason <> 'throttled') AND f.at >= $2)";

/// The stored failures, as [`AttemptStore::sign_in_failures`] reads them.
static FAILURES_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("SELECT {FAILURE_COUNTS}"));

/// The stored failures and the claims in flight ($4: claims since), as
/// [`AttemptStore::claim_attempt`] reads them.
static CLAIM_COUNTS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {FAILURE_COUNTS},
            (SELECT COUNT(*) FROM attempt_claims WHERE username = $1 AND at >= $4),
            (SELECT MAX(at) FROM attempt_claims WHERE username = $1 AND at >= $4),
            (SELECT COUNT(*) FROM attempt_claims WHERE source = $3 AND at >= $4),
            (SELECT MAX(at) FROM attempt_claims WHERE source = $3 AND at >= $4)"
    )
});

/// Count and latest time of: the username's failures, the source's failures, the username's
/// claims in flight, the source's claims in flight.
type ClaimCounts = (i64, Option<i64>, i64, Option<i64>, i64, Option<i64>, i64, Option<i64>);

/// [`AttemptStore::claim_attempt`] on one connection.
async fn claim_on(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    username: &str,
    source: Option<&str>,
    limits: Limits,
    now: Timestamp,
) -> StoreResult<Claim> {
    use sqlx::Connection;
    let mut tx = conn.begin().await.map_err(store_error)?;
    match backend {
        Backend::Sqlite => {
            // A write first, so the transaction holds the write lock from the start (no read
            // lock to upgrade, so no SQLITE_BUSY), as every audited transaction does.
            sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 0").execute(&mut *tx).await.map_err(store_error)?;
        }
        Backend::Postgres => {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await.map_err(store_error)?;
            lock_key(&mut tx, LockSpace::ClaimUsername, username).await?;
        }
    }
    let mut counts = claim_counts(&mut tx, username, source, now).await?;
    // The source's lock is needed only once its failures have used up its allowance (before
    // that its claims in flight do not count against it), so a busy gateway's attempts for
    // different people do not queue behind one another.
    if backend == Backend::Postgres
        && let Some(source) = source
        && counts.2 >= limits.free_per_source
    {
        lock_key(&mut tx, LockSpace::ClaimSource, source).await?;
        counts = claim_counts(&mut tx, username, Some(source), now).await?;
    }
    let failures = |count, last: Option<i64>| Failures { count, last_at: last.map(Timestamp) };
    let by_username = failures(counts.0, counts.1).and(failures(counts.4, counts.5));
    let Some(by_source) =
        throttle::source_load(failures(counts.2, counts.3), failures(counts.6, counts.7), limits.free_per_source)
    else {
        return Ok(Claim::Refused { retry_after_secs: 1 });
    };
    if let Some(retry_after_secs) = throttle::retry_after_within(by_username, by_source, limits, now) {
        return Ok(Claim::Refused { retry_after_secs });
    }
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO attempt_claims (id, username, source, at) VALUES ($1, $2, $3, $4)")
        .bind(id.to_string())
        .bind(username)
        .bind(source)
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    // Claims whose attempts never recorded an outcome stopped counting long ago; clear them
    // now and then (about one claim in 64), with a wide margin so that a node whose clock
    // runs ahead never clears live ones.
    if id.as_u128().is_multiple_of(64) {
        sqlx::query("DELETE FROM attempt_claims WHERE at < $1")
            .bind(now.plus_seconds(-throttle::WINDOW_SECS).millis())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
    }
    tx.commit().await.map_err(store_error)?;
    Ok(Claim::Granted { id, by_username })
}

/// The counts [`AttemptStore::claim_attempt`] decides on, read in one statement, so one snapshot: an
/// attempt whose outcome commits meanwhile (its event in, its claim out, in one transaction)
/// is counted as one or the other, never neither.
async fn claim_counts(
    conn: &mut sqlx::AnyConnection,
    username: &str,
    source: Option<&str>,
    now: Timestamp,
) -> StoreResult<ClaimCounts> {
    let since = now.plus_seconds(-throttle::WINDOW_SECS).millis();
    let claims_since = now.plus_seconds(-throttle::CLAIM_TTL_SECS).millis().max(since);
    sqlx::query_as(sqlx::AssertSqlSafe(CLAIM_COUNTS_SQL.as_str()))
        .bind(username)
        .bind(since)
        .bind(source)
        .bind(claims_since)
        .fetch_one(conn)
        .await
        .map_err(store_error)
}

#[async_trait]
impl AttemptStore for SqlStore {
    /// Failures (not counting throttled attempts) at or after `since`: for the username, only
    /// those after its last success; for the source, all of them, so that signing in to one
    /// account does not reset a source that sprays others. A signed-in session's use of an app
    /// (source [`throttle::SESSION_SOURCE`]) is no attempt: it neither counts as a failure nor
    /// ends a run of them.
    async fn sign_in_failures(
        &self,
        username: &str,
        source: Option<&str>,
        since: Timestamp,
    ) -> StoreResult<(Failures, Failures)> {
        // One round trip: both counts are index range scans on (username, at) and (source, at).
        let (user_count, user_last, source_count, source_last): (i64, Option<i64>, i64, Option<i64>) =
            sqlx::query_as(sqlx::AssertSqlSafe(FAILURES_SQL.as_str()))
                .bind(username)
                .bind(since.millis())
                .bind(source)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
        let (by_username, by_source) = ((user_count, user_last), (source_count, source_last));
        let failures = |(count, last): (i64, Option<i64>)| Failures { count, last_at: last.map(Timestamp) };
        Ok((failures(by_username), failures(by_source)))
    }

    /// Claims one attempt for `username` from `source` (see [`Claim`]).
    ///
    /// Claims for one username or one source are serialised across nodes — on SQLite by the
    /// database's write lock, which the transaction takes first; on PostgreSQL by transaction
    /// advisory locks on the username, then the source (always in that order, so two claims
    /// never wait on each other in a cycle) — and each sees every claim committed before it.
    async fn claim_attempt(
        &self,
        username: &str,
        source: Option<&str>,
        limits: Limits,
        now: Timestamp,
    ) -> StoreResult<Claim> {
        // A claim need not survive a crash: the attempt it stands for dies with the node. So its
        // commit waits for no disk flush (SQLite synchronous=NORMAL on this connection for the
        // claim alone; PostgreSQL synchronous_commit off for this transaction), which keeps a
        // claim from costing each attempt an fsync of its own.
        let backend = self.backend;
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await.map_err(store_error)?;
        }
        let claimed = claim_on(&mut conn, backend, username, source, limits, now).await;
        if backend == Backend::Sqlite && sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await.is_err() {
            // Never hand a connection back to the pool with its durability lowered.
            conn.close_on_drop();
        }
        claimed
    }

    /// Ends a claim whose attempt records no sign-in event (a password step that now waits for
    /// the second factor).
    async fn release_attempt(&self, claim: Uuid) -> StoreResult<()> {
        sqlx::query("DELETE FROM attempt_claims WHERE id = $1")
            .bind(claim.to_string())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
