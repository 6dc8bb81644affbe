//! The OpenID Connect provider's use cases: registering clients, token-signing keys and
//! their rotation, the authorization endpoint's decision, the code exchange, and userinfo.

use serde::Serialize;
use twofold_core::audit::AuditContext;
use twofold_core::oidc::{
    self, AuthorizationRequest, Client, Grant, IdTokenClaims, Needed, RequestError, SigningKey, ValidRequest,
};
use twofold_core::{Timestamp, sealed};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::jose;
use crate::{Actor, App, AppError, AppResult, RequestMeta};

/// An app to register as an OpenID Connect client.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// What people call the app.
    pub name: String,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// A browser or native app: no secret, PKCE required.
    pub public: bool,
    /// Scopes it may ask for (default `openid profile email groups`).
    pub scopes: Vec<String>,
    /// The weakest strength every sign-in to it must reach.
    pub min_acr: Option<String>,
}

/// What the authorization endpoint does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// Send the browser here (the app's redirect URI with a code or an error).
    Redirect(String),
    /// Sign in first, then come back.
    SignIn,
    /// A (fresh) second factor of at least this strength first, then come back.
    StepUp(String),
    /// Show this error to the person; nothing is sent to the app.
    Refuse(String),
}

/// A token request (RFC 6749 §4.1.3), form fields and Basic credentials merged.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// `authorization_code`.
    pub grant_type: String,
    /// The code.
    pub code: String,
    /// Must equal the authorization request's.
    pub redirect_uri: String,
    /// PKCE verifier.
    pub code_verifier: Option<String>,
    /// From Basic auth or the form.
    pub client_id: String,
    /// From Basic auth or the form; absent for public clients.
    pub client_secret: Option<String>,
    /// For `grant_type=refresh_token`.
    pub refresh_token: Option<String>,
    /// For `grant_type=client_credentials`: the scopes asked for (space-separated).
    pub scope: Option<String>,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// A JWT for the userinfo endpoint.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    /// The signed ID token (none for a service account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Granted scopes.
    pub scope: String,
    /// Rotated on every use; presenting a used one revokes the whole family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// An OAuth error (RFC 6749 §5.2): `error` and `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`, `invalid_token`.
    pub error: &'static str,
    /// Words for the developer.
    pub description: String,
}

/// How long a node reuses signing keys and client records it read (milliseconds): a key made
/// or a secret rotated on another node is picked up at once where it matters (unknown `kid`,
/// unmatched secret), a retired key stays published for a token lifetime anyway.
const CACHE_MS: i64 = 5_000;

/// ID tokens are RS256 (what every client accepts); access tokens ES256 (cheap to sign).
const SIGNING_ALGORITHMS: [&str; 2] = ["RS256", "ES256"];

fn oauth(error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError { error, description: description.into() }
}

/// Claims of an access token (RFC 9068 shape).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct AccessClaims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) jti: String,
    /// How the person authenticated; absent for a service account's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) amr: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_time: Option<i64>,
}

fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn with_params(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = params.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", query_escape(v)))).collect();
    if query.is_empty() {
        return uri.to_owned();
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", query.join("&"))
}

impl App {
    pub(crate) fn issuer(&self) -> AppResult<&str> {
        self.issuer.as_deref().ok_or_else(|| AppError::Internal("no public URL (issuer) configured".into()))
    }

    pub(crate) fn client_secret_hash(&self, client_id: &str, secret: &str) -> AppResult<String> {
        let key = self.keys()?.recovery;
        Ok(hex::encode(twofold_core::secret::hmac_sha256(
            &key,
            format!("client-secret:{client_id}:{secret}").as_bytes(),
        )))
    }

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
        let NewClient { name, redirect_uris, public, scopes, min_acr } = new;
        let (public, min_acr) = (*public, min_acr.as_deref());
        let mut errors = twofold_core::ValidationErrors::default();
        if let Some(acr) = min_acr.filter(|a| !oidc::STRENGTHS.contains(a)) {
            errors.add("min_acr", format!("'{acr}' is not one of: pwd, mfa, phr, phrh"));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.add("name", "must be 1–100 characters");
        }
        if redirect_uris.is_empty() {
            errors.add("redirect_uri", "at least one is needed");
        }
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
            created_at: self.now(),
        };
        self.store.create_client(&client, &self.audit_context(actor, meta)).await?;
        Ok((client, secret))
    }

    /// Every registered client.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn clients(&self) -> AppResult<Vec<Client>> {
        Ok(self.store.clients().await?)
    }

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

    /// The authorization endpoint: checks the request, then either asks for sign-in or a
    /// (fresh) second factor, or issues a single-use code to the app's redirect URI.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn authorize(
        &self,
        request: &AuthorizationRequest,
        session: Option<&Authenticated>,
        fresh_login: bool,
    ) -> AppResult<AuthorizeOutcome> {
        let client = match request.client_id.as_deref() {
            Some(id) => self.store.client(id).await?,
            None => None,
        };
        let issuer = self.issuer()?.to_owned();
        let valid: ValidRequest = match oidc::validate_request(request, client.as_ref()) {
            Ok(valid) => valid,
            Err(RequestError::Fatal(message)) => return Ok(AuthorizeOutcome::Refuse(message)),
            Err(RequestError::Redirect(error, description)) => {
                let uri = request.redirect_uri.clone().unwrap_or_default();
                return Ok(AuthorizeOutcome::Redirect(with_params(
                    &uri,
                    &[
                        ("error", Some(error)),
                        ("error_description", Some(&description)),
                        ("state", request.state.as_deref()),
                        ("iss", Some(&issuer)),
                    ],
                )));
            }
        };
        let full_session = session.filter(|s| !s.session.mfa_pending);
        let needed = oidc::needed(&valid, full_session.map(|s| &s.session.auth), fresh_login, self.now());
        let error_redirect = |error: &str| {
            with_params(
                &valid.redirect_uri,
                &[("error", Some(error)), ("state", valid.state.as_deref()), ("iss", Some(&issuer))],
            )
        };
        match (needed, valid.prompt.as_deref()) {
            (Needed::SignIn, Some("none")) => return Ok(AuthorizeOutcome::Redirect(error_redirect("login_required"))),
            (Needed::StepUp(_), Some("none")) => {
                return Ok(AuthorizeOutcome::Redirect(error_redirect("interaction_required")));
            }
            (Needed::SignIn, _) => return Ok(AuthorizeOutcome::SignIn),
            (Needed::StepUp(acr), _) => {
                // Asking for a factor the person does not have would only loop.
                if let Some(current) = full_session
                    && !self.can_reach(&current.user, &acr).await?
                {
                    return Ok(AuthorizeOutcome::Redirect(error_redirect("unmet_authentication_requirements")));
                }
                return Ok(AuthorizeOutcome::StepUp(acr));
            }
            (Needed::Nothing, _) => {}
        }
        let Some(current) = full_session else { return Ok(AuthorizeOutcome::SignIn) };
        let code = twofold_core::secret::random_token();
        let grant = Grant {
            client_id: valid.client_id.clone(),
            user_id: current.user.id,
            redirect_uri: valid.redirect_uri.clone(),
            scopes: valid.scopes.clone(),
            nonce: valid.nonce.clone(),
            code_challenge: valid.code_challenge.clone(),
            auth: current.session.auth.clone(),
        };
        let now = self.now();
        let hash = twofold_core::secret::sha256_hex(code.as_bytes());
        self.store.put_authorization_code(&hash, &grant, now, now.plus_seconds(oidc::CODE_LIFETIME_SECS)).await?;
        Ok(AuthorizeOutcome::Redirect(with_params(
            &valid.redirect_uri,
            &[("code", Some(&code)), ("state", valid.state.as_deref()), ("iss", Some(&issuer))],
        )))
    }

    /// Whether `user` has a method that reaches strength `acr`.
    async fn can_reach(&self, user: &twofold_core::identity::User, acr: &str) -> AppResult<bool> {
        let methods = self.store.authenticators(user.id).await?;
        let passkey = |attested: bool| {
            methods.iter().any(|a| {
                a.is_confirmed()
                    && a.kind == twofold_core::authenticator::AuthenticatorKind::Webauthn
                    && (a.attested || !attested)
            })
        };
        Ok(match acr {
            "phrh" => passkey(true),
            "phr" => passkey(false),
            "mfa" => self.has_second_factor(user).await?,
            _ => true,
        })
    }

    /// Authenticates a client by id and secret (public clients by id alone), for the token,
    /// revocation and introspection endpoints.
    ///
    /// # Errors
    /// `invalid_client`.
    pub async fn authenticate_client_credentials(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Client, OAuthError> {
        let request = TokenRequest {
            client_id: client_id.to_owned(),
            client_secret: secret.map(str::to_owned),
            ..TokenRequest::default()
        };
        self.authenticate_client(&request).await
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

    /// Authenticates a client, re-reading its record once when a secret does not match (it
    /// may have been rotated on another node a moment ago).
    async fn authenticate_client(&self, request: &TokenRequest) -> Result<Client, OAuthError> {
        match self.check_client(request, false).await {
            Err(e) if e.error == "invalid_client" => self.check_client(request, true).await,
            other => other,
        }
    }

    async fn check_client(&self, request: &TokenRequest, fresh: bool) -> Result<Client, OAuthError> {
        let client = self
            .client_record(&request.client_id, fresh)
            .await?
            .ok_or_else(|| oauth("invalid_client", "unknown client"))?;
        match (&client.secret_hash, &request.client_secret) {
            (None, None) => Ok(client),
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
            (None, Some(_)) => Err(oauth("invalid_client", "a public client has no secret")),
        }
    }

    /// The token endpoint (authorization code grant): authenticates the client, uses the
    /// code once, checks the redirect URI and PKCE, and signs the ID and access tokens.
    ///
    /// # Errors
    /// [`OAuthError`] per RFC 6749 §5.2; every refusal is audited.
    pub async fn exchange_code(&self, request: &TokenRequest, meta: &RequestMeta) -> Result<TokenResponse, OAuthError> {
        let result = self.exchange(request).await;
        let (action, detail) = match &result {
            Ok((response, None)) => (
                "service_account.token",
                serde_json::json!({"client_id": request.client_id, "scope": response.scope, "expires_in": response.expires_in}),
            ),
            Ok((_, Some(grant))) => (
                "oidc.token",
                serde_json::json!({"client_id": request.client_id, "user_id": grant.user_id, "acr": grant.auth.acr}),
            ),
            Err(e) => (
                "oidc.token_refused",
                serde_json::json!({"client_id": request.client_id, "error": e.error, "reason": e.description}),
            ),
        };
        let change = twofold_core::audit::Change::new(action, "client", Some(request.client_id.clone()))
            .states(None, Some(detail));
        let actor = Actor::system("oidc");
        let ctx: AuditContext =
            self.audit_context(&Actor { name: format!("client:{}", request.client_id), ..actor }, meta);
        if let Err(e) = self.store.append_audit(&change, &ctx).await {
            return Err(oauth("server_error", e.to_string()));
        }
        result.map(|(response, _)| response)
    }

    async fn exchange(&self, request: &TokenRequest) -> Result<(TokenResponse, Option<Grant>), OAuthError> {
        if !["authorization_code", "refresh_token", "client_credentials"].contains(&request.grant_type.as_str()) {
            return Err(oauth("unsupported_grant_type", "authorization_code, refresh_token or client_credentials"));
        }
        let client = self.authenticate_client(request).await?;
        match (request.grant_type.as_str(), client.service) {
            ("client_credentials", true) => return self.client_credentials(&client, request).await,
            ("client_credentials", false) => {
                return Err(oauth("unauthorized_client", "only service accounts use client_credentials"));
            }
            (_, true) => return Err(oauth("unauthorized_client", "service accounts use client_credentials only")),
            _ => {}
        }
        if request.grant_type == "refresh_token" {
            return self.refresh(&client, request).await;
        }
        let hash = twofold_core::secret::sha256_hex(request.code.as_bytes());
        let now = self.now();
        let server = |e: StoreOrApp| oauth("server_error", e.0);
        let grant = match self
            .store
            .redeem_authorization_code(&hash, now)
            .await
            .map_err(|e| server(StoreOrApp(e.to_string())))?
        {
            Ok(grant) => grant,
            Err(true) => return Err(oauth("invalid_grant", "the code was used already")),
            Err(false) => return Err(oauth("invalid_grant", "unknown or expired code")),
        };
        if grant.client_id != client.client_id {
            return Err(oauth("invalid_grant", "the code was issued to another client"));
        }
        if grant.redirect_uri != request.redirect_uri {
            return Err(oauth("invalid_grant", "redirect_uri differs from the authorization request's"));
        }
        if let Some(challenge) = &grant.code_challenge {
            let verifier = request.code_verifier.as_deref().unwrap_or("");
            if !oidc::pkce_matches(verifier, challenge) {
                return Err(oauth("invalid_grant", "code_verifier does not match the code_challenge"));
            }
        }
        let response =
            self.tokens_for(&client, &grant, now, None).await.map_err(|e| server(StoreOrApp(e.to_string())))?;
        Ok((response, Some(grant)))
    }

    /// `grant_type=refresh_token`: rotates the token (the old one is spent) and issues fresh
    /// access and ID tokens carrying the original sign-in's `acr`, `amr` and `auth_time`.
    async fn refresh(
        &self,
        client: &Client,
        request: &TokenRequest,
    ) -> Result<(TokenResponse, Option<Grant>), OAuthError> {
        let presented = request.refresh_token.as_deref().unwrap_or("");
        let hash = twofold_core::secret::sha256_hex(presented.as_bytes());
        let now = self.now();
        let server = |e: String| oauth("server_error", e);
        let token = match self.store.use_refresh_token(&hash, now).await.map_err(|e| server(e.to_string()))? {
            Ok(token) => token,
            Err(oidc::RefreshRefusal::Reused) => {
                return Err(oauth("invalid_grant", "refresh token used before: every token of its family is revoked"));
            }
            Err(oidc::RefreshRefusal::Unknown) => {
                return Err(oauth("invalid_grant", "unknown or expired refresh token"));
            }
        };
        if token.grant.client_id != client.client_id {
            return Err(oauth("invalid_grant", "the refresh token was issued to another client"));
        }
        let response = self
            .tokens_for(client, &token.grant, now, Some(token.family_id.clone()))
            .await
            .map_err(|e| oauth("invalid_grant", e.to_string()))?;
        Ok((response, Some(token.grant)))
    }

    /// RFC 7009 revocation: a refresh token revokes its family; an access token is denied
    /// until it expires. Unknown tokens and other clients' tokens change nothing (and, per
    /// the RFC, are not an error).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn revoke_token(&self, client: &Client, token: &str, meta: &RequestMeta) -> AppResult<()> {
        let now = self.now();
        let revoked = if token.matches('.').count() == 2 {
            match self.verify_token::<AccessClaims>(token).await? {
                Ok(claims) if claims.client_id == client.client_id => {
                    self.store.revoke_access_token(&claims.jti, Timestamp(claims.exp * 1000)).await?;
                    true
                }
                _ => false,
            }
        } else {
            let hash = twofold_core::secret::sha256_hex(token.as_bytes());
            self.store.revoke_refresh_family(&hash, &client.client_id, now).await?
        };
        if revoked {
            let change = twofold_core::audit::Change::new("oidc.revoke", "client", Some(client.client_id.clone()));
            let actor = Actor { name: format!("client:{}", client.client_id), ..Actor::system("oidc") };
            self.store.append_audit(&change, &self.audit_context(&actor, meta)).await?;
        }
        Ok(())
    }

    /// RFC 7662 introspection for a client: whether `token` is active, and what it carries.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn introspect(&self, token: &str) -> AppResult<serde_json::Value> {
        let now = self.now();
        let inactive = serde_json::json!({"active": false});
        if token.matches('.').count() == 2 {
            let Ok(claims) = self.verify_token::<AccessClaims>(token).await? else {
                return Ok(inactive);
            };
            if claims.exp <= now.millis() / 1000 || self.store.access_token_revoked(&claims.jti).await? {
                return Ok(inactive);
            }
            return Ok(serde_json::json!({
                "active": true, "token_type": "Bearer", "scope": claims.scope, "client_id": claims.client_id,
                "sub": claims.sub, "iss": claims.iss, "aud": claims.aud, "exp": claims.exp, "iat": claims.iat,
                "jti": claims.jti, "acr": claims.acr, "amr": claims.amr, "auth_time": claims.auth_time,
            }));
        }
        let hash = twofold_core::secret::sha256_hex(token.as_bytes());
        Ok(match self.store.live_refresh_token(&hash, now).await? {
            Some(refresh) => serde_json::json!({
                "active": true, "token_type": "refresh_token", "scope": refresh.grant.scopes.join(" "),
                "client_id": refresh.grant.client_id, "sub": refresh.grant.user_id, "iss": self.issuer()?,
                "exp": refresh.expires_at.millis() / 1000, "iat": refresh.created_at.millis() / 1000,
            }),
            None => inactive,
        })
    }

    async fn tokens_for(
        &self,
        client: &Client,
        grant: &Grant,
        now: Timestamp,
        family: Option<String>,
    ) -> AppResult<TokenResponse> {
        let user = self
            .store
            .user_by_id(grant.user_id)
            .await?
            .filter(twofold_core::identity::User::may_sign_in)
            .ok_or(AppError::Unauthenticated)?;
        let has = |scope: &str| grant.scopes.iter().any(|s| s == scope);
        let groups = if has("groups") { Some(self.store.user_groups(user.id).await?) } else { None };
        let issuer = self.issuer()?.to_owned();
        let (iat, exp) = (now.millis() / 1000, now.millis() / 1000 + oidc::TOKEN_LIFETIME_SECS);
        let auth_time = grant.auth.auth_time.map_or(iat, |t| t.millis() / 1000);
        let claims = IdTokenClaims {
            iss: issuer.clone(),
            sub: user.id.to_string(),
            aud: client.client_id.clone(),
            exp,
            iat,
            auth_time,
            nonce: grant.nonce.clone(),
            acr: grant.auth.acr.clone(),
            amr: grant.auth.amr.clone(),
            email: if has("email") { user.email.clone() } else { None },
            name: has("profile").then(|| user.display_name.clone()),
            preferred_username: has("profile").then(|| user.username.clone()),
            groups,
        };
        let access = AccessClaims {
            iss: issuer.clone(),
            sub: user.id.to_string(),
            aud: format!("{issuer}/oauth2/userinfo"),
            client_id: client.client_id.clone(),
            scope: grant.scopes.join(" "),
            iat,
            exp,
            jti: Uuid::now_v7().to_string(),
            acr: Some(grant.auth.acr.clone()),
            amr: Some(grant.auth.amr.clone()),
            auth_time: Some(auth_time),
        };
        let refresh = twofold_core::secret::random_token();
        self.store
            .put_refresh_token(&oidc::RefreshToken {
                token_hash: twofold_core::secret::sha256_hex(refresh.as_bytes()),
                family_id: family.unwrap_or_else(|| Uuid::now_v7().to_string()),
                grant: grant.clone(),
                created_at: now,
                expires_at: now.plus_seconds(oidc::REFRESH_LIFETIME_SECS),
            })
            .await?;
        Ok(TokenResponse {
            refresh_token: Some(refresh),
            id_token: Some(self.sign("RS256", "JWT", &claims).await?),
            access_token: self.sign("ES256", "at+jwt", &access).await?,
            token_type: "Bearer",
            expires_in: oidc::TOKEN_LIFETIME_SECS,
            scope: grant.scopes.join(" "),
        })
    }

    /// The userinfo endpoint: the claims an access token's scopes allow.
    ///
    /// # Errors
    /// `invalid_token` for a forged, expired or foreign token.
    pub async fn userinfo(&self, access_token: &str) -> Result<serde_json::Value, OAuthError> {
        let claims: AccessClaims = self
            .verify_token(access_token)
            .await
            .map_err(|e| oauth("server_error", e.to_string()))?
            .map_err(|e| oauth("invalid_token", e.0))?;
        let issuer = self.issuer().map_err(|e| oauth("server_error", e.to_string()))?;
        if claims.iss != issuer || claims.aud != format!("{issuer}/oauth2/userinfo") {
            return Err(oauth("invalid_token", "not issued for this endpoint"));
        }
        if claims.exp <= self.now().millis() / 1000 {
            return Err(oauth("invalid_token", "expired"));
        }
        if self.store.access_token_revoked(&claims.jti).await.map_err(|e| oauth("server_error", e.to_string()))? {
            return Err(oauth("invalid_token", "revoked"));
        }
        let id = Uuid::parse_str(&claims.sub).map_err(|_| oauth("invalid_token", "bad subject"))?;
        let user = self
            .store
            .user_by_id(id)
            .await
            .map_err(|e| oauth("server_error", e.to_string()))?
            .filter(twofold_core::identity::User::may_sign_in)
            .ok_or_else(|| oauth("invalid_token", "the user can no longer sign in"))?;
        let has = |scope: &str| claims.scope.split(' ').any(|s| s == scope);
        let mut info =
            serde_json::json!({"sub": claims.sub, "acr": claims.acr, "amr": claims.amr, "auth_time": claims.auth_time});
        if has("email") {
            info["email"] = serde_json::json!(user.email);
        }
        if has("profile") {
            info["name"] = serde_json::json!(user.display_name);
            info["preferred_username"] = serde_json::json!(user.username);
        }
        if has("groups") {
            info["groups"] = serde_json::json!(
                self.store.user_groups(user.id).await.map_err(|e| oauth("server_error", e.to_string()))?
            );
        }
        Ok(info)
    }

    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): checks the ID token an
    /// app sends as `id_token_hint` (ours, for a registered client; it may have expired) and
    /// where to send the browser afterwards: `post_logout_redirect_uri` when it is one of that
    /// client's registered redirect URIs (with `state`), else the sign-in page. `Err(reason)`
    /// for a request that must not be followed.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn logout_target(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> AppResult<Result<String, String>> {
        let Some(hint) = id_token_hint else {
            return Ok(Err("id_token_hint is required, so that no other site can sign you out".into()));
        };
        let claims: IdTokenClaims = match self.verify_token(hint).await? {
            Ok(claims) => claims,
            Err(e) => return Ok(Err(format!("id_token_hint is not an ID token from here ({e})"))),
        };
        if claims.iss != self.issuer()? {
            return Ok(Err("id_token_hint was issued elsewhere".into()));
        }
        let Some(client) = self.store.client(&claims.aud).await? else {
            return Ok(Err("the ID token's client is not registered".into()));
        };
        match post_logout_redirect_uri {
            None => Ok(Ok("/login".into())),
            Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => Ok(Ok(with_params(uri, &[("state", state)]))),
            Some(_) => Ok(Err("post_logout_redirect_uri is not registered for this client".into())),
        }
    }

    /// Whether the authorization request's client exists, for pages that show its name.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn client_name(&self, client_id: &str) -> AppResult<Option<String>> {
        Ok(self.store.client(client_id).await?.map(|c| c.name))
    }
}

/// A storage or use-case error's text on its way to `server_error`.
struct StoreOrApp(String);

#[cfg(test)]
mod tests {
    #[test]
    fn redirect_parameters_are_escaped_and_appended() {
        assert_eq!(
            super::with_params("https://a/cb?x=1", &[("code", Some("a b&c")), ("state", None)]),
            "https://a/cb?x=1&code=a%20b%26c"
        );
    }

    #[test]
    fn sha256_is_what_codes_are_stored_as() {
        use sha2::Digest;
        assert_eq!(hex::encode(sha2::Sha256::digest(b"abc")), twofold_core::secret::sha256_hex(b"abc"));
    }
}
