//! What OpenID Connect tokens are signed with and stand for ([`OidcTokenStore`]): signing
//! keys, single-use authorization codes, rotating refresh tokens in families, and revoked
//! access tokens.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::oidc::{Grant, RefreshRefusal, RefreshToken, SigningKey};
use twofold_core::store::{OidcTokenStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

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

/// Marks a family revoked (its access tokens carry it as `fid`) and revokes its refresh
/// tokens; returns how many were not revoked yet. Marks older than two token lifetimes are
/// dropped: nothing they could deny is alive any more (refresh tokens keep `revoked_at`).
pub(crate) async fn revoke_family_rows(
    conn: &mut sqlx::AnyConnection,
    family_id: &str,
    now: Timestamp,
) -> StoreResult<u64> {
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

#[async_trait]
impl OidcTokenStore for SqlStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC",
        )
        .fetch_all(&self.pool)
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

    async fn add_signing_key(&self, key: &SigningKey, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
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
        let change = Change::new(AuditAction::SigningKeyRotate, Some(key.kid.clone()))
            .states(None, Some(serde_json::json!({"kid": key.kid, "alg": key.alg, "retired": retired})));
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn put_authorization_code(
        &self,
        code_hash: &str,
        grant: &Grant,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
            .bind(now.plus_seconds(-3600).millis())
            .execute(&self.pool)
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
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn redeem_authorization_code(&self, code_hash: &str, now: Timestamp) -> StoreResult<Result<Grant, bool>> {
        let won: Option<(String,)> = sqlx::query_as(
            "UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1
             RETURNING grant_json",
        )
        .bind(now.millis())
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        if let Some((json,)) = won {
            return Ok(Ok(serde_json::from_str(&json).map_err(|e| StoreError::Other(e.to_string()))?));
        }
        let used: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT used_at FROM authorization_codes WHERE code_hash = $1")
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(Err(matches!(used, Some((Some(_),)))))
    }

    async fn put_refresh_token(&self, token: &RefreshToken) -> StoreResult<bool> {
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
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn use_refresh_token(
        &self,
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
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        if let Some(row) = won {
            return Ok(Ok(refresh_from_row(&row)?));
        }
        let found: Option<(String, String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT family_id, client_id, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(Err(match found {
            // Another client's token proves nothing about its owner's: refused, nothing revoked.
            Some((_, owner, ..)) if owner != client_id => RefreshRefusal::OtherClient,
            Some((family_id, _, used, revoked)) if used.is_some() || revoked.is_some() => {
                RefreshRefusal::Reused(family_id)
            }
            _ => RefreshRefusal::Unknown,
        }))
    }

    async fn revoke_token_family(
        &self,
        family_id: &str,
        reason: &str,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<u64> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let revoked = revoke_family_rows(&mut tx.tx, family_id, now).await?;
        let change = Change::new(AuditAction::OidcTokenFamilyRevoke, Some(family_id.to_owned()))
            .states(None, Some(serde_json::json!({"reason": reason, "refresh_tokens_revoked": revoked})));
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn user_token_families(&self, user_id: Uuid, now: Timestamp) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT family_id FROM refresh_tokens
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY family_id",
        )
        .bind(user_id.to_string())
        .bind(now.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows.into_iter().map(|(family,)| family).collect())
    }

    async fn token_family_revoked(&self, family_id: &str) -> StoreResult<bool> {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT family_id FROM revoked_token_families WHERE family_id = $1")
                .bind(family_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(found.is_some())
    }

    async fn live_refresh_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<RefreshToken>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REFRESH_COLUMNS} FROM refresh_tokens
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
        )))
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(refresh_from_row)
        .transpose()
    }

    async fn revoke_refresh_family(&self, token_hash: &str, client_id: &str, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
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

    async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()> {
        sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at < $1")
            .bind(expires_at.plus_seconds(-2 * twofold_core::oidc::TOKEN_LIFETIME_SECS).millis())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        sqlx::query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at.millis())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        let found: Option<(String,)> = sqlx::query_as("SELECT jti FROM revoked_access_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(found.is_some())
    }
}
