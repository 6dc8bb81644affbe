//! OpenID Connect clients ([`OidcClientStore`]): registrations and their secrets, the
//! consents people gave them, and the client assertions they presented.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::oidc::Client;
use twofold_core::store::{OidcClientStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, scopes, public, created_at, service, \
     token_lifetime_secs, previous_secret_hash, previous_secret_expires_at, min_acr, jwks, consent_required, \
     last_used_at, secret_set_at, id_token_alg, tls_cert_thumbprint, token_endpoint_auth_method, may_introspect, \
     resources";

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
        resources: json_list(row, "resources")?,
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

#[async_trait]
impl OidcClientStore for SqlStore {
    async fn create_client(&self, client: &Client, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO oidc_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
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
        .bind(serde_json::to_string(&client.resources).unwrap_or_default())
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| match store_error(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("client_id '{}' is taken", client.client_id)),
            other => other,
        })?;
        let after = serde_json::to_value(client).map_err(|e| StoreError::Other(e.to_string()))?;
        tx.append(
            &Change::new(AuditAction::ClientCreate, Some(client.client_id.clone())).states(None, Some(after)),
            ctx,
        )
        .await?;
        tx.commit().await
    }

    async fn rotate_client_secret(
        &self,
        client_id: &str,
        new_hash: &str,
        previous_expires_at: Timestamp,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
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
        let change = Change::new(AuditAction::ClientSecretRotate, Some(client_id.to_owned()))
            .states(None, Some(serde_json::json!({"previous_secret_expires_at": previous_expires_at})));
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_client(&self, before: &Client, client: &Client, ctx: &AuditContext) -> StoreResult<bool> {
        let list = |items: &[String]| serde_json::to_string(items).unwrap_or_default();
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let updated = sqlx::query(
            "UPDATE oidc_clients SET name = $1, redirect_uris = $2, scopes = $3, min_acr = $4, consent_required = $5
             WHERE client_id = $6 AND name = $7 AND redirect_uris = $8 AND scopes = $9
               AND min_acr IS NOT DISTINCT FROM $10 AND consent_required = $11",
        )
        .bind(&client.name)
        .bind(list(&client.redirect_uris))
        .bind(list(&client.scopes))
        .bind(&client.min_acr)
        .bind(i64::from(client.consent_required))
        .bind(&client.client_id)
        .bind(&before.name)
        .bind(list(&before.redirect_uris))
        .bind(list(&before.scopes))
        .bind(&before.min_acr)
        .bind(i64::from(before.consent_required))
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        let fields = |c: &Client| {
            serde_json::json!({
                "name": c.name, "redirect_uris": c.redirect_uris, "scopes": c.scopes,
                "min_acr": c.min_acr, "consent_required": c.consent_required,
            })
        };
        let change = Change::new(AuditAction::ClientUpdate, Some(client.client_id.clone()))
            .states(Some(fields(before)), Some(fields(client)));
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn remove_client(&self, client_id: &str, now: Timestamp, ctx: &AuditContext) -> StoreResult<bool> {
        let Some(client) = self.client(client_id).await? else { return Ok(false) };
        let mut tx = AuditedTx::begin(&self.pool).await?;
        // Deleting returns every family a committed refresh token has, even one stored after
        // this transaction began; one stored later holds a key share on the client row, so
        // deleting the client below then fails rather than leave its family alive.
        let families: Vec<(String,)> =
            sqlx::query_as("DELETE FROM refresh_tokens WHERE client_id = $1 RETURNING family_id")
                .bind(client_id)
                .fetch_all(&mut *tx.tx)
                .await
                .map_err(store_error)?;
        let mut revoked = std::collections::BTreeSet::new();
        for (family,) in &families {
            if revoked.insert(family.clone()) {
                crate::oidc::tokens::revoke_family_rows(&mut tx.tx, family, now).await?;
            }
        }
        for table in ["authorization_codes", "oidc_consents", "client_assertions", "approval_callbacks"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE client_id = $1")))
                .bind(client_id)
                .execute(&mut *tx.tx)
                .await
                .map_err(store_error)?;
        }
        let removed = sqlx::query("DELETE FROM oidc_clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        let mut before = serde_json::to_value(&client).map_err(|e| StoreError::Other(e.to_string()))?;
        if let Some(map) = before.as_object_mut() {
            map.insert("token_families_revoked".into(), revoked.len().into());
        }
        let change = Change::new(AuditAction::ClientRemove, Some(client_id.to_owned())).states(Some(before), None);
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1")))
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(client_from_row)
            .transpose()
    }

    async fn clients(&self) -> StoreResult<Vec<Client>> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY name")))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?
            .iter()
            .map(client_from_row)
            .collect()
    }

    async fn note_client_used(&self, client_id: &str, now: Timestamp, unless_after: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE oidc_clients SET last_used_at = $1 WHERE client_id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now.millis())
        .bind(client_id)
        .bind(unless_after.millis())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn consented_scopes(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<Vec<String>>> {
        let row = sqlx::query("SELECT scopes FROM oidc_consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id.to_string())
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(|row| json_list(&row, "scopes")).transpose()
    }

    async fn grant_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &[String],
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let user_id = user_id.to_string();
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let scopes_json = serde_json::to_string(scopes).unwrap_or_default();
        sqlx::query(
            "INSERT INTO oidc_consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        )
        .bind(&user_id)
        .bind(client_id)
        .bind(&scopes_json)
        .bind(now.millis())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let after = serde_json::json!({"user_id": user_id, "client_id": client_id, "scopes": scopes});
        tx.append(&Change::new(AuditAction::ConsentGrant, Some(client_id.to_owned())).states(None, Some(after)), ctx)
            .await?;
        tx.commit().await
    }

    async fn user_consents(&self, user_id: Uuid) -> StoreResult<Vec<twofold_core::oidc::Consent>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT client_id, scopes, granted_at FROM oidc_consents WHERE user_id = $1 ORDER BY granted_at DESC, client_id",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter()
            .map(|(client_id, scopes, granted_at)| {
                Ok(twofold_core::oidc::Consent {
                    client_id,
                    scopes: serde_json::from_str(&scopes)
                        .map_err(|e| StoreError::Other(format!("stored consent scopes: {e}")))?,
                    granted_at: Timestamp(granted_at),
                })
            })
            .collect()
    }

    async fn revoke_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        let user_id = user_id.to_string();
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let removed: Option<(String,)> =
            sqlx::query_as("DELETE FROM oidc_consents WHERE user_id = $1 AND client_id = $2 RETURNING scopes")
                .bind(&user_id)
                .bind(client_id)
                .fetch_optional(&mut *tx.tx)
                .await
                .map_err(store_error)?;
        let Some((scopes,)) = removed else { return Ok(false) };
        sqlx::query("DELETE FROM authorization_codes WHERE user_id = $1 AND client_id = $2")
            .bind(&user_id)
            .bind(client_id)
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        let families: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
        )
        .bind(&user_id)
        .bind(client_id)
        .fetch_all(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        for (family,) in &families {
            crate::oidc::tokens::revoke_family_rows(&mut tx.tx, family, now).await?;
        }
        let scopes: Vec<String> = serde_json::from_str(&scopes).unwrap_or_default();
        let before = serde_json::json!({
            "user_id": user_id, "client_id": client_id, "scopes": scopes, "token_families_revoked": families.len(),
        });
        tx.append(&Change::new(AuditAction::ConsentRevoke, Some(client_id.to_owned())).states(Some(before), None), ctx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records a client assertion's `jti` until it expires; false when it was seen before.
    async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        sqlx::query("DELETE FROM client_assertions WHERE expires_at < $1")
            .bind(now.millis())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        let inserted = sqlx::query(
            "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(client_id)
        .bind(jti)
        .bind(expires_at.millis())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(inserted.rows_affected() == 1)
    }
}
