//! Devices: a browser is known by a long-lived cookie holding a random id and its HMAC,
//! so a device id in an event was issued by Twofold and cannot be forged or chosen.
//! (Trusting a device for N days builds on this with the authenticators issue.)

use base64::Engine as _;

use crate::secret::{constant_time_eq, hmac_sha256, random_bytes};

/// How long the device cookie lives: 400 days, the most browsers keep a cookie.
pub const DEVICE_COOKIE_MAX_AGE_SECS: i64 = 400 * 24 * 60 * 60;

fn signature(key: &[u8; 32], id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac_sha256(key, format!("device:{id}").as_bytes()))
}

/// A new device: its id and the cookie value (`id.signature`).
#[must_use]
pub fn issue(key: &[u8; 32]) -> (String, String) {
    let id = hex::encode(random_bytes::<16>());
    let cookie = format!("{id}.{}", signature(key, &id));
    (id, cookie)
}

/// The device id a cookie value carries, when its signature is ours.
#[must_use]
pub fn verify(key: &[u8; 32], cookie: &str) -> Option<String> {
    let (id, presented) = cookie.split_once('.')?;
    let well_formed = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
    (well_formed && constant_time_eq(signature(key, id).as_bytes(), presented.as_bytes())).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_device_cookie_verifies_and_a_forged_one_does_not() {
        let key = [1u8; 32];
        let (id, cookie) = issue(&key);
        assert_eq!(verify(&key, &cookie), Some(id.clone()));
        assert_eq!(verify(&[2u8; 32], &cookie), None, "another key");
        let forged = format!("{}.{}", "0".repeat(32), cookie.split_once('.').unwrap().1);
        assert_eq!(verify(&key, &forged), None, "a chosen id with a copied signature");
        assert_eq!(verify(&key, "garbage"), None);
    }
}
