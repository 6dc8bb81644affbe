//! OpenID Connect rules: registered clients and their redirect URIs (`client`), the
//! authorization request with PKCE (RFC 7636, S256 only), consent and scopes (`request`),
//! authentication strengths for `acr_values` and `max_age` (here), what the token endpoints
//! issue and keep (`tokens`), and client assertions (`client_assertion`). Pure: signing and
//! storage live elsewhere.

mod client;
pub mod client_assertion;
pub mod details;
mod request;
mod tokens;

pub use client::*;
pub use request::*;
pub use tokens::*;

use sha2::{Digest, Sha256};

/// How long an authorization code may wait for its exchange.
pub const CODE_LIFETIME_SECS: i64 = 60;
/// How long ID and access tokens are valid.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::signin::session::AuthContext;

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
            resources: Vec::new(),
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
