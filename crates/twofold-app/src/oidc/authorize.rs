//! The authorization endpoint's decision (sign in, step up, or issue a code) and RP-initiated
//! logout.

use super::*;
use twofold_core::signin::FailureReason;

use crate::access::Target;
use crate::access::policies::Verdict;

impl Provider {
    /// The authorization endpoint: checks the request, then either asks for sign-in or a
    /// (fresh) second factor — what the app asks, the client's minimum, and what the
    /// conditional-access policy in force requires — or issues a single-use code.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn authorize(
        &self,
        request: &AuthorizationRequest,
        session: Option<&Authenticated>,
        fresh_login: bool,
        meta: &RequestMeta,
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
        let full_session = session.filter(|s| s.session.opens_apps());
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
                    && !self.factors.can_reach(&current.user, &acr).await?
                {
                    return Ok(AuthorizeOutcome::Redirect(error_redirect("unmet_authentication_requirements")));
                }
                return Ok(AuthorizeOutcome::StepUp(acr));
            }
            (Needed::Nothing, _) => {}
        }
        let Some(current) = full_session else { return Ok(AuthorizeOutcome::SignIn) };
        // The conditional-access policy in force (and campaign enforcement), for a sign-in to this app.
        let groups = self.store.user_groups(current.user.id).await?;
        // Each action the app says the sign-in is for (RFC 9396; `read` when it says none) is
        // held to the rules about it.
        let mut decided = None;
        for action in oidc::details::actions(&valid.authorization_details) {
            let target = Target {
                app: Some(&valid.client_id),
                host_path: None,
                action,
                ip: meta.ip.as_deref().and_then(|ip| ip.parse().ok()),
                device_id: meta.device_id.as_deref(),
                trusted: None,
            };
            let (verdict, context) = self.access.conditional_access_recorded(current, &groups, &target).await?;
            let satisfied = matches!(verdict, Verdict::Satisfied);
            decided = Some((verdict, context));
            if !satisfied {
                break;
            }
        }
        let Some((verdict, mut context)) = decided else { return Ok(AuthorizeOutcome::SignIn) };
        context.app = Some(valid.client_id.clone());
        {
            match verdict {
                Verdict::Satisfied => {}
                Verdict::Refused(reason) => {
                    self.record_app_sign_in(current, Some(FailureReason::PolicyBlocked), context, meta).await?;
                    return Ok(AuthorizeOutcome::Redirect(with_params(
                        &valid.redirect_uri,
                        &[
                            ("error", Some("access_denied")),
                            ("error_description", Some(&reason)),
                            ("state", valid.state.as_deref()),
                            ("iss", Some(&issuer)),
                        ],
                    )));
                }
                Verdict::Unreachable(_) => {
                    return Ok(AuthorizeOutcome::Redirect(error_redirect("unmet_authentication_requirements")));
                }
                Verdict::StepUp(_) if valid.prompt.as_deref() == Some("none") => {
                    return Ok(AuthorizeOutcome::Redirect(error_redirect("interaction_required")));
                }
                Verdict::StepUp(acr) => return Ok(AuthorizeOutcome::StepUp(acr)),
            }
        }
        if let Some(client) = client.as_ref().filter(|c| c.consent_required) {
            let granted = self.store.consented_scopes(current.user.id, &client.client_id).await?;
            if oidc::consent_needed(client, granted.as_deref(), &valid.scopes, valid.prompt.as_deref()) {
                if valid.prompt.as_deref() == Some("none") {
                    return Ok(AuthorizeOutcome::Redirect(error_redirect("consent_required")));
                }
                return Ok(AuthorizeOutcome::Consent { client_name: client.name.clone(), scopes: valid.scopes });
            }
        }
        let code = twofold_core::secret::random_token();
        let grant = Grant {
            client_id: valid.client_id.clone(),
            user_id: current.user.id,
            redirect_uri: valid.redirect_uri.clone(),
            scopes: valid.scopes.clone(),
            nonce: valid.nonce.clone(),
            code_challenge: valid.code_challenge.clone(),
            auth: current.session.auth.clone(),
            authorization_details: valid.authorization_details.clone(),
        };
        let now = self.now();
        let hash = twofold_core::secret::sha256_hex(code.as_bytes());
        self.store.put_authorization_code(&hash, &grant, now, now.plus_seconds(oidc::CODE_LIFETIME_SECS)).await?;
        context.app = Some(valid.client_id.clone());
        self.record_app_sign_in(current, None, context, meta).await?;
        Ok(AuthorizeOutcome::Redirect(with_params(
            &valid.redirect_uri,
            &[("code", Some(&code)), ("state", valid.state.as_deref()), ("iss", Some(&issuer))],
        )))
    }

    /// The person's answer on the consent screen for `request`: allowed, it is remembered
    /// (audited) and `None` says to go on with the request; denied, the app is told
    /// `access_denied` at the returned URI. A request that no longer validates is refused.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn decide_consent(
        &self,
        request: &AuthorizationRequest,
        session: &Authenticated,
        allow: bool,
        meta: &RequestMeta,
    ) -> AppResult<Result<Option<String>, String>> {
        let client = match request.client_id.as_deref() {
            Some(id) => self.store.client(id).await?,
            None => None,
        };
        let valid = match oidc::validate_request(request, client.as_ref()) {
            Ok(valid) => valid,
            Err(RequestError::Fatal(message) | RequestError::Redirect(_, message)) => return Ok(Err(message)),
        };
        if !allow {
            let issuer = self.issuer()?.to_owned();
            return Ok(Ok(Some(with_params(
                &valid.redirect_uri,
                &[("error", Some("access_denied")), ("state", valid.state.as_deref()), ("iss", Some(&issuer))],
            ))));
        }
        let ctx = self.audit_context(&session.actor(), meta);
        self.store.grant_consent(session.user.id, &valid.client_id, &valid.scopes, self.now(), &ctx).await?;
        Ok(Ok(None))
    }

    /// Records a sign-in to an app (a code issued, or refused by conditional access) as a
    /// sign-in event with the session's methods and what conditional access saw and decided.
    async fn record_app_sign_in(
        &self,
        current: &Authenticated,
        refused: Option<FailureReason>,
        context: twofold_core::signin::SignInContext,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let methods: Vec<&str> = current.session.auth.amr.iter().map(String::as_str).collect();
        let mut event = self
            .attempts
            .sign_in_event(&current.user.username, Some(&current.user), refused, meta)
            .with_methods(&methods)
            .with_context(context);
        event.source = Some(twofold_core::signin::throttle::SESSION_SOURCE.to_owned());
        Ok(self.store.record_sign_in_attempt(&event, &self.audit_context(&current.actor(), meta)).await?)
    }

    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): checks the ID token an
    /// app sends as `id_token_hint` (ours, for a registered client; it may have expired) and
    /// where to send the browser afterwards: `post_logout_redirect_uri` when it is one of that
    /// client's registered redirect URIs (with `state`), else the sign-in page. Without a hint
    /// the target is the sign-in page (a `post_logout_redirect_uri` then names no client to
    /// match it against and is refused). `Err(reason)` for a request that must not be
    /// followed. Whether the session ends at once is [`LogoutTarget::ends_session_of`]'s.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn logout_target(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> AppResult<Result<LogoutTarget, String>> {
        let Some(hint) = id_token_hint else {
            if post_logout_redirect_uri.is_some() {
                return Ok(Err("post_logout_redirect_uri needs an id_token_hint naming its client".into()));
            }
            return Ok(Ok(LogoutTarget { redirect: "/login".into(), subject: None }));
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
        let redirect = match post_logout_redirect_uri {
            None => "/login".to_owned(),
            Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => with_params(uri, &[("state", state)]),
            Some(_) => return Ok(Err("post_logout_redirect_uri is not registered for this client".into())),
        };
        Ok(Ok(LogoutTarget { redirect, subject: Some(claims.sub) }))
    }
}

/// Where a checked RP-initiated logout request sends the browser, and whose ID token it
/// carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutTarget {
    /// The registered `post_logout_redirect_uri` (with `state`), or the sign-in page.
    pub redirect: String,
    /// The `sub` of the `id_token_hint`, when there was one.
    pub subject: Option<String>,
}

impl LogoutTarget {
    /// Whether the session of `user_id` may end without asking: only when the app sent an
    /// ID token of that very person. Someone else's ID token (or none) proves nothing about
    /// this browser's person, who is asked to confirm instead.
    #[must_use]
    pub fn ends_session_of(&self, user_id: Uuid) -> bool {
        self.subject.as_deref().is_some_and(|sub| sub == user_id.to_string())
    }
}
