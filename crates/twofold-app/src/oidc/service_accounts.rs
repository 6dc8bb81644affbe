//! Service accounts: machine identities that get short-lived access tokens with their own
//! credentials (OAuth 2.0 client credentials, RFC 6749 §4.4), carrying only their scopes.
//! Secrets are high-entropy, so they are stored as keyed hashes (HMAC-SHA-256), not password
//! hashes; a rotation keeps the previous secret working for an overlap.

use super::Provider;
use twofold_core::oidc::{self, Client};
use twofold_core::{Timestamp, ValidationErrors};
use uuid::Uuid;

use crate::oidc::{AccessClaims, OAuthError, TokenRequest, TokenResponse};
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

/// A service account to create.
#[derive(Debug, Clone, Default)]
pub struct NewServiceAccount {
    /// What the account is for.
    pub name: String,
    /// Scopes granted (at least one).
    pub scopes: Vec<String>,
    /// Access-token lifetime, 60–3600 seconds (default 3600).
    pub token_lifetime_secs: Option<i64>,
    /// A JWK or JWK Set of public keys for `private_key_jwt`; then no secret is made.
    pub jwks: Option<String>,
    /// A PEM client certificate for mutual TLS (RFC 8705); then no secret is made.
    pub tls_certificate_pem: Option<String>,
    /// With a secret: `client_secret_basic` (default) or `client_secret_post`; with keys
    /// `private_key_jwt`, with a certificate `tls_client_auth`. Only that method is accepted.
    pub token_endpoint_auth_method: Option<String>,
    /// May introspect tokens issued to other clients (a resource server).
    pub may_introspect: bool,
    /// The resource servers (RFC 8707) its tokens may be for, each an absolute URI.
    pub resources: Vec<String>,
}

/// The longest a rotated-out secret may keep working.
pub const MAX_OVERLAP_SECS: i64 = 30 * 24 * 3600;

impl Provider {
    /// Creates a service account; returns it and its secret (shown once), or no secret when
    /// it registered public keys (it then authenticates only with `private_key_jwt`).
    ///
    /// # Errors
    /// A blank name, bad scopes, a token lifetime outside 60 s – 1 h, unusable keys.
    pub async fn add_service_account(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        new: &NewServiceAccount,
    ) -> AppResult<(Client, Option<String>)> {
        let name = new.name.trim();
        let mut errors = ValidationErrors::default();
        if name.is_empty() || name.chars().count() > 100 {
            errors.add("name", "must be 1–100 characters");
        }
        let scopes = oidc::check_scopes(&new.scopes).map_err(|e| errors.0.extend(e.0)).unwrap_or_default();
        let resources = oidc::check_resources(&new.resources).map_err(|e| errors.0.extend(e.0)).unwrap_or_default();
        if let Some(secs) = new.token_lifetime_secs.filter(|s| !(60..=oidc::TOKEN_LIFETIME_SECS).contains(s)) {
            errors.add("token_lifetime", format!("{secs} s is outside 60–3600 seconds"));
        }
        let jwks = new
            .jwks
            .as_deref()
            .map(twofold_core::oidc::client_assertion::check_public_jwks)
            .transpose()
            .map_err(|e| errors.0.extend(e.0))
            .unwrap_or_default();
        let tls_cert_thumbprint = new
            .tls_certificate_pem
            .as_deref()
            .map(twofold_core::oidc::client_assertion::pem_certificate_thumbprint)
            .transpose()
            .map_err(|e| errors.0.extend(e.0))
            .unwrap_or_default();
        let implied = match (&jwks, &tls_cert_thumbprint) {
            (Some(_), _) => "private_key_jwt",
            (None, Some(_)) => "tls_client_auth",
            (None, None) => "client_secret_basic",
        };
        let method = match new.token_endpoint_auth_method.as_deref() {
            None => implied,
            Some(asked) if asked == implied => implied,
            Some("client_secret_post") if implied == "client_secret_basic" => "client_secret_post",
            Some(other) => {
                errors.add(
                    "token_endpoint_auth_method",
                    format!("'{other}' does not fit this account's credentials (it uses {implied})"),
                );
                implied
            }
        };
        errors.into_result()?;
        let token_lifetime_secs = new.token_lifetime_secs;
        let client_id = format!("tfs_{}", hex::encode(twofold_core::secret::random_bytes::<8>()));
        let secret = (jwks.is_none() && tls_cert_thumbprint.is_none()).then(twofold_core::secret::random_token);
        let client = Client {
            secret_hash: secret.as_deref().map(|s| self.client_secret_hash(&client_id, s)).transpose()?,
            client_id,
            name: name.to_owned(),
            redirect_uris: Vec::new(),
            scopes,
            public: false,
            service: true,
            token_lifetime_secs,
            min_acr: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            consent_required: false,
            jwks,
            id_token_alg: None,
            tls_cert_thumbprint,
            resources,
            token_endpoint_auth_method: Some(method.to_owned()),
            may_introspect: new.may_introspect,
            last_used_at: None,
            secret_set_at: None,
            created_at: self.now(),
        };
        self.store.create_client(&client, &self.audit_context(actor, meta)).await?;
        Ok((client, secret))
    }

