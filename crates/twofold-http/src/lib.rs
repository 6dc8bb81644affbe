//! Twofold HTTP layer: the axum router with the sign-in pages, the admin API under
//! `/api/v1`, and the operations endpoints. Handlers are thin: extract, call one
//! `twofold_app` use case, map the result. Status codes are chosen only in [`problem`] (the
//! API) and [`page_error`] (what a browser is shown).
//!
//! Pages, the OpenID Connect endpoints and forward-auth depend on the shared modules
//! ([`extract`], [`urls`], [`page_error`], [`problem`], [`cookies`], [`csrf`]), not on each
//! other. Depends on `twofold-app` and `twofold-core`; never on storage.

mod api;
mod cookies;
pub use cookies::cookie_domain;
mod csrf;
mod extract;
mod forward_auth;
pub mod i18n;
mod oidc;
mod ops;
mod page_error;
pub mod pages;
mod problem;
mod refusals;
pub mod tls;
mod urls;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use twofold_app::App;

pub use ops::{MetricsToken, MetricsTokenError, install_metrics_recorder};
pub use problem::ApiError;

/// What the HTTP layer needs besides the application.
#[derive(Clone)]
pub struct HttpConfig {
    /// The public base URL (the issuer), e.g. `https://mfa.example.com`.
    pub public_url: String,
    /// Key for CSRF tokens; derived from the master key so every node agrees.
    pub csrf_key: [u8; 32],
    /// Key that signs device cookies; derived from the master key.
    pub device_key: [u8; 32],
    /// Reverse proxies whose `X-Forwarded-For` is believed; from anyone else it is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<MetricsToken>,
    /// The organisation's name and logo in every page's header (`[branding]`).
    pub branding: pages::chrome::Branding,
    /// The domain the session cookie is shared across (`[session] cookie_domain`, checked by
    /// [`cookies::cookie_domain`]); `None` keeps it to Twofold's own host.
    pub cookie_domain: Option<String>,
}

impl HttpConfig {
    /// True when cookies must carry `Secure` (the public URL is https).
    #[must_use]
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The session cookie's `Set-Cookie` (`max_age` zero ends it), shared across the cookie
    /// domain when one is configured.
    #[must_use]
    pub fn session_cookie(&self, token: &str, max_age: Option<i64>) -> axum::http::HeaderValue {
        cookies::set_for(cookies::SESSION, token, max_age, self.secure_cookies(), self.cookie_domain.as_deref())
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub app: Arc<App>,
    /// HTTP settings.
    pub config: Arc<HttpConfig>,
}

/// The strict policy from THREATS.md: nothing inline, nothing from elsewhere, no framing.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// What an address nothing serves answers: problem+json under the API, else a page with a
/// title, a plain message and a way back (it was an empty 404).
async fn unknown_address(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        ApiError::from(twofold_app::AppError::NotFound("endpoint")).into_response()
    } else {
        page_error::PageError::App(twofold_app::AppError::NotFound("page")).into_response()
    }
}

/// Sends a person who opened Twofold at a loopback address (`http://127.0.0.1:8080`, where
/// passkeys fail as "an invalid domain") to the same page at the public URL when that is
/// `localhost` (a demo or a developer's machine). Only browser navigations are moved
/// (`Sec-Fetch-Mode: navigate`), never API calls or apps' back channels. A public URL with a
/// real name is left alone: a reverse proxy in front may well send `Host: 127.0.0.1`, and
/// moving its requests would loop.
async fn to_public_url(
    axum::extract::State(public): axum::extract::State<Arc<str>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(to) = public_url_redirect(&public, &request) {
        return axum::response::Redirect::temporary(&to).into_response();
    }
    next.run(request).await
}

/// Where [`to_public_url`] sends `request`, if anywhere.
fn public_url_redirect(public: &str, request: &axum::extract::Request) -> Option<String> {
    let navigation = request.headers().get("sec-fetch-mode").is_some_and(|m| m == "navigate");
    let page = matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD)
        && !request.uri().path().starts_with("/api/");
    let (scheme, authority) = public.split_once("://")?;
    let (public_host, public_port) = authority.rsplit_once(':').unwrap_or((authority, ""));
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') => (name, port),
        _ => (host, ""),
    };
    let loopback = name.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let default_port = if scheme == "https" { "443" } else { "80" };
    let same_port = port == public_port || (port.is_empty() && public_port == default_port);
    (navigation && page && loopback && same_port && public_host.eq_ignore_ascii_case("localhost")).then(|| {
        let here = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
        format!("{public}{here}")
    })
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    pages::chrome::set(state.config.branding.clone());
    i18n::install(Arc::clone(&state.config.branding.messages));
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    Router::new()
        .merge(pages::routes())
        .merge(oidc::routes())
        .route("/forward-auth/continue", axum::routing::get(forward_auth::continue_to))
        .nest("/api/v1", api::routes())
        .merge(ops::routes())
        .fallback(unknown_address)
        .layer(axum::middleware::from_fn(i18n::middleware))
        .layer(axum::middleware::from_fn_with_state(Arc::<str>::from(state.config.public_url.as_str()), to_public_url))
        .layer(axum::middleware::from_fn(ops::track_requests))
        .layer(RequestBodyLimitLayer::new(1024 * 1024))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::public_url_redirect;

    fn request(host: &str, navigate: bool, path: &str) -> axum::extract::Request {
        let mut builder = axum::http::Request::get(path).header("host", host);
        if navigate {
            builder = builder.header("sec-fetch-mode", "navigate");
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn a_browser_at_a_loopback_address_is_sent_to_localhost_and_nothing_else_moves() {
        let public = "http://localhost:8080";
        assert_eq!(
            public_url_redirect(public, &request("127.0.0.1:8080", true, "/login?return_to=/account")).as_deref(),
            Some("http://localhost:8080/login?return_to=/account")
        );
        assert!(public_url_redirect(public, &request("[::1]:8080", true, "/login")).is_some());
        assert!(public_url_redirect(public, &request("localhost:8080", true, "/login")).is_none(), "already there");
        assert!(public_url_redirect(public, &request("127.0.0.1:8080", false, "/login")).is_none(), "not a navigation");
        assert!(public_url_redirect(public, &request("127.0.0.1:8080", true, "/api/v1/users")).is_none(), "the API");
        assert!(public_url_redirect(public, &request("127.0.0.1:9090", true, "/login")).is_none(), "another port");
        let proxied = "https://mfa.example.com";
        assert!(public_url_redirect(proxied, &request("127.0.0.1:8080", true, "/login")).is_none(), "a proxy's Host");
    }
}
