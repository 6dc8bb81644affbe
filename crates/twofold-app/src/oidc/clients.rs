//! Registering OpenID Connect clients and authenticating them at the token, revocation and
//! introspection endpoints (client records are reused for a few seconds).

use twofold_core::oidc::client_assertion::{self, ASSERTION_TYPE, AssertionClaims};

use super::*;

/// How often a client's "last used" time is written (milliseconds).
const USE_NOTE_MS: i64 = 60_000;

/// The client a token request names: its `client_id`, or with an assertion and no
/// `client_id`, the assertion's `sub` (RFC 7523 §3), unverified until its keys check it.
pub(super) fn named_client_id(request: &TokenRequest) -> String {
    match (&request.client_assertion, request.client_id.is_empty()) {
        (Some(jwt), true) => {
            crate::oidc::jose::unverified_claims::<AssertionClaims>(jwt).map(|c| c.sub).unwrap_or_default()
        }
        _ => request.client_id.clone(),
    }
}

impl Provider {
    /// Registers a client; returns it and, for a confidential client, its secret (shown once).
    ///
    /// # Errors
    /// A blank name, no or bad redirect URIs.
    pub async fn register_client(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        new: &NewClient,
    ) -> AppResult<(Client, Option<String>)> {
        let NewClient {
            name,
            redirect_uris,
            public,
            scopes,
            min_acr,
            third_party,
            id_token_alg,
            token_endpoint_auth_method,
            may_introspect,
        } = new;
        let (public, min_acr) = (*public, min_acr.as_deref());
        let mut errors = twofold_core::ValidationErrors::default();
        if let Some(acr) = min_acr.filter(|a| !oidc::STRENGTHS.contains(a)) {
            errors.add("min_acr", format!("'{acr}' is not one of: pwd, mfa, phr, phrh"));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.add("name", "must be 1–100 characters");
        }
        if let Some(alg) = id_token_alg.as_deref().filter(|a| !oidc::ID_TOKEN_ALGORITHMS.contains(a)) {
            errors.add("id_token_alg", format!("'{alg}' is not one of: RS256, ES256, EdDSA"));
        }
        if redirect_uris.is_empty() {
            errors.add("redirect_uri", "at least one is needed");
        }
        let method = match (token_endpoint_auth_method.as_deref(), public) {
            (None, true) | (Some("none"), true) => "none",
            (None | Some("client_secret_basic"), false) => "client_secret_basic",
            (Some("client_secret_post"), false) => "client_secret_post",
            (Some(other), _) => {
                let allowed = if public { "none" } else { "client_secret_basic or client_secret_post" };
                errors.add("token_endpoint_auth_method", format!("'{other}' is not {allowed} for this client"));
                "none"
            }
        };
        let uris: Vec<String> = redirect_uris
            .iter()
            .filter_map(|u| oidc::check_redirect_uri(u).map_err(|e| errors.0.extend(e.0)).ok())
            .collect();
        errors.into_result()?;
        let client_id = format!("tfc_{}", hex::encode(twofold_core::secret::random_bytes::<8>()));
        let secret = (!public).then(twofold_core::secret::random_token);
        let mut scopes: Vec<String> = scopes.clone();
        if scopes.is_empty() {
            scopes = ["openid", "profile", "email", "groups"].map(String::from).to_vec();
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let client = Client {
            secret_hash: secret.as_deref().map(|s| self.client_secret_hash(&client_id, s)).transpose()?,
            client_id,
            name: name.to_owned(),
            redirect_uris: uris,
            scopes,
            public,
            service: false,
            token_lifetime_secs: None,
            min_acr: min_acr.filter(|a| *a != "pwd").map(str::to_owned),
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            consent_required: *third_party,
            jwks: None,
            id_token_alg: id_token_alg.clone().filter(|a| a != "RS256"),
            tls_cert_thumbprint: None,
            resources: Vec::new(),
            token_endpoint_auth_method: Some(method.to_owned()),
            may_introspect: *may_introspect,
            last_used_at: None,
            secret_set_at: None,
            created_at: self.now(),
        };
        self.store.create_client(&client, &self.audit_context(actor, meta)).await?;
        Ok((client, secret))
    }

    /// The client with this id (a record read in the last few seconds may be reused).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn oidc_client(&self, client_id: &str) -> AppResult<Option<Client>> {
        self.client_record(client_id, false).await.map_err(|e| AppError::Internal(e.description))
    }

