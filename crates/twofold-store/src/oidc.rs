//! OpenID Connect storage: clients, signing keys and single-use authorization codes.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, Change};
use twofold_core::oidc::{Client, Grant, RefreshRefusal, RefreshToken, SigningKey};
use twofold_core::store::{StoreError, StoreResult};

use crate::store_error;
use crate::tx::AuditedTx;

const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, scopes, public, created_at, service, \
     token_lifetime_secs, previous_secret_hash, previous_secret_expires_at, min_acr, jwks, consent_required, \
     last_used_at, secret_set_at, id_token_alg, tls_cert_thumbprint, token_endpoint_auth_method, may_introspect";

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
        service: row.try_get::<i64, _>("service").map_err(store_error)? != 0,
        min_acr: row.try_get("min_acr").map_err(store_error)?,
        consent_required: row.try_get::<i64, _>("consent_required").map_err(store_error)? != 0,
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at").map_err(store_error)?.map(Timestamp),
        secret_set_at: row.try_get::<Option<i64>, _>("secret_set_at").map_err(store_error)?.map(Timestamp),
        id_token_alg: row.try_get("id_token_alg").map_err(store_error)?,
        tls_cert_thumbprint: row.try_get("tls_cert_thumbprint").map_err(store_error)?,
        token_endpoint_auth_method: row.try_get("token_endpoint_auth_method").map_err(store_error)?,
        may_introspect: row.try_get::<i64, _>("may_introspect").map_err(store_error)? != 0,
        jwks: row
            .try_get::<Option<String>, _>("jwks")
            .map_err(store_error)?
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| StoreError::Other(format!("stored jwks: {e}")))?,
        token_lifetime_secs: row.try_get("token_lifetime_secs").map_err(store_error)?,
        previous_secret_hash: row.try_get("previous_secret_hash").map_err(store_error)?,
        previous_secret_expires_at: row
            .try_get::<Option<i64>, _>("previous_secret_expires_at")
            .map_err(store_error)?
            .map(Timestamp),
        created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
    })
}

pub(crate) async fn create_client(pool: &AnyPool, client: &Client, ctx: &AuditContext) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO oidc_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
    )))
    .bind(&client.client_id)
    .bind(&client.name)
    .bind(&client.secret_hash)
    .bind(serde_json::to_string(&client.redirect_uris).unwrap_or_default())
    .bind(serde_json::to_string(&client.scopes).unwrap_or_default())
    .bind(i64::from(client.public))
    .bind(client.created_at.millis())
    .bind(i64::from(client.service))
    .bind(client.token_lifetime_secs)
    .bind(&client.previous_secret_hash)
    .bind(client.previous_secret_expires_at.map(Timestamp::millis))
    .bind(&client.min_acr)
    .bind(client.jwks.as_ref().map(|keys| serde_json::Value::from(keys.clone()).to_string()))
    .bind(i64::from(client.consent_required))
    .bind(client.last_used_at.map(Timestamp::millis))
    .bind(client.secret_set_at.or(client.secret_hash.as_ref().map(|_| client.created_at)).map(Timestamp::millis))
    .bind(&client.id_token_alg)
    .bind(&client.tls_cert_thumbprint)
    .bind(&client.token_endpoint_auth_method)
    .bind(i64::from(client.may_introspect))
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