    /// Gives a service account a new secret; the current one keeps working for
    /// `overlap_secs` (at most 30 days) so deployments can switch over. Returns the new secret.
    ///
    /// # Errors
    /// An unknown service account, an overlap out of range.
    pub async fn rotate_service_secret(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        client_id: &str,
        overlap_secs: i64,
    ) -> AppResult<(String, Timestamp)> {
        let client =
            self.store.client(client_id).await?.filter(|c| c.service).ok_or(AppError::NotFound("service account"))?;
        self.rotate_secret(actor, meta, &client, overlap_secs).await
    }

    /// A new secret for `client`, the current one working for `overlap_secs` more (at most
    /// 30 days): the new secret and until when the old one works.
    pub(crate) async fn rotate_secret(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        client: &Client,
        overlap_secs: i64,
    ) -> AppResult<(String, Timestamp)> {
        if !(0..=MAX_OVERLAP_SECS).contains(&overlap_secs) {
            return Err(ValidationErrors::one("overlap", "must be 0 to 2592000 seconds (30 days)").into());
        }
        let secret = twofold_core::secret::random_token();
        let now = self.now();
        let until = now.plus_seconds(overlap_secs);
        let hash = self.client_secret_hash(&client.client_id, &secret)?;
        if !self
            .store
            .rotate_client_secret(&client.client_id, &hash, until, now, &self.audit_context(actor, meta))
            .await?
        {
            return Err(AppError::NotFound("client"));
        }
        Ok((secret, until))
    }

