//! OpenID Connect rules: registered clients and their redirect URIs, the authorization
//! request, PKCE (RFC 7636, S256 only), authentication strengths for `acr_values` and
//! `max_age`, and the claims of an ID token. Pure: signing and storage live elsewhere.

pub mod client_assertion;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Timestamp;
use crate::signin::session::AuthContext;
use crate::validation::ValidationErrors;

/// How long an authorization code may wait for its exchange.
pub const CODE_LIFETIME_SECS: i64 = 60;
/// How long ID and access tokens are valid.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

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
    /// When it last got a token (written at most about once a minute).
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    /// When its current secret was made (registration or the last rotation).
    #[serde(default)]
    pub secret_set_at: Option<Timestamp>,
    /// When it was registered.
    pub created_at: Timestamp,
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

/// Checks PKCE at the code exchange (RFC 7636 §4.6, RFC 9700 §2.1.1): a code issued with a
/// challenge needs the matching verifier; a code issued without one must not be exchanged
/// with a verifier (a PKCE downgrade: an attacker who injected a stolen code that had no
/// challenge would otherwise pass with any verifier).
///
/// # Errors
/// Why the exchange is refused (`invalid_grant`).
pub fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), &'static str> {
    match (challenge, verifier) {
        (Some(_), None) => Err("code_verifier is required: the code was issued with a code_challenge"),
        (Some(challenge), Some(verifier)) if !pkce_matches(verifier, challenge) => {
            Err("code_verifier does not match the code_challenge")
        }
        (None, Some(_)) => Err("code_verifier sent for a code issued without code_challenge"),
        _ => Ok(()),
    }
}

/// The refresh-token family that `client_id`'s exchange of the code with this hash starts:
/// derived from the code, so that a replay of the code finds (and revokes) what its first
/// exchange issued (RFC 6749 §4.1.2), and from the client, so that a replay by anyone else
/// holding a leaked, spent code revokes nothing of the person's.
#[must_use]
pub fn token_family_for_code(code_hash: &str, client_id: &str) -> String {
    crate::secret::sha256_hex(format!("token-family:{client_id}:{code_hash}").as_bytes())
}

/// Checks a redirect URI for registration: absolute, `https` (or `http` to this machine
/// for development), no fragment, no spaces.
///
/// # Errors
/// The reason it is refused.
pub fn check_redirect_uri(uri: &str) -> Result<String, ValidationErrors> {
    let bad = |why: &str| ValidationErrors::one("redirect_uri", format!("'{uri}' {why}"));
    let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|p| uri.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/'])));
    if !(uri.starts_with("https://") || local) {
        return Err(bad("must be https (or http://localhost for development)"));
    }
    if uri.contains('#') || uri.chars().any(|c| c.is_whitespace() || c.is_control()) || uri.len() > 2000 {
        return Err(bad("must have no fragment, spaces or control characters"));
    }
    Ok(uri.to_owned())
}

/// Algorithms an ID token can be signed with, per client (RS256 unless it asks otherwise).
pub const ID_TOKEN_ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// The strengths in order; `acr` values name them.
pub const STRENGTHS: [&str; 4] = ["pwd", "mfa", "phr", "phrh"];

/// Whether a sign-in that reached `have` satisfies a request for `wanted`.
#[must_use]
pub fn strength_meets(have: &str, wanted: &str) -> bool {
    let rank = |acr: &str| STRENGTHS.iter().position(|s| *s == acr);
    matches!((rank(have), rank(wanted)), (Some(h), Some(w)) if h >= w)
}

/// Checks a PKCE verifier against the challenge sent with the authorization request
/// (`S256`: BASE64URL(SHA-256(verifier)) equals the challenge), in constant time.
#[must_use]
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = base64_url(&Sha256::digest(verifier.as_bytes()));
    well_formed && crate::secret::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// Unpadded base64url, as JOSE and PKCE use it.
#[must_use]
pub fn base64_url(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

/// An authorization request as the app sent it (query parameters).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationRequest {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// Must equal a registered URI exactly.
    pub redirect_uri: Option<String>,
    /// Space-separated; must include `openid`.
    pub scope: Option<String>,
    /// Echoed to the app.
    pub state: Option<String>,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// Must be `S256` when a challenge is sent.
    pub code_challenge_method: Option<String>,
    /// `none` (no page may be shown) or `login` (sign in again).
    pub prompt: Option<String>,
    /// Seconds since the last authentication the app accepts.
    pub max_age: Option<i64>,
    /// Space-separated strengths the app asks for (`mfa`, `phr`, `phrh`).
    pub acr_values: Option<String>,
    /// A username to prefill.
    pub login_hint: Option<String>,
}

