//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): a client
//! proves itself with a JWT it signed with a private key whose public half it registered.
//! Nothing secret is stored. Pure: the public keys a client registers, and the claims of an
//! assertion; the signature check is the caller's.

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Timestamp;
use crate::oidc::base64_url;
use crate::validation::ValidationErrors;

/// `client_assertion_type` for a JWT assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 60;
/// The longest an assertion may live: common libraries sign for an hour.
pub const MAX_LIFETIME_SECS: i64 = 3600;
/// A client registers at most this many keys (room for a rotation).
pub const MAX_KEYS: usize = 4;

/// Checks public keys a client registers, given as a JWK or a JWK Set (`{"keys": [...]}`):
/// RSA of at least 2048 bits (used with RS256) or EC P-256 (ES256), never a private key.
/// Returns them with `alg` and `kid` set (the RFC 7638 thumbprint when absent).
///
/// # Errors
/// Every problem, keyed `jwks[N]`.
pub fn check_public_jwks(text: &str) -> Result<Vec<Value>, ValidationErrors> {
    let parsed: Value =
        serde_json::from_str(text).map_err(|e| ValidationErrors::one("jwks", format!("not JSON: {e}")))?;
    let keys = match parsed.get("keys") {
        Some(Value::Array(keys)) => keys.clone(),
        Some(_) => return Err(ValidationErrors::one("jwks", "\"keys\" must be an array")),
        None => vec![parsed],
    };
    let mut errors = ValidationErrors::default();
    if keys.is_empty() || keys.len() > MAX_KEYS {
        errors.add("jwks", format!("register 1 to {MAX_KEYS} keys"));
    }
    let checked = keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| check_key(key).map_err(|e| errors.add(format!("jwks[{i}]"), e)).ok())
        .collect();
    errors.into_result()?;
    Ok(checked)
}

fn check_key(key: &Value) -> Result<Value, String> {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    let decoded_len =
        |name: &str| text(name).and_then(|v| data_encoding::BASE64URL_NOPAD.decode(v.as_bytes()).ok()).map(|b| b.len());
    if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|private| key.get(private).is_some()) {
        return Err("is a private key: register only the public half".into());
    }
    let (alg, thumbprint_input) = match text("kty") {
        Some("RSA") => {
            if decoded_len("n").is_none_or(|len| len < 256) || decoded_len("e").is_none() {
                return Err("an RSA key needs n (at least 2048 bits) and e, base64url".into());
            }
            ("RS256", json!({"e": text("e"), "kty": "RSA", "n": text("n")}))
        }
        Some("EC") if text("crv") == Some("P-256") => {
            if decoded_len("x") != Some(32) || decoded_len("y") != Some(32) {
                return Err("a P-256 key needs x and y of 32 bytes, base64url".into());
            }
            ("ES256", json!({"crv": "P-256", "kty": "EC", "x": text("x"), "y": text("y")}))
        }
        _ => return Err("must be an RSA key or an EC key on P-256".into()),
    };
    if text("alg").is_some_and(|a| a != alg) {
        return Err(format!("alg must be {alg} for this key"));
    }
    if text("use").is_some_and(|u| u != "sig") {
        return Err("use must be sig".into());
    }
    // serde_json orders object members, which is what RFC 7638 asks of the thumbprint input.
    let kid =
        text("kid").map_or_else(|| base64_url(&Sha256::digest(thumbprint_input.to_string().as_bytes())), str::to_owned);
    let mut public = thumbprint_input;
    public["alg"] = json!(alg);
    public["kid"] = json!(kid);
    public["use"] = json!("sig");
    Ok(public)
}

/// The `x5t#S256` thumbprint of a DER certificate (RFC 8705 §3.1): base64url(SHA-256(DER)).
/// Mutual-TLS clients are pinned by it and certificate-bound tokens carry it.
#[must_use]
pub fn certificate_thumbprint(der: &[u8]) -> String {
    base64_url(&Sha256::digest(der))
}

/// The `x5t#S256` thumbprint of the first certificate in a PEM text, for registering a
/// mutual-TLS client.
///
/// # Errors
/// No PEM certificate, or one that is not base64 of a DER sequence.
pub fn pem_certificate_thumbprint(pem: &str) -> Result<String, ValidationErrors> {
    let bad = |why: &str| ValidationErrors::one("tls_client_certificate", why);
    let body = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
        .ok_or_else(|| bad("holds no PEM certificate (-----BEGIN CERTIFICATE-----)"))?;
    let text: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.as_bytes())
        .map_err(|_| bad("the certificate is not valid base64"))?;
    if der.first() != Some(&0x30) || der.len() < 64 {
        return Err(bad("the certificate is not DER"));
    }
    Ok(certificate_thumbprint(&der))
}

