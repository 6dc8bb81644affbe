//! Operations: `/healthz`, `/readyz`, `/metrics`, and the request metrics middleware.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once; later calls reuse it.
/// Returns false when another recorder was installed first.
pub fn install_metrics_recorder() -> bool {
    METRICS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .is_some()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
}

/// The admin API's OpenAPI document.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::api::OPENAPI).into_response()
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// Prometheus text exposition. With a metrics token configured, only for
/// `Authorization: Bearer <token>`; anyone else gets 401.
async fn render_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token
        && !bearer_admitted(token, &headers)
    {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")], "unauthorized\n")
            .into_response();
    }
    install_metrics_recorder();
    let body = METRICS.get().and_then(Option::as_ref).map(PrometheusHandle::render).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Counts requests and records their latency by method, route template and status.
///
/// Every label comes from a closed set, so no request can add a series: the method is one
/// of the standard ones or `other`, the route is the router's template (never the raw path)
/// or `unmatched`, and the status is a code this server answered with.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method.to_owned()), ("route", route), ("status", status)];
    metrics::counter!("twofold_http_requests_total", &labels).increment(1);
    metrics::histogram!("twofold_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The `method` label: a standard method's name, or `other` for anything a client made up.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The bearer token `/metrics` asks for when one is configured. Its `Debug` never shows it.
#[derive(Clone)]
pub struct MetricsToken(String);

/// Why a metrics token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsTokenError {
    /// Shorter than [`MetricsToken::MIN_LEN`] characters.
    #[error("the metrics token must be at least {} characters", MetricsToken::MIN_LEN)]
    TooShort,
    /// Holds something other than visible ASCII (it travels in an `Authorization` header).
    #[error("the metrics token must be visible ASCII characters, without spaces")]
    NotVisibleAscii,
}

impl MetricsToken {
    /// The shortest token accepted.
    pub const MIN_LEN: usize = 16;

    /// A token from configuration; surrounding whitespace (a file's line ending) is dropped.
    ///
    /// # Errors
    /// Too short, or not visible ASCII.
    pub fn new(token: &str) -> Result<Self, MetricsTokenError> {
        let token = token.trim();
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(MetricsTokenError::NotVisibleAscii);
        }
        if token.len() < Self::MIN_LEN {
            return Err(MetricsTokenError::TooShort);
        }
        Ok(Self(token.to_owned()))
    }

    /// Whether `presented` is the token, compared in constant time (digests first, so not
    /// even the length shows).
    fn admits(&self, presented: &str) -> bool {
        let digest = |s: &str| twofold_core::secret::sha256_hex(s.as_bytes());
        twofold_core::secret::constant_time_eq(digest(&self.0).as_bytes(), digest(presented).as_bytes())
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// Whether `headers` carry `Authorization: Bearer <token>`.
fn bearer_admitted(token: &MetricsToken, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, presented)| scheme.eq_ignore_ascii_case("bearer") && token.admits(presented.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        for name in ["BREW", "PROPFIND", "X".repeat(1000).as_str()] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other", "{name}");
        }
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
    }

    #[test]
    fn the_metrics_token_is_checked_exactly_and_never_shown() {
        let token = MetricsToken::new("correct-horse-battery\n").unwrap();
        assert!(token.admits("correct-horse-battery"));
        assert!(!token.admits("correct-horse-batter"));
        assert!(!token.admits(""));
        assert!(!format!("{token:?}").contains("horse"));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer correct-horse-battery".parse().unwrap());
        assert!(bearer_admitted(&token, &headers));
        headers.insert(header::AUTHORIZATION, "Basic correct-horse-battery".parse().unwrap());
        assert!(!bearer_admitted(&token, &headers));
        assert_eq!(MetricsToken::new("short").unwrap_err(), MetricsTokenError::TooShort);
        assert_eq!(MetricsToken::new("has a space in the middle").unwrap_err(), MetricsTokenError::NotVisibleAscii);
    }
}
