//! OpenID Connect storage: clients, signing keys and single-use authorization codes.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, Change};
use twofold_core::oidc::{Client, Grant, SigningKey};
use twofold_core::store::{StoreError, StoreResult};

use crate::store_error;
use crate::tx::AuditedTx;

const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, scopes, public, created_at";

fn json_list(row: &AnyRow, column: &str) -> StoreResult<Vec<String>> {
    let text: String = row.try_get(column).map_err(store_error)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Other(format!("stored {column}: {e}")))
}

fn client_from_row(row: &AnyRow) -> StoreResult<Client> {
    Ok(Client {
        client_id: row.try_get("client_id").map_err(store_error)?,
        name: row.try_get("name").map_err(store_error)?,
        secret_hash: row.try_get("secret_hash").map_err(store_error)?,
        redirect_uris: json_list(row, "redirect_uris")?,
        scopes: json_list(row, "scopes")?,
        public: row.try_get::<i64, _>("public").map_err(store_error)? != 0,
        created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
    })
}

pub(crate) async fn create_client(pool: &AnyPool, client: &Client, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO oidc_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )))
    .bind(&client.client_id)
    .bind(&client.name)
    .bind(&client.secret_hash)
    .bind(serde_json::to_string(&client.redirect_uris).unwrap_or_default())
    .bind(serde_json::to_string(&client.scopes).unwrap_or_default())
    .bind(i64::from(client.public))
    .bind(client.created_at.millis())
    .execute(&mut *tx.tx)
    .await
    .map_err(|e| match store_error(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("client_id '{}' is taken", client.client_id)),
        other => other,
    })?;
    let after = serde_json::to_value(client).map_err(|e| StoreError::Other(e.to_string()))?;
    tx.append(&Change::new("client.create", "client", Some(client.client_id.clone())).states(None, Some(after)), ctx)
        .await?;
    tx.commit().await
}

pub(crate) async fn client(pool: &AnyPool, client_id: &str) -> StoreResult<Option<Client>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1")))
        .bind(client_id)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(client_from_row)
        .transpose()
}

pub(crate) async fn clients(pool: &AnyPool) -> StoreResult<Vec<Client>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY name")))
        .fetch_all(pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(client_from_row)
        .collect()
}

pub(crate) async fn signing_keys(pool: &AnyPool) -> StoreResult<Vec<SigningKey>> {
    let rows = sqlx::query(
        "SELECT kid, alg, sealed_private, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC",
    )
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            Ok(SigningKey {
                kid: row.try_get("kid").map_err(store_error)?,
                alg: row.try_get("alg").map_err(store_error)?,
                sealed_private: row.try_get("sealed_private").map_err(store_error)?,
                public_jwk: row.try_get("public_jwk").map_err(store_error)?,
                created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
                retired_at: row.try_get::<Option<i64>, _>("retired_at").map_err(store_error)?.map(Timestamp),
            })
        })
        .collect()
}

pub(crate) async fn add_signing_key(pool: &AnyPool, key: &SigningKey, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    let retired = sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
        .bind(key.created_at.millis())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, sealed_private, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(key.sealed_private.clone())
    .bind(&key.public_jwk)
    .bind(key.created_at.millis())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    let change = Change::new("signing_key.rotate", "signing_key", Some(key.kid.clone()))
        .states(None, Some(serde_json::json!({"kid": key.kid, "alg": key.alg, "retired": retired})));
    tx.append(&change, ctx).await?;
    tx.commit().await
}

pub(crate) async fn put_code(
    pool: &AnyPool,
    code_hash: &str,
    grant: &Grant,
    now: Timestamp,
    expires_at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
        .bind(now.plus_seconds(-3600).millis())
        .execute(pool)
        .await
        .map_err(store_error)?;
    sqlx::query(
        "INSERT INTO authorization_codes (code_hash, client_id, user_id, grant_json, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(code_hash)
    .bind(&grant.client_id)
    .bind(grant.user_id.to_string())
    .bind(serde_json::to_string(grant).map_err(|e| StoreError::Other(e.to_string()))?)
    .bind(now.millis())
    .bind(expires_at.millis())
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn redeem_code(pool: &AnyPool, code_hash: &str, now: Timestamp) -> StoreResult<Result<Grant, bool>> {
    let won: Option<(String,)> = sqlx::query_as(
        "UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1
         RETURNING grant_json",
    )
    .bind(now.millis())
    .bind(code_hash)
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    if let Some((json,)) = won {
        return Ok(Ok(serde_json::from_str(&json).map_err(|e| StoreError::Other(e.to_string()))?));
    }
    let used: Option<(Option<i64>,)> = sqlx::query_as("SELECT used_at FROM authorization_codes WHERE code_hash = $1")
        .bind(code_hash)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?;
    Ok(Err(matches!(used, Some((Some(_),)))))
}
