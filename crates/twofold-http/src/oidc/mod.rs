//! The OpenID Connect provider's endpoints: discovery, JWKS, authorization (with its consent
//! screen, [`consent`]), token, userinfo and logout. Thin: the decisions are
//! `twofold_app::oidc`'s; the token endpoints' errors follow RFC 6749 §5.2 (JSON
//! `error`/`error_description`) rather than problem+json, as OAuth clients expect; what a
//! browser is shown (authorization, consent, logout) goes through the pages' error edge.

pub(crate) mod consent;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use twofold_app::oidc::{AuthorizeOutcome, OAuthError, TokenRequest};
use twofold_core::oidc::AuthorizationRequest;

use crate::extract::{ClientCertificate, ClientMeta, PageSession};
use crate::page_error::PageError;
use crate::urls::query_escape;
use crate::{ApiError, AppState};

/// The routes under the issuer.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth2/jwks", get(jwks))
        .route("/oauth2/authorize", get(authorize))
        .route("/oauth2/token", axum::routing::post(token))
        .route("/oauth2/userinfo", get(userinfo).post(userinfo))
        .route("/oauth2/revoke", axum::routing::post(revoke))
        .route("/oauth2/logout", get(logout_get).post(logout_post))
        .route("/oauth2/consent", axum::routing::post(consent::submit))
        .route("/oauth2/introspect", axum::routing::post(introspect))
}

async fn discovery(State(state): State<AppState>) -> Response {
    let issuer = &state.config.public_url;
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "jwks_uri": format!("{issuer}/oauth2/jwks"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "end_session_endpoint": format!("{issuer}/oauth2/logout"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": twofold_core::oidc::ID_TOKEN_ALGORITHMS,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "tls_client_auth", "none"],
        "tls_client_certificate_bound_access_tokens": true,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "groups"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "email", "name",
                             "preferred_username", "groups"],
        "acr_values_supported": twofold_core::oidc::STRENGTHS,
        "authorization_details_types_supported": [twofold_core::oidc::details::ACTION_TYPE],
        "prompt_values_supported": twofold_core::oidc::PROMPTS,
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
    });
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(document)).into_response()
}

async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.app.oidc().jwks().await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(json!({ "keys": keys }))).into_response())
}

async fn authorize(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    ClientMeta(meta): ClientMeta,
    RawQuery(raw): RawQuery,
    Query(request): Query<AuthorizationRequest>,
) -> Result<Response, PageError> {
    let raw = raw.unwrap_or_default();
    let back = consent::after_sign_in(&raw);
    let outcome = state.app.oidc().authorize(&request, session.as_ref(), false, &meta).await?;
    Ok(match outcome {
        AuthorizeOutcome::Redirect(uri) => Redirect::to(&uri).into_response(),
        AuthorizeOutcome::SignIn => {
            let mut login = format!("/login?return_to={}", query_escape(&back));
            // With a session, a sign-in is asked only by `prompt=login` or a stale `max_age`:
            // the sign-in page must ask again, not send the old session straight back.
            if request.prompt.as_deref() == Some("login") || session.is_some() {
                login.push_str("&prompt=login");
            }
            if let Some(hint) = &request.login_hint {
                login.push_str(&format!("&login_hint={}", query_escape(hint)));
            }
            Redirect::to(&login).into_response()
        }
        AuthorizeOutcome::StepUp(strength) => {
            Redirect::to(&format!("/login/mfa?return_to={}&strength={}", query_escape(&back), query_escape(&strength)))
                .into_response()
        }
        AuthorizeOutcome::Consent { client_name, scopes } => match session.as_ref() {
            Some(current) => consent::render(&state, current, client_name, &scopes, &raw).await,
            None => Redirect::to(&format!("/login?return_to={}", query_escape(&back))).into_response(),
        },
        AuthorizeOutcome::Refuse(message) => {
            return Err(PageError::BadRequest(crate::i18n::t1("consent.cannot_accept", "reason", message)));
        }
    })
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    /// RFC 8707: one resource server the token is for (a client-credentials grant).
    resource: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// An OAuth error response (RFC 6749 §5.2). A `server_error`'s description is ours (it may
/// carry database text): it is logged under a reference, and the client is given only that.
fn oauth_error(status: StatusCode, error: &OAuthError) -> Response {
    let description = if error.error == "server_error" {
        let reference = crate::page_error::reference();
        tracing::error!(%reference, detail = %error.description, "token endpoint failed");
        format!("Twofold could not complete the request (reference {reference})")
    } else {
        error.description.clone()
    };
    let body = Json(json!({"error": error.error, "error_description": description}));
    let mut response = (status, [(header::CACHE_CONTROL, "no-store")], body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic"));
    }
    response
}

/// `Authorization: Basic base64(client_id:client_secret)`, form-decoded per RFC 6749 §2.3.1.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
fn form_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(b) = rest.next() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = [rest.next()?, rest.next()?];
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

async fn token(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ClientCertificate(certificate): ClientCertificate,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let basic = basic_credentials(&headers);
    if basic.is_some() && (form.client_secret.is_some() || form.client_assertion.is_some()) {
        let error = OAuthError { error: "invalid_request", description: "use one client authentication method".into() };
        return oauth_error(StatusCode::BAD_REQUEST, &error);
    }
    let basic_auth = basic.is_some();
    let (client_id, client_secret) = match basic {
        Some((id, secret)) => (id, Some(secret)),
        None => (form.client_id.unwrap_or_default(), form.client_secret),
    };
    let request = TokenRequest {
        basic_auth,
        grant_type: form.grant_type,
        code: form.code,
        redirect_uri: form.redirect_uri,
        code_verifier: form.code_verifier,
        client_id,
        client_secret,
        resource: form.resource,
        refresh_token: form.refresh_token,
        scope: form.scope,
        client_assertion_type: form.client_assertion_type,
        client_assertion: form.client_assertion,
        client_cert_thumbprint: certificate,
    };
    match state.app.oidc().exchange_code(&request, &meta).await {
        Ok(tokens) => {
            ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(tokens)).into_response()
        }
        Err(error) if error.error == "invalid_client" => oauth_error(StatusCode::UNAUTHORIZED, &error),
        Err(error) if error.error == "server_error" => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, &error),
        Err(error) => oauth_error(StatusCode::BAD_REQUEST, &error),
    }
}

