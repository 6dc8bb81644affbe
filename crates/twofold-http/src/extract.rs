//! Extractors: where a request came from, which API key calls, which session is signed in.
//!
//! API handlers take an [`Authorized<P>`]: it exists only after the bearer key was checked
//! and its role allows permission `P`, so a handler that compiles has passed the check.
//! Pages take a [`PageSession`] (or, for a permission, `pages::PageAuthorized<P>`), whose
//! failures answer as error pages.

use std::marker::PhantomData;
use std::net::IpAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use twofold_app::signin::Authenticated;
use twofold_app::{Actor, AppError, RequestMeta};
use twofold_core::identity::roles;

use crate::tls::PeerInfo;
use crate::{ApiError, AppState, cookies};

/// The request's origin, for audit and sign-in events.
#[derive(Debug, Clone)]
pub struct ClientMeta(pub RequestMeta);

impl FromRequestParts<AppState> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<PeerInfo>>().map(|ConnectInfo(info)| info.addr.ip());
        let ip = peer.map(|peer| client_ip(peer, &parts.headers, &state.config.trusted_proxies).to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        let device_id = cookies::get(&parts.headers, cookies::DEVICE)
            .and_then(|cookie| twofold_core::signin::device::verify(&state.config.device_key, cookie));
        Ok(Self(RequestMeta { ip, user_agent, device_id, app: None, throttle_source: None }))
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. A header from an
/// untrusted peer is ignored, so clients cannot choose the address that events, throttling
/// and network rules see. Entries are read from the right (`ip`, or `ip:port` as some proxies
/// write it); one that is no address stops the walk at the peer, since anything left of it may
/// be the client's own invention.
fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.into_iter().rev() {
        let ip = entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()));
        match ip {
            Some(ip) if is_trusted(&ip) => {}
            Some(ip) => return ip,
            None => return peer,
        }
    }
    peer
}

fn presented_certificate(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<PeerInfo>>().and_then(|ConnectInfo(info)| info.certificate_thumbprint.clone())
}

/// The `x5t#S256` thumbprint of the client certificate presented over mutual TLS, if any.
pub struct ClientCertificate(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientCertificate {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(presented_certificate(parts)))
    }
}

/// A permission a handler asks for, as a type: names one of the core's [`roles::Permission`]s,
/// whose [`roles::grants`] decides which roles hold it (for API keys and people alike).
pub trait Permission: Send + Sync + 'static {
    /// The permission in the core's terms.
    const PERMISSION: roles::Permission;
    /// The OAuth scope that grants it to a service account's access token, if any does.
    const SERVICE_SCOPE: Option<&'static str> = None;
}

/// Read users and groups: admins, help desk and auditors.
pub struct ReadDirectory;
impl Permission for ReadDirectory {
    const PERMISSION: roles::Permission = roles::Permission::ReadDirectory;
}

/// Change users, groups and sessions: admins.
pub struct WriteDirectory;
impl Permission for WriteDirectory {
    const PERMISSION: roles::Permission = roles::Permission::WriteDirectory;
}

/// Read and verify the audit log: admins and auditors.
pub struct ReadAudit;
impl Permission for ReadAudit {
    const PERMISSION: roles::Permission = roles::Permission::ReadAudit;
}

/// Register and list OpenID Connect clients and service accounts: admins.
pub struct ManageClients;
impl Permission for ManageClients {
    const PERMISSION: roles::Permission = roles::Permission::ManageClients;
}

/// Apply and roll back conditional-access policies: admins.
pub struct ManagePolicy;
impl Permission for ManagePolicy {
    const PERMISSION: roles::Permission = roles::Permission::ManagePolicy;
}

/// Read support cases and their metrics: admins, help desk and auditors.
pub struct ReadCases;
impl Permission for ReadCases {
    const PERMISSION: roles::Permission = roles::Permission::ReadCases;
}

/// Work support cases (the operator pages): admins and help desk.
pub struct WorkCases;
impl Permission for WorkCases {
    const PERMISSION: roles::Permission = roles::Permission::WorkCases;
}

/// Check users' one-time codes for a gateway: admin API keys, and service accounts whose
/// access token carries the `mfa:verify` scope.
pub struct VerifyCodes;
impl Permission for VerifyCodes {
    const PERMISSION: roles::Permission = roles::Permission::VerifyCodes;
    const SERVICE_SCOPE: Option<&'static str> = Some("mfa:verify");
}