/// A request that passed the checks that come before any redirect to the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidRequest {
    /// The client.
    pub client_id: String,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// Granted scopes (those asked for that the client may have).
    pub scopes: Vec<String>,
    /// Echoed to the app.
    pub state: Option<String>,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge (S256).
    pub code_challenge: Option<String>,
    /// `none` or `login`.
    pub prompt: Option<String>,
    /// Seconds.
    pub max_age: Option<i64>,
    /// The weakest strength the app accepts (the first known value it listed).
    pub acr: Option<String>,
}

/// Why an authorization request fails. `Fatal` ones cannot be sent back to the app
/// (unknown client or redirect URI: an open redirect otherwise); the rest go to the
/// redirect URI as `error` per RFC 6749 §4.1.2.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Shown to the person, never redirected.
    Fatal(String),
    /// Redirected to the app: (`error`, `error_description`).
    Redirect(&'static str, String),
}

/// Checks an authorization request against the client it names.
///
/// # Errors
/// [`RequestError`] as above.
pub fn validate_request(request: &AuthorizationRequest, client: Option<&Client>) -> Result<ValidRequest, RequestError> {
    let client = client.ok_or_else(|| RequestError::Fatal("unknown client_id".into()))?;
    let redirect_uri = request.redirect_uri.clone().unwrap_or_default();
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(RequestError::Fatal("redirect_uri is not registered for this client".into()));
    }
    let invalid = |why: &str| RequestError::Redirect("invalid_request", why.to_owned());
    if request.response_type.as_deref() != Some("code") {
        return Err(RequestError::Redirect("unsupported_response_type", "only response_type=code".into()));
    }
    let asked: Vec<&str> = request.scope.as_deref().unwrap_or("").split_whitespace().collect();
    if !asked.contains(&"openid") {
        return Err(RequestError::Redirect("invalid_scope", "scope must include openid".into()));
    }
    let scopes = asked.iter().filter(|s| client.scopes.iter().any(|c| c == *s)).map(|s| (*s).to_owned()).collect();
    match (&request.code_challenge, request.code_challenge_method.as_deref()) {
        (Some(challenge), Some("S256")) if challenge.len() == 43 => {}
        (Some(_), Some("S256")) => return Err(invalid("code_challenge must be 43 characters (S256)")),
        (Some(_), _) => return Err(invalid("code_challenge_method must be S256")),
        (None, _) if client.public => return Err(invalid("public clients must use PKCE (S256)")),
        (None, _) => {}
    }
    if let Some(prompt) = request.prompt.as_deref().filter(|p| !PROMPTS.contains(p)) {
        return Err(invalid(&format!("prompt={prompt} is not supported (none, login, consent)")));
    }
    if request.max_age.is_some_and(|m| m < 0) {
        return Err(invalid("max_age must not be negative"));
    }
    let requested = request
        .acr_values
        .as_deref()
        .and_then(|values| values.split_whitespace().find(|v| STRENGTHS.contains(v)))
        .map(str::to_owned);
    // The client's own floor applies whatever the request asks for.
    let acr = match (requested, client.min_acr.clone()) {
        (Some(asked), Some(floor)) if !strength_meets(&asked, &floor) => Some(floor),
        (Some(asked), _) => Some(asked),
        (None, floor) => floor,
    };
    Ok(ValidRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        scopes,
        state: request.state.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        prompt: request.prompt.clone(),
        max_age: request.max_age,
        acr,
    })
}

/// The `prompt` values understood (one at a time).
pub const PROMPTS: [&str; 3] = ["none", "login", "consent"];

/// Whether the person must be asked before `client` gets `scopes`: only for a third-party
/// client, when `prompt=consent` asks for it or what they allowed before (`granted`) does not
/// cover every scope now asked for.
#[must_use]
pub fn consent_needed(client: &Client, granted: Option<&[String]>, scopes: &[String], prompt: Option<&str>) -> bool {
    client.consent_required
        && (prompt == Some("consent") || granted.is_none_or(|granted| !scopes.iter().all(|s| granted.contains(s))))
}

/// What the signed-in session needs before a code can be issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needed {
    /// Nothing: issue the code.
    Nothing,
    /// Sign in (no session, `prompt=login`, or the last sign-in is older than `max_age`).
    SignIn,
    /// A (fresh) second factor reaching at least this strength.
    StepUp(String),
}

