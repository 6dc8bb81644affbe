//! Authenticators and recovery codes. Every "use once" rule is a compare-and-swap
//! `UPDATE ... WHERE` whose affected-row count says whether this caller won.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, Change};
use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
use twofold_core::store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::store_error;
use crate::tx::AuditedTx;

const COLUMNS: &str = "id, user_id, kind, name, serial, otp_params, credential, sealed_secret, last_used_step, \
     drift_steps, created_at, confirmed_at, last_used_at, destination, attested";

fn from_row(row: &AnyRow) -> StoreResult<Authenticator> {
    let get_text = |c: &str| row.try_get::<String, _>(c).map_err(store_error);
    let kind = get_text("kind")?;
    let params: Option<String> = row.try_get("otp_params").map_err(store_error)?;
    let user_id: Option<String> = row.try_get("user_id").map_err(store_error)?;
    let time = |c: &str| row.try_get::<Option<i64>, _>(c).map(|t| t.map(Timestamp)).map_err(store_error);
    let uuid = |c: &str| {
        let text = get_text(c)?;
        Uuid::parse_str(&text).map_err(|_| StoreError::Other(format!("stored {c} '{text}' is not a UUID")))
    };
    Ok(Authenticator {
        id: uuid("id")?,
        user_id: user_id
            .map(|u| Uuid::parse_str(&u).map_err(|_| StoreError::Other(format!("stored user_id '{u}' is not a UUID"))))
            .transpose()?,
        kind: AuthenticatorKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown authenticator kind '{kind}'")))?,
        name: get_text("name")?,
        serial: row.try_get("serial").map_err(store_error)?,
        destination: row.try_get("destination").map_err(store_error)?,
        attested: row.try_get::<i64, _>("attested").map_err(store_error)? != 0,
        credential: row.try_get("credential").map_err(store_error)?,
        otp: params.map(|p| serde_json::from_str(&p)).transpose().map_err(|e| StoreError::Other(e.to_string()))?,
        last_used_step: row.try_get("last_used_step").map_err(store_error)?,
        drift_steps: row.try_get("drift_steps").map_err(store_error)?,
        sealed_secret: row.try_get("sealed_secret").map_err(store_error)?,
        created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
        confirmed_at: time("confirmed_at")?,
        last_used_at: time("last_used_at")?,
    })
}

/// The audit view of an authenticator: never its secret.
fn public(a: &Authenticator) -> serde_json::Value {
    serde_json::json!({"id": a.id, "user_id": a.user_id, "kind": a.kind, "name": a.name, "serial": a.serial,
                       "destination": a.destination.as_deref().map(twofold_core::factors::one_time_codes::mask_destination),
                       "attested": a.attested, "confirmed": a.is_confirmed()})
}

pub(crate) async fn create(pool: &AnyPool, a: &Authenticator, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    insert(&mut tx, a).await?;
    let change =
        Change::new("authenticator.enrol_start", "authenticator", Some(a.id.to_string())).states(None, Some(public(a)));
    tx.append(&change, ctx).await?;
    tx.commit().await
}

pub(crate) async fn of_user(pool: &AnyPool, user_id: Uuid) -> StoreResult<Vec<Authenticator>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM authenticators WHERE user_id = $1 ORDER BY created_at"
    )))
    .bind(user_id.to_string())
    .fetch_all(pool)
    .await
    .map_err(store_error)?
    .iter()
    .map(from_row)
    .collect()
}

pub(crate) async fn get(pool: &AnyPool, id: Uuid) -> StoreResult<Option<Authenticator>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM authenticators WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub(crate) async fn confirm(pool: &AnyPool, id: Uuid, step: i64, ctx: &AuditContext) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(pool).await?;
    let confirmed = sqlx::query(
        "UPDATE authenticators SET confirmed_at = $1, last_used_at = $1, last_used_step = $2
         WHERE id = $3 AND confirmed_at IS NULL",
    )
    .bind(ctx.at.millis())
    .bind(step)
    .bind(id.to_string())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?
    .rows_affected();
    if confirmed == 0 {
        return Ok(false);
    }
    tx.append(&Change::new("authenticator.add", "authenticator", Some(id.to_string())), ctx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Confirms `id` only while its user `user_id` has no confirmed method: the confirmation of a
/// first method on a session that proved no second factor. Serialised per user (SQLite's
/// write lock; a PostgreSQL advisory lock), so two such confirmations racing each other — an
/// attacker's left-open enrolment and the person's own first one — never both succeed.
pub(crate) async fn confirm_first(
    pool: &AnyPool,
    backend: crate::Backend,
    id: Uuid,
    user_id: Uuid,
    step: i64,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let person = user_id.to_string();
    let mut tx = crate::sessions::serialised(pool, backend, &[(5, Some(&person))]).await?;
    let confirmed = sqlx::query(
        "UPDATE authenticators SET confirmed_at = $1, last_used_at = $1, last_used_step = $2
         WHERE id = $3 AND user_id = $4 AND confirmed_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM authenticators o WHERE o.user_id = $4 AND o.confirmed_at IS NOT NULL)",
    )
    .bind(ctx.at.millis())
    .bind(step)
    .bind(id.to_string())
    .bind(user_id.to_string())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?
    .rows_affected();
    tx.commit_if_changed(confirmed, &Change::new("authenticator.add", "authenticator", Some(id.to_string())), ctx).await
}