/// An API caller whose key grants `P`.
pub struct Authorized<P> {
    /// The caller as an audit actor.
    pub actor: Actor,
    _permission: PhantomData<P>,
}

impl<P: Permission> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthenticated)?
            .trim();
        // A JWT (three dot-separated parts) is a service account's access token; API keys have no dots.
        if token.matches('.').count() == 2 {
            let Some(scope) = P::SERVICE_SCOPE else {
                return Err(ApiError::ServiceAccountMayNot(P::PERMISSION));
            };
            let presented = presented_certificate(parts);
            let actor = state.app.oidc().authenticate_service_token(token, scope, presented.as_deref()).await?;
            return Ok(Self { actor, _permission: PhantomData });
        }
        let (key, actor) = state.app.identity().authenticate_api_key(token).await?;
        if !roles::grants(key.role, P::PERMISSION) {
            return Err(ApiError::KeyMayNot { role: key.role, permission: P::PERMISSION });
        }
        Ok(Self { actor, _permission: PhantomData })
    }
}

/// The signed-in session, if the request carries a valid one.
pub struct MaybeSession(pub Option<Authenticated>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match cookies::get(&parts.headers, cookies::SESSION) {
            Some(token) => Ok(Self(state.app.signin().authenticate_session(token).await?)),
            None => Ok(Self(None)),
        }
    }
}

/// A help-desk operator calling the API with their own signed-in session: the session
/// cookie, the session's form token in `X-CSRF-Token` (so another site's page cannot ride on
/// the cookie), the help-desk or admin role, and their own passkey or security key proved
/// within the freshness window. Cases are worked by people; an API key never works one.
pub struct CaseWorker {
    /// The operator their steps are recorded as.
    pub operator: twofold_app::cases::CaseOperator,
}

impl FromRequestParts<AppState> for CaseWorker {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(ApiError::SessionOnly);
        }
        let Some(token) = cookies::get(&parts.headers, cookies::SESSION) else {
            return Err(AppError::Unauthenticated.into());
        };
        let current = state.app.signin().authenticate_session(token).await?.ok_or(AppError::Unauthenticated)?;
        let presented = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !crate::csrf::check_session_token(&state.config.csrf_key, &current.session.id_hash, presented) {
            return Err(ApiError::StaleCsrfToken);
        }
        let operator = state.app.cases().operator(&current)?;
        Ok(Self { operator })
    }
}

/// The signed-in session of a browser page, if the request carries a valid one. Unlike
/// [`MaybeSession`], a failure to read it answers as an error page
/// ([`PageError`](crate::page_error::PageError)), not problem+json.
pub struct PageSession(pub Option<Authenticated>);

impl FromRequestParts<AppState> for PageSession {
    type Rejection = crate::page_error::PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match cookies::get(&parts.headers, cookies::SESSION) {
            Some(token) => Ok(Self(state.app.signin().authenticate_session(token).await?)),
            None => Ok(Self(None)),
        }
    }
}

/// A JSON body whose parse errors answer as problem+json (400) with the reason.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// A query string whose parse errors answer as problem+json (400) with the reason.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(proxy, &headers("203.0.113.7"), &trusted).to_string(), "203.0.113.7");
        // A spoofed left-most entry is skipped: the right-most untrusted hop is the client.
        assert_eq!(client_ip(proxy, &headers("1.1.1.1, 203.0.113.7, 10.0.0.9"), &trusted).to_string(), "203.0.113.7");
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(stranger, &headers("203.0.113.7"), &trusted), stranger, "ignored from untrusted peers");
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        // A proxy that writes the port: the address is read, not skipped for the one before it.
        assert_eq!(client_ip(proxy, &headers("10.20.3.4, 203.0.113.7:51234"), &trusted).to_string(), "203.0.113.7");
        assert_eq!(client_ip(proxy, &headers("[2001:db8::7]:443"), &trusted).to_string(), "2001:db8::7");
        // What is no address stops the walk: nothing left of it is believed.
        assert_eq!(client_ip(proxy, &headers("10.20.3.4, garbage"), &trusted), proxy);
    }
}
