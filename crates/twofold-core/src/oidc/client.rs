//! Registered clients (relying parties and service accounts) and their redirect URIs.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::validation::ValidationErrors;

/// A relying party registered with Twofold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// `client_id`.
    pub client_id: String,
    /// What people call the app.
    pub name: String,
    /// Keyed hash of `client_secret`; `None` for a public client (PKCE only).
    #[serde(skip_serializing)]
    pub secret_hash: Option<String>,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Scopes the client may ask for.
    pub scopes: Vec<String>,
    /// Public clients (browser or native apps) have no secret and must use PKCE.
    pub public: bool,
    /// A service account: a machine identity that gets tokens with its own credentials
    /// (client credentials grant), never on behalf of a person.
    #[serde(default)]
    pub service: bool,
    /// A service account's access-token lifetime, at most [`TOKEN_LIFETIME_SECS`].
    #[serde(default)]
    pub token_lifetime_secs: Option<i64>,
    /// The weakest strength every sign-in to this client must reach (`mfa`, `phr`, `phrh`).
    #[serde(default)]
    pub min_acr: Option<String>,
    /// The secret before the last rotation, accepted until `previous_secret_expires_at`.
    #[serde(skip_serializing)]
    #[serde(default)]
    pub previous_secret_hash: Option<String>,
    /// When the previous secret stops working.
    #[serde(default)]
    pub previous_secret_expires_at: Option<Timestamp>,
    /// A third-party app: people are asked to allow it (consent screen) before it gets their
    /// data, once per set of scopes. First-party apps skip it.
    #[serde(default)]
    pub consent_required: bool,
    /// Public keys for `private_key_jwt` (RFC 7523), each with `kid` and `alg`; a client
    /// with keys and no secret can authenticate only with an assertion signed by one of them.
    #[serde(default)]
    pub jwks: Option<Vec<serde_json::Value>>,
    /// How its ID tokens are signed (`id_token_signed_response_alg`): `RS256` when absent,
    /// `ES256` or `EdDSA`.
    #[serde(default)]
    pub id_token_alg: Option<String>,
    /// A mutual-TLS client's certificate, pinned by its `x5t#S256` thumbprint: presenting it
    /// authenticates the client (RFC 8705 §2), and its tokens are bound to it.
    #[serde(default)]
    pub tls_cert_thumbprint: Option<String>,
    /// How it authenticates at the token, revocation and introspection endpoints
    /// (`token_endpoint_auth_method`, one of [`AUTH_METHODS`]); `None` for a registration made
    /// before the method was recorded: then [`Client::auth_method`] derives it from its
    /// credentials (`client_secret_basic` for a secret, the RFC 7591 default).
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// May introspect (RFC 7662) tokens issued to other clients — a resource server. Without
    /// it a client learns only about its own tokens.
    #[serde(default)]
    pub may_introspect: bool,
    /// The resource servers (RFC 8707 resource indicators, absolute URIs) a service account
    /// may ask tokens for: each token then names one as its audience. Without any, its
    /// tokens are for Twofold's own API only.
    #[serde(default)]
    pub resources: Vec<String>,
    /// When it last got a token (written at most about once a minute).
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    /// When its current secret was made (registration or the last rotation).
    #[serde(default)]
    pub secret_set_at: Option<Timestamp>,
    /// When it was registered.
    pub created_at: Timestamp,
}

/// Checks resource indicators (RFC 8707 §2): absolute `https://` (or `http://` to
/// localhost) URIs without a fragment, at most 10.
///
/// # Errors
/// Each one that is not.
pub fn check_resources(resources: &[String]) -> Result<Vec<String>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if resources.len() > 10 {
        errors.add("resource", "at most 10 resources per account");
    }
    for (i, r) in resources.iter().enumerate() {
        if let Err(problem) = check_app_uri(r, &format!("resource[{i}]")) {
            errors.0.extend(problem.0.into_iter().map(|mut e| {
                e.message.push_str(" (an RFC 8707 resource indicator)");
                e
            }));
        }
    }
    errors.into_result()?;
    let mut unique: Vec<String> = Vec::new();
    for r in resources {
        if !unique.contains(r) {
            unique.push(r.clone());
        }
    }
    Ok(unique)
}

/// The client authentication methods (RFC 7591 `token_endpoint_auth_method` values).
pub const AUTH_METHODS: [&str; 5] =
    ["client_secret_basic", "client_secret_post", "private_key_jwt", "tls_client_auth", "none"];

impl Client {
    /// The one way this client may authenticate: the registered `token_endpoint_auth_method`,
    /// or for an older registration the method its credentials imply (`none` for a public
    /// client, `client_secret_basic` for a secret, `private_key_jwt` for keys,
    /// `tls_client_auth` for a pinned certificate).
    #[must_use]
    pub fn auth_method(&self) -> &str {
        if let Some(method) = self.token_endpoint_auth_method.as_deref() {
            return method;
        }
        match (self.public, &self.secret_hash, &self.jwks, &self.tls_cert_thumbprint) {
            (true, ..) => "none",
            (false, None, Some(_), _) => "private_key_jwt",
            (false, None, None, Some(_)) => "tls_client_auth",
            _ => "client_secret_basic",
        }
    }
}

/// Checks a redirect URI for registration: absolute, `https` (or `http` to this machine
/// for development), no fragment, no spaces.
///
/// # Errors
/// The reason it is refused.
pub fn check_redirect_uri(uri: &str) -> Result<String, ValidationErrors> {
    check_app_uri(uri, "redirect_uri")
}

/// Checks a URI an administrator registers for an app to be reached at or named by — a
/// redirect URI, an approval callback, a resource server (RFC 8707): absolute, `https` (or
/// `http` to this machine for development), with a host and no user name or password (which
/// would reach logs), no fragment, no spaces. `field` names it in the error.
///
/// # Errors
/// The reason it is refused.
pub fn check_app_uri(uri: &str, field: &str) -> Result<String, ValidationErrors> {
    let bad = |why: &str| ValidationErrors::one(field, format!("'{uri}' {why}"));
    let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|p| uri.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/'])));
    if !(uri.starts_with("https://") || local) {
        return Err(bad("must be https (or http://localhost for development)"));
    }
    if uri.contains('#') || uri.chars().any(|c| c.is_whitespace() || c.is_control()) || uri.len() > 2000 {
        return Err(bad("must have no fragment, spaces or control characters"));
    }
    let authority = uri.split("://").nth(1).and_then(|rest| rest.split(['/', '?']).next()).unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("must name a host, with no user name or password"));
    }
    Ok(uri.to_owned())
}

/// What a person allowed a third-party client on its consent screen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Consent {
    /// The client.
    pub client_id: String,
    /// The scopes allowed.
    pub scopes: Vec<String>,
    /// When.
    pub granted_at: crate::Timestamp,
}
