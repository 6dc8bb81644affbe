//! The authorization request: its validation, PKCE (RFC 7636, S256 only), prompts, consent,
//! scopes, and what a sign-in must prove for it (`acr_values`, `max_age`).

use serde::{Deserialize, Serialize};

use super::{Client, STRENGTHS, pkce_matches, strength_meets};
use crate::Timestamp;
use crate::signin::session::AuthContext;
use crate::validation::ValidationErrors;

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
    /// RFC 9396: what the sign-in is for, as a JSON array (see [`super::details`]).
    pub authorization_details: Option<String>,
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
    /// The actions the app asked for (RFC 9396), granted with the code.
    #[serde(default)]
    pub authorization_details: Vec<super::details::ActionDetail>,
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
    let authorization_details = match request.authorization_details.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(text) => {
            super::details::parse(text).map_err(|why| RequestError::Redirect("invalid_authorization_details", why))?
        }
        None => Vec::new(),
    };
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
        authorization_details,
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