/// `aud` is a string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// One audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// The claims of a client assertion (RFC 7523 §3).
#[derive(Debug, Clone, Deserialize)]
pub struct AssertionClaims {
    /// Must be the `client_id`.
    pub iss: String,
    /// Must be the `client_id`.
    pub sub: String,
    /// Must name the token endpoint (or the issuer).
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not before.
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Issued at.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Unique per assertion: each is accepted once.
    #[serde(default)]
    pub jti: Option<String>,
}

/// Checks an assertion's claims for `client_id` at `now`, accepted for any of `audiences`.
/// Returns the `jti` and when the assertion expires (to remember it until then).
///
/// # Errors
/// Why the assertion is refused, for `error_description`.
pub fn check_claims(
    claims: &AssertionClaims,
    client_id: &str,
    audiences: &[&str],
    now: Timestamp,
) -> Result<(String, Timestamp), String> {
    if claims.iss != client_id || claims.sub != client_id {
        return Err("iss and sub must both be the client_id".into());
    }
    let named = match &claims.aud {
        Audience::One(aud) => audiences.contains(&aud.as_str()),
        Audience::Many(list) => list.iter().any(|aud| audiences.contains(&aud.as_str())),
    };
    if !named {
        return Err("aud must be the token endpoint".into());
    }
    let seconds = now.millis() / 1000;
    if claims.exp + LEEWAY_SECS < seconds {
        return Err("the assertion has expired".into());
    }
    if claims.exp - seconds > MAX_LIFETIME_SECS + LEEWAY_SECS {
        return Err(format!("the assertion must expire within {MAX_LIFETIME_SECS} seconds"));
    }
    if claims.nbf.is_some_and(|nbf| nbf > seconds + LEEWAY_SECS)
        || claims.iat.is_some_and(|iat| iat > seconds + LEEWAY_SECS)
    {
        return Err("the assertion is not valid yet".into());
    }
    let jti = claims
        .jti
        .clone()
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or("a jti of 1–256 characters is required")?;
    Ok((jti, Timestamp(claims.exp.saturating_mul(1000))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    #[test]
    fn rfc7638_thumbprint_names_a_key_without_kid() {
        let jwk = json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256"}).to_string();
        let keys = check_public_jwks(&jwk).unwrap();
        assert_eq!(keys[0]["kid"], "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "RFC 7638 §3.1");
        assert_eq!(keys[0]["alg"], "RS256");
    }

    #[test]
    fn private_weak_or_unknown_keys_are_refused() {
        let set = json!({"keys": [
            {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "d": "secret"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "HS256"},
        ]})
        .to_string();
        let fields: Vec<String> = check_public_jwks(&set).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["jwks[0]", "jwks[1]", "jwks[2]", "jwks[3]"]);
        assert!(check_public_jwks("not json").is_err());
        assert!(check_public_jwks(r#"{"keys": []}"#).is_err());
    }

    fn claims(exp: i64, jti: Option<&str>) -> AssertionClaims {
        AssertionClaims {
            iss: "svc".into(),
            sub: "svc".into(),
            aud: Audience::One("https://mfa/oauth2/token".into()),
            exp,
            nbf: None,
            iat: None,
            jti: jti.map(str::to_owned),
        }
    }

    #[test]
    fn assertions_must_name_the_client_and_endpoint_and_be_current() {
        let now = Timestamp(1_000_000_000);
        let aud = ["https://mfa/oauth2/token", "https://mfa"];
        assert_eq!(
            check_claims(&claims(1_000_300, Some("j1")), "svc", &aud, now),
            Ok(("j1".into(), Timestamp(1_000_300_000)))
        );
        assert!(check_claims(&claims(1_000_300, Some("j1")), "other", &aud, now).is_err(), "someone else's");
        assert!(check_claims(&claims(999_000, Some("j1")), "svc", &aud, now).is_err(), "expired");
        assert!(check_claims(&claims(1_000_000 + 7200, Some("j1")), "svc", &aud, now).is_err(), "too long-lived");
        assert!(check_claims(&claims(1_000_300, None), "svc", &aud, now).is_err(), "no jti");
        let mut elsewhere = claims(1_000_300, Some("j1"));
        elsewhere.aud = Audience::Many(vec!["https://other/token".into()]);
        assert!(check_claims(&elsewhere, "svc", &aud, now).is_err(), "for another server");
    }
}