pub(crate) async fn rotate_secret(
    pool: &AnyPool,
    client_id: &str,
    new_hash: &str,
    previous_expires_at: Timestamp,
    now: Timestamp,
    ctx: &AuditContext,
) -> StoreResult<bool> {
    let mut tx = AuditedTx::begin(pool).await?;
    let rotated = sqlx::query(
        "UPDATE oidc_clients SET previous_secret_hash = secret_hash, previous_secret_expires_at = $1, secret_hash = $2,
                secret_set_at = $4
         WHERE client_id = $3 AND secret_hash IS NOT NULL",
    )
    .bind(previous_expires_at.millis())
    .bind(new_hash)
    .bind(client_id)
    .bind(now.millis())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?
    .rows_affected();
    if rotated == 0 {
        return Ok(false);
    }
    let change = Change::new("client.secret_rotate", "client", Some(client_id.to_owned()))
        .states(None, Some(serde_json::json!({"previous_secret_expires_at": previous_expires_at})));
    tx.append(&change, ctx).await?;
    tx.commit().await?;
    Ok(true)
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
    let retired = sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND alg = $2")
        .bind(key.created_at.millis())
        .bind(&key.alg)
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

const REFRESH_COLUMNS: &str = "token_hash, family_id, grant_json, created_at, expires_at";

fn refresh_from_row(row: &AnyRow) -> StoreResult<RefreshToken> {
    let grant: String = row.try_get("grant_json").map_err(store_error)?;
    Ok(RefreshToken {
        token_hash: row.try_get("token_hash").map_err(store_error)?,
        family_id: row.try_get("family_id").map_err(store_error)?,
        grant: serde_json::from_str(&grant).map_err(|e| StoreError::Other(e.to_string()))?,
        created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
        expires_at: Timestamp(row.try_get("expires_at").map_err(store_error)?),
    })
}

pub(crate) async fn put_refresh(pool: &AnyPool, token: &RefreshToken) -> StoreResult<bool> {
    // Not into a revoked family: a replay that revoked it while this token was being issued wins.
    let inserted = sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, grant_json, created_at, expires_at)
         SELECT $1, $2, $3, $4, $5, $6, $7
         WHERE NOT EXISTS (SELECT 1 FROM revoked_token_families WHERE family_id = $2)",
    )
    .bind(&token.token_hash)
    .bind(&token.family_id)
    .bind(&token.grant.client_id)
    .bind(token.grant.user_id.to_string())
    .bind(serde_json::to_string(&token.grant).map_err(|e| StoreError::Other(e.to_string()))?)
    .bind(token.created_at.millis())
    .bind(token.expires_at.millis())
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(inserted.rows_affected() == 1)
}

pub(crate) async fn use_refresh(
    pool: &AnyPool,
    token_hash: &str,
    client_id: &str,
    now: Timestamp,
) -> StoreResult<Result<RefreshToken, RefreshRefusal>> {
    let won = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE refresh_tokens SET used_at = $1
         WHERE token_hash = $2 AND client_id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
         RETURNING {REFRESH_COLUMNS}"
    )))
    .bind(now.millis())
    .bind(token_hash)
    .bind(client_id)
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    if let Some(row) = won {
        return Ok(Ok(refresh_from_row(&row)?));
    }
    let found: Option<(String, String, Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT family_id, client_id, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await
            .map_err(store_error)?;
    Ok(Err(match found {
        // Another client's token proves nothing about its owner's: refused, nothing revoked.
        Some((_, owner, ..)) if owner != client_id => RefreshRefusal::OtherClient,
        Some((family_id, _, used, revoked)) if used.is_some() || revoked.is_some() => RefreshRefusal::Reused(family_id),
        _ => RefreshRefusal::Unknown,
    }))
}

/// Marks a family revoked (its access tokens carry it as `fid`) and revokes its refresh
/// tokens; returns how many were not revoked yet. Marks older than two token lifetimes are
/// dropped: nothing they could deny is alive any more (refresh tokens keep `revoked_at`).
async fn revoke_family_rows(conn: &mut sqlx::AnyConnection, family_id: &str, now: Timestamp) -> StoreResult<u64> {
    sqlx::query("DELETE FROM revoked_token_families WHERE revoked_at < $1")
        .bind(now.plus_seconds(-2 * twofold_core::oidc::TOKEN_LIFETIME_SECS).millis())
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    sqlx::query(
        "INSERT INTO revoked_token_families (family_id, revoked_at) VALUES ($1, $2) ON CONFLICT (family_id) DO NOTHING",
    )
    .bind(family_id)
    .bind(now.millis())
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now.millis())
        .bind(family_id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?
        .rows_affected())
}

pub(crate) async fn revoke_token_family(
    pool: &AnyPool,
    family_id: &str,
    reason: &str,
    now: Timestamp,
    ctx: &AuditContext,
) -> StoreResult<u64> {
    let mut tx = AuditedTx::begin(pool).await?;
    let revoked = revoke_family_rows(&mut tx.tx, family_id, now).await?;
    let change = Change::new("oidc.token_family_revoke", "token_family", Some(family_id.to_owned()))
        .states(None, Some(serde_json::json!({"reason": reason, "refresh_tokens_revoked": revoked})));
    tx.append(&change, ctx).await?;
    tx.commit().await?;
    Ok(revoked)
}

