//! Token-signing keys: making and rotating them, publishing the JWKS, signing, and checking
//! tokens Twofold issued (keys are reused for a few seconds; an unknown `kid` forces a re-read).

use super::*;

impl Provider {
    /// Makes new token-signing keys (RS256 for ID tokens, ES256 for access tokens); the
    /// previous ones stay published until the tokens they signed have expired. Returns the
    /// new `kid`s.
    ///
    /// # Errors
    /// No master key; storage failures.
    pub async fn rotate_signing_key(&self, actor: &Actor, meta: &RequestMeta) -> AppResult<Vec<String>> {
        let mut kids = Vec::new();
        for alg in SIGNING_ALGORITHMS {
            kids.push(self.rotate_key(alg, actor, meta).await?);
        }
        Ok(kids)
    }

    async fn rotate_key(&self, alg: &str, actor: &Actor, meta: &RequestMeta) -> AppResult<String> {
        let random = hex::encode(twofold_core::secret::random_bytes::<4>());
        let kid = format!("{}-{}-{random}", alg.to_ascii_lowercase(), self.now().millis() / 1000);
        let (private, jwk) = jose::generate(alg, &kid)?;
        let key = SigningKey {
            sealed_private: sealed::seal(&self.keys()?.seal, &format!("signing_key:{kid}"), &private),
            kid: kid.clone(),
            alg: alg.into(),
            public_jwk: jwk.to_string(),
            created_at: self.now(),
            retired_at: None,
        };
        self.store.add_signing_key(&key, &self.audit_context(actor, meta)).await?;
        self.signing_keys(true).await?;
        Ok(kid)
    }

    /// Makes the first signing key when there is none (at server start).
    ///
    /// # Errors
    /// As [`App::rotate_signing_key`].
    pub async fn ensure_signing_key(&self) -> AppResult<()> {
        let keys = self.store.signing_keys().await?;
        for alg in SIGNING_ALGORITHMS {
            if !keys.iter().any(|k| k.alg == alg && k.retired_at.is_none()) {
                self.rotate_key(alg, &Actor::system("twofold"), &RequestMeta::default()).await?;
            }
        }
        Ok(())
    }

    /// The published keys (JWKS `keys`): the active one and those retired within a token's life.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn jwks(&self) -> AppResult<Vec<serde_json::Value>> {
        // Read fresh: an app fetching the JWKS after a rotation on another node must find
        // the new key (this endpoint is fetched rarely; apps cache it).
        self.published_keys(true).await
    }

    async fn published_keys(&self, fresh: bool) -> AppResult<Vec<serde_json::Value>> {
        let now = self.now();
        Ok(self
            .signing_keys(fresh)
            .await?
            .iter()
            .filter(|k| k.is_published(now))
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect())
    }

    /// The signing keys, read at most every few seconds (`fresh` forces a read, e.g. for a
    /// `kid` another node has just made).
    async fn signing_keys(&self, fresh: bool) -> AppResult<std::sync::Arc<Vec<SigningKey>>> {
        let now = self.now();
        if !fresh
            && let Ok(cache) = self.signing_cache.lock()
            && let Some((fetched, keys)) = cache.as_ref()
            && now.millis() - fetched.millis() < CACHE_MS
        {
            return Ok(std::sync::Arc::clone(keys));
        }
        let keys = std::sync::Arc::new(self.store.signing_keys().await?);
        if let Ok(mut cache) = self.signing_cache.lock() {
            *cache = Some((now, std::sync::Arc::clone(&keys)));
        }
        Ok(keys)
    }

    /// Checks a token Twofold signed, re-reading the keys once for a `kid` not yet seen here.
    pub(crate) async fn verify_token<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> AppResult<Result<C, jose::TokenRejected>> {
        match jose::verify(token, &self.published_keys(false).await?) {
            Err(jose::TokenRejected("unknown kid")) => Ok(jose::verify(token, &self.published_keys(true).await?)),
            other => Ok(other),
        }
    }

    pub(crate) async fn sign<C: Serialize>(&self, alg: &str, typ: &str, claims: &C) -> AppResult<String> {
        let key = self
            .signing_keys(false)
            .await?
            .iter()
            .find(|k| k.alg == alg && k.retired_at.is_none())
            .cloned()
            .ok_or_else(|| AppError::Internal(format!("no active {alg} signing key")))?;
        let cached = self.private_keys.lock().ok().and_then(|keys| keys.get(&key.kid).cloned());
        let private = match cached {
            Some(private) => private,
            None => {
                let opened = sealed::open(&self.keys()?.seal, &format!("signing_key:{}", key.kid), &key.sealed_private)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                let opened = std::sync::Arc::new(opened);
                if let Ok(mut keys) = self.private_keys.lock() {
                    keys.insert(key.kid.clone(), std::sync::Arc::clone(&opened));
                }
                opened
            }
        };
        jose::sign(&private, alg, &key.kid, typ, claims)
    }
}
