//! JSON Web Tokens signed with aws-lc (RFC 7515/7519): RS256 for ID tokens by default (what
//! every OpenID Connect client accepts; ES256 or EdDSA per client) and ES256 for access tokens
//! (far cheaper to sign).
//! Token-signing keys, signing, and checking tokens Twofold issued: `alg` is fixed by the
//! key, never taken from a token.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use twofold_core::oidc::base64_url;

use crate::{AppError, AppResult};

/// A fresh RS256 key: (PKCS#8 private key, public JWK with `kid`).
fn generate_rs256(kid: &str) -> AppResult<(Vec<u8>, serde_json::Value)> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| AppError::Internal(format!("RSA key: {e}")))?;
    let pkcs8 = pair.as_der().map_err(|e| AppError::Internal(format!("RSA key: {e}")))?.as_ref().to_vec();
    let public = pair.public_key();
    let jwk = serde_json::json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": base64_url(public.modulus().big_endian_without_leading_zero()),
        "e": base64_url(public.exponent().big_endian_without_leading_zero()),
    });
    Ok((pkcs8, jwk))
}

/// A fresh ES256 (P-256) key: (PKCS#8 private key, public JWK with `kid`).
fn generate_es256(kid: &str) -> AppResult<(Vec<u8>, serde_json::Value)> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|e| AppError::Internal(format!("EC key: {e}")))?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|e| AppError::Internal(format!("EC key: {e}")))?.as_ref().to_vec();
    // The public key is the uncompressed point 0x04 || x || y.
    let point = pair.public_key().as_ref();
    let jwk = serde_json::json!({
        "kty": "EC",
        "use": "sig",
        "alg": "ES256",
        "kid": kid,
        "crv": "P-256",
        "x": base64_url(&point[1..33]),
        "y": base64_url(&point[33..65]),
    });
    Ok((pkcs8, jwk))
}

/// A fresh EdDSA (Ed25519, RFC 8037) key: (PKCS#8 private key, public JWK with `kid`).
fn generate_eddsa(kid: &str) -> AppResult<(Vec<u8>, serde_json::Value)> {
    let failed = |e: aws_lc_rs::error::Unspecified| AppError::Internal(format!("Ed25519 key: {e}"));
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(failed)?.as_ref().to_vec();
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|e| AppError::Internal(format!("Ed25519 key: {e}")))?;
    let jwk = serde_json::json!({
        "kty": "OKP",
        "use": "sig",
        "alg": "EdDSA",
        "kid": kid,
        "crv": "Ed25519",
        "x": base64_url(pair.public_key().as_ref()),
    });
    Ok((pkcs8, jwk))
}

/// A fresh key for `alg` (`RS256`, `ES256` or `EdDSA`): (PKCS#8 private key, public JWK).
pub(crate) fn generate(alg: &str, kid: &str) -> AppResult<(Vec<u8>, serde_json::Value)> {
    match alg {
        "RS256" => generate_rs256(kid),
        "ES256" => generate_es256(kid),
        "EdDSA" => generate_eddsa(kid),
        other => Err(AppError::Internal(format!("unsupported signing algorithm {other}"))),
    }
}

/// `header.claims.signature` signed with the PKCS#8 key `private` of algorithm `alg`.
pub(crate) fn sign<C: Serialize>(private: &[u8], alg: &str, kid: &str, typ: &str, claims: &C) -> AppResult<String> {
    let header = serde_json::json!({"alg": alg, "typ": typ, "kid": kid});
    let encode = |value: &serde_json::Value| base64_url(value.to_string().as_bytes());
    let claims = serde_json::to_value(claims).map_err(|e| AppError::Internal(e.to_string()))?;
    let input = format!("{}.{}", encode(&header), encode(&claims));
    let failed = |e: aws_lc_rs::error::Unspecified| AppError::Internal(format!("signing: {e}"));
    let signature = match alg {
        "RS256" => {
            let pair = KeyPair::from_pkcs8(private).map_err(|e| AppError::Internal(format!("signing key: {e}")))?;
            let mut signature = vec![0; pair.public_modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature).map_err(failed)?;
            signature
        }
        "ES256" => {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, private)
                .map_err(|e| AppError::Internal(format!("signing key: {e}")))?;
            pair.sign(&SystemRandom::new(), input.as_bytes()).map_err(failed)?.as_ref().to_vec()
        }
        "EdDSA" => {
            let pair =
                Ed25519KeyPair::from_pkcs8(private).map_err(|e| AppError::Internal(format!("signing key: {e}")))?;
            pair.sign(input.as_bytes()).as_ref().to_vec()
        }
        other => return Err(AppError::Internal(format!("unsupported signing algorithm {other}"))),
    };
    Ok(format!("{input}.{}", base64_url(&signature)))
}

