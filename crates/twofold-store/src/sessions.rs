//! Sessions and sign-in events.

use sqlx::AnyPool;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, Change};
use twofold_core::signin::session::Session;
use twofold_core::signin::throttle::{self, Claim, Failures, Limits};
use twofold_core::signin::{SignInEvent, SignInOutcome};
use twofold_core::store::StoreResult;
use uuid::Uuid;

use crate::rows::{self, join};
use crate::store_error;
use crate::tx::AuditedTx;

/// The columns of `sign_in_events`, in the order [`insert_sign_in_events`] binds them.
pub(crate) const SIGN_IN_COLUMNS: &str = "id, at, username, user_id, outcome, reason, methods, ip, user_agent, app, device, device_id, country, risk, policy, source";

const SESSION_COLUMNS: &str = "id_hash, user_id, amr, acr, auth_time, created_at, last_seen_at, absolute_expires_at,
    idle_timeout_secs, ip, user_agent, revoked_at, mfa_pending";

/// The first 12 characters of a session's hash: enough to tell sessions apart in the
/// audit log, far too little to use one.
fn short(id_hash: &str) -> String {
    id_hash.chars().take(12).collect()
}

async fn insert_sign_in_event(tx: &mut AuditedTx, event: &SignInEvent) -> StoreResult<()> {
    insert_sign_in_events(tx, &[event]).await
}

/// Several sign-in events, one statement per chunk (group commits). An event that is the
/// outcome of a claimed attempt (its id is the claim's) ends that claim in the same
/// transaction, so the attempt is counted exactly once: as a claim, then as its event.
pub(crate) async fn insert_sign_in_events(tx: &mut AuditedTx, events: &[&SignInEvent]) -> StoreResult<()> {
    for chunk in events.chunks(crate::tx::ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO sign_in_events ({SIGN_IN_COLUMNS}) VALUES {}",
            crate::tx::values_list(chunk.len(), 16)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in chunk {
            let context = &event.context;
            let word = |value: Option<String>| value.map(|v| v.trim_matches('"').to_owned());
            query = query
                .bind(event.id.to_string())
                .bind(event.at.millis())
                .bind(&event.username)
                .bind(event.user_id.map(|u| u.to_string()))
                .bind(event.outcome.as_str())
                .bind(event.reason.map(|r| r.as_str().to_owned()))
                .bind(join(&event.methods))
                .bind(&event.ip)
                .bind(&event.user_agent)
                .bind(&context.app)
                .bind(word(context.device.and_then(|d| serde_json::to_string(&d).ok())))
                .bind(&context.device_id)
                .bind(&context.country)
                .bind(word(context.risk.and_then(|r| serde_json::to_string(&r).ok())))
                .bind(context.policy.as_ref().and_then(|p| serde_json::to_string(p).ok()))
                .bind(event.throttle_source());
        }
        query.execute(&mut *tx.tx).await.map_err(store_error)?;
        let ids: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let mut release =
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM attempt_claims WHERE id IN ({})", ids.join(", "))));
        for event in chunk {
            release = release.bind(event.id.to_string());
        }
        release.execute(&mut *tx.tx).await.map_err(store_error)?;
    }
    Ok(())
}

pub(crate) fn sign_in_change(action: &str, event: &SignInEvent) -> Change {
    let detail = serde_json::json!({
        "username": event.username,
        "outcome": event.outcome,
        "reason": event.reason,
        "methods": event.methods,
    });
    Change::new(action, "user", event.user_id.map(|u| u.to_string())).states(None, Some(detail))
}

async fn insert_session(tx: &mut AuditedTx, session: &Session) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )))
    .bind(&session.id_hash)
    .bind(session.user_id.to_string())
    .bind(join(&session.auth.amr))
    .bind(&session.auth.acr)
    .bind(session.auth.auth_time.map(Timestamp::millis))
    .bind(session.created_at.millis())
    .bind(session.last_seen_at.millis())
    .bind(session.absolute_expires_at.millis())
    .bind(session.idle_timeout_secs)
    .bind(&session.ip)
    .bind(&session.user_agent)
    .bind(session.revoked_at.map(Timestamp::millis))
    .bind(i64::from(session.mfa_pending))
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    Ok(())
}

async fn record_success(
    tx: &mut AuditedTx,
    session: &Session,
    event: &SignInEvent,
    ctx: &AuditContext,
) -> StoreResult<()> {
    insert_sign_in_event(tx, event).await?;
    let mut change = sign_in_change("signin.success", event);
    if let Some(after) = change.after.as_mut() {
        after["session"] = serde_json::json!(short(&session.id_hash));
        after["acr"] = serde_json::json!(session.auth.acr);
    }
    tx.append(&change, ctx).await?;
    Ok(())
}