/// Decides what a request needs from a session's authentication context (`None`: no
/// session). `prompt=login` is honoured once: `fresh_login` says the person has just signed
/// in for this request. `minimum` is the client's own floor, if any.
#[must_use]
pub fn needed(request: &ValidRequest, auth: Option<&AuthContext>, fresh_login: bool, now: Timestamp) -> Needed {
    let Some(auth) = auth else { return Needed::SignIn };
    if request.prompt.as_deref() == Some("login") && !fresh_login {
        return Needed::SignIn;
    }
    let age_ok = |max_age: i64| auth.auth_time.is_some_and(|t| now.millis() - t.millis() <= max_age * 1000);
    let wanted = request.acr.clone().unwrap_or_else(|| "pwd".to_owned());
    if !strength_meets(&auth.acr, &wanted) {
        return Needed::StepUp(wanted);
    }
    if let Some(max_age) = request.max_age
        && !age_ok(max_age)
    {
        // A fresh second factor renews auth_time; with only a password, sign in again.
        return if auth.acr == "pwd" { Needed::SignIn } else { Needed::StepUp(wanted) };
    }
    Needed::Nothing
}

/// Checks the scopes a service account is granted: 1–64 printable characters without
/// spaces or quotes each (e.g. `reports:read`, `mfa:verify`), at least one.
///
/// # Errors
/// Every bad scope.
pub fn check_scopes(scopes: &[String]) -> Result<Vec<String>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if scopes.is_empty() {
        errors.add("scope", "grant at least one scope");
    }
    for scope in scopes {
        if scope.is_empty()
            || scope.len() > 64
            || !scope.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            errors.add("scope", format!("'{scope}' must be 1–64 printable characters without spaces or quotes"));
        }
    }
    errors.into_result()?;
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