/// Records `step` as the last one used if it is later than the last accepted one: the one
/// statement behind every "a code works once" rule. True when this caller won the step.
pub(crate) async fn win_step<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: Uuid,
    step: i64,
    drift: i64,
    at: Timestamp,
) -> StoreResult<bool> {
    let won = sqlx::query(
        "UPDATE authenticators SET last_used_step = $1, drift_steps = $2, last_used_at = $3
         WHERE id = $4 AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < $1)",
    )
    .bind(step)
    .bind(drift)
    .bind(at.millis())
    .bind(id.to_string())
    .execute(executor)
    .await
    .map_err(store_error)?
    .rows_affected();
    Ok(won == 1)
}

pub(crate) async fn use_step(pool: &AnyPool, id: Uuid, step: i64, drift: i64, at: Timestamp) -> StoreResult<bool> {
    win_step(pool, id, step, drift, at).await
}

pub(crate) async fn rename(pool: &AnyPool, id: Uuid, name: &str, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    let before: Option<(String,)> = sqlx::query_as("SELECT name FROM authenticators WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    let Some((before,)) = before else { return Err(StoreError::NotFound("authenticator")) };
    sqlx::query("UPDATE authenticators SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    let change = Change::new("authenticator.rename", "authenticator", Some(id.to_string()))
        .states(Some(serde_json::json!({"name": before})), Some(serde_json::json!({"name": name})));
    tx.append(&change, ctx).await?;
    tx.commit().await
}

pub(crate) async fn remove(pool: &AnyPool, a: &Authenticator, ctx: &AuditContext) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(pool).await?;
    let removed = sqlx::query("DELETE FROM authenticators WHERE id = $1")
        .bind(a.id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
    if removed == 0 {
        return Ok(false);
    }
    let change =
        Change::new("authenticator.remove", "authenticator", Some(a.id.to_string())).states(Some(public(a)), None);
    tx.append(&change, ctx).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn replace_recovery_codes(
    pool: &AnyPool,
    user_id: Uuid,
    hashes: &[String],
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    let replaced = sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
            .bind(user_id.to_string())
            .bind(hash)
            .bind(ctx.at.millis())
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
    }
    let change = Change::new("recovery_codes.generate", "user", Some(user_id.to_string()))
        .states(None, Some(serde_json::json!({"codes": hashes.len(), "replaced": replaced})));
    tx.append(&change, ctx).await?;
    tx.commit().await
}

pub(crate) async fn consume_recovery_code(
    pool: &AnyPool,
    user_id: Uuid,
    hash: &str,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(pool).await?;
    let used =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(ctx.at.millis())
            .bind(user_id.to_string())
            .bind(hash)
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?
            .rows_affected();
    if used == 0 {
        return Ok(false);
    }
    let left = recovery_codes_left(&mut *tx.tx, user_id).await?;
    let change = Change::new("recovery_code.use", "user", Some(user_id.to_string()))
        .states(None, Some(serde_json::json!({"remaining": left})));
    tx.append(&change, ctx).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn recovery_codes_left<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    user_id: Uuid,
) -> StoreResult<i64> {
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id.to_string())
        .fetch_one(executor)
        .await
        .map_err(store_error)?;
    Ok(left)
}

async fn insert(tx: &mut AuditedTx, a: &Authenticator) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO authenticators ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    )))
    .bind(a.id.to_string())
    .bind(a.user_id.map(|u| u.to_string()))
    .bind(a.kind.as_str())
    .bind(&a.name)
    .bind(&a.serial)
    .bind(a.otp.map(|p| serde_json::to_string(&p).unwrap_or_default()))
    .bind(&a.credential)
    .bind(a.sealed_secret.clone())
    .bind(a.last_used_step)
    .bind(a.drift_steps)
    .bind(a.created_at.millis())
    .bind(a.confirmed_at.map(Timestamp::millis))
    .bind(a.last_used_at.map(Timestamp::millis))
    .bind(&a.destination)
    .bind(i64::from(a.attested))
    .execute(&mut *tx.tx)
    .await
    .map_err(|e| match store_error(e) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("serial '{}' is already known", a.serial.as_deref().unwrap_or("")))
        }
        other => other,
    })?;
    Ok(())
}

