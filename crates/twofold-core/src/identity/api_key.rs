//! Admin API keys: bearer tokens for `/api/v1`, shown once, stored as a digest.
//!
//! A key reads `tfk_<id>_<secret>`: the id finds the record, the secret is compared
//! in constant time against its stored SHA-256.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::identity::Role;
use crate::secret::{constant_time_eq, random_bytes, random_token, sha256_hex};

const PREFIX: &str = "tfk_";

/// The roles an API key may carry: a key is a program acting for an administrator, the help
/// desk or an auditor. Approving and signing in are for people, proved with their own MFA.
pub const API_KEY_ROLES: [Role; 3] = [Role::Admin, Role::Helpdesk, Role::Auditor];

/// The role an API key is to carry, from its name, or why not (naming only the roles a key
/// may have).
///
/// # Errors
/// An unknown role, or one a key may not carry.
pub fn api_key_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok().filter(|role| API_KEY_ROLES.contains(role)).ok_or_else(|| {
        let allowed: Vec<String> = API_KEY_ROLES.iter().map(ToString::to_string).collect();
        format!("'{name}' is not a role an API key may have: {}", allowed.join(", "))
    })
}

/// A stored API key (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public identifier, 16 hex characters.
    pub id: String,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// SHA-256 (hex) of the secret part.
    #[serde(skip_serializing)]
    pub secret_hash: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was last used (to within a minute).
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

/// Why a presented key was refused. The HTTP layer answers all of them the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyRejection {
    /// Not of the `tfk_<id>_<secret>` form.
    #[error("malformed API key")]
    Malformed,
    /// No key with that id, or the secret differs.
    #[error("unknown API key")]
    Unknown,
    /// Revoked.
    #[error("revoked API key")]
    Revoked,
    /// Past its expiry.
    #[error("expired API key")]
    Expired,
}

impl ApiKey {
    /// Makes a new key; returns the full token (to show once) and the record to store.
    #[must_use]
    pub fn generate(name: String, role: Role, now: Timestamp, expires_at: Option<Timestamp>) -> (String, Self) {
        let id = hex::encode(random_bytes::<8>());
        let secret = random_token();
        let token = format!("{PREFIX}{id}_{secret}");
        let key = Self {
            id,
            name,
            role,
            secret_hash: sha256_hex(secret.as_bytes()),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        (token, key)
    }

    /// Checks a presented secret against this record at `now`.
    ///
    /// # Errors
    /// Why the key may not be used.
    pub fn check(&self, secret: &str, now: Timestamp) -> Result<(), ApiKeyRejection> {
        if !constant_time_eq(sha256_hex(secret.as_bytes()).as_bytes(), self.secret_hash.as_bytes()) {
            return Err(ApiKeyRejection::Unknown);
        }
        if self.revoked_at.is_some() {
            return Err(ApiKeyRejection::Revoked);
        }
        if self.expires_at.is_some_and(|e| now >= e) {
            return Err(ApiKeyRejection::Expired);
        }
        Ok(())
    }
}

/// Splits a presented token into id and secret.
///
/// # Errors
/// [`ApiKeyRejection::Malformed`] when it is not of the key form.
pub fn parse_token(token: &str) -> Result<(&str, &str), ApiKeyRejection> {
    let rest = token.strip_prefix(PREFIX).ok_or(ApiKeyRejection::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(ApiKeyRejection::Malformed)?;
    if id.len() != 16 || !id.chars().all(|c| c.is_ascii_hexdigit()) || secret.len() != 43 {
        return Err(ApiKeyRejection::Malformed);
    }
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_key_carries_only_the_roles_of_programs() {
        assert_eq!(api_key_role("helpdesk"), Ok(Role::Helpdesk));
        for refused in ["approver", "user", "root"] {
            let error = api_key_role(refused).unwrap_err();
            assert!(error.ends_with("admin, helpdesk, auditor") && !error.contains("approver,"), "{error}");
        }
    }

    #[test]
    fn a_generated_key_checks_and_stores_no_secret() {
        let (token, key) = ApiKey::generate("ci".into(), Role::Admin, Timestamp(0), None);
        let (id, secret) = parse_token(&token).unwrap();
        assert_eq!(id, key.id);
        assert!(!serde_json::to_string(&key).unwrap().contains(secret));
        assert_eq!(key.check(secret, Timestamp(1)), Ok(()));
    }

    #[test]
    fn a_wrong_revoked_or_expired_key_is_refused() {
        let (token, mut key) = ApiKey::generate("ci".into(), Role::Admin, Timestamp(0), Some(Timestamp(10)));
        let (_, secret) = parse_token(&token).unwrap();
        assert_eq!(key.check(&secret.replace(|_: char| true, "a"), Timestamp(1)), Err(ApiKeyRejection::Unknown));
        assert_eq!(key.check(secret, Timestamp(10)), Err(ApiKeyRejection::Expired));
        key.revoked_at = Some(Timestamp(2));
        assert_eq!(key.check(secret, Timestamp(3)), Err(ApiKeyRejection::Revoked));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["", "tfk_", "Bearer x", "tfk_0123456789abcdef", "tfk_zz23456789abcdef_aaaa"] {
            assert_eq!(parse_token(bad), Err(ApiKeyRejection::Malformed));
        }
    }
}
