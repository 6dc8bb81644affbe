//! Secrets at rest: AES-256-GCM under a key derived from the master key.
//!
//! A sealed value is `version (1 byte) || nonce (12 bytes) || ciphertext || tag`. The
//! associated data binds it to its row (e.g. `authenticator:<id>`), so a sealed seed copied
//! into another row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::secret::random_bytes;

const VERSION: u8 = 1;

/// Why a sealed value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Wrong key, wrong row, or altered bytes.
    #[error("a sealed secret could not be opened (wrong master key, or the stored value was altered)")]
    Unopenable,
}

/// Encrypts `plaintext` bound to `context`.
#[must_use]
pub fn seal(key: &[u8; 32], context: &str, plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(&(*key).into());
    let nonce_bytes = random_bytes::<12>();
    let nonce = Nonce::from(nonce_bytes);
    // Encryption fails only for inputs over 64 GiB; a seed is tens of bytes.
    let ciphertext = cipher.encrypt(&nonce, Payload { msg: plaintext, aad: context.as_bytes() }).unwrap_or_default();
    let mut sealed = Vec::with_capacity(1 + 12 + ciphertext.len());
    sealed.push(VERSION);
    sealed.extend_from_slice(&nonce_bytes);
    sealed.extend_from_slice(&ciphertext);
    sealed
}

/// Decrypts a value sealed for `context`.
///
/// # Errors
/// [`SealError::Unopenable`] for a wrong key, another context, or altered bytes.
pub fn open(key: &[u8; 32], context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Unopenable)?;
    if version != VERSION || rest.len() < 12 + 16 {
        return Err(SealError::Unopenable);
    }
    let (nonce_bytes, ciphertext) = rest.split_at(12);
    let nonce_array: [u8; 12] = nonce_bytes.try_into().map_err(|_| SealError::Unopenable)?;
    let cipher = Aes256Gcm::new(&(*key).into());
    cipher
        .decrypt(&Nonce::from(nonce_array), Payload { msg: ciphertext, aad: context.as_bytes() })
        .map_err(|_| SealError::Unopenable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let key = [3u8; 32];
        let sealed = seal(&key, "authenticator:1", b"12345678901234567890");
        assert!(!sealed.windows(20).any(|w| w == b"12345678901234567890"), "no plaintext in the sealed bytes");
        assert_eq!(open(&key, "authenticator:1", &sealed).unwrap(), b"12345678901234567890");
        assert_eq!(open(&[4u8; 32], "authenticator:1", &sealed), Err(SealError::Unopenable));
        assert_eq!(open(&key, "authenticator:2", &sealed), Err(SealError::Unopenable), "moved to another row");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(open(&key, "authenticator:1", &altered), Err(SealError::Unopenable));
        assert_eq!(open(&key, "authenticator:1", &[]), Err(SealError::Unopenable));
    }

    #[test]
    fn sealing_twice_gives_different_bytes() {
        let key = [3u8; 32];
        assert_ne!(seal(&key, "c", b"same"), seal(&key, "c", b"same"));
    }
}
