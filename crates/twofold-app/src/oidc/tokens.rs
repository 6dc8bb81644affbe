//! The token endpoint (authorization code and refresh grants), userinfo, revocation (RFC 7009)
//! and introspection (RFC 7662).

use super::*;

impl Provider {
    /// The token endpoint (authorization code grant): authenticates the client, uses the
    /// code once, checks the redirect URI and PKCE, and signs the ID and access tokens.
    ///
    /// # Errors
    /// [`OAuthError`] per RFC 6749 §5.2; every refusal is audited.
    pub async fn exchange_code(&self, request: &TokenRequest, meta: &RequestMeta) -> Result<TokenResponse, OAuthError> {
        let result = self.exchange(request, meta).await;
        let client_id = clients::named_client_id(request);
        let (action, detail) = match &result {
            Ok((response, None)) => (
                twofold_core::audit::AuditAction::ServiceAccountToken,
                serde_json::json!({"client_id": client_id, "scope": response.scope, "expires_in": response.expires_in}),
            ),
            Ok((_, Some(grant))) => (
                twofold_core::audit::AuditAction::OidcToken,
                serde_json::json!({"client_id": client_id, "user_id": grant.user_id, "acr": grant.auth.acr}),
            ),
            Err(e) => (
                twofold_core::audit::AuditAction::OidcTokenRefused,
                serde_json::json!({"client_id": client_id, "error": e.error, "reason": e.description}),
            ),
        };
        let change = twofold_core::audit::Change::new(action, Some(client_id.clone())).states(None, Some(detail));
        let actor = Actor::system("oidc");
        let ctx: AuditContext = self.audit_context(&Actor { name: format!("client:{client_id}"), ..actor }, meta);
        if let Err(e) = self.store.append_audit(&change, &ctx).await {
            return Err(oauth("server_error", e.to_string()));
        }
        if result.is_ok() {
            self.note_client_used(&client_id).await;
        }
        result.map(|(response, _)| response)
    }

    async fn exchange(
        &self,
        request: &TokenRequest,
        meta: &RequestMeta,
    ) -> Result<(TokenResponse, Option<Grant>), OAuthError> {
        if !["authorization_code", "refresh_token", "client_credentials"].contains(&request.grant_type.as_str()) {
            return Err(oauth("unsupported_grant_type", "authorization_code, refresh_token or client_credentials"));
        }
        let client = self.authenticate_client(request).await?;
        match (request.grant_type.as_str(), client.service) {
            ("client_credentials", true) => {
                // The policy's rules for service accounts: networks, hours, dates.
                let ip = meta.ip.as_deref().and_then(|ip| ip.parse().ok());
                let verdict = self
                    .access
                    .service_account_access(&client.client_id, ip)
                    .await
                    .map_err(|e| oauth("server_error", e.to_string()))?;
                if let Err(reason) = verdict {
                    metrics::counter!("twofold_service_token_refusals_total", "reason" => "policy").increment(1);
                    return Err(oauth("unauthorized_client", reason));
                }
                return self.client_credentials(&client, request).await;
            }
            ("client_credentials", false) => {
                return Err(oauth("unauthorized_client", "only service accounts use client_credentials"));
            }
            (_, true) => return Err(oauth("unauthorized_client", "service accounts use client_credentials only")),
            _ => {}
        }
        if request.grant_type == "refresh_token" {
            return self.refresh(&client, request, meta).await;
        }
        let hash = twofold_core::secret::sha256_hex(request.code.as_bytes());
        let now = self.now();
        let server = |e: String| oauth("server_error", e);
        let family = oidc::token_family_for_code(&hash, &client.client_id);
        let grant = match self.store.redeem_authorization_code(&hash, now).await.map_err(|e| server(e.to_string()))? {
            Ok(grant) => grant,
            Err(true) => {
                // RFC 6749 §4.1.2: a replayed code ends what its first exchange issued.
                self.revoke_family(&client, &family, "authorization code reused", meta).await?;
                return Err(oauth("invalid_grant", "the code was used already: the tokens issued for it are revoked"));
            }
            Err(false) => return Err(oauth("invalid_grant", "unknown or expired code")),
        };
        if grant.client_id != client.client_id {
            return Err(oauth("invalid_grant", "the code was issued to another client"));
        }
        if grant.redirect_uri != request.redirect_uri {
            return Err(oauth("invalid_grant", "redirect_uri differs from the authorization request's"));
        }
        oidc::check_pkce(grant.code_challenge.as_deref(), request.code_verifier.as_deref())
            .map_err(|why| oauth("invalid_grant", why))?;
        let response = self.tokens_for(&client, &grant, &grant.scopes, now, family).await.map_err(grant_error)?;
        Ok((response, Some(grant)))
    }