pub(crate) async fn token_family_revoked(pool: &AnyPool, family_id: &str) -> StoreResult<bool> {
    let found: Option<(String,)> = sqlx::query_as("SELECT family_id FROM revoked_token_families WHERE family_id = $1")
        .bind(family_id)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?;
    Ok(found.is_some())
}

pub(crate) async fn live_refresh(
    pool: &AnyPool,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<Option<RefreshToken>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REFRESH_COLUMNS} FROM refresh_tokens
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
    )))
    .bind(token_hash)
    .bind(now.millis())
    .fetch_optional(pool)
    .await
    .map_err(store_error)?
    .as_ref()
    .map(refresh_from_row)
    .transpose()
}

pub(crate) async fn revoke_family(
    pool: &AnyPool,
    token_hash: &str,
    client_id: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let mut tx = pool.begin().await.map_err(store_error)?;
    let family: Option<(String,)> =
        sqlx::query_as("SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2")
            .bind(token_hash)
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
    let revoked = match family {
        Some((family_id,)) => revoke_family_rows(&mut tx, &family_id, now).await? > 0,
        None => false,
    };
    tx.commit().await.map_err(store_error)?;
    Ok(revoked)
}

pub(crate) async fn revoke_access(pool: &AnyPool, jti: &str, expires_at: Timestamp) -> StoreResult<()> {
    sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at < $1")
        .bind(expires_at.plus_seconds(-2 * twofold_core::oidc::TOKEN_LIFETIME_SECS).millis())
        .execute(pool)
        .await
        .map_err(store_error)?;
    sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
        .bind(jti)
        .bind(expires_at.millis())
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn access_revoked(pool: &AnyPool, jti: &str) -> StoreResult<bool> {
    let found: Option<(String,)> = sqlx::query_as("SELECT jti FROM revoked_access_tokens WHERE jti = $1")
        .bind(jti)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?;
    Ok(found.is_some())
}

/// Records a client assertion's `jti` until it expires; false when it was seen before.
pub(crate) async fn use_client_assertion(
    pool: &AnyPool,
    client_id: &str,
    jti: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> StoreResult<bool> {
    sqlx::query("DELETE FROM client_assertions WHERE expires_at < $1")
        .bind(now.millis())
        .execute(pool)
        .await
        .map_err(store_error)?;
    let inserted = sqlx::query(
        "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(client_id)
    .bind(jti)
    .bind(expires_at.millis())
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(inserted.rows_affected() == 1)
}

pub(crate) async fn consented_scopes(
    pool: &AnyPool,
    user_id: &str,
    client_id: &str,
) -> StoreResult<Option<Vec<String>>> {
    let row = sqlx::query("SELECT scopes FROM oidc_consents WHERE user_id = $1 AND client_id = $2")
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?;
    row.map(|row| json_list(&row, "scopes")).transpose()
}

pub(crate) async fn grant_consent(
    pool: &AnyPool,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
    now: Timestamp,
    ctx: &AuditContext,
) -> StoreResult<()> {
    let mut tx = AuditedTx::begin(pool).await?;
    let scopes_json = serde_json::to_string(scopes).unwrap_or_default();
    sqlx::query(
        "INSERT INTO oidc_consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
    )
    .bind(user_id)
    .bind(client_id)
    .bind(&scopes_json)
    .bind(now.millis())
    .execute(&mut *tx.tx)
    .await
    .map_err(store_error)?;
    let after = serde_json::json!({"user_id": user_id, "client_id": client_id, "scopes": scopes});
    tx.append(&Change::new("consent.grant", "client", Some(client_id.to_owned())).states(None, Some(after)), ctx)
        .await?;
    tx.commit().await
}

pub(crate) async fn note_client_used(
    pool: &AnyPool,
    client_id: &str,
    now: Timestamp,
    unless_after: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE oidc_clients SET last_used_at = $1 WHERE client_id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now.millis())
    .bind(client_id)
    .bind(unless_after.millis())
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(())
}
