//! One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), with the acceptance rules.
//!
//! TOTP accepts the current step ±1 (after the drift remembered for the token) and
//! never a step at or before the last one accepted: a code works once. HOTP accepts
//! the next counters within a look-ahead window and never a counter already used.
//! Pure: the caller passes the time and the last used step or counter, and stores the
//! matched one atomically (compare-and-swap) so replays fail across nodes too.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::Timestamp;
use crate::secret::constant_time_eq;

/// The HMAC hash of an OTP token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum OtpAlgorithm {
    /// HMAC-SHA-1: what nearly every authenticator app and token uses.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl OtpAlgorithm {
    /// The name used in `otpauth://` URIs.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Parses `SHA1`, `SHA256` or `SHA512` (any case, dash allowed).
    ///
    /// # Errors
    /// A message naming the accepted values.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Ok(Self::Sha1),
            "SHA256" => Ok(Self::Sha256),
            "SHA512" => Ok(Self::Sha512),
            _ => Err(format!("'{text}' is not one of: SHA1, SHA256, SHA512")),
        }
    }
}

/// Parameters of a TOTP token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpParams {
    /// HMAC hash.
    pub algorithm: OtpAlgorithm,
    /// 6 or 8.
    pub digits: u32,
    /// Seconds per step, usually 30.
    pub period: u32,
}

impl Default for TotpParams {
    fn default() -> Self {
        Self { algorithm: OtpAlgorithm::Sha1, digits: 6, period: 30 }
    }
}

/// Steps either side of the expected one that are accepted (RFC 6238 §5.2 suggests one).
pub const TOTP_WINDOW: i64 = 1;
/// Counters after the expected one that an HOTP code may come from.
pub const HOTP_LOOK_AHEAD: u64 = 10;
/// How far (in steps or counters) a resynchronisation searches.
pub const RESYNC_SEARCH: u64 = 200;

fn hmac<M: Mac + KeyInit>(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret) else { return Vec::new() };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The HOTP value for `counter` (RFC 4226 §5.3), zero-padded to `digits`.
#[must_use]
pub fn hotp(secret: &[u8], counter: u64, algorithm: OtpAlgorithm, digits: u32) -> String {
    let message = counter.to_be_bytes();
    let digest = match algorithm {
        OtpAlgorithm::Sha1 => hmac::<Hmac<Sha1>>(secret, &message),
        OtpAlgorithm::Sha256 => hmac::<Hmac<Sha256>>(secret, &message),
        OtpAlgorithm::Sha512 => hmac::<Hmac<Sha512>>(secret, &message),
    };
    let Some(&last) = digest.last() else { return String::new() };
    let offset = usize::from(last & 0x0f);
    let Some(window) = digest.get(offset..offset + 4) else { return String::new() };
    let binary = u32::from_be_bytes([window[0] & 0x7f, window[1], window[2], window[3]]);
    let value = u64::from(binary) % 10u64.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// The TOTP time step containing `at`.
#[must_use]
pub fn totp_step(at: Timestamp, period: u32) -> i64 {
    at.millis().div_euclid(1000).div_euclid(i64::from(period.max(1)))
}

/// The TOTP value for the step containing `at`.
#[must_use]
pub fn totp(secret: &[u8], at: Timestamp, params: TotpParams) -> String {
    let step = u64::try_from(totp_step(at, params.period)).unwrap_or(0);
    hotp(secret, step, params.algorithm, params.digits)
}

/// Why a one-time code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OtpRejection {
    /// Not the right number of digits.
    #[error("the code must be {0} digits")]
    Malformed(u32),
    /// No step or counter in the window produces this code.
    #[error("the code is not valid")]
    Invalid,
    /// The code is valid but was used already (its step or counter was accepted before).
    #[error("the code was already used")]
    Replayed,
}

/// Strips spaces and dashes people type; checks length and digits.
fn normalize(code: &str, digits: u32) -> Result<String, OtpRejection> {
    let code: String = code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if code.len() != digits as usize || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(OtpRejection::Malformed(digits));
    }
    Ok(code)
}

