//! Admin API keys: issue (shown once), authenticate, list, revoke.

use super::Identities;
use twofold_core::Timestamp;
use twofold_core::audit::ActorKind;
use twofold_core::identity::Role;
use twofold_core::identity::api_key::{ApiKey, parse_token};
use twofold_core::signin::session::AuthContext;

use crate::{Actor, AppError, AppResult, RequestMeta};

/// How long a node reuses an API key record it read (the secret is checked every time): a
/// revoked or expired key stops working everywhere within this time.
pub const API_KEY_CACHE_MS: i64 = 5_000;

/// How stale a key's "last used" time may be.
const TOUCH_INTERVAL_MS: i64 = 60_000;

impl Identities {
    /// Issues a key; returns the token (to show once) and the stored record.
    ///
    /// # Errors
    /// A blank or over-long name; storage failures.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        name: &str,
        role: Role,
        expires_at: Option<Timestamp>,
    ) -> AppResult<(String, ApiKey)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(twofold_core::ValidationErrors::one("name", "must be 1–64 characters").into());
        }
        if !twofold_core::identity::api_key::API_KEY_ROLES.contains(&role) {
            return Err(twofold_core::ValidationErrors::one(
                "role",
                format!("'{role}' is not a role an API key may have"),
            )
            .into());
        }
        if expires_at.is_some_and(|e| e <= self.now()) {
            return Err(twofold_core::ValidationErrors::one("expires", "must be in the future").into());
        }
        let (token, key) = ApiKey::generate(name.to_owned(), role, self.now(), expires_at);
        self.store.create_api_key(&key, &self.audit_context(actor, meta)).await?;
        Ok((token, key))
    }

    /// The actor a bearer token stands for.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for any unusable token.
    pub async fn authenticate_api_key(&self, token: &str) -> AppResult<(ApiKey, Actor)> {
        let (id, secret) = parse_token(token).map_err(|_| AppError::Unauthenticated)?;
        let now = self.now();
        let key = match self.cached_api_key(id, now) {
            Some(key) => key,
            None => {
                let key = self.store.api_key(id).await?.ok_or(AppError::Unauthenticated)?;
                if let Ok(mut cache) = self.api_key_cache.lock() {
                    cache.retain(|_, (_, fetched)| now.millis() - fetched.millis() < API_KEY_CACHE_MS);
                    cache.insert(key.id.clone(), (key.clone(), now));
                }
                key
            }
        };
        key.check(secret, now).map_err(|_| AppError::Unauthenticated)?;
        // "Last used" to the minute: a busy key (a gateway verifying codes) costs one write a
        // minute, not one per request.
        if key.last_used_at.is_none_or(|last| now.millis() - last.millis() >= TOUCH_INTERVAL_MS) {
            self.store.touch_api_key(&key.id, now).await?;
        }
        let actor = Actor {
            kind: ActorKind::ApiKey,
            id: Some(key.id.clone()),
            name: format!("api_key:{}", key.name),
            auth: AuthContext { amr: vec!["api_key".into()], acr: String::new(), auth_time: Some(now) },
        };
        Ok((key, actor))
    }

    /// All keys, newest first (no secrets).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list_api_keys(&self) -> AppResult<Vec<ApiKey>> {
        Ok(self.store.list_api_keys().await?)
    }

    /// A key record read within the last [`API_KEY_CACHE_MS`]: the secret is still checked
    /// on every request; only the database read is saved.
    fn cached_api_key(&self, id: &str, now: Timestamp) -> Option<ApiKey> {
        let cache = self.api_key_cache.lock().ok()?;
        cache.get(id).filter(|(_, fetched)| now.millis() - fetched.millis() < API_KEY_CACHE_MS).map(|(k, _)| k.clone())
    }

    /// Revokes a key. On this node it stops working at once; other nodes notice within
    /// [`API_KEY_CACHE_MS`].
    ///
    /// # Errors
    /// [`AppError::NotFound`] when there is no such active key.
    pub async fn revoke_api_key(&self, actor: &Actor, meta: &RequestMeta, id: &str) -> AppResult<()> {
        if let Ok(mut cache) = self.api_key_cache.lock() {
            cache.remove(id);
        }
        if self.store.revoke_api_key(id, &self.audit_context(actor, meta)).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("active API key"))
        }
    }
}
