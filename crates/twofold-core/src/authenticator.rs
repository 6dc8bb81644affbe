//! Authenticators: the factors registered to an identity, and the rules for their life.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::otp::TotpParams;

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
    /// OTP parameters (TOTP uses all; HOTP uses algorithm and digits).
    pub otp: Option<TotpParams>,
    /// The last accepted TOTP step or HOTP counter, so no code is accepted twice.
    pub last_used_step: Option<i64>,
    /// Remembered clock drift of the token, in steps.
    pub drift_steps: i64,
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
}

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

/// Whether removing `target` would leave the user without any confirmed second factor
/// (recovery codes do not count: they are a way back in, not a factor to sign in with daily).
#[must_use]
pub fn is_last_factor(all: &[Authenticator], target: Uuid) -> bool {
    all.iter().filter(|a| a.is_confirmed() && a.id != target).count() == 0
}
