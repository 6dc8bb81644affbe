//! The OpenID Connect provider's use cases, by responsibility: registering and
//! authenticating clients (`clients`), token-signing keys and their rotation (`keys`), the
//! authorization endpoint's decision and logout (`authorize`), and the token, userinfo,
//! revocation and introspection endpoints (`tokens`), and the apps a person allowed
//! (`consents`). This module holds their shared types.

mod authorize;
pub use authorize::LogoutTarget;
mod client_changes;
pub use client_changes::ClientChanges;
pub(crate) mod clients;
mod consents;
pub use consents::AllowedApp;
pub(crate) mod jose;
mod keys;
pub mod service_accounts;
mod tokens;

use serde::Serialize;
use twofold_core::audit::AuditContext;
use twofold_core::oidc::{
    self, AuthorizationRequest, Client, Grant, IdTokenClaims, Needed, RequestError, SigningKey, ValidRequest,
};
use twofold_core::{Timestamp, sealed};
use uuid::Uuid;

use crate::signin::Authenticated;

use crate::{Actor, AppError, AppResult, RequestMeta};

/// The OpenID Connect provider: clients, signing keys, the authorization and token
/// endpoints, and service accounts (clients with credentials of their own).
pub struct Provider {
    pub(crate) shared: std::sync::Arc<crate::Shared>,
    pub(crate) factors: std::sync::Arc<crate::factors::Factors>,
    pub(crate) access: std::sync::Arc<crate::access::ConditionalAccess>,
    pub(crate) attempts: std::sync::Arc<crate::signin::Attempts>,
    /// Absent only for admin verbs run where no master key file exists yet.
    pub(crate) keys: Option<crate::SecretKeys>,
    /// The issuer (the public URL); absent only for admin verbs.
    pub(crate) issuer_url: Option<String>,
    /// Token-signing keys read recently (when read, the keys); see [`CACHE_MS`].
    pub(crate) signing_cache:
        std::sync::Mutex<Option<(Timestamp, std::sync::Arc<Vec<twofold_core::oidc::SigningKey>>)>>,
    /// Opened private signing keys by `kid` (keys never change once made).
    pub(crate) private_keys: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Vec<u8>>>>,
    /// Client records read recently (id → when read, record).
    pub(crate) client_cache:
        std::sync::Mutex<std::collections::HashMap<String, (Timestamp, twofold_core::oidc::Client)>>,
}

crate::reads_shared!(Provider);

impl Provider {
    /// The secret keys, or a clear error where the master key is not available.
    pub(crate) fn keys(&self) -> AppResult<&crate::SecretKeys> {
        crate::require_keys(self.keys.as_ref())
    }
}

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
    /// Someone else's app: people are asked to allow it (consent screen).
    pub third_party: bool,
    /// How its ID tokens are signed: `RS256` (default), `ES256` or `EdDSA`.
    pub id_token_alg: Option<String>,
    /// How it authenticates: `client_secret_basic` (default) or `client_secret_post` for a
    /// confidential client, `none` for a public one. Only that method is accepted.
    pub token_endpoint_auth_method: Option<String>,
    /// May introspect tokens issued to other clients (a resource server).
    pub may_introspect: bool,
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
    /// Ask the person whether this third-party app may have these scopes.
    Consent {
        /// The app's name.
        client_name: String,
        /// What it asks for.
        scopes: Vec<String>,
    },
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
    /// RFC 8707: the resource server a client-credentials token is for.
    pub resource: Option<String>,
    /// The credentials came in an `Authorization: Basic` header (`client_secret_basic`)
    /// rather than the form (`client_secret_post`).
    pub basic_auth: bool,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` with `client_assertion`.
    pub client_assertion_type: Option<String>,
    /// A JWT the client signed (`private_key_jwt`, RFC 7523) instead of a secret.
    pub client_assertion: Option<String>,
    /// `x5t#S256` of the certificate presented over mutual TLS, if any.
    pub client_cert_thumbprint: Option<String>,
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
    /// The actions granted (RFC 9396 §7), when the app asked for any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization_details: Vec<twofold_core::oidc::details::ActionDetail>,
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
pub(crate) const CACHE_MS: i64 = 5_000;

/// ID tokens are RS256 (what every client accepts) unless a client asks for ES256 or EdDSA;
/// access tokens ES256 (cheap to sign). One active key of each.
pub(crate) const SIGNING_ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

pub(crate) fn oauth(error: &'static str, description: impl Into<String>) -> OAuthError {
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
    /// Confirmation (RFC 8705 §3.1): `{"x5t#S256": ...}` for a certificate-bound token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cnf: Option<serde_json::Value>,
    /// The token family (code exchange and its refreshes) it was issued from: revoking the
    /// family (a replayed code or refresh token, RFC 7009) ends it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fid: Option<String>,
    /// The actions granted (RFC 9396 §9.1), when the app asked for any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) authorization_details: Vec<twofold_core::oidc::details::ActionDetail>,
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

pub(crate) fn with_params(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = params.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", query_escape(v)))).collect();
    if query.is_empty() {
        return uri.to_owned();
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", query.join("&"))
}

impl Provider {
    pub(crate) fn issuer(&self) -> AppResult<&str> {
        self.issuer_url.as_deref().ok_or_else(|| AppError::Internal("no public URL (issuer) configured".into()))
    }

    pub(crate) fn client_secret_hash(&self, client_id: &str, secret: &str) -> AppResult<String> {
        let key = self.keys()?.recovery;
        Ok(hex::encode(twofold_core::secret::hmac_sha256(
            &key,
            format!("client-secret:{client_id}:{secret}").as_bytes(),
        )))
    }
}

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
