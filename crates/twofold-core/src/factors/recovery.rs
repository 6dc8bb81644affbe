//! Recovery codes: ten single-use codes, shown once, stored only as keyed hashes.
//!
//! A code is 10 characters from a 32-letter alphabet without look-alikes (50 bits), shown
//! as `xxxxx-xxxxx`. The stored hash is HMAC-SHA-256 under a key derived from the master
//! key and bound to the user, so a stolen table cannot be searched offline.

use crate::secret::{hmac_sha256, random_bytes};

/// How many codes a set holds.
pub const CODES_PER_SET: usize = 10;

/// Crockford's base32 alphabet, lower case: no i, l, o, u.
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A fresh set of codes, formatted for people.
#[must_use]
pub fn generate() -> Vec<String> {
    (0..CODES_PER_SET)
        .map(|_| {
            let bytes = random_bytes::<10>();
            let chars: String = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// The canonical form of a typed code: lower case, no separators, look-alikes mapped
/// (`i`/`l` → `1`, `o` → `0`). `None` when it cannot be a code.
#[must_use]
pub fn normalize(code: &str) -> Option<String> {
    normalize_crockford(code, 10)
}

/// The canonical form of a typed code of `length` characters of [`ALPHABET`] (recovery
/// codes, temporary access passes): lower case, no spaces or dashes, look-alikes mapped.
pub(crate) fn normalize_crockford(code: &str, length: usize) -> Option<String> {
    let cleaned: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect();
    (cleaned.len() == length && cleaned.bytes().all(|b| ALPHABET.contains(&b))).then_some(cleaned)
}

/// The stored form of a code for `user_id`.
#[must_use]
pub fn hash(key: &[u8; 32], user_id: &str, normalized_code: &str) -> String {
    hex::encode(hmac_sha256(key, format!("recovery:{user_id}:{normalized_code}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_has_ten_distinct_well_formed_codes() {
        let codes = generate();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 11 && normalize(c).is_some()));
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(normalize(" ABCDE-FGH1J ").as_deref(), Some("abcdefgh1j"));
        assert_eq!(normalize("abcde-fghlj").as_deref(), Some("abcdefgh1j"), "l reads as 1");
        assert_eq!(normalize("too-short"), None);
        assert_eq!(normalize("abcde-fghu1"), None, "u is not in the alphabet");
    }

    #[test]
    fn hashes_are_keyed_and_bound_to_the_user() {
        let key = [5u8; 32];
        assert_ne!(hash(&key, "u1", "abcdefgh1j"), hash(&key, "u2", "abcdefgh1j"));
        assert_ne!(hash(&key, "u1", "abcdefgh1j"), hash(&[6u8; 32], "u1", "abcdefgh1j"));
        assert_eq!(hash(&key, "u1", "abcdefgh1j").len(), 64);
    }
}