pub(crate) async fn start(
    pool: &AnyPool,
    session: &Session,
    event: &SignInEvent,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    insert_session(&mut tx, session).await?;
    record_success(&mut tx, session, event, ctx).await?;
    tx.commit().await
}

pub(crate) async fn start_pending(pool: &AnyPool, session: &Session, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    insert_session(&mut tx, session).await?;
    let change = Change::new("signin.first_factor", "user", Some(session.user_id.to_string()))
        .states(None, Some(serde_json::json!({"methods": session.auth.amr, "session": short(&session.id_hash)})));
    tx.append(&change, ctx).await?;
    tx.commit().await
}

/// Ends the active session `old_id_hash` and stores `session` in its place, in a transaction
/// left open for what records the change; `None` (nothing written) when the old one had ended.
async fn replace_session(
    pool: &AnyPool,
    old_id_hash: &str,
    session: &Session,
    ctx: &AuditContext,
) -> StoreResult<Option<AuditedTx>> {
    let mut tx = AuditedTx::begin(pool).await?;
    let ended = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL")
        .bind(ctx.at.millis())
        .bind(old_id_hash)
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
    if ended == 0 {
        return Ok(None);
    }
    insert_session(&mut tx, session).await?;
    Ok(Some(tx))
}

pub(crate) async fn complete(
    pool: &AnyPool,
    pending_id_hash: &str,
    session: &Session,
    event: &SignInEvent,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let Some(mut tx) = replace_session(pool, pending_id_hash, session, ctx).await? else { return Ok(false) };
    record_success(&mut tx, session, event, ctx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Replaces an active session by `session` (a new id) without a sign-in, and ends the
/// person's other sessions: audited `session.renew` with the strength it now records.
pub(crate) async fn renew(
    pool: &AnyPool,
    old_id_hash: &str,
    session: &Session,
    reason: &str,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let Some(mut tx) = replace_session(pool, old_id_hash, session, ctx).await? else { return Ok(false) };
    // Every other session of the person was opened before this proof: they step up afresh.
    let others =
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id_hash <> $3")
            .bind(ctx.at.millis())
            .bind(session.user_id.to_string())
            .bind(&session.id_hash)
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?
            .rows_affected();
    let change = Change::new("session.renew", "user", Some(session.user_id.to_string())).states(
        Some(serde_json::json!({ "session": short(old_id_hash) })),
        Some(serde_json::json!({
            "session": short(&session.id_hash),
            "acr": session.auth.acr,
            "amr": session.auth.amr,
            "reason": reason,
            "other_sessions_ended": others,
        })),
    );
    tx.append(&change, ctx).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn record_attempt(pool: &AnyPool, event: &SignInEvent, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    insert_sign_in_event(&mut tx, event).await?;
    let action = match event.outcome {
        SignInOutcome::Success => "signin.success",
        SignInOutcome::Failure => "signin.failure",
    };
    tx.append(&sign_in_change(action, event), ctx).await?;
    tx.commit().await
}

pub(crate) async fn get(pool: &AnyPool, id_hash: &str) -> StoreResult<Option<Session>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1")))
        .bind(id_hash)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(rows::session)
        .transpose()
}

pub(crate) async fn touch(pool: &AnyPool, id_hash: &str, now: Timestamp) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1")
        .bind(now.millis())
        .bind(id_hash)
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn revoke(pool: &AnyPool, id_hash: &str, ctx: &AuditContext) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(pool).await?;
    let user: Option<(String,)> = sqlx::query_as(
        "UPDATE sessions SET revoked_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL RETURNING user_id",
    )
    .bind(ctx.at.millis())
    .bind(id_hash)
    .fetch_optional(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    let Some((user_id,)) = user else { return Ok(false) };
    let change = Change::new("session.revoke", "session", Some(short(id_hash)))
        .states(None, Some(serde_json::json!({"user_id": user_id})));
    tx.append(&change, ctx).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn revoke_all(pool: &AnyPool, user_id: Uuid, ctx: &AuditContext) -> StoreResult<u64> {
    let mut tx = AuditedTx::begin(pool).await?;
    let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(ctx.at.millis())
        .bind(user_id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
    let change = Change::new("session.revoke_all", "user", Some(user_id.to_string()))
        .states(None, Some(serde_json::json!({"revoked": revoked})));
    tx.append(&change, ctx).await?;
    tx.commit().await?;
    Ok(revoked)
}

pub(crate) async fn of_user(pool: &AnyPool, user_id: Uuid) -> StoreResult<Vec<Session>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC"
    )))
    .bind(user_id.to_string())
    .fetch_all(pool)
    .await
    .map_err(store_error)?
    .iter()
    .map(rows::session)
    .collect()
}

