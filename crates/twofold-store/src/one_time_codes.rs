//! Email and SMS one-time codes: sent codes as keyed hashes, with expiry, wrong-guess
//! counts and single use decided by compare-and-swap updates.

use sqlx::AnyPool;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, Change};
use twofold_core::fallback::{CodePurpose, MAX_ATTEMPTS, OneTimeCode};
use twofold_core::store::StoreResult;
use uuid::Uuid;

use crate::store_error;
use crate::tx::AuditedTx;

pub(crate) async fn create(
    pool: &AnyPool,
    code: &OneTimeCode,
    destination: &str,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    sqlx::query(
        "INSERT INTO one_time_codes (id, user_id, authenticator_id, purpose, code_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(code.id.to_string())
    .bind(code.user_id.to_string())
    .bind(code.authenticator_id.to_string())
    .bind(code.purpose.as_str())
    .bind(&code.code_hash)
    .bind(code.created_at.millis())
    .bind(code.expires_at.millis())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    let change = Change::new("one_time_code.send", "user", Some(code.user_id.to_string())).states(
        None,
        Some(serde_json::json!({
            "authenticator_id": code.authenticator_id,
            "purpose": code.purpose,
            "destination": twofold_core::fallback::mask_destination(destination),
            "expires_at": code.expires_at,
        })),
    );
    tx.append(&change, ctx).await?;
    tx.commit().await
}

pub(crate) async fn sends_since(
    pool: &AnyPool,
    authenticator_id: Uuid,
    purpose: CodePurpose,
    since: Timestamp,
) -> StoreResult<Vec<Timestamp>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT created_at FROM one_time_codes WHERE authenticator_id = $1 AND purpose = $2 AND created_at >= $3",
    )
    .bind(authenticator_id.to_string())
    .bind(purpose.as_str())
    .bind(since.millis())
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    Ok(rows.into_iter().map(|(t,)| Timestamp(t)).collect())
}

pub(crate) async fn redeem(
    pool: &AnyPool,
    user_id: Uuid,
    purpose: CodePurpose,
    code_hash: &str,
    now: Timestamp,
) -> StoreResult<Option<Uuid>> {
    let mut tx = pool.begin().await.map_err(store_error)?;
    let used: Option<(String,)> = sqlx::query_as(
        "UPDATE one_time_codes SET used_at = $1
         WHERE user_id = $2 AND purpose = $3 AND code_hash = $4 AND used_at IS NULL AND expires_at > $1
           AND attempts < $5
         RETURNING authenticator_id",
    )
    .bind(now.millis())
    .bind(user_id.to_string())
    .bind(purpose.as_str())
    .bind(code_hash)
    .bind(MAX_ATTEMPTS)
    .fetch_optional(&mut *tx)
    .await
    .map_err(store_error)?;
    let authenticator = match used {
        Some((id,)) => {
            sqlx::query("UPDATE authenticators SET last_used_at = $1 WHERE id = $2")
                .bind(now.millis())
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            Some(Uuid::parse_str(&id).map_err(|_| {
                twofold_core::store::StoreError::Other(format!("stored authenticator_id '{id}' is not a UUID"))
            })?)
        }
        None => {
            // A miss is a wrong guess against every live code of this purpose.
            sqlx::query(
                "UPDATE one_time_codes SET attempts = attempts + 1
                 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
            )
            .bind(user_id.to_string())
            .bind(purpose.as_str())
            .bind(now.millis())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
            None
        }
    };
    tx.commit().await.map_err(store_error)?;
    Ok(authenticator)
}
