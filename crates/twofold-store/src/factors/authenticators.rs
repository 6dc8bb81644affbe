//! Authenticators, hardware tokens, WebAuthn ceremonies and recovery codes
//! ([`FactorStore`]). Every "use once" rule is a compare-and-swap `UPDATE ... WHERE` whose
//! affected-row count says whether this caller won.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
use twofold_core::signin::SignInEvent;
use twofold_core::store::{FactorStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::{AuditedTx, LockSpace, serialised};
use crate::{SqlStore, store_error};

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

/// How many unused recovery codes `user_id` has, on any connection.
async fn unused_recovery_codes<'e>(
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

#[async_trait]
impl FactorStore for SqlStore {
    async fn create_authenticator(&self, a: &Authenticator, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        insert(&mut tx, a).await?;
        let change =
            Change::new(AuditAction::AuthenticatorEnrolStart, Some(a.id.to_string())).states(None, Some(public(a)));
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn authenticators(&self, user_id: Uuid) -> StoreResult<Vec<Authenticator>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM authenticators WHERE user_id = $1 ORDER BY created_at"
        )))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn authenticator(&self, id: Uuid) -> StoreResult<Option<Authenticator>> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM authenticators WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    async fn confirm_authenticator(&self, id: Uuid, step: i64, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
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
        tx.append(&Change::new(AuditAction::AuthenticatorAdd, Some(id.to_string())), ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Confirms `id` only while its user `user_id` has no confirmed method: the confirmation of a
    /// first method on a session that proved no second factor. Serialised per user (SQLite's
    /// write lock; a PostgreSQL advisory lock), so two such confirmations racing each other — an
    /// attacker's left-open enrolment and the person's own first one — never both succeed.
    async fn confirm_first_authenticator(
        &self,
        id: Uuid,
        user_id: Uuid,
        step: i64,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        let person = user_id.to_string();
        let mut tx = serialised(&self.pool, self.backend, &[(LockSpace::FirstMethod, Some(&person))]).await?;
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
        tx.commit_if_changed(confirmed, &Change::new(AuditAction::AuthenticatorAdd, Some(id.to_string())), ctx).await
    }

    async fn rename_authenticator(&self, id: Uuid, name: &str, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
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
        let change = Change::new(AuditAction::AuthenticatorRename, Some(id.to_string()))
            .states(Some(serde_json::json!({"name": before})), Some(serde_json::json!({"name": name})));
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn remove_authenticator(&self, a: &Authenticator, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
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
            Change::new(AuditAction::AuthenticatorRemove, Some(a.id.to_string())).states(Some(public(a)), None);
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String], ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
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
        let change = Change::new(AuditAction::RecoveryCodesGenerate, Some(user_id.to_string()))
            .states(None, Some(serde_json::json!({"codes": hashes.len(), "replaced": replaced})));
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn consume_recovery_code(&self, user_id: Uuid, hash: &str, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
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
        let left = unused_recovery_codes(&mut *tx.tx, user_id).await?;
        let change = Change::new(AuditAction::RecoveryCodeUse, Some(user_id.to_string()))
            .states(None, Some(serde_json::json!({"remaining": left})));
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn import_tokens(&self, tokens: &[Authenticator], ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        for token in tokens {
            insert(&mut tx, token).await?;
        }
        let serials: Vec<_> = tokens.iter().filter_map(|t| t.serial.as_deref()).collect();
        let assigned = tokens.iter().filter(|t| t.user_id.is_some()).count();
        let change = Change::new(AuditAction::TokenImport, None)
            .states(None, Some(serde_json::json!({"count": tokens.len(), "assigned": assigned, "serials": serials})));
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn tokens(&self) -> StoreResult<Vec<Authenticator>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM authenticators WHERE serial IS NOT NULL ORDER BY serial"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(from_row)
        .collect()
    }

    async fn assign_token(
        &self,
        serial: &str,
        user_id: Option<Uuid>,
        ctx: &AuditContext,
    ) -> StoreResult<Authenticator> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let before =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM authenticators WHERE serial = $1")))
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
        let action = if user_id.is_some() { AuditAction::TokenAssign } else { AuditAction::TokenUnassign };
        tx.append(
            &Change::new(action, Some(serial.to_owned())).states(Some(public(&before)), Some(public(&after))),
            ctx,
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn set_otp_position(
        &self,
        id: Uuid,
        last_used_step: i64,
        drift_steps: i64,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        sqlx::query("UPDATE authenticators SET last_used_step = $1, drift_steps = $2 WHERE id = $3")
            .bind(last_used_step)
            .bind(drift_steps)
            .bind(id.to_string())
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        let change = Change::new(AuditAction::AuthenticatorResync, Some(id.to_string()))
            .states(None, Some(serde_json::json!({"last_used": last_used_step, "drift_steps": drift_steps})));
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn update_credential(&self, id: Uuid, credential: &str, at: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE authenticators SET credential = $1, last_used_at = $2 WHERE id = $3")
            .bind(credential)
            .bind(at.millis())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn put_ceremony(
        &self,
        id: &str,
        session_hash: Option<&str>,
        purpose: &str,
        state: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
            .bind(now.millis())
            .execute(&self.pool)
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
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn take_ceremony(
        &self,
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
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(row)
    }

    async fn use_otp_step(&self, id: Uuid, step: i64, drift_steps: i64, at: Timestamp) -> StoreResult<bool> {
        win_step(&self.pool, id, step, drift_steps, at).await
    }

    async fn record_verification(
        &self,
        candidate: Option<(Uuid, i64, i64)>,
        success: &SignInEvent,
        failure: &SignInEvent,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        self.verifications.record(candidate, success.clone(), failure.clone(), ctx.clone()).await
    }

    async fn recovery_codes_left(&self, user_id: Uuid) -> StoreResult<i64> {
        unused_recovery_codes(&self.pool, user_id).await
    }
}