pub(crate) async fn sign_in_events_page(
    pool: &AnyPool,
    since: Timestamp,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<Vec<SignInEvent>> {
    // Ids are UUIDv7: their text sorts by time, so they page the log in order.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SIGN_IN_COLUMNS} FROM sign_in_events WHERE at >= $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(since.millis())
    .bind(after.map_or_else(String::new, |id| id.to_string()))
    .bind(limit.clamp(1, 100_000))
    .fetch_all(pool)
    .await
    .map_err(store_error)?
    .iter()
    .map(rows::sign_in_event)
    .collect()
}

/// What earlier successful sign-ins say of a new one (see the port): each an indexed look-up.
pub(crate) async fn history(
    pool: &AnyPool,
    user_id: Uuid,
    device_id: Option<&str>,
    country: Option<&str>,
    last_success: bool,
) -> StoreResult<twofold_core::store::SignInHistory> {
    let user = user_id.to_string();
    let one = |sql: &'static str| sqlx::query_as::<_, (i64,)>(sql).bind(user.clone());
    let device_seen = match device_id {
        Some(device) => {
            one("SELECT 1 FROM sign_in_events WHERE user_id = $1 AND device_id = $2 AND outcome = 'success' LIMIT 1")
                .bind(device)
                .fetch_optional(pool)
                .await
                .map_err(store_error)?
                .is_some()
        }
        None => false,
    };
    let new_country = match country {
        Some(country) => {
            let seen_here =
                one("SELECT 1 FROM sign_in_events WHERE user_id = $1 AND country = $2 AND outcome = 'success' LIMIT 1")
                    .bind(country)
                    .fetch_optional(pool)
                    .await
                    .map_err(store_error)?
                    .is_some();
            let located = one(
                "SELECT 1 FROM sign_in_events WHERE user_id = $1 AND country IS NOT NULL AND outcome = 'success' LIMIT 1",
            )
            .fetch_optional(pool)
            .await
            .map_err(store_error)?
            .is_some();
            located && !seen_here
        }
        None => false,
    };
    let last_success = if last_success {
        let last: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT at, ip FROM sign_in_events WHERE user_id = $1 AND outcome = 'success' ORDER BY at DESC LIMIT 1",
        )
        .bind(&user)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?;
        last.map(|(at, ip)| (Timestamp(at), ip))
    } else {
        None
    };
    Ok(twofold_core::store::SignInHistory { device_seen, new_country, last_success })
}

/// Failures (not counting throttled attempts) at or after `since`: for the username, only
/// those after its last success; for the source, all of them, so that signing in to one
/// account does not reset a source that sprays others. A signed-in session's use of an app
/// (source [`twofold_core::signin::throttle::SESSION_SOURCE`]) is no attempt: it neither counts as a
/// failure nor ends a run of them.
pub(crate) async fn failures(
    pool: &AnyPool,
    username: &str,
    source: Option<&str>,
    since: Timestamp,
) -> StoreResult<(Failures, Failures)> {
    failures_in(pool, username, source, since).await
}

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

/// The stored failures, as [`failures`] reads them.
static FAILURES_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("SELECT {FAILURE_COUNTS}"));

/// The stored failures and the claims in flight ($4: claims since), as [`claim_attempt`] reads them.
static CLAIM_COUNTS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {FAILURE_COUNTS},
            (SELECT COUNT(*) FROM attempt_claims WHERE username = $1 AND at >= $4),
            (SELECT MAX(at) FROM attempt_claims WHERE username = $1 AND at >= $4),
            (SELECT COUNT(*) FROM attempt_claims WHERE source = $3 AND at >= $4),
            (SELECT MAX(at) FROM attempt_claims WHERE source = $3 AND at >= $4)"
    )
});

/// [`failures`], read on any connection (the pool, or a claim's transaction).
async fn failures_in<'e, E>(
    executor: E,
    username: &str,
    source: Option<&str>,
    since: Timestamp,
) -> StoreResult<(Failures, Failures)>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    // One round trip: both counts are index range scans on (username, at) and (source, at).
    let (user_count, user_last, source_count, source_last): (i64, Option<i64>, i64, Option<i64>) =
        sqlx::query_as(sqlx::AssertSqlSafe(FAILURES_SQL.as_str()))
            .bind(username)
            .bind(since.millis())
            .bind(source)
            .fetch_one(executor)
            .await
            .map_err(store_error)?;
    let (by_username, by_source) = ((user_count, user_last), (source_count, source_last));
    let failures = |(count, last): (i64, Option<i64>)| Failures { count, last_at: last.map(Timestamp) };
    Ok((failures(by_username), failures(by_source)))
}