/// Why a presented token is refused (the message is for logs and `error_description`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenRejected(pub &'static str);

fn decode_part(part: &str) -> Result<Vec<u8>, TokenRejected> {
    base64url_decode(part).ok_or(TokenRejected("not base64url"))
}

/// Unpadded base64url decoding.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}

/// Checks a token's signature against the published JWKs (`kid` must be one of ours and the
/// header's `alg` must be that key's) and returns its claims. Expiry and audience are the
/// caller's.
pub(crate) fn verify<C: DeserializeOwned>(token: &str, jwks: &[serde_json::Value]) -> Result<C, TokenRejected> {
    verify_with(token, |header| jwks.iter().find(|k| k["kid"] == header["kid"]))
}

/// Checks a client's assertion against the keys it registered: the one its `kid` names, or,
/// when the header names none (as libraries signing with a bare PEM key do), the only one
/// for the header's `alg`.
pub(crate) fn verify_client_assertion<C: DeserializeOwned>(
    token: &str,
    keys: &[serde_json::Value],
) -> Result<C, TokenRejected> {
    verify_with(token, |header| match header.get("kid") {
        Some(kid) => keys.iter().find(|k| k["kid"] == *kid),
        None => {
            let mut same_alg = keys.iter().filter(|k| k["alg"] == header["alg"]);
            match (same_alg.next(), same_alg.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    })
}

fn verify_with<'k, C: DeserializeOwned>(
    token: &str,
    choose_key: impl FnOnce(&serde_json::Value) -> Option<&'k serde_json::Value>,
) -> Result<C, TokenRejected> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejected("not a JWS in compact form"));
    };
    let header: serde_json::Value =
        serde_json::from_slice(&decode_part(header)?).map_err(|_| TokenRejected("malformed header"))?;
    let jwk = choose_key(&header).ok_or(TokenRejected("unknown kid"))?;
    if header["alg"] != jwk["alg"] {
        return Err(TokenRejected("alg does not match the key"));
    }
    let component = |name: &str| jwk[name].as_str().and_then(base64url_decode).ok_or(TokenRejected("bad key"));
    let signed = token.rsplit_once('.').map_or("", |(input, _)| input).as_bytes();
    let signature = decode_part(signature)?;
    let verified = match jwk["alg"].as_str() {
        Some("RS256") => RsaPublicKeyComponents { n: component("n")?, e: component("e")? }.verify(
            &RSA_PKCS1_2048_8192_SHA256,
            signed,
            &signature,
        ),
        Some("ES256") => {
            let mut point = vec![0x04];
            point.extend(component("x")?);
            point.extend(component("y")?);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(signed, &signature)
        }
        Some("EdDSA") if jwk["crv"] == "Ed25519" => {
            UnparsedPublicKey::new(&ED25519, component("x")?).verify(signed, &signature)
        }
        _ => return Err(TokenRejected("unsupported key")),
    };
    verified.map_err(|_| TokenRejected("bad signature"))?;
    serde_json::from_slice(&decode_part(claims)?).map_err(|_| TokenRejected("malformed claims"))
}

/// The claims of a compact JWS, unverified: only to learn which client an assertion names
/// before its keys can be looked up.
pub(crate) fn unverified_claims<C: DeserializeOwned>(token: &str) -> Option<C> {
    let claims = token.split('.').nth(1)?;
    serde_json::from_slice(&base64url_decode(claims)?).ok()
}

