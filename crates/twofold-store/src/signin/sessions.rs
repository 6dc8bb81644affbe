//! Sessions, the sign-in events that start them or record attempts, and what earlier
//! sign-ins say of a new one ([`SignInStore`]).

use async_trait::async_trait;
use sqlx::AnyPool;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::signin::session::Session;
use twofold_core::signin::{SignInEvent, SignInOutcome};
use twofold_core::store::{SignInHistory, SignInStore, StoreResult};
use uuid::Uuid;

use crate::rows::{self, join};
use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

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

/// The audit change of a sign-in event, `signin.success` or `signin.failure`.
pub(crate) fn sign_in_change(action: AuditAction, event: &SignInEvent) -> Change {
    let detail = serde_json::json!({
        "username": event.username,
        "outcome": event.outcome,
        "reason": event.reason,
        "methods": event.methods,
    });
    Change::new(action, event.user_id.map(|u| u.to_string())).states(None, Some(detail))
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
    let mut change = sign_in_change(AuditAction::SignInSuccess, event);
    if let Some(after) = change.after.as_mut() {
        after["session"] = serde_json::json!(short(&session.id_hash));
        after["acr"] = serde_json::json!(session.auth.acr);
    }
    tx.append(&change, ctx).await?;
    Ok(())
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

#[async_trait]
impl SignInStore for SqlStore {
    async fn start_session(&self, session: &Session, event: &SignInEvent, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        insert_session(&mut tx, session).await?;
        record_success(&mut tx, session, event, ctx).await?;
        tx.commit().await
    }

    async fn start_pending_session(&self, session: &Session, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        insert_session(&mut tx, session).await?;
        let change = Change::new(AuditAction::SignInFirstFactor, Some(session.user_id.to_string()))
            .states(None, Some(serde_json::json!({"methods": session.auth.amr, "session": short(&session.id_hash)})));
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn complete_session(
        &self,
        pending_id_hash: &str,
        session: &Session,
        event: &SignInEvent,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        let Some(mut tx) = replace_session(&self.pool, pending_id_hash, session, ctx).await? else { return Ok(false) };
        record_success(&mut tx, session, event, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces an active session by `session` (a new id) without a sign-in, and ends the
    /// person's other sessions: audited `session.renew` with the strength it now records.
    async fn renew_session(
        &self,
        old_id_hash: &str,
        session: &Session,
        reason: &str,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        let Some(mut tx) = replace_session(&self.pool, old_id_hash, session, ctx).await? else { return Ok(false) };
        // Every other session of the person was opened before this proof: they step up afresh.
        let others = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id_hash <> $3",
        )
        .bind(ctx.at.millis())
        .bind(session.user_id.to_string())
        .bind(&session.id_hash)
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        let change = Change::new(AuditAction::SessionRenew, Some(session.user_id.to_string())).states(
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

    async fn record_sign_in_attempt(&self, event: &SignInEvent, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        insert_sign_in_event(&mut tx, event).await?;
        let action = match event.outcome {
            SignInOutcome::Success => AuditAction::SignInSuccess,
            SignInOutcome::Failure => AuditAction::SignInFailure,
        };
        tx.append(&sign_in_change(action, event), ctx).await?;
        tx.commit().await
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1")))
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(rows::session)
            .transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1")
            .bind(now.millis())
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn revoke_session(&self, id_hash: &str, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let user: Option<(String,)> = sqlx::query_as(
            "UPDATE sessions SET revoked_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL RETURNING user_id",
        )
        .bind(ctx.at.millis())
        .bind(id_hash)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let Some((user_id,)) = user else { return Ok(false) };
        let change = Change::new(AuditAction::SessionRevoke, Some(short(id_hash)))
            .states(None, Some(serde_json::json!({"user_id": user_id})));
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_user_sessions(&self, user_id: Uuid, ctx: &AuditContext) -> StoreResult<u64> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(ctx.at.millis())
            .bind(user_id.to_string())
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?
            .rows_affected();
        let change = Change::new(AuditAction::SessionRevokeAll, Some(user_id.to_string()))
            .states(None, Some(serde_json::json!({"revoked": revoked})));
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn user_sessions(&self, user_id: Uuid) -> StoreResult<Vec<Session>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC"
        )))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(rows::session)
        .collect()
    }

    async fn sign_in_events_page(
        &self,
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
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(rows::sign_in_event)
        .collect()
    }

    /// Each an indexed look-up (see the port).
    async fn sign_in_addresses(&self, user_id: Uuid, limit: i64) -> StoreResult<Vec<String>> {
        let rows: Vec<(Option<String>,)> = sqlx::query_as(
            "SELECT ip FROM sign_in_events WHERE user_id = $1 AND outcome = 'success' ORDER BY at DESC LIMIT $2",
        )
        .bind(user_id.to_string())
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows.into_iter().filter_map(|(ip,)| ip).collect())
    }

    async fn sign_in_history(
        &self,
        user_id: Uuid,
        device_id: Option<&str>,
        country: Option<&str>,
        last_success: bool,
    ) -> StoreResult<SignInHistory> {
        let user = user_id.to_string();
        let one = |sql: &'static str| sqlx::query_as::<_, (i64,)>(sql).bind(user.clone());
        let device_seen = match device_id {
            Some(device) => one(
                "SELECT 1 FROM sign_in_events WHERE user_id = $1 AND device_id = $2 AND outcome = 'success' LIMIT 1",
            )
            .bind(device)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
            .is_some(),
            None => false,
        };
        let new_country = match country {
            Some(country) => {
                let seen_here = one(
                    "SELECT 1 FROM sign_in_events WHERE user_id = $1 AND country = $2 AND outcome = 'success' LIMIT 1",
                )
                .bind(country)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?
                .is_some();
                let located = one(
                    "SELECT 1 FROM sign_in_events WHERE user_id = $1 AND country IS NOT NULL AND outcome = 'success' LIMIT 1",
                )
                .fetch_optional(&self.pool)
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
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
            last.map(|(at, ip)| (Timestamp(at), ip))
        } else {
            None
        };
        Ok(SignInHistory { device_seen, new_country, last_success })
    }
}
