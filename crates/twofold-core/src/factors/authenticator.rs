//! Authenticators: the factors registered to an identity, and the rules for their life.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::factors::otp::TotpParams;

/// The kinds of authenticator (DESIGN.md vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticatorKind {
    /// An authenticator app (RFC 6238).
    Totp,
    /// A hardware OATH token (RFC 4226).
    Hotp,
    /// A passkey or security key.
    Webauthn,
    /// A one-time code by email (transitional fallback).
    EmailOtp,
    /// A one-time code by SMS (transitional fallback).
    SmsOtp,
}

impl AuthenticatorKind {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Hotp => "hotp",
            Self::Webauthn => "webauthn",
            Self::EmailOtp => "email_otp",
            Self::SmsOtp => "sms_otp",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Totp, Self::Hotp, Self::Webauthn, Self::EmailOtp, Self::SmsOtp].into_iter().find(|k| k.as_str() == text)
    }

    /// The RFC 8176 method reference a successful use adds to `amr`.
    #[must_use]
    pub const fn amr(self) -> &'static str {
        match self {
            Self::Totp | Self::Hotp | Self::EmailOtp => "otp",
            Self::SmsOtp => "sms",
            Self::Webauthn => "hwk",
        }
    }

    /// What people call it.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Totp => "Authenticator app",
            Self::Hotp => "Hardware token",
            Self::Webauthn => "Passkey or security key",
            Self::EmailOtp => "Email code",
            Self::SmsOtp => "Text message code",
        }
    }

    /// Email and SMS codes: transitional fallbacks, weaker than every other kind.
    #[must_use]
    pub const fn is_fallback(self) -> bool {
        matches!(self, Self::EmailOtp | Self::SmsOtp)
    }
}

/// One registered factor. Its secret is stored sealed and never leaves the store in clear
/// except to the use case that checks a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authenticator {
    /// Identifier.
    pub id: Uuid,
    /// Whose it is; `None` for a hardware token not yet assigned.
    pub user_id: Option<Uuid>,
    /// Kind.
    pub kind: AuthenticatorKind,
    /// The name its owner gave it.
    pub name: String,
    /// The serial number printed on a hardware token.
    pub serial: Option<String>,
    /// Where an email or SMS method's codes go (an address or an E.164 number).
    pub destination: Option<String>,
    /// OTP parameters (TOTP uses all; HOTP uses algorithm and digits).
    pub otp: Option<TotpParams>,
    /// The last accepted TOTP step or HOTP counter, so no code is accepted twice.
    pub last_used_step: Option<i64>,
    /// Remembered clock drift of the token, in steps.
    pub drift_steps: i64,
    /// A security key whose attestation chained to a trusted CA at registration: using it
    /// proves `phrh` (phishing-resistant and hardware-bound).
    pub attested: bool,
    /// A passkey's public credential (JSON, with its sign counter), for `webauthn`.
    #[serde(skip)]
    pub credential: Option<String>,
    /// The sealed secret (never serialised).
    #[serde(skip)]
    pub sealed_secret: Vec<u8>,
    /// When it was added.
    pub created_at: Timestamp,
    /// When enrolment finished with a successful test authentication; until then it does
    /// not count and cannot be used to sign in.
    pub confirmed_at: Option<Timestamp>,
    /// When it was last used.
    pub last_used_at: Option<Timestamp>,
}

impl Authenticator {
    /// The associated data its secret is sealed with.
    #[must_use]
    pub fn seal_context(id: Uuid) -> String {
        format!("authenticator:{id}")
    }

    /// True once the test authentication succeeded.
    #[must_use]
    pub const fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }

    /// Whether this is an enrolment left unconfirmed for longer than
    /// [`PENDING_ENROLMENT_SECS`]: it can no longer be confirmed (THREATS: enrolment left
    /// half-open), so a key shown to a stolen session long ago is worth nothing.
    #[must_use]
    pub fn enrolment_expired(&self, now: crate::Timestamp) -> bool {
        !self.is_confirmed() && now.millis() - self.created_at.millis() > PENDING_ENROLMENT_SECS * 1000
    }
}

/// How long a started enrolment may wait for its test authentication.
pub const PENDING_ENROLMENT_SECS: i64 = 10 * 60;

/// Checks a name given to an authenticator.
///
/// # Errors
/// A blank or over-long name.
pub fn check_name(name: &str) -> Result<String, crate::ValidationErrors> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(crate::ValidationErrors::one("name", "must be 1–64 printable characters"));
    }
    Ok(name.to_owned())
}