    /// Revokes a token family (its refresh and access tokens), audited with `reason`.
    async fn revoke_family(
        &self,
        client: &Client,
        family: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> Result<(), OAuthError> {
        let actor = Actor { name: format!("client:{}", client.client_id), ..Actor::system("oidc") };
        self.store
            .revoke_token_family(family, reason, self.now(), &self.audit_context(&actor, meta))
            .await
            .map_err(|e| oauth("server_error", e.to_string()))?;
        Ok(())
    }

    /// `grant_type=refresh_token`: rotates the token (the old one is spent) and issues fresh
    /// access and ID tokens carrying the original sign-in's `acr`, `amr` and `auth_time`.
    ///
    /// A `scope` may narrow what the new access and ID tokens carry (the refresh token keeps
    /// the original grant); one naming a scope not originally granted is `invalid_scope`
    /// (RFC 6749 §6), refused before the token is spent. Another client's token is refused
    /// without touching it; a used one revokes its family, access tokens included.
    async fn refresh(
        &self,
        client: &Client,
        request: &TokenRequest,
        meta: &RequestMeta,
    ) -> Result<(TokenResponse, Option<Grant>), OAuthError> {
        let presented = request.refresh_token.as_deref().unwrap_or("");
        let hash = twofold_core::secret::sha256_hex(presented.as_bytes());
        let now = self.now();
        let server = |e: String| oauth("server_error", e);
        let other_client = || oauth("invalid_grant", "the refresh token was issued to another client");
        let narrowed = |granted: &[String]| {
            oidc::requested_scopes(granted, request.scope.as_deref()).map_err(|scope| {
                oauth("invalid_scope", format!("scope '{scope}' was not granted with this refresh token"))
            })
        };
        // Checked before the token is spent, so that a bad request does not cost the client it.
        if let Some(live) = self.store.live_refresh_token(&hash, now).await.map_err(|e| server(e.to_string()))? {
            if live.grant.client_id != client.client_id {
                return Err(other_client());
            }
            narrowed(&live.grant.scopes)?;
        }
        let token = match self
            .store
            .use_refresh_token(&hash, &client.client_id, now)
            .await
            .map_err(|e| server(e.to_string()))?
        {
            Ok(token) => token,
            Err(oidc::RefreshRefusal::Reused(family)) => {
                self.revoke_family(client, &family, "refresh token reused", meta).await?;
                return Err(oauth("invalid_grant", "refresh token used before: every token of its family is revoked"));
            }
            Err(oidc::RefreshRefusal::OtherClient) => return Err(other_client()),
            Err(oidc::RefreshRefusal::Unknown) => {
                return Err(oauth("invalid_grant", "unknown or expired refresh token"));
            }
        };
        let scopes = narrowed(&token.grant.scopes)?;
        // A grant from a sign-in that proved only the password, made before the person set up
        // a method, ends once they have one: whoever held the password must sign in again
        // (THREATS: enrolment left half-open).
        if token.grant.auth.acr == "pwd" {
            let signed_in = token.grant.auth.auth_time.unwrap_or(Timestamp(0));
            let methods = self.store.authenticators(token.grant.user_id).await.map_err(|e| server(e.to_string()))?;
            if methods.iter().any(|a| a.confirmed_at.is_some_and(|at| at > signed_in)) {
                self.revoke_family(client, &token.family_id, "password-only grant after a method was set up", meta)
                    .await?;
                return Err(oauth("invalid_grant", "this sign-in proved only a password; sign in again"));
            }
            // Nor does one of a privileged account stand, unless an exception or the policy
            // says so now (a grant made before either ended, or before the promotion).
            let user = self.store.user_by_id(token.grant.user_id).await.map_err(|e| server(e.to_string()))?;
            let stands = match &user {
                Some(user) => self
                    .access
                    .password_only_grant_stands(user, &client.client_id)
                    .await
                    .map_err(|e| server(e.to_string()))?,
                None => false,
            };
            if !stands {
                self.revoke_family(client, &token.family_id, "password-only grant of a privileged account", meta)
                    .await?;
                return Err(oauth("invalid_grant", "this sign-in proved only a password; sign in again"));
            }
        }
        // The app as registered now: a minimum strength raised since, or a consent withdrawn or
        // narrowed since, ends the grant; scopes the app may no longer ask for are dropped.
        if let Some(min) = client.min_acr.as_deref()
            && !oidc::strength_meets(&token.grant.auth.acr, min)
        {
            self.revoke_family(client, &token.family_id, "the app now asks for a stronger sign-in", meta).await?;
            return Err(oauth("invalid_grant", "this app now asks for a stronger sign-in; sign in again"));
        }
        if client.consent_required {
            let allowed = self
                .store
                .consented_scopes(token.grant.user_id, &client.client_id)
                .await
                .map_err(|e| server(e.to_string()))?;
            if !allowed.is_some_and(|allowed| token.grant.scopes.iter().all(|s| allowed.contains(s))) {
                self.revoke_family(client, &token.family_id, "the person's consent no longer covers it", meta).await?;
                return Err(oauth("invalid_grant", "the person no longer allows this app what it was granted"));
            }
        }
        let scopes: Vec<String> = scopes.into_iter().filter(|s| client.scopes.contains(s)).collect();
        let response =
            self.tokens_for(client, &token.grant, &scopes, now, token.family_id.clone()).await.map_err(grant_error)?;
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
            let change = twofold_core::audit::Change::new(
                twofold_core::audit::AuditAction::OidcRevoke,
                Some(client.client_id.clone()),
            );
            let actor = Actor { name: format!("client:{}", client.client_id), ..Actor::system("oidc") };
            self.store.append_audit(&change, &self.audit_context(&actor, meta)).await?;
        }
        Ok(())
    }

