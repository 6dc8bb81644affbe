//! Password rules (NIST SP 800-63B: length and a blocklist, no composition rules) and
//! argon2id hashing with OWASP parameters.

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use serde::{Deserialize, Serialize};

/// The shortest password accepted, as SP 800-63B asks for user-chosen secrets.
pub const MIN_LENGTH: usize = 8;
/// The longest password accepted; longer inputs are refused rather than hashed.
pub const MAX_LENGTH: usize = 256;

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// argon2id cost parameters. The default is OWASP's first recommendation:
/// 19 MiB of memory, 2 iterations, 1 lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

/// Why a password was refused. The message never repeats the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    /// Shorter than [`MIN_LENGTH`].
    #[error("must be at least {MIN_LENGTH} characters")]
    TooShort,
    /// Longer than [`MAX_LENGTH`].
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    /// On the list of commonly used or breached passwords.
    #[error("is too common; choose one that is not on lists of commonly used passwords")]
    Common,
    /// Contains the username or is made of one repeated or sequential pattern.
    #[error("is too easy to guess (it repeats a pattern or contains the username)")]
    Guessable,
}

/// Errors from hashing, which mean misconfiguration rather than a wrong password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The configured parameters are outside argon2's limits.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
}

/// Checks a new password against the rules; `username` is the account it is for.
///
/// # Errors
/// The first rule the password breaks.
pub fn check_new_password(password: &str, username: &str) -> Result<(), PasswordRejection> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordRejection::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordRejection::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.lines().any(|common| common == lower) {
        return Err(PasswordRejection::Common);
    }
    let username = username.to_lowercase();
    if (username.len() >= 3 && lower.contains(&username)) || is_single_pattern(&lower) {
        return Err(PasswordRejection::Guessable);
    }
    Ok(())
}

/// One character repeated, or a run where each character is one more (or less) than the last.
fn is_single_pattern(password: &str) -> bool {
    let chars: Vec<u32> = password.chars().map(u32::from).collect();
    let steps: Vec<i64> = chars.windows(2).map(|w| i64::from(w[1]) - i64::from(w[0])).collect();
    steps.iter().all(|&s| s == 0) || steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1)
}

fn hasher(params: HashParams) -> Result<Argon2<'static>, HashError> {
    let params = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
        .map_err(|e| HashError::Params(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks that `params` are usable, so that a bad configuration fails at start, not at sign-in.
///
/// # Errors
/// Why argon2 refuses the parameters.
pub fn check_params(params: HashParams) -> Result<(), HashError> {
    hasher(params).map(|_| ())
}

/// Hashes `password` with a fresh random salt; returns a PHC string (`$argon2id$v=19$m=...`).
///
/// # Errors
/// Only for invalid parameters.
pub fn hash_password(password: &str, params: HashParams) -> Result<String, HashError> {
    hash_password_in(password, params, &mut HashMemory::default())
}

/// [`hash_password`], computing in `memory` (grown as needed and kept for the next call).
///
/// # Errors
/// Only for invalid parameters.
pub fn hash_password_in(password: &str, params: HashParams, memory: &mut HashMemory) -> Result<String, HashError> {
    use base64::Engine as _;
    let salt = crate::secret::random_bytes::<16>();
    let hasher = hasher(params)?;
    let blocks = hasher.params().block_count();
    memory.0.resize(blocks.max(memory.0.len()), Block::default());
    let mut out = [0u8; 32];
    let working = memory.0.get_mut(..blocks).ok_or_else(|| HashError::Params("working memory".into()))?;
    hasher
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, working)
        .map_err(|e| HashError::Params(e.to_string()))?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        b64.encode(salt),
        b64.encode(out)
    ))
}

/// Reusable argon2 working memory (19 MiB at the default cost). Verifying into memory
/// that is kept and reused avoids allocating, faulting in and (with per-thread malloc
/// arenas) retaining a fresh block of that size for every sign-in.
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl std::fmt::Debug for HashMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HashMemory({} blocks)", self.0.len())
    }
}

/// True when `password` matches `phc`. Uses the parameters recorded in the hash, so
/// hashes made under older settings keep working. A malformed hash never matches.
#[must_use]
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_password_in(password, phc, &mut HashMemory::default())
}