/// The scopes a client-credentials request gets: those asked for (all granted ones when
/// none are named), each of which must be granted.
///
/// # Errors
/// The first scope asked for that is not granted.
pub fn requested_scopes(granted: &[String], asked: Option<&str>) -> Result<Vec<String>, String> {
    let Some(asked) = asked.filter(|a| !a.trim().is_empty()) else { return Ok(granted.to_vec()) };
    asked
        .split_whitespace()
        .map(|s| if granted.iter().any(|g| g == s) { Ok(s.to_owned()) } else { Err(s.to_owned()) })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn client(public: bool) -> Client {
        Client {
            client_id: "app".into(),
            name: "App".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example.com/cb".into()],
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            public,
            service: false,
            token_lifetime_secs: None,
            min_acr: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            consent_required: false,
            jwks: None,
            id_token_alg: None,
            tls_cert_thumbprint: None,
            token_endpoint_auth_method: None,
            may_introspect: false,
            last_used_at: None,
            secret_set_at: None,
            created_at: Timestamp(0),
        }
    }

    fn request() -> AuthorizationRequest {
        AuthorizationRequest {
            response_type: Some("code".into()),
            client_id: Some("app".into()),
            redirect_uri: Some("https://app.example.com/cb".into()),
            scope: Some("openid email groups".into()),
            code_challenge: Some(base64_url(&Sha256::digest(b"x".repeat(43)))),
            code_challenge_method: Some("S256".into()),
            ..AuthorizationRequest::default()
        }
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn pkce_refuses_a_verifier_for_a_code_without_challenge_and_a_missing_one() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(check_pkce(Some(challenge), Some(verifier)), Ok(()));
        assert_eq!(check_pkce(None, None), Ok(()), "a confidential client without PKCE");
        assert!(check_pkce(None, Some(verifier)).is_err(), "downgrade: verifier without challenge");
        assert!(check_pkce(Some(challenge), None).is_err(), "challenge without verifier");
        assert!(check_pkce(Some(challenge), Some(&"x".repeat(43))).is_err());
    }

    #[test]
    fn a_client_authenticates_only_its_registered_way() {
        let mut confidential = client(false);
        confidential.secret_hash = Some("h".into());
        assert_eq!(confidential.auth_method(), "client_secret_basic", "the RFC 7591 default");
        confidential.token_endpoint_auth_method = Some("client_secret_post".into());
        assert_eq!(confidential.auth_method(), "client_secret_post");
        assert_eq!(client(true).auth_method(), "none");
        let mut keyed = client(false);
        keyed.jwks = Some(Vec::new());
        assert_eq!(keyed.auth_method(), "private_key_jwt");
        assert_ne!(token_family_for_code("a", "app"), token_family_for_code("b", "app"));
        assert_ne!(token_family_for_code("a", "app"), token_family_for_code("a", "other"), "per client");
    }

    #[test]
    fn redirect_uris_are_https_or_local_without_fragments() {
        assert!(check_redirect_uri("https://app.example.com/cb").is_ok());
        assert!(check_redirect_uri("http://localhost:8000/cb").is_ok());
        assert!(check_redirect_uri("http://localhost.evil.com/cb").is_err());
        assert!(check_redirect_uri("http://app.example.com/cb").is_err());
        assert!(check_redirect_uri("https://app.example.com/cb#x").is_err());
    }

    #[test]
    fn unknown_clients_and_redirects_are_never_redirected_to() {
        assert!(matches!(validate_request(&request(), None), Err(RequestError::Fatal(_))));
        let mut other = request();
        other.redirect_uri = Some("https://app.example.com/cb/../evil".into());
        assert!(matches!(validate_request(&other, Some(&client(false))), Err(RequestError::Fatal(_))));
    }

    #[test]
    fn requests_are_checked_and_scopes_limited_to_the_clients() {
        let valid = validate_request(&request(), Some(&client(true))).unwrap();
        assert_eq!(valid.scopes, ["openid", "email"], "groups is not the client's");
        let mut no_pkce = request();
        no_pkce.code_challenge = None;
        assert!(matches!(
            validate_request(&no_pkce, Some(&client(true))),
            Err(RequestError::Redirect("invalid_request", _))
        ));
        assert!(validate_request(&no_pkce, Some(&client(false))).is_ok(), "confidential clients may skip PKCE");
        let mut plain = request();
        plain.code_challenge_method = Some("plain".into());
        assert!(validate_request(&plain, Some(&client(false))).is_err());
        let mut no_openid = request();
        no_openid.scope = Some("email".into());
        assert_eq!(
            validate_request(&no_openid, Some(&client(false))),
            Err(RequestError::Redirect("invalid_scope", "scope must include openid".into()))
        );
    }

    #[test]
    fn strengths_and_freshness_decide_what_is_needed() {
        let mut valid = validate_request(&request(), Some(&client(false))).unwrap();
        let now = Timestamp(1_000_000);
        let mfa = AuthContext {
            amr: vec!["pwd".into(), "otp".into()],
            acr: "mfa".into(),
            auth_time: Some(Timestamp(900_000)),
        };
        assert_eq!(needed(&valid, None, false, now), Needed::SignIn);
        assert_eq!(needed(&valid, Some(&mfa), false, now), Needed::Nothing);
        valid.acr = Some("phr".into());
        assert_eq!(needed(&valid, Some(&mfa), false, now), Needed::StepUp("phr".into()));
        valid.acr = Some("mfa".into());
        valid.max_age = Some(60);
        assert_eq!(needed(&valid, Some(&mfa), false, now), Needed::StepUp("mfa".into()), "100 s old");
        valid.max_age = Some(200);
        assert_eq!(needed(&valid, Some(&mfa), false, now), Needed::Nothing);
        valid.prompt = Some("login".into());
        assert_eq!(needed(&valid, Some(&mfa), false, now), Needed::SignIn);
        assert_eq!(needed(&valid, Some(&mfa), true, now), Needed::Nothing);
        assert!(strength_meets("phrh", "phr") && !strength_meets("mfa", "phr") && !strength_meets("x", "pwd"));
    }

    #[test]
    fn third_party_clients_ask_once_per_set_of_scopes() {
        let scopes = vec!["openid".to_owned(), "email".to_owned()];
        let mut third = client(false);
        assert!(!consent_needed(&third, None, &scopes, Some("consent")), "first-party: never");
        third.consent_required = true;
        assert!(consent_needed(&third, None, &scopes, None), "never asked");
        let allowed = vec!["openid".to_owned(), "email".to_owned(), "profile".to_owned()];
        assert!(!consent_needed(&third, Some(&allowed), &scopes, None));
        assert!(consent_needed(&third, Some(&allowed), &scopes, Some("consent")), "asked for explicitly");
        assert!(consent_needed(&third, Some(&allowed[..1]), &scopes, None), "email is new");
        let mut request = request();
        request.prompt = Some("consent".into());
        assert!(validate_request(&request, Some(&third)).is_ok());
        request.prompt = Some("select_account".into());
        assert!(validate_request(&request, Some(&third)).is_err());
    }

    #[test]
    fn a_clients_minimum_strength_applies_to_every_request() {
        let mut strict = client(false);
        strict.min_acr = Some("phr".into());
        assert_eq!(validate_request(&request(), Some(&strict)).unwrap().acr.as_deref(), Some("phr"));
        let mut asks_less = request();
        asks_less.acr_values = Some("mfa".into());
        assert_eq!(validate_request(&asks_less, Some(&strict)).unwrap().acr.as_deref(), Some("phr"));
        let mut asks_more = request();
        asks_more.acr_values = Some("phrh".into());
        assert_eq!(validate_request(&asks_more, Some(&strict)).unwrap().acr.as_deref(), Some("phrh"));
    }
}