/// Checks a TOTP code at `now` for a token whose clock is `drift` steps off, given the last
/// accepted step. Returns the matched step, which the caller must store as the new last step.
///
/// # Errors
/// Malformed, invalid, or a step already used.
pub fn verify_totp(
    secret: &[u8],
    params: TotpParams,
    code: &str,
    now: Timestamp,
    drift: i64,
    last_used_step: Option<i64>,
) -> Result<i64, OtpRejection> {
    let code = normalize(code, params.digits)?;
    let expected = totp_step(now, params.period) + drift;
    let mut replayed = false;
    for step in (expected - TOTP_WINDOW)..=(expected + TOTP_WINDOW) {
        let Ok(counter) = u64::try_from(step) else { continue };
        if constant_time_eq(hotp(secret, counter, params.algorithm, params.digits).as_bytes(), code.as_bytes()) {
            if last_used_step.is_some_and(|last| step <= last) {
                replayed = true;
                continue;
            }
            return Ok(step);
        }
    }
    Err(if replayed { OtpRejection::Replayed } else { OtpRejection::Invalid })
}

/// Finds the drift of a TOTP token from two consecutive codes: the offset (in steps) at
/// which `first` and `second` match consecutive steps, searching [`RESYNC_SEARCH`] steps
/// either side of `now`. Returns (drift, step of `second`).
#[must_use]
pub fn resync_totp(secret: &[u8], params: TotpParams, first: &str, second: &str, now: Timestamp) -> Option<(i64, i64)> {
    let first = normalize(first, params.digits).ok()?;
    let second = normalize(second, params.digits).ok()?;
    let current = totp_step(now, params.period);
    let search = i64::try_from(RESYNC_SEARCH).unwrap_or(200);
    (-search..=search).find_map(|offset| {
        let step = u64::try_from(current + offset).ok()?;
        let a = hotp(secret, step, params.algorithm, params.digits);
        let b = hotp(secret, step + 1, params.algorithm, params.digits);
        (constant_time_eq(a.as_bytes(), first.as_bytes()) && constant_time_eq(b.as_bytes(), second.as_bytes()))
            .then_some((offset + 1, current + offset + 1))
    })
}

/// Drift diagnosis: the offset (in steps, nearest first) at which one `code` read out from an
/// authenticator app matches, searching [`RESYNC_SEARCH`] steps either side of `now`, so the
/// help desk can tell "the phone's clock is 90 seconds fast" before resynchronising. One code
/// proves nothing (it may match by chance at some offset): it is never accepted as a sign-in.
#[must_use]
pub fn observed_offset(secret: &[u8], params: TotpParams, code: &str, now: Timestamp) -> Option<i64> {
    let code = normalize(code, params.digits).ok()?;
    let current = totp_step(now, params.period);
    let search = i64::try_from(RESYNC_SEARCH).unwrap_or(200);
    (0..=search).flat_map(|d| if d == 0 { vec![0] } else { vec![d, -d] }).find(|offset| {
        u64::try_from(current + offset).is_ok_and(|step| {
            constant_time_eq(hotp(secret, step, params.algorithm, params.digits).as_bytes(), code.as_bytes())
        })
    })
}

/// Checks an HOTP code given the next unused counter; returns the matched counter (the
/// caller stores `matched + 1` as the next counter).
///
/// # Errors
/// Malformed, or no counter in the look-ahead window matches.
pub fn verify_hotp(
    secret: &[u8],
    algorithm: OtpAlgorithm,
    digits: u32,
    code: &str,
    next_counter: u64,
) -> Result<u64, OtpRejection> {
    let code = normalize(code, digits)?;
    (next_counter..=next_counter.saturating_add(HOTP_LOOK_AHEAD))
        .find(|&counter| constant_time_eq(hotp(secret, counter, algorithm, digits).as_bytes(), code.as_bytes()))
        .ok_or(OtpRejection::Invalid)
}