/// Count and latest time of: the username's failures, the source's failures, the username's
/// claims in flight, the source's claims in flight.
type ClaimCounts = (i64, Option<i64>, i64, Option<i64>, i64, Option<i64>, i64, Option<i64>);

/// Claims one attempt for `username` from `source` (see [`twofold_core::signin::throttle::Claim`]).
///
/// Claims for one username or one source are serialised across nodes — on SQLite by the
/// database's write lock, which the transaction takes first; on PostgreSQL by transaction
/// advisory locks on the username, then the source (always in that order, so two claims
/// never wait on each other in a cycle) — and each sees every claim committed before it.
pub(crate) async fn claim_attempt(
    pool: &AnyPool,
    backend: crate::Backend,
    username: &str,
    source: Option<&str>,
    limits: Limits,
    now: Timestamp,
) -> StoreResult<Claim> {
    // A claim need not survive a crash: the attempt it stands for dies with the node. So its
    // commit waits for no disk flush (SQLite synchronous=NORMAL on this connection for the
    // claim alone; PostgreSQL synchronous_commit off for this transaction), which keeps a
    // claim from costing each attempt an fsync of its own.
    let mut conn = pool.acquire().await.map_err(store_error)?;
    if backend == crate::Backend::Sqlite {
        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await.map_err(store_error)?;
    }
    let claimed = claim_on(&mut conn, backend, username, source, limits, now).await;
    if backend == crate::Backend::Sqlite && sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await.is_err()
    {
        // Never hand a connection back to the pool with its durability lowered.
        conn.close_on_drop();
    }
    claimed
}

/// [`claim_attempt`] on one connection.
async fn claim_on(
    conn: &mut sqlx::AnyConnection,
    backend: crate::Backend,
    username: &str,
    source: Option<&str>,
    limits: Limits,
    now: Timestamp,
) -> StoreResult<Claim> {
    use sqlx::Connection;
    let mut tx = conn.begin().await.map_err(store_error)?;
    match backend {
        crate::Backend::Sqlite => {
            // A write first, so the transaction holds the write lock from the start (no read
            // lock to upgrade, so no SQLITE_BUSY), as every audited transaction does.
            sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 0").execute(&mut *tx).await.map_err(store_error)?;
        }
        crate::Backend::Postgres => {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await.map_err(store_error)?;
            lock_key(&mut tx, 1, username).await?;
        }
    }
    let mut counts = claim_counts(&mut tx, username, source, now).await?;
    // The source's lock is needed only once its failures have used up its allowance (before
    // that its claims in flight do not count against it), so a busy gateway's attempts for
    // different people do not queue behind one another.
    if backend == crate::Backend::Postgres
        && let Some(source) = source
        && counts.2 >= limits.free_per_source
    {
        lock_key(&mut tx, 2, source).await?;
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

/// The counts [`claim_attempt`] decides on, read in one statement, so one snapshot: an
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

/// A transaction in which the checks of one kind of key (`(namespace, key)` pairs, taken in
/// the order given) are serialised across nodes: on SQLite the database's write lock, taken
/// first; on PostgreSQL, at READ COMMITTED whatever the server's default (so each statement
/// sees what committed before it), transaction advisory locks on each key.
pub(crate) async fn serialised(
    pool: &AnyPool,
    backend: crate::Backend,
    keys: &[(i32, Option<&str>)],
) -> StoreResult<AuditedTx> {
    if backend == crate::Backend::Sqlite {
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

/// Takes PostgreSQL's transaction-scoped advisory lock on `key` in the namespace `space`.
pub(crate) async fn lock_key(conn: &mut sqlx::AnyConnection, space: i32, key: &str) -> StoreResult<()> {
    // The lock function returns `void`, which the Any driver cannot decode: select around it.
    sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1, hashtext($2))) AS locked")
        .bind(space)
        .bind(key)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Ends a claim whose attempt records no sign-in event (a password step that now waits for
/// the second factor).
pub(crate) async fn release_attempt(pool: &AnyPool, claim: Uuid) -> StoreResult<()> {
    sqlx::query("DELETE FROM attempt_claims WHERE id = $1")
        .bind(claim.to_string())
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(())
}