/// [`verify_password`], computing in `memory` (grown as needed and kept for the next call).
#[must_use]
pub fn verify_password_in(password: &str, phc: &str, memory: &mut HashMemory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt.as_ref(), parsed.hash.as_ref()) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else { return false };
    let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let blocks = params.block_count();
    memory.0.resize(blocks.max(memory.0.len()), Block::default());
    let mut out = vec![0u8; expected.as_bytes().len()];
    let hasher = Argon2::new(algorithm, version, params);
    let Some(working) = memory.0.get_mut(..blocks) else { return false };
    hasher.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, working).is_ok()
        && crate::secret::constant_time_eq(&out, expected.as_bytes())
}

/// True when `phc` was made with parameters other than `params` and should be re-hashed
/// at the next successful sign-in.
#[must_use]
pub fn needs_rehash(phc: &str, params: HashParams) -> bool {
    let expected = format!("m={},t={},p={}", params.memory_kib, params.iterations, params.parallelism);
    !phc.starts_with("$argon2id$v=19$") || !phc.contains(&expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters so the tests stay fast; the rules do not depend on cost.
    const CHEAP: HashParams = HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let phc = hash_password("correct horse battery", CHEAP).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse battery!", &phc));
    }

    #[test]
    fn our_phc_strings_verify_with_the_reference_implementation() {
        use argon2::PasswordVerifier as _;
        let phc = hash_password("correct horse battery", CHEAP).unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_salt() {
        assert_ne!(hash_password("same password", CHEAP).unwrap(), hash_password("same password", CHEAP).unwrap());
    }

    #[test]
    fn reused_memory_verifies_like_fresh_memory() {
        let phc = hash_password("correct horse battery", CHEAP).unwrap();
        let other = hash_password("another passphrase", HashParams { memory_kib: 128, ..CHEAP }).unwrap();
        let mut memory = HashMemory::default();
        assert!(verify_password_in("correct horse battery", &phc, &mut memory));
        assert!(verify_password_in("another passphrase", &other, &mut memory), "memory grows for a costlier hash");
        assert!(verify_password_in("correct horse battery", &phc, &mut memory), "and still serves a cheaper one");
        assert!(!verify_password_in("wrong", &phc, &mut memory));
    }

    #[test]
    fn a_malformed_hash_never_matches() {
        assert!(!verify_password("anything", "not-a-phc-string"));
        assert!(!verify_password("", ""));
    }

    #[test]
    fn the_default_parameters_are_owasps() {
        let phc = hash_password("correct horse battery", HashParams::default()).unwrap();
        assert!(phc.contains("m=19456,t=2,p=1"));
        assert!(!needs_rehash(&phc, HashParams::default()));
        assert!(needs_rehash(&phc, CHEAP));
    }

    #[test]
    fn passwords_follow_sp_800_63b_rules() {
        assert_eq!(check_new_password("short", "bob"), Err(PasswordRejection::TooShort));
        assert_eq!(check_new_password(&"x".repeat(257), "bob"), Err(PasswordRejection::TooLong));
        assert_eq!(check_new_password("Password123", "bob"), Err(PasswordRejection::Common));
        assert_eq!(check_new_password("qwertyuiop", "bob"), Err(PasswordRejection::Common));
        assert_eq!(check_new_password("aaaaaaaaaa", "bob"), Err(PasswordRejection::Guessable));
        assert_eq!(check_new_password("abcdefghij", "bob"), Err(PasswordRejection::Guessable));
        assert_eq!(check_new_password("alice-rocks-99", "alice"), Err(PasswordRejection::Guessable));
        assert_eq!(check_new_password("correct horse battery", "alice"), Ok(()));
        // No composition rules: a long lower-case passphrase is fine.
        assert_eq!(check_new_password("tangerine ferry lamp", "alice"), Ok(()));
    }

    #[test]
    fn rejection_messages_never_contain_the_password() {
        for (pw, user) in [("hunter", "x"), ("password123", "x"), ("zzzzzzzzzz", "x")] {
            let message = check_new_password(pw, user).unwrap_err().to_string();
            assert!(!message.contains(pw));
        }
    }
}