    /// RFC 7662 introspection for `client`: whether `token` is active, and what it carries.
    /// A client learns only about tokens issued to it (an access token also when it may
    /// introspect, a resource server); anything else, a revoked token (or family) and the
    /// token of a person who can no longer sign in are `{"active": false}`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn introspect(&self, client: &Client, token: &str) -> AppResult<serde_json::Value> {
        let now = self.now();
        let inactive = serde_json::json!({"active": false});
        if token.matches('.').count() == 2 {
            let Ok(claims) = self.verify_token::<AccessClaims>(token).await? else {
                return Ok(inactive);
            };
            if (claims.client_id != client.client_id && !client.may_introspect)
                || self.access_token_dead(&claims).await?.is_some()
            {
                return Ok(inactive);
            }
            let mut answer = serde_json::json!({
                "active": true, "token_type": "Bearer", "scope": claims.scope, "client_id": claims.client_id,
                "sub": claims.sub, "iss": claims.iss, "aud": claims.aud, "exp": claims.exp, "iat": claims.iat,
                "jti": claims.jti, "acr": claims.acr, "amr": claims.amr, "auth_time": claims.auth_time,
            });
            // RFC 8705 §3.2: a resource server learns which certificate the token is bound to.
            if let Some(cnf) = claims.cnf {
                answer["cnf"] = cnf;
            }
            // RFC 9396 §9.2: and which actions it was granted for.
            if !claims.authorization_details.is_empty() {
                answer["authorization_details"] = serde_json::json!(claims.authorization_details);
            }
            return Ok(answer);
        }
        let hash = twofold_core::secret::sha256_hex(token.as_bytes());
        let live = match self.store.live_refresh_token(&hash, now).await? {
            Some(refresh) if refresh.grant.client_id == client.client_id => Some(refresh),
            _ => None,
        };
        let live = match live {
            Some(refresh) if self.may_sign_in(refresh.grant.user_id).await? => Some(refresh),
            _ => None,
        };
        Ok(match live {
            Some(refresh) => serde_json::json!({
                "active": true, "token_type": "refresh_token", "scope": refresh.grant.scopes.join(" "),
                "client_id": refresh.grant.client_id, "sub": refresh.grant.user_id, "iss": self.issuer()?,
                "exp": refresh.expires_at.millis() / 1000, "iat": refresh.created_at.millis() / 1000,
            }),
            None => inactive,
        })
    }

    /// Whether the person with this id exists and may still sign in.
    async fn may_sign_in(&self, user_id: Uuid) -> AppResult<bool> {
        Ok(self.store.user_by_id(user_id).await?.is_some_and(|u| u.may_sign_in()))
    }

    /// The person on whose behalf `token` was issued to `client`, and how they signed in —
    /// or why the token does not do (forged, expired, revoked, another app's, a service
    /// account's own): what an app presents to act for its signed-in person (the approvals
    /// API), so an app cannot name a person who did not sign in to it.
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn person_behind(
        &self,
        client: &Client,
        token: &str,
    ) -> AppResult<Result<(twofold_core::identity::User, twofold_core::signin::session::AuthContext), &'static str>>
    {
        let claims: AccessClaims = match self.verify_token(token).await? {
            Ok(claims) => claims,
            Err(rejected) => return Ok(Err(rejected.0)),
        };
        // RFC 9068 §4: an access token says so in its header; an ID token or a receipt is
        // never one, whatever its claims.
        if jose::header_typ(token).as_deref() != Some("at+jwt") {
            return Ok(Err("not an access token"));
        }
        if claims.iss != self.issuer()? {
            return Ok(Err("not issued here"));
        }
        if claims.client_id != client.client_id {
            return Ok(Err("issued to another app"));
        }
        if claims.sub == claims.client_id || claims.acr.is_none() {
            return Ok(Err("a service account's token acts for no person"));
        }
        if let Some(why) = self.access_token_dead(&claims).await? {
            return Ok(Err(why));
        }
        let Ok(id) = Uuid::parse_str(&claims.sub) else { return Ok(Err("bad subject")) };
        let Some(user) = self.store.user_by_id(id).await? else { return Ok(Err("no such person")) };
        let auth = twofold_core::signin::session::AuthContext {
            acr: claims.acr.unwrap_or_default(),
            amr: claims.amr.unwrap_or_default(),
            auth_time: claims.auth_time.map(|secs| Timestamp(secs * 1000)),
        };
        Ok(Ok((user, auth)))
    }

    /// Why an access token (already verified as ours) is no longer good, if it is not:
    /// expired, revoked, its family revoked, or its person unable to sign in.
    async fn access_token_dead(&self, claims: &AccessClaims) -> AppResult<Option<&'static str>> {
        if claims.exp <= self.now().millis() / 1000 {
            return Ok(Some("expired"));
        }
        if self.store.access_token_revoked(&claims.jti).await? {
            return Ok(Some("revoked"));
        }
        if let Some(family) = &claims.fid
            && self.store.token_family_revoked(family).await?
        {
            return Ok(Some("revoked"));
        }
        // A service account's own token has itself as subject; a person's names the person.
        if claims.sub != claims.client_id {
            let person = Uuid::parse_str(&claims.sub).ok();
            let may = match person {
                Some(id) => self.may_sign_in(id).await?,
                None => false,
            };
            if !may {
                return Ok(Some("the user can no longer sign in"));
            }
        }
        Ok(None)
    }

    /// Signs the tokens for `grant`, carrying `scopes` (the grant's, or fewer on a refresh);
    /// the new refresh token, in `family`, keeps the whole grant.
    async fn tokens_for(
        &self,
        client: &Client,
        grant: &Grant,
        scopes: &[String],
        now: Timestamp,
        family: String,
    ) -> AppResult<TokenResponse> {
        let user = self
            .store
            .user_by_id(grant.user_id)
            .await?
            .filter(twofold_core::identity::User::may_sign_in)
            .ok_or(AppError::Unauthenticated)?;
        let has = |scope: &str| scopes.iter().any(|s| s == scope);
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
            scope: scopes.join(" "),
            iat,
            exp,
            jti: Uuid::now_v7().to_string(),
            acr: Some(grant.auth.acr.clone()),
            amr: Some(grant.auth.amr.clone()),
            auth_time: Some(auth_time),
            cnf: None,
            fid: Some(family.clone()),
            authorization_details: grant.authorization_details.clone(),
        };
        let refresh = twofold_core::secret::random_token();
        let stored = self
            .store
            .put_refresh_token(&oidc::RefreshToken {
                token_hash: twofold_core::secret::sha256_hex(refresh.as_bytes()),
                family_id: family,
                grant: grant.clone(),
                created_at: now,
                expires_at: now.plus_seconds(oidc::REFRESH_LIFETIME_SECS),
            })
            .await?;
        if !stored {
            // The family was revoked (a replay) while these tokens were being made.
            return Err(AppError::Unauthenticated);
        }
        Ok(TokenResponse {
            refresh_token: Some(refresh),
            id_token: Some(self.sign(client.id_token_alg.as_deref().unwrap_or("RS256"), "JWT", &claims).await?),
            access_token: self.sign("ES256", "at+jwt", &access).await?,
            token_type: "Bearer",
            expires_in: oidc::TOKEN_LIFETIME_SECS,
            scope: scopes.join(" "),
            authorization_details: grant.authorization_details.clone(),
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
        if let Some(why) = self.access_token_dead(&claims).await.map_err(|e| oauth("server_error", e.to_string()))? {
            return Err(oauth("invalid_token", why));
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
}

/// The token endpoint's answer when tokens cannot be issued for a grant: the person can no
/// longer sign in or the family was revoked meanwhile (`invalid_grant`), else `server_error`.
fn grant_error(e: AppError) -> OAuthError {
    match e {
        AppError::Unauthenticated => oauth("invalid_grant", "the grant is no longer valid"),
        other => oauth("server_error", other.to_string()),
    }
}
