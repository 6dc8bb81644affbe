//! What the token endpoints issue and keep: authorization-code grants, refresh tokens and
//! their families, signing keys, and the claims of an ID token.

use serde::{Deserialize, Serialize};

use super::TOKEN_LIFETIME_SECS;
use crate::Timestamp;
use crate::signin::session::AuthContext;

/// The refresh-token family that `client_id`'s exchange of the code with this hash starts:
/// derived from the code, so that a replay of the code finds (and revokes) what its first
/// exchange issued (RFC 6749 §4.1.2), and from the client, so that a replay by anyone else
/// holding a leaked, spent code revokes nothing of the person's.
#[must_use]
pub fn token_family_for_code(code_hash: &str, client_id: &str) -> String {
    crate::secret::sha256_hex(format!("token-family:{client_id}:{code_hash}").as_bytes())
}

/// What an authorization code stands for until it is exchanged (stored as JSON; the code
/// itself only as a hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The client it was issued to.
    pub client_id: String,
    /// Whose sign-in.
    pub user_id: uuid::Uuid,
    /// Must be presented again, identical, at the exchange.
    pub redirect_uri: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge to check the verifier against.
    pub code_challenge: Option<String>,
    /// How the user authenticated (becomes `acr`, `amr`, `auth_time`).
    pub auth: AuthContext,
    /// The actions granted (RFC 9396), echoed in the token response and access tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_details: Vec<super::details::ActionDetail>,
}

/// How long a refresh token lives unused; each use replaces it with a new one.
pub const REFRESH_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// A refresh token as stored (the token itself only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// All tokens rotated from one code exchange share it; reuse revokes them all.
    pub family_id: String,
    /// What it grants (client, user, scopes, how the user authenticated).
    pub grant: Grant,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// Why a refresh token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRefusal {
    /// Unknown or expired.
    Unknown,
    /// Used or revoked already (a theft or a replay): this family must now be revoked,
    /// with the access tokens issued from it.
    Reused(String),
    /// Issued to another client: refused, and nothing of the owner's is touched.
    OtherClient,
}

/// A token-signing key as stored: the private half sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id, in every token's header and in the JWKS.
    pub kid: String,
    /// JOSE algorithm (`RS256`).
    pub alg: String,
    /// PKCS#8, sealed.
    pub sealed_private: Vec<u8>,
    /// The public JWK (JSON).
    pub public_jwk: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When a newer key replaced it; it stays in the JWKS until tokens it signed expire.
    pub retired_at: Option<Timestamp>,
}

impl SigningKey {
    /// Whether the key belongs in the JWKS at `now`: active, or retired less than a token
    /// lifetime ago.
    #[must_use]
    pub fn is_published(&self, now: Timestamp) -> bool {
        self.retired_at.is_none_or(|retired| now.millis() - retired.millis() < TOKEN_LIFETIME_SECS * 1000)
    }
}

/// The claims of an ID token (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer: the public URL.
    pub iss: String,
    /// Subject: the user's id.
    pub sub: String,
    /// Audience: the client.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// When the user last authenticated.
    pub auth_time: i64,
    /// Echo of the request's nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Strength reached.
    pub acr: String,
    /// Methods used (RFC 8176).
    pub amr: Vec<String>,
    /// With scope `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With scope `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// With scope `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// With scope `groups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}