/// How a user's methods compare with the default requirement: at least two confirmed
/// methods, at least one of them neither email nor SMS, and unused recovery codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementStatus {
    /// What is missing, in words; empty when the requirement is met.
    pub missing: Vec<&'static str>,
}

impl RequirementStatus {
    /// True when nothing is missing.
    #[must_use]
    pub fn is_met(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Checks the default requirement for a user's authenticators and recovery codes.
#[must_use]
pub fn default_requirement(all: &[Authenticator], recovery_codes_left: i64) -> RequirementStatus {
    let missing = recommended_checklist(all, recovery_codes_left)
        .into_iter()
        .filter(|(_, done)| !done)
        .map(|(item, _)| item)
        .collect();
    RequirementStatus { missing }
}

/// The recommended setup as a checklist: each item and whether it is done (an authenticator
/// app, hardware token or passkey; a second method; recovery codes).
#[must_use]
pub fn recommended_checklist(all: &[Authenticator], recovery_codes_left: i64) -> Vec<(&'static str, bool)> {
    let confirmed: Vec<_> = all.iter().filter(|a| a.is_confirmed()).collect();
    vec![
        ("an authenticator app, hardware token or passkey", confirmed.iter().any(|a| !a.kind.is_fallback())),
        ("a second sign-in method, in case you lose the first", confirmed.len() >= 2),
        ("recovery codes", recovery_codes_left > 0),
    ]
}

/// Why `target` may not be removed, if it may not: it is the user's last confirmed second
/// factor, or their last strong one (what is left would be email or SMS codes only).
/// Recovery codes do not count: they are a way back in, not a factor to sign in with daily.
#[must_use]
pub fn removal_refusal(all: &[Authenticator], target: Uuid) -> Option<&'static str> {
    let removed = all.iter().find(|a| a.id == target && a.is_confirmed())?;
    let others: Vec<_> = all.iter().filter(|a| a.is_confirmed() && a.id != target).collect();
    if others.is_empty() {
        return Some("add another method before removing your last one");
    }
    if !removed.kind.is_fallback() && others.iter().all(|a| a.kind.is_fallback()) {
        return Some(
            "add an authenticator app, hardware token or passkey first: email and SMS codes alone are not enough",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(kind: AuthenticatorKind, confirmed: bool) -> Authenticator {
        Authenticator {
            id: Uuid::now_v7(),
            user_id: None,
            kind,
            name: "m".into(),
            serial: None,
            destination: None,
            attested: false,
            credential: None,
            otp: None,
            last_used_step: None,
            drift_steps: 0,
            sealed_secret: Vec::new(),
            created_at: Timestamp(0),
            confirmed_at: confirmed.then_some(Timestamp(1)),
            last_used_at: None,
        }
    }

    #[test]
    fn the_default_requirement_needs_two_methods_one_strong_and_recovery_codes() {
        assert_eq!(default_requirement(&[], 0).missing.len(), 3);
        let app = method(AuthenticatorKind::Totp, true);
        assert_eq!(
            default_requirement(std::slice::from_ref(&app), 10).missing,
            ["a second sign-in method, in case you lose the first"]
        );
        let unconfirmed_key = method(AuthenticatorKind::Webauthn, false);
        assert!(!default_requirement(&[app.clone(), unconfirmed_key], 10).is_met(), "unfinished methods do not count");
        let sms_and_email = [method(AuthenticatorKind::SmsOtp, true), method(AuthenticatorKind::EmailOtp, true)];
        assert_eq!(
            default_requirement(&sms_and_email, 10).missing,
            ["an authenticator app, hardware token or passkey"]
        );
        let good = [app, method(AuthenticatorKind::Webauthn, true)];
        assert!(default_requirement(&good, 10).is_met());
        assert_eq!(default_requirement(&good, 0).missing, ["recovery codes"]);
    }

    #[test]
    fn the_last_factor_and_the_last_strong_factor_stay() {
        let only = method(AuthenticatorKind::Totp, true);
        let pending = method(AuthenticatorKind::Totp, false);
        assert!(removal_refusal(&[only.clone(), pending.clone()], only.id).is_some());
        assert_eq!(removal_refusal(&[only.clone(), pending.clone()], pending.id), None, "unfinished ones go freely");
        assert_eq!(removal_refusal(&[only.clone(), method(AuthenticatorKind::Webauthn, true)], only.id), None);
        let sms = method(AuthenticatorKind::SmsOtp, true);
        let refusal = removal_refusal(&[only.clone(), sms.clone()], only.id).unwrap();
        assert!(refusal.contains("email and SMS codes alone"), "{refusal}");
        assert_eq!(removal_refusal(&[only, sms.clone()], sms.id), None, "a fallback can go while a strong one stays");
    }
}