    /// Every service account.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn service_accounts(&self) -> AppResult<Vec<Client>> {
        Ok(self.store.clients().await?.into_iter().filter(|c| c.service).collect())
    }

    /// Every service account with when it was last used, its secret's age and what deserves
    /// attention (unused, old secret, a rotated-out secret still working), most findings first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn service_account_report(
        &self,
        policy: twofold_core::identity::service_account::ReportPolicy,
    ) -> AppResult<Vec<twofold_core::identity::service_account::ReportLine>> {
        let now = self.now();
        let mut lines: Vec<_> = self
            .service_accounts()
            .await?
            .iter()
            .map(|account| twofold_core::identity::service_account::report_line(account, now, policy))
            .collect();
        lines.sort_by(|a, b| b.findings.len().cmp(&a.findings.len()).then_with(|| a.name.cmp(&b.name)));
        Ok(lines)
    }

    /// The service account an access token from the client-credentials grant stands for, as
    /// an audit actor, when the token is ours, current, not revoked, of a service account
    /// that still exists, carries `scope`, and — when bound to a certificate — comes over a
    /// connection presenting that certificate.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for an unusable token; [`Refusal::MissingScope`] without `scope`.
    pub async fn authenticate_service_token(
        &self,
        token: &str,
        scope: &str,
        presented_certificate: Option<&str>,
    ) -> AppResult<Actor> {
        let claims: AccessClaims = self.verify_token(token).await?.map_err(|_| AppError::Unauthenticated)?;
        let issuer = self.issuer()?;
        let current = claims.iss == issuer && claims.aud == issuer && claims.exp > self.now().millis() / 1000;
        if !current || claims.sub != claims.client_id || self.store.access_token_revoked(&claims.jti).await? {
            return Err(AppError::Unauthenticated);
        }
        let account =
            self.oidc_client(&claims.client_id).await?.filter(|c| c.service).ok_or(AppError::Unauthenticated)?;
        // A certificate-bound token works only over a connection with that certificate.
        if let Some(bound) = claims.cnf.as_ref().and_then(|cnf| cnf["x5t#S256"].as_str()) {
            let same = presented_certificate
                .is_some_and(|p| twofold_core::secret::constant_time_eq(p.as_bytes(), bound.as_bytes()));
            if !same {
                return Err(AppError::Unauthenticated);
            }
        }
        if !claims.scope.split(' ').any(|s| s == scope) {
            return Err(AppError::Refused(Refusal::MissingScope { scope: scope.to_owned() }));
        }
        Ok(Actor {
            kind: twofold_core::audit::ActorKind::ServiceAccount,
            id: Some(account.client_id.clone()),
            name: format!("service:{}", account.name),
            auth: twofold_core::signin::session::AuthContext::default(),
        })
    }

    /// `grant_type=client_credentials` for an authenticated service account: an ES256 access
    /// token for the scopes asked for (each must be granted), living the account's lifetime.
    pub(crate) async fn client_credentials(
        &self,
        client: &Client,
        request: &TokenRequest,
    ) -> Result<(TokenResponse, Option<oidc::Grant>), OAuthError> {
        let scopes = oidc::requested_scopes(&client.scopes, request.scope.as_deref()).map_err(|scope| OAuthError {
            error: "invalid_scope",
            description: format!("scope '{scope}' is not granted to this service account"),
        })?;
        let server = |e: AppError| OAuthError { error: "server_error", description: e.to_string() };
        let issuer = self.issuer().map_err(server)?.to_owned();
        // RFC 8707: a token for one of the account's registered resource servers names it as
        // its audience (and is then no good at Twofold's own API); any other is refused.
        let audience = match request.resource.as_deref() {
            None => issuer.clone(),
            Some(resource) if client.resources.iter().any(|r| r == resource) => resource.to_owned(),
            Some(resource) => {
                metrics::counter!("twofold_service_token_refusals_total", "reason" => "invalid_target").increment(1);
                return Err(OAuthError {
                    error: "invalid_target",
                    description: format!("resource '{resource}' is not registered for this service account"),
                });
            }
        };
        let lifetime = client.token_lifetime_secs.unwrap_or(oidc::TOKEN_LIFETIME_SECS).min(oidc::TOKEN_LIFETIME_SECS);
        let now = self.now().millis() / 1000;
        let claims = AccessClaims {
            iss: issuer.clone(),
            sub: client.client_id.clone(),
            aud: audience,
            client_id: client.client_id.clone(),
            scope: scopes.join(" "),
            iat: now,
            exp: now + lifetime,
            jti: Uuid::now_v7().to_string(),
            acr: None,
            amr: None,
            auth_time: None,
            // Over mutual TLS the token is bound to the certificate (RFC 8705 §3).
            cnf: request.client_cert_thumbprint.as_ref().map(|t| serde_json::json!({ "x5t#S256": t })),
            fid: None,
            authorization_details: Vec::new(),
        };
        let access_token = self.sign("ES256", "at+jwt", &claims).await.map_err(server)?;
        let response = TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: lifetime,
            id_token: None,
            scope: scopes.join(" "),
            refresh_token: None,
            authorization_details: Vec::new(),
        };
        Ok((response, None))
    }
}