async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    match state.app.oidc().userinfo(token.trim()).await {
        Ok(claims) => ([(header::CACHE_CONTROL, "no-store")], Json(claims)).into_response(),
        Err(error) => {
            let challenge = format!("Bearer error=\"{}\"", error.error);
            let mut response = oauth_error(StatusCode::UNAUTHORIZED, &error);
            if let Ok(value) = header::HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }
}

#[derive(Deserialize)]
pub struct TokenOnlyForm {
    #[serde(default)]
    token: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// The client a revocation or introspection request comes from (Basic or form credentials).
async fn calling_client(
    state: &AppState,
    headers: &HeaderMap,
    certificate: Option<String>,
    form: &TokenOnlyForm,
) -> Result<twofold_core::oidc::Client, Response> {
    let presented = PresentedCredentials {
        client_id: form.client_id.clone(),
        client_secret: form.client_secret.clone(),
        client_assertion_type: form.client_assertion_type.clone(),
        client_assertion: form.client_assertion.clone(),
    };
    authenticate_app(state, headers, certificate, presented)
        .await
        .map_err(|e| oauth_error(StatusCode::UNAUTHORIZED, &e))
}

/// Client credentials sent in a request body (`client_secret_post`, `private_key_jwt`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PresentedCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

/// Authenticates an app by whichever method it registered: Basic credentials in the
/// `Authorization` header, `presented` ones from the body, or its TLS client certificate.
pub(crate) async fn authenticate_app(
    state: &AppState,
    headers: &HeaderMap,
    certificate: Option<String>,
    presented: PresentedCredentials,
) -> Result<twofold_core::oidc::Client, OAuthError> {
    let basic = basic_credentials(headers);
    let basic_auth = basic.is_some();
    let (id, secret) = match basic {
        Some((id, secret)) => (id, Some(secret)),
        None => (presented.client_id.unwrap_or_default(), presented.client_secret),
    };
    let request = TokenRequest {
        basic_auth,
        client_id: id,
        client_secret: secret,
        client_assertion_type: presented.client_assertion_type,
        client_assertion: presented.client_assertion,
        client_cert_thumbprint: certificate,
        ..TokenRequest::default()
    };
    state.app.oidc().authenticate_client(&request).await
}

/// RFC 7009: always 200 for a known client, whatever the token was.
async fn revoke(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ClientCertificate(certificate): ClientCertificate,
    headers: HeaderMap,
    Form(form): Form<TokenOnlyForm>,
) -> Result<Response, ApiError> {
    let client = match calling_client(&state, &headers, certificate, &form).await {
        Ok(client) => client,
        Err(response) => return Ok(response),
    };
    state.app.oidc().revoke_token(&client, &form.token, &meta).await?;
    Ok(StatusCode::OK.into_response())
}

/// RFC 7662: `{"active": false}` for anything not live; confidential clients only.
async fn introspect(
    State(state): State<AppState>,
    ClientCertificate(certificate): ClientCertificate,
    headers: HeaderMap,
    Form(form): Form<TokenOnlyForm>,
) -> Result<Response, ApiError> {
    let client = match calling_client(&state, &headers, certificate, &form).await {
        Ok(client) => client,
        Err(response) => return Ok(response),
    };
    if client.public {
        let error =
            OAuthError { error: "invalid_client", description: "introspection needs a confidential client".into() };
        return Ok(oauth_error(StatusCode::UNAUTHORIZED, &error));
    }
    let answer = state.app.oidc().introspect(&client, &form.token).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response())
}

