//! Forward-auth for reverse proxies: `/api/v1/forward-auth` answers nginx `auth_request`,
//! Traefik ForwardAuth and Caddy `forward_auth` for each request to an app that speaks no
//! OpenID Connect; `/forward-auth/continue` sends the browser back to that app after sign-in.
//!
//! The original request is read from `X-Original-URL` (nginx, as its docs and Authelia's
//! set it) or from `X-Forwarded-Proto`/`-Host`/`-Uri` (Traefik, Caddy).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twofold_app::forward_auth::{ForwardOutcome, ForwardRequest, Identity};

use crate::extract::{ClientMeta, MaybeSession, QueryParams};
use crate::page_error::PageError;
use crate::urls::query_escape;
use crate::{ApiError, AppState};

/// The request the proxy is asking about.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Original {
    url: String,
    host: String,
    path: String,
}

/// Splits `http(s)://host[:port]/path?query`; `None` for anything else (including user
/// information before the host, which would make the host ambiguous).
fn parse_url(url: &str) -> Option<Original> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_owned() };
    let clean = |s: &str| !s.is_empty() && !s.contains(['@', '\\', ' ']) && !s.chars().any(char::is_control);
    (clean(host) && !path.chars().any(char::is_control)).then(|| Original {
        url: url.to_owned(),
        host: host.to_ascii_lowercase(),
        path,
    })
}

fn original(headers: &HeaderMap) -> Option<Original> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(url) = text("x-original-url") {
        return parse_url(url);
    }
    let proto = text("x-forwarded-proto").unwrap_or("https");
    let host = text("x-forwarded-host")?;
    let uri = text("x-forwarded-uri").unwrap_or("/");
    if !["http", "https"].contains(&proto) || !uri.starts_with('/') {
        return None;
    }
    parse_url(&format!("{proto}://{host}{uri}"))
}

#[derive(Deserialize)]
pub struct CheckQuery {
    /// `true`: answer 302 instead of 401 (for proxies that pass the answer to the browser).
    #[serde(default)]
    redirect: bool,
}

fn identity_headers(identity: &Identity) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = Vec::new();
    let mut add = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            headers.push((HeaderName::from_static(name), value));
        }
    };
    add("remote-user", &identity.username);
    add("remote-name", &identity.name);
    add("remote-email", identity.email.as_deref().unwrap_or(""));
    add("remote-groups", &identity.groups.join(","));
    add("remote-acr", &identity.acr);
    add("remote-amr", &identity.amr.join(","));
    headers
}

/// `GET /api/v1/forward-auth`: 200 with `Remote-User`, `Remote-Name`, `Remote-Email`,
/// `Remote-Groups`, `Remote-Acr`, `Remote-Amr` when the session may pass; 401 with the
/// sign-in (or step-up) URL in `Location` when it must authenticate (302 with
/// `?redirect=true`); 403 when the rules refuse it whatever the person does.
pub async fn check(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientMeta(meta): ClientMeta,
    QueryParams(query): QueryParams<CheckQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(request) = original(&headers) else {
        return Err(ApiError::BadRequest(
            "send the original request as X-Original-URL, or as X-Forwarded-Proto, -Host and -Uri".into(),
        ));
    };
    let method = ["x-original-method", "x-forwarded-method"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let forwarded = ForwardRequest {
        method: &method,
        host: &request.host,
        path: &request.path,
        ip: meta.ip.as_deref().and_then(|ip| ip.parse().ok()),
        device_id: meta.device_id.as_deref(),
    };
    let outcome = state.app.forward_auth().decide(session.as_ref(), &forwarded).await?;
    let public = &state.config.public_url;
    let back = format!("/forward-auth/continue?rd={}", query_escape(&request.url));
    let sign_in = |page: &str, strength: Option<&str>| {
        let strength = strength.map(|s| format!("&strength={}", query_escape(s))).unwrap_or_default();
        let location = format!("{public}{page}?return_to={}{strength}", query_escape(&back));
        let status = if query.redirect { StatusCode::FOUND } else { StatusCode::UNAUTHORIZED };
        let body = format!("Sign in at {location}\n");
        let mut response = (status, [(header::CACHE_CONTROL, "no-store")], body).into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    };
    Ok(match outcome {
        ForwardOutcome::Allow(identity) => {
            let mut response = (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response();
            for (name, value) in identity.as_ref().map(identity_headers).unwrap_or_default() {
                response.headers_mut().insert(name, value);
            }
            response
        }
        ForwardOutcome::SignIn => sign_in("/login", None),
        ForwardOutcome::StepUp(strength) => sign_in("/login/mfa", Some(&strength)),
        ForwardOutcome::Deny(reason) => {
            tracing::info!(host = %request.host, path = %request.path, %reason, "forward-auth refused");
            (StatusCode::FORBIDDEN, [(header::CACHE_CONTROL, "no-store")], format!("Access refused: {reason}.\n"))
                .into_response()
        }
    })
}

#[derive(Deserialize)]
pub struct ContinueQuery {
    #[serde(default)]
    rd: String,
}

/// `GET /forward-auth/continue?rd=URL`: back to the protected app after sign-in, only to a
/// host a forward-auth rule names (never an open redirect).
pub async fn continue_to(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ContinueQuery>,
) -> Result<Response, PageError> {
    match parse_url(&query.rd) {
        Some(target) if state.app.forward_auth().forward_auth_knows_host(&target.host) => {
            Ok(Redirect::to(&target.url).into_response())
        }
        _ => Err(PageError::BadRequest("This address is not an app protected by Twofold.".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_requests_come_from_nginx_or_traefik_headers() {
        let mut nginx = HeaderMap::new();
        nginx.insert("x-original-url", HeaderValue::from_static("http://App.example.com:8080/admin?x=1"));
        let parsed = original(&nginx).unwrap();
        assert_eq!((parsed.host.as_str(), parsed.path.as_str()), ("app.example.com:8080", "/admin?x=1"));
        let mut traefik = HeaderMap::new();
        traefik.insert("x-forwarded-host", HeaderValue::from_static("app.example.com"));
        traefik.insert("x-forwarded-uri", HeaderValue::from_static("/"));
        assert_eq!(original(&traefik).unwrap().url, "https://app.example.com/");
        assert_eq!(parse_url("https://app.example.com").unwrap().path, "/");
        assert!(parse_url("https://evil.com@app.example.com/").is_none());
        assert!(parse_url("javascript:alert(1)").is_none());
        assert!(original(&HeaderMap::new()).is_none());
    }
}