/// Resynchronises an HOTP token from two consecutive codes, searching [`RESYNC_SEARCH`]
/// counters past `next_counter`; returns the counter of `second`.
#[must_use]
pub fn resync_hotp(
    secret: &[u8],
    algorithm: OtpAlgorithm,
    digits: u32,
    first: &str,
    second: &str,
    next_counter: u64,
) -> Option<u64> {
    let first = normalize(first, digits).ok()?;
    let second = normalize(second, digits).ok()?;
    (next_counter..next_counter.saturating_add(RESYNC_SEARCH)).find_map(|counter| {
        let a = hotp(secret, counter, algorithm, digits);
        let b = hotp(secret, counter + 1, algorithm, digits);
        (constant_time_eq(a.as_bytes(), first.as_bytes()) && constant_time_eq(b.as_bytes(), second.as_bytes()))
            .then_some(counter + 1)
    })
}

/// Encodes a secret in unpadded RFC 4648 base32, as authenticator apps expect.
#[must_use]
pub fn base32_encode(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// Decodes base32 as people and token vendors write it: any case, spaces, optional padding.
///
/// # Errors
/// A message when it is not base32 or decodes to fewer than 10 bytes (80 bits).
pub fn base32_decode(text: &str) -> Result<Vec<u8>, String> {
    let cleaned: String =
        text.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '=').collect::<String>().to_ascii_uppercase();
    let bytes =
        data_encoding::BASE32_NOPAD.decode(cleaned.as_bytes()).map_err(|_| "is not base32 (A–Z, 2–7)".to_owned())?;
    if bytes.len() < 10 {
        return Err("is shorter than 80 bits (16 base32 characters)".into());
    }
    Ok(bytes)
}