    /// Every registered client.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn clients(&self) -> AppResult<Vec<Client>> {
        Ok(self.store.clients().await?)
    }

    /// A client record, read at most every few seconds (`fresh` forces a read).
    async fn client_record(&self, client_id: &str, fresh: bool) -> Result<Option<Client>, OAuthError> {
        let now = self.now();
        if !fresh
            && let Some((fetched, client)) = self.client_cache.lock().ok().and_then(|c| c.get(client_id).cloned())
            && now.millis() - fetched.millis() < CACHE_MS
        {
            return Ok(Some(client));
        }
        let client = self.store.client(client_id).await.map_err(|e| oauth("server_error", e.to_string()))?;
        if let (Some(found), Ok(mut cache)) = (&client, self.client_cache.lock()) {
            cache.retain(|_, (fetched, _)| now.millis() - fetched.millis() < CACHE_MS);
            cache.insert(client_id.to_owned(), (now, found.clone()));
        }
        Ok(client)
    }

    /// Authenticates a client at the token, revocation or introspection endpoint: by secret,
    /// by `private_key_jwt` assertion, or by id alone for a public client — only by the method
    /// it registered (`token_endpoint_auth_method`): a `client_secret_basic` client's secret in
    /// the form body is refused, and so on. Re-reads the record
    /// once when the credentials do not match (a secret or key may have changed on another
    /// node a moment ago).
    ///
    /// # Errors
    /// `invalid_client` (or `server_error`).
    pub async fn authenticate_client(&self, request: &TokenRequest) -> Result<Client, OAuthError> {
        match self.check_client(request, false).await {
            Err(e) if e.error == "invalid_client" => self.check_client(request, true).await,
            other => other,
        }
    }

    async fn check_client(&self, request: &TokenRequest, fresh: bool) -> Result<Client, OAuthError> {
        let assertion = match (request.client_assertion_type.as_deref(), request.client_assertion.as_deref()) {
            (None, None) => None,
            (Some(ASSERTION_TYPE), Some(jwt)) if request.client_secret.is_none() => Some(jwt),
            _ => return Err(oauth("invalid_client", format!("send one client_assertion of type {ASSERTION_TYPE}"))),
        };
        let client_id = named_client_id(request);
        let client =
            self.client_record(&client_id, fresh).await?.ok_or_else(|| oauth("invalid_client", "unknown client"))?;
        let used = match (assertion, &request.client_secret) {
            (Some(_), _) => "private_key_jwt",
            (None, Some(_)) if request.basic_auth => "client_secret_basic",
            (None, Some(_)) => "client_secret_post",
            (None, None) if client.tls_cert_thumbprint.is_some() => "tls_client_auth",
            (None, None) => "none",
        };
        let client = self.check_credentials(client, request, assertion).await?;
        let registered = client.auth_method();
        if registered != used {
            return Err(oauth(
                "invalid_client",
                format!("this client is registered to authenticate with {registered}, not {used}"),
            ));
        }
        Ok(client)
    }

    /// Whether the credentials presented are the client's (whichever method they use).
    async fn check_credentials(
        &self,
        client: Client,
        request: &TokenRequest,
        assertion: Option<&str>,
    ) -> Result<Client, OAuthError> {
        if let Some(jwt) = assertion {
            return self.check_assertion(client, jwt).await;
        }
        if let Some(pinned) = &client.tls_cert_thumbprint
            && request.client_secret.is_none()
        {
            // tls_client_auth (RFC 8705 §2): the handshake verified the chain to --client-ca;
            // the account is pinned to its own certificate.
            let presented = request.client_cert_thumbprint.as_deref().unwrap_or("");
            return if twofold_core::secret::constant_time_eq(presented.as_bytes(), pinned.as_bytes()) {
                Ok(client)
            } else if presented.is_empty() {
                Err(oauth("invalid_client", "this client authenticates with its TLS client certificate"))
            } else {
                Err(oauth("invalid_client", "the TLS client certificate is not this client's"))
            };
        }
        match (&client.secret_hash, &request.client_secret) {
            (None, None) if client.public => Ok(client),
            (None, None) => Err(oauth("invalid_client", "this client authenticates with a signed client_assertion")),
            (Some(stored), Some(secret)) => {
                let presented = self
                    .client_secret_hash(&client.client_id, secret)
                    .map_err(|e| oauth("server_error", e.to_string()))?;
                let matches =
                    |hash: &str| twofold_core::secret::constant_time_eq(hash.as_bytes(), presented.as_bytes());
                // During a rotation the previous secret works until its expiry.
                let previous_ok = client.previous_secret_hash.as_deref().is_some_and(matches)
                    && client.previous_secret_expires_at.is_some_and(|until| self.now() < until);
                if matches(stored) || previous_ok {
                    Ok(client)
                } else {
                    Err(oauth("invalid_client", "wrong client secret"))
                }
            }
            (Some(_), None) => Err(oauth("invalid_client", "this client must authenticate")),
            (None, Some(_)) => Err(oauth("invalid_client", "this client has no secret")),
        }
    }

    /// Records that a client got a token: written at most once a minute per client and node
    /// (what the service-account report needs), never failing the grant.
    pub(super) async fn note_client_used(&self, client_id: &str) {
        let now = self.now();
        let recent = self.client_cache.lock().ok().and_then(|cache| {
            cache.get(client_id).and_then(|(_, c)| c.last_used_at).map(|t| now.millis() - t.millis() < USE_NOTE_MS)
        });
        if recent == Some(true) {
            return;
        }
        match self.store.note_client_used(client_id, now, now.plus_seconds(-USE_NOTE_MS / 1000)).await {
            Ok(()) => {
                if let Ok(mut cache) = self.client_cache.lock()
                    && let Some((_, client)) = cache.get_mut(client_id)
                {
                    client.last_used_at = Some(now);
                }
            }
            Err(e) => tracing::warn!(error = %e, client_id, "could not record when the client was last used"),
        }
    }

    /// `private_key_jwt`: the assertion must be signed by one of the client's registered keys,
    /// name it and our token endpoint, be current, and be new (each `jti` is accepted once).
    async fn check_assertion(&self, client: Client, jwt: &str) -> Result<Client, OAuthError> {
        let Some(keys) = client.jwks.as_deref() else {
            return Err(oauth("invalid_client", "this client has registered no keys for private_key_jwt"));
        };
        let claims: AssertionClaims = crate::oidc::jose::verify_client_assertion(jwt, keys)
            .map_err(|e| oauth("invalid_client", format!("client_assertion: {e}")))?;
        let issuer = self.issuer().map_err(|e| oauth("server_error", e.to_string()))?;
        let token_endpoint = format!("{issuer}/oauth2/token");
        let now = self.now();
        let (jti, expires_at) =
            client_assertion::check_claims(&claims, &client.client_id, &[&token_endpoint, issuer], now)
                .map_err(|e| oauth("invalid_client", format!("client_assertion: {e}")))?;
        let fresh = self
            .store
            .use_client_assertion(&client.client_id, &jti, expires_at, now)
            .await
            .map_err(|e| oauth("server_error", e.to_string()))?;
        if !fresh {
            return Err(oauth("invalid_client", "client_assertion: this jti was used before (a replay)"));
        }
        Ok(client)
    }
}