#[derive(Deserialize)]
pub struct LogoutQuery {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// Present when the person confirmed on the "Sign out of Twofold?" page.
    csrf: Option<String>,
}

/// The confirmation asked for when an app's logout request does not prove it is about this
/// browser's person (RP-Initiated Logout 1.0 §2: the OP should ask).
#[derive(Template, WebTemplate)]
#[template(path = "logout.html")]
struct LogoutPage {
    /// The sentence around the person's name, which the page shows in bold.
    intro: (String, String),
    display_name: String,
    csrf: String,
    id_token_hint: String,
    post_logout_redirect_uri: String,
    state: String,
}

/// `GET /oauth2/logout`: RP-initiated logout with query parameters.
async fn logout_get(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Query(mut query): Query<LogoutQuery>,
) -> Result<Response, PageError> {
    // A confirmation is a form POST only: a link can never carry one.
    query.csrf = None;
    logout(&state, &meta, session, query).await
}

/// `POST /oauth2/logout`: the same with a form-encoded body, and the confirmation form's answer.
async fn logout_post(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(query): Form<LogoutQuery>,
) -> Result<Response, PageError> {
    logout(&state, &meta, session, query).await
}

/// RP-initiated logout: checks the request (`id_token_hint`, an exactly registered
/// `post_logout_redirect_uri`), then ends this browser's session at once only when the hint
/// is an ID token of the signed-in person, or the person confirmed (CSRF-checked); otherwise
/// asks "Sign out of Twofold?". Then returns to the app.
async fn logout(
    state: &AppState,
    meta: &twofold_app::RequestMeta,
    session: Option<twofold_app::signin::Authenticated>,
    query: LogoutQuery,
) -> Result<Response, PageError> {
    let target = state
        .app
        .oidc()
        .logout_target(
            query.id_token_hint.as_deref(),
            query.post_logout_redirect_uri.as_deref(),
            query.state.as_deref(),
        )
        .await?;
    let target = match target {
        Ok(target) => target,
        Err(reason) => {
            return Err(PageError::BadRequest(crate::i18n::t1("logout.cannot_accept", "reason", reason)));
        }
    };
    let mut response = Redirect::to(&target.redirect).into_response();
    if let Some(current) = session {
        let confirmed = query
            .csrf
            .as_deref()
            .is_some_and(|c| crate::csrf::check_session_token(&state.config.csrf_key, &current.session.id_hash, c));
        if !confirmed && !target.ends_session_of(current.user.id) {
            let page = LogoutPage {
                intro: crate::pages::wording::around(crate::i18n::t("logout.intro"), "name"),
                display_name: current.user.display_name.clone(),
                csrf: crate::csrf::session_token(&state.config.csrf_key, &current.session.id_hash),
                id_token_hint: query.id_token_hint.unwrap_or_default(),
                post_logout_redirect_uri: query.post_logout_redirect_uri.unwrap_or_default(),
                state: query.state.unwrap_or_default(),
            };
            let mut page = ([(header::CACHE_CONTROL, "no-store")], page).into_response();
            allow_redirect_after_form(&target.redirect, &mut page);
            return Ok(page);
        }
        state.app.signin().sign_out(&current, false, meta).await?;
    }
    let cleared = state.config.session_cookie("", Some(0));
    response.headers_mut().append(header::SET_COOKIE, cleared);
    Ok(response)
}

/// Browsers apply a page's CSP `form-action` to the redirect after its form is sent: the
/// confirmation page allows the (already checked, registered) origin it returns to.
fn allow_redirect_after_form(target: &str, response: &mut Response) {
    let Some((scheme, rest)) = target.split_once("://") else { return };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let safe = authority.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !["http", "https"].contains(&scheme) || authority.is_empty() || !safe {
        return;
    }
    let policy = crate::CONTENT_SECURITY_POLICY
        .replace("form-action 'self'", &format!("form-action 'self' {scheme}://{authority}"));
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> String {
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_server_error_tells_the_client_a_reference_and_nothing_of_the_database() {
        let failed = OAuthError {
            error: "server_error",
            description: "database error: error returned from database: relation \"oidc_clients\" does not exist"
                .into(),
        };
        let response = oauth_error(StatusCode::INTERNAL_SERVER_ERROR, &failed);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(response).await;
        assert!(body.contains("\"server_error\"") && body.contains("reference"), "{body}");
        assert!(!body.contains("database") && !body.contains("oidc_clients"), "{body}");

        let refused = OAuthError { error: "invalid_grant", description: "the code was used already".into() };
        let body = body_of(oauth_error(StatusCode::BAD_REQUEST, &refused)).await;
        assert!(body.contains("the code was used already"), "a client's own mistake keeps its words: {body}");
    }
}
