//! CSRF protection for every state-changing form.
//!
//! Signed-in forms carry `HMAC(key, session hash)`: bound to the session, so a token from
//! one session is useless in another, and identical on every node. The sign-in form,
//! shown before a session exists, uses a double-submit cookie.

use base64::Engine as _;
use twofold_core::secret::{constant_time_eq, hmac_sha256};

/// The token for forms of the session whose stored hash is `session_hash`.
pub fn session_token(key: &[u8; 32], session_hash: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac_sha256(key, format!("csrf:{session_hash}").as_bytes()))
}

/// True when `presented` is the session's token.
pub fn check_session_token(key: &[u8; 32], session_hash: &str, presented: &str) -> bool {
    constant_time_eq(session_token(key, session_hash).as_bytes(), presented.as_bytes())
}

/// True when the form's token equals the cookie's (both present and non-trivial).
pub fn check_double_submit(cookie: Option<&str>, presented: &str) -> bool {
    cookie.is_some_and(|c| c.len() >= 32 && constant_time_eq(c.as_bytes(), presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_token_is_bound_to_its_session() {
        let key = [7u8; 32];
        let token = session_token(&key, "session-a");
        assert!(check_session_token(&key, "session-a", &token));
        assert!(!check_session_token(&key, "session-b", &token));
        assert!(!check_session_token(&[8u8; 32], "session-a", &token));
    }

    #[test]
    fn double_submit_needs_a_matching_cookie() {
        let token = "x".repeat(43);
        assert!(check_double_submit(Some(&token), &token));
        assert!(!check_double_submit(None, &token));
        assert!(!check_double_submit(Some(&token), "y"));
        assert!(!check_double_submit(Some(""), ""));
    }
}