/// The `otpauth://totp/` URI an authenticator app scans (Key Uri Format).
#[must_use]
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8], params: TotpParams) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm={}&digits={}&period={}",
        enc(issuer),
        enc(account),
        base32_encode(secret),
        enc(issuer),
        params.algorithm.as_str(),
        params.digits,
        params.period
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    #[test]
    fn hotp_matches_rfc_4226_appendix_d() {
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(SHA1_SEED, counter as u64, OtpAlgorithm::Sha1, 6), *code, "counter {counter}");
        }
    }

    #[test]
    fn totp_matches_rfc_6238_appendix_b() {
        let vectors: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (seconds, sha1, sha256, sha512) in vectors {
            let at = Timestamp(seconds * 1000);
            let params = |algorithm| TotpParams { algorithm, digits: 8, period: 30 };
            assert_eq!(totp(SHA1_SEED, at, params(OtpAlgorithm::Sha1)), sha1, "{seconds} SHA1");
            assert_eq!(totp(SHA256_SEED, at, params(OtpAlgorithm::Sha256)), sha256, "{seconds} SHA256");
            assert_eq!(totp(SHA512_SEED, at, params(OtpAlgorithm::Sha512)), sha512, "{seconds} SHA512");
        }
    }

    #[test]
    fn totp_accepts_one_step_either_side_and_no_further() {
        let params = TotpParams::default();
        let now = Timestamp(1_795_000_000_000);
        for offset in [-1, 0, 1] {
            let code = totp(SHA1_SEED, now.plus_seconds(30 * offset), params);
            assert!(verify_totp(SHA1_SEED, params, &code, now, 0, None).is_ok(), "offset {offset}");
        }
        for offset in [-2, 2] {
            let code = totp(SHA1_SEED, now.plus_seconds(30 * offset), params);
            assert_eq!(
                verify_totp(SHA1_SEED, params, &code, now, 0, None),
                Err(OtpRejection::Invalid),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn totp_rejects_a_code_from_an_already_used_step() {
        let params = TotpParams::default();
        let now = Timestamp(1_795_000_000_000);
        let code = totp(SHA1_SEED, now, params);
        let step = verify_totp(SHA1_SEED, params, &code, now, 0, None).unwrap();
        assert_eq!(verify_totp(SHA1_SEED, params, &code, now, 0, Some(step)), Err(OtpRejection::Replayed));
        let earlier = totp(SHA1_SEED, now.plus_seconds(-30), params);
        assert_eq!(verify_totp(SHA1_SEED, params, &earlier, now, 0, Some(step)), Err(OtpRejection::Replayed));
        let next = totp(SHA1_SEED, now.plus_seconds(30), params);
        assert_eq!(verify_totp(SHA1_SEED, params, &next, now, 0, Some(step)), Ok(step + 1));
    }

    #[test]
    fn a_drifting_token_is_resynchronised_with_two_consecutive_codes() {
        let params = TotpParams::default();
        let now = Timestamp(1_795_000_000_000);
        let token_time = now.plus_seconds(-30 * 7);
        let (first, second) =
            (totp(SHA1_SEED, token_time, params), totp(SHA1_SEED, token_time.plus_seconds(30), params));
        assert_eq!(verify_totp(SHA1_SEED, params, &second, now, 0, None), Err(OtpRejection::Invalid));
        let (drift, step) = resync_totp(SHA1_SEED, params, &first, &second, now).unwrap();
        assert_eq!(drift, -6);
        let later = now.plus_seconds(60);
        let code = totp(SHA1_SEED, later.plus_seconds(30 * drift), params);
        assert!(verify_totp(SHA1_SEED, params, &code, later, drift, Some(step)).is_ok());
    }

    #[test]
    fn hotp_looks_ahead_and_resyncs() {
        let code = hotp(SHA1_SEED, 5, OtpAlgorithm::Sha1, 6);
        assert_eq!(verify_hotp(SHA1_SEED, OtpAlgorithm::Sha1, 6, &code, 2), Ok(5));
        assert_eq!(
            verify_hotp(SHA1_SEED, OtpAlgorithm::Sha1, 6, &code, 6),
            Err(OtpRejection::Invalid),
            "used counters never return"
        );
        let far = (hotp(SHA1_SEED, 40, OtpAlgorithm::Sha1, 6), hotp(SHA1_SEED, 41, OtpAlgorithm::Sha1, 6));
        assert_eq!(verify_hotp(SHA1_SEED, OtpAlgorithm::Sha1, 6, &far.0, 0), Err(OtpRejection::Invalid));
        assert_eq!(resync_hotp(SHA1_SEED, OtpAlgorithm::Sha1, 6, &far.0, &far.1, 0), Some(41));
    }

    #[test]
    fn malformed_codes_are_refused_before_any_hashing() {
        let params = TotpParams::default();
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                verify_totp(SHA1_SEED, params, bad, Timestamp(0), 0, None),
                Err(OtpRejection::Malformed(6)),
                "{bad}"
            );
        }
        assert!(
            verify_totp(
                SHA1_SEED,
                params,
                &format!(" {} ", totp(SHA1_SEED, Timestamp(0), params)),
                Timestamp(0),
                0,
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn base32_round_trips_and_tolerates_how_people_write_it() {
        let secret = b"12345678901234567890";
        let text = base32_encode(secret);
        assert_eq!(text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode(&text.to_lowercase()).unwrap(), secret);
        assert_eq!(base32_decode("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ").unwrap(), secret);
        assert!(base32_decode("not base32!").is_err());
        assert!(base32_decode("GEZDGNBV").is_err(), "too short");
    }

    #[test]
    fn the_otpauth_uri_follows_the_key_uri_format() {
        let uri = otpauth_uri("Twofold", "alice@example.com", b"12345678901234567890", TotpParams::default());
        assert_eq!(
            uri,
            "otpauth://totp/Twofold:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Twofold&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn one_code_read_out_shows_how_far_the_clock_drifts() {
        let secret = b"12345678901234567890";
        let params = TotpParams::default();
        let now = Timestamp(59_000_000);
        let three_ahead = Timestamp(now.millis() + 90_000);
        let code = totp(secret, three_ahead, params);
        assert_eq!(observed_offset(secret, params, &code, now), Some(3));
        let behind = totp(secret, Timestamp(now.millis() - 60_000), params);
        assert_eq!(observed_offset(secret, params, &behind, now), Some(-2));
        assert_eq!(observed_offset(secret, params, "12ab56", now), None);
    }
}