/// The `typ` of a token's header (read without checking the signature: call it on a token
/// [`verify`] accepted, whose header the signature covers).
pub(crate) fn header_typ(token: &str) -> Option<String> {
    let header: serde_json::Value = serde_json::from_slice(&base64url_decode(token.split('.').next()?)?).ok()?;
    header["typ"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rs256_tokens_verify_only_with_our_key_and_untouched() {
        let (private, jwk) = generate("RS256", "k1").unwrap();
        let token = sign(&private, "RS256", "k1", "JWT", &serde_json::json!({"sub": "ann"})).unwrap();
        let claims: serde_json::Value = verify(&token, std::slice::from_ref(&jwk)).unwrap();
        assert_eq!(claims["sub"], "ann");
        let (_, other) = generate("RS256", "k1").unwrap();
        assert_eq!(verify::<serde_json::Value>(&token, &[other]), Err(TokenRejected("bad signature")));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = base64_url(br#"{"sub":"root"}"#);
        parts[1] = &forged;
        assert!(verify::<serde_json::Value>(&parts.join("."), std::slice::from_ref(&jwk)).is_err());
        let none = format!("{}.{}.", base64_url(br#"{"alg":"none","kid":"k1"}"#), forged);
        assert_eq!(verify::<serde_json::Value>(&none, &[jwk]), Err(TokenRejected("alg does not match the key")));
    }

    #[test]
    fn client_assertions_without_kid_need_a_single_key_of_their_alg() {
        let (private, mut jwk) = generate("RS256", "k1").unwrap();
        let unnamed = sign(&private, "RS256", "k1", "JWT", &serde_json::json!({"sub": "svc"})).unwrap();
        let (_, ec) = generate("ES256", "e1").unwrap();
        jwk["kid"] = serde_json::json!("other-name");
        let named_other: Result<serde_json::Value, _> = verify_client_assertion(&unnamed, &[jwk.clone(), ec]);
        assert_eq!(named_other, Err(TokenRejected("unknown kid")), "a kid in the header must match");
        let header = base64_url(br#"{"alg":"RS256"}"#);
        let without_kid = format!("{header}.{}", unnamed.split_once('.').unwrap().1);
        let (_, second_rsa) = generate("RS256", "k2").unwrap();
        assert_eq!(
            verify_client_assertion::<serde_json::Value>(&without_kid, &[jwk.clone(), second_rsa]),
            Err(TokenRejected("unknown kid")),
            "two RSA keys: which one is ambiguous"
        );
        // With one RSA key the kid-less header selects it (and the signature, over the
        // original header, no longer matches: the header is signed too).
        assert_eq!(
            verify_client_assertion::<serde_json::Value>(&without_kid, &[jwk]),
            Err(TokenRejected("bad signature"))
        );
    }

    #[test]
    fn eddsa_tokens_verify_only_untouched_and_with_their_key() {
        let (private, jwk) = generate("EdDSA", "d1").unwrap();
        let token = sign(&private, "EdDSA", "d1", "JWT", &serde_json::json!({"sub": "ann"})).unwrap();
        let claims: serde_json::Value = verify(&token, std::slice::from_ref(&jwk)).unwrap();
        assert_eq!(claims["sub"], "ann");
        let (_, other) = generate("EdDSA", "d1").unwrap();
        assert_eq!(verify::<serde_json::Value>(&token, &[other]), Err(TokenRejected("bad signature")));
    }

    #[test]
    fn es256_tokens_verify_and_cannot_pose_as_rs256() {
        let (private, jwk) = generate("ES256", "e1").unwrap();
        let token = sign(&private, "ES256", "e1", "at+jwt", &serde_json::json!({"sub": "svc"})).unwrap();
        let claims: serde_json::Value = verify(&token, std::slice::from_ref(&jwk)).unwrap();
        assert_eq!(claims["sub"], "svc");
        let (_, rsa) = generate("RS256", "e1").unwrap();
        assert!(verify::<serde_json::Value>(&token, &[rsa]).is_err(), "an ES256 token against an RSA key with its kid");
    }
}
