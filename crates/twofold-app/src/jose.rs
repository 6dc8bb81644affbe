//! JSON Web Tokens signed RS256 with aws-lc (RFC 7515/7519): token-signing keys, signing,
//! and checking tokens Twofold issued. `alg` is fixed by the key, never taken from a token.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaPublicKeyComponents};
use serde::Serialize;
use serde::de::DeserializeOwned;
use twofold_core::oidc::base64_url;

use crate::{AppError, AppResult};

/// A fresh RS256 key: (PKCS#8 private key, public JWK with `kid`).
pub(crate) fn generate_rs256(kid: &str) -> AppResult<(Vec<u8>, serde_json::Value)> {
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

/// `header.claims.signature` signed with the PKCS#8 RSA key `private`.
pub(crate) fn sign_rs256<C: Serialize>(private: &[u8], kid: &str, typ: &str, claims: &C) -> AppResult<String> {
    let pair = KeyPair::from_pkcs8(private).map_err(|e| AppError::Internal(format!("signing key: {e}")))?;
    let header = serde_json::json!({"alg": "RS256", "typ": typ, "kid": kid});
    let encode = |value: &serde_json::Value| base64_url(value.to_string().as_bytes());
    let claims = serde_json::to_value(claims).map_err(|e| AppError::Internal(e.to_string()))?;
    let input = format!("{}.{}", encode(&header), encode(&claims));
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature)
        .map_err(|e| AppError::Internal(format!("signing: {e}")))?;
    Ok(format!("{input}.{}", base64_url(&signature)))
}

/// Why a presented token is refused (the message is for logs and `error_description`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenRejected(pub &'static str);

fn decode_part(part: &str) -> Result<Vec<u8>, TokenRejected> {
    data_encoding_free::decode(part).ok_or(TokenRejected("not base64url"))
}

/// Checks a token's signature against the published JWKs (`kid` must be one of ours and
/// `alg` must be RS256) and returns its claims. Expiry and audience are the caller's.
pub(crate) fn verify_rs256<C: DeserializeOwned>(token: &str, jwks: &[serde_json::Value]) -> Result<C, TokenRejected> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejected("not a JWS in compact form"));
    };
    let header: serde_json::Value =
        serde_json::from_slice(&decode_part(header)?).map_err(|_| TokenRejected("malformed header"))?;
    if header["alg"] != "RS256" {
        return Err(TokenRejected("alg must be RS256"));
    }
    let jwk = jwks.iter().find(|k| k["kid"] == header["kid"]).ok_or(TokenRejected("unknown kid"))?;
    let component =
        |name: &str| jwk[name].as_str().and_then(data_encoding_free::decode).ok_or(TokenRejected("bad key"));
    let key = RsaPublicKeyComponents { n: component("n")?, e: component("e")? };
    let signed = token.rsplit_once('.').map_or("", |(input, _)| input);
    key.verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &decode_part(signature)?)
        .map_err(|_| TokenRejected("bad signature"))?;
    serde_json::from_slice(&decode_part(claims)?).map_err(|_| TokenRejected("malformed claims"))
}

/// Unpadded base64url decoding without another dependency.
mod data_encoding_free {
    use base64::Engine;

    pub(super) fn decode(text: &str) -> Option<Vec<u8>> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_our_key_and_untouched() {
        let (private, jwk) = generate_rs256("k1").unwrap();
        let token = sign_rs256(&private, "k1", "JWT", &serde_json::json!({"sub": "ann"})).unwrap();
        let claims: serde_json::Value = verify_rs256(&token, std::slice::from_ref(&jwk)).unwrap();
        assert_eq!(claims["sub"], "ann");
        let (_, other) = generate_rs256("k1").unwrap();
        assert_eq!(verify_rs256::<serde_json::Value>(&token, &[other]), Err(TokenRejected("bad signature")));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = base64_url(br#"{"sub":"root"}"#);
        parts[1] = &forged;
        assert!(verify_rs256::<serde_json::Value>(&parts.join("."), std::slice::from_ref(&jwk)).is_err());
        let none = format!("{}.{}.", base64_url(br#"{"alg":"none","kid":"k1"}"#), forged);
        assert_eq!(verify_rs256::<serde_json::Value>(&none, &[jwk]), Err(TokenRejected("alg must be RS256")));
    }
}