pub(crate) async fn import_tokens(pool: &AnyPool, tokens: &[Authenticator], ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    for token in tokens {
        insert(&mut tx, token).await?;
    }
    let serials: Vec<_> = tokens.iter().filter_map(|t| t.serial.as_deref()).collect();
    let assigned = tokens.iter().filter(|t| t.user_id.is_some()).count();
    let change = Change::new("token.import", "token", None)
        .states(None, Some(serde_json::json!({"count": tokens.len(), "assigned": assigned, "serials": serials})));
    tx.append(&change, ctx).await?;
    tx.commit().await
}

pub(crate) async fn tokens(pool: &AnyPool) -> StoreResult<Vec<Authenticator>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM authenticators WHERE serial IS NOT NULL ORDER BY serial"
    )))
    .fetch_all(pool)
    .await
    .map_err(store_error)?
    .iter()
    .map(from_row)
    .collect()
}

pub(crate) async fn assign_token(
    pool: &AnyPool,
    serial: &str,
    user_id: Option<Uuid>,
    ctx: &AuditContext,
) -> StoreResult<Authenticator> {
    let mut tx = AuditedTx::begin(pool).await?;
    let before = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM authenticators WHERE serial = $1")))
        .bind(serial)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(StoreError::NotFound("token"))?;
    match (before.user_id, user_id) {
        (Some(_), Some(_)) => {
            return Err(StoreError::Conflict(format!("token {serial} is assigned already; unassign it first")));
        }
        (None, None) => return Err(StoreError::Conflict(format!("token {serial} is not assigned"))),
        _ => {}
    }
    // An assigned token counts as confirmed: the administrator vouches for the hand-over.
    sqlx::query("UPDATE authenticators SET user_id = $1, confirmed_at = $2 WHERE id = $3")
        .bind(user_id.map(|u| u.to_string()))
        .bind(user_id.map(|_| ctx.at.millis()))
        .bind(before.id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    let after = Authenticator { user_id, confirmed_at: user_id.map(|_| ctx.at), ..before.clone() };
    let action = if user_id.is_some() { "token.assign" } else { "token.unassign" };
    tx.append(
        &Change::new(action, "token", Some(serial.to_owned())).states(Some(public(&before)), Some(public(&after))),
        ctx,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn set_otp_position(
    pool: &AnyPool,
    id: Uuid,
    last_used_step: i64,
    drift_steps: i64,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    sqlx::query("UPDATE authenticators SET last_used_step = $1, drift_steps = $2 WHERE id = $3")
        .bind(last_used_step)
        .bind(drift_steps)
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    let change = Change::new("authenticator.resync", "authenticator", Some(id.to_string()))
        .states(None, Some(serde_json::json!({"last_used": last_used_step, "drift_steps": drift_steps})));
    tx.append(&change, ctx).await?;
    tx.commit().await
}

pub(crate) async fn update_credential(pool: &AnyPool, id: Uuid, credential: &str, at: Timestamp) -> StoreResult<()> {
    sqlx::query("UPDATE authenticators SET credential = $1, last_used_at = $2 WHERE id = $3")
        .bind(credential)
        .bind(at.millis())
        .bind(id.to_string())
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn put_ceremony(
    pool: &AnyPool,
    id: &str,
    session_hash: Option<&str>,
    purpose: &str,
    state: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
        .bind(now.millis())
        .execute(pool)
        .await
        .map_err(store_error)?;
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, session_hash, purpose, state, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(session_hash)
    .bind(purpose)
    .bind(state)
    .bind(expires_at.millis())
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn take_ceremony(
    pool: &AnyPool,
    id: &str,
    purpose: &str,
    now: Timestamp,
) -> StoreResult<Option<(Option<String>, String)>> {
    let row: Option<(Option<String>, String)> = sqlx::query_as(
        "DELETE FROM webauthn_ceremonies WHERE id = $1 AND purpose = $2 AND expires_at >= $3 RETURNING session_hash, state",
    )
    .bind(id)
    .bind(purpose)
    .bind(now.millis())
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    Ok(row)
}
