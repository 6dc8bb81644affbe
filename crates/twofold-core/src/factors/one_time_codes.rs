//! Email and SMS one-time codes: transitional fallbacks only. Each code lives a few minutes,
//! allows a few guesses and is single use; sends are rate-limited; and policy can forbid a
//! channel for some tiers and end it on a date (THREATS: downgrade).

use async_trait::async_trait;
use serde::Serialize;
use uuid::Uuid;

use crate::Timestamp;
use crate::factors::authenticator::AuthenticatorKind;
use crate::identity::{Tier, User};
use crate::secret::{hmac_sha256, random_bytes};

/// How long a sent code stays valid.
pub const CODE_LIFETIME_SECS: i64 = 5 * 60;
/// Wrong guesses allowed against one code before it is void.
pub const MAX_ATTEMPTS: i64 = 5;
/// The shortest wait between two sends through one method for one purpose.
pub const RESEND_INTERVAL_SECS: i64 = 30;
/// Sends allowed through one method for one purpose within [`SEND_WINDOW_SECS`].
pub const MAX_SENDS_PER_WINDOW: usize = 5;
/// The window the send limit counts over.
pub const SEND_WINDOW_SECS: i64 = 60 * 60;
/// Codes sent to one person, through all their methods and enrolments, within
/// [`SEND_WINDOW_SECS`] (THREATS: toll fraud — one stolen password must not run up a bill).
pub const MAX_SENDS_PER_PERSON: i64 = 10;
/// The shortest wait between two codes sent to one person over one channel (email or SMS)
/// for one purpose, whichever of their methods or enrolments: six new numbers in a second
/// get one text.
pub const PERSON_RESEND_SECS: i64 = 20;
/// Codes requested from one source address within [`SEND_WINDOW_SECS`].
pub const MAX_SENDS_PER_SOURCE: i64 = 30;
/// Enrolments of email or SMS methods one person may have waiting for their code at once.
pub const MAX_PENDING_ENROLMENTS: usize = 3;
/// Calling codes (E.164 prefixes) of shared-cost, international-network and premium ranges,
/// favourites of toll fraud: refused unless the organisation names them in its allow-list.
pub const PREMIUM_CALLING_CODES: &[&str] = &["800", "808", "870", "878", "881", "882", "883", "888", "979", "991"];

/// What one channel (email or SMS) is allowed to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelPolicy {
    /// Off unless an administrator turns it on: these are fallbacks, not a default.
    pub enabled: bool,
    /// After this moment the channel no longer signs anyone in (the transition's end date).
    pub until: Option<Timestamp>,
    /// Tiers that may never use the channel.
    pub forbidden_tiers: Vec<Tier>,
    /// SMS only: the calling codes (`44`, `1`, `4930`) text messages may go to; empty means
    /// any but the [`PREMIUM_CALLING_CODES`].
    pub allowed_calling_codes: Vec<String>,
}

/// The policy for both fallback channels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FallbackPolicy {
    /// Codes by email.
    pub email: ChannelPolicy,
    /// Codes by SMS.
    pub sms: ChannelPolicy,
}

/// Why a fallback channel may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FallbackRefusal {
    /// The channel is not enabled.
    #[error("{0} codes are not enabled")]
    Disabled(&'static str),
    /// The channel's end date has passed.
    #[error("{0} codes were allowed only until {1}")]
    Ended(&'static str, Timestamp),
    /// The person's tier may not use the channel.
    #[error("{0} codes are not allowed for {1} accounts")]
    ForbiddenForTier(&'static str, Tier),
    /// Not an email or SMS method.
    #[error("not a fallback method")]
    NotAFallback,
    /// Text messages to this number range are not allowed.
    #[error("text messages to numbers starting {0} are not allowed by your organisation")]
    NumberNotAllowed(String),
}

impl FallbackPolicy {
    /// Whether a person of `tier` may use `kind` at `now`.
    ///
    /// # Errors
    /// The reason it is refused.
    pub fn allows(&self, kind: AuthenticatorKind, tier: Tier, now: Timestamp) -> Result<(), FallbackRefusal> {
        let (channel, name) = match kind {
            AuthenticatorKind::EmailOtp => (&self.email, "Email"),
            AuthenticatorKind::SmsOtp => (&self.sms, "SMS"),
            _ => return Err(FallbackRefusal::NotAFallback),
        };
        if !channel.enabled {
            return Err(FallbackRefusal::Disabled(name));
        }
        if let Some(until) = channel.until.filter(|until| now >= *until) {
            return Err(FallbackRefusal::Ended(name, until));
        }
        if channel.forbidden_tiers.contains(&tier) {
            return Err(FallbackRefusal::ForbiddenForTier(name, tier));
        }
        Ok(())
    }
}

/// Recent sends counted under one key (a person or a source).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCount {
    /// How many within [`SEND_WINDOW_SECS`].
    pub count: i64,
    /// When the latest was.
    pub last_at: Option<Timestamp>,
}

/// Whether another code may be sent to a person (`by_person`, with `last_on_channel` the
/// latest send to them over the same channel) from a source (`by_source`).
///
/// # Errors
/// [`SendLimited`] with the wait.
pub fn may_send_to(
    by_person: SendCount,
    last_on_channel: Option<Timestamp>,
    by_source: SendCount,
    now: Timestamp,
) -> Result<(), SendLimited> {
    let wait_until = |t: Timestamp| ((t.millis() - now.millis() + 999) / 1000).max(1);
    if let Some(last) = last_on_channel
        && last.plus_seconds(PERSON_RESEND_SECS) > now
    {
        return Err(SendLimited { retry_after_secs: wait_until(last.plus_seconds(PERSON_RESEND_SECS)) });
    }
    if by_person.count >= MAX_SENDS_PER_PERSON || by_source.count >= MAX_SENDS_PER_SOURCE {
        // The window slides: at worst a full window from the latest send.
        let latest = by_person.last_at.max(by_source.last_at).unwrap_or(now);
        return Err(SendLimited { retry_after_secs: wait_until(latest.plus_seconds(SEND_WINDOW_SECS)) });
    }
    Ok(())
}

/// Whether text messages may go to `phone` (E.164, as [`check_phone`] returns it): never to
/// the [`PREMIUM_CALLING_CODES`] unless an allow-list entry names that range itself, and,
/// when the organisation lists calling codes, only to those.
///
/// # Errors
/// [`FallbackRefusal::NumberNotAllowed`] naming the refused prefix.
pub fn check_sms_destination(phone: &str, allowed: &[String]) -> Result<(), FallbackRefusal> {
    let digits = phone.trim_start_matches('+');
    let allowed: Vec<&str> = allowed.iter().map(|c| c.trim_start_matches('+')).filter(|c| !c.is_empty()).collect();
    if let Some(premium) = PREMIUM_CALLING_CODES.iter().find(|code| digits.starts_with(**code))
        && !allowed.iter().any(|entry| entry.starts_with(premium) && digits.starts_with(entry))
    {
        return Err(FallbackRefusal::NumberNotAllowed(format!("+{premium}")));
    }
    if allowed.is_empty() || allowed.iter().any(|entry| digits.starts_with(entry)) {
        Ok(())
    } else {
        Err(FallbackRefusal::NumberNotAllowed(format!("+{}", digits.chars().take(3).collect::<String>())))
    }
}

/// Checks an allow-list entry: a calling code or a longer prefix, 1–6 digits (`+` allowed).
///
/// # Errors
/// A message saying what is wrong.
pub fn check_calling_code(entry: &str) -> Result<(), String> {
    let digits = entry.strip_prefix('+').unwrap_or(entry);
    if (1..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0') {
        Ok(())
    } else {
        Err(format!("'{entry}' is not a calling code (1–6 digits, like \"44\" or \"1\")"))
    }
}

/// Why a code may not be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many codes sent; try again in {retry_after_secs} seconds")]
pub struct SendLimited {
    /// Seconds until another send is allowed.
    pub retry_after_secs: i64,
}

/// Whether another code may be sent, given when the recent ones were (any order).
///
/// # Errors
/// [`SendLimited`] with the wait.
pub fn may_send(recent_sends: &[Timestamp], now: Timestamp) -> Result<(), SendLimited> {
    let window_start = now.plus_seconds(-SEND_WINDOW_SECS);
    let mut in_window: Vec<Timestamp> = recent_sends.iter().copied().filter(|t| *t > window_start).collect();
    in_window.sort_unstable();
    let wait_until = |t: Timestamp| (t.millis() - now.millis() + 999) / 1000;
    if let Some(last) = in_window.last() {
        let wait = wait_until(last.plus_seconds(RESEND_INTERVAL_SECS));
        if wait > 0 {
            return Err(SendLimited { retry_after_secs: wait });
        }
    }
    if in_window.len() >= MAX_SENDS_PER_WINDOW {
        let oldest_counted = in_window[in_window.len() - MAX_SENDS_PER_WINDOW];
        return Err(SendLimited { retry_after_secs: wait_until(oldest_counted.plus_seconds(SEND_WINDOW_SECS)).max(1) });
    }
    Ok(())
}

/// A fresh six-digit code, uniformly distributed.
#[must_use]
pub fn generate_code() -> String {
    loop {
        let value = u32::from_be_bytes(random_bytes::<4>());
        // Reject the top slice so every code is equally likely.
        if value < u32::MAX - u32::MAX % 1_000_000 {
            return format!("{:06}", value % 1_000_000);
        }
    }
}

/// The canonical form of a typed code (digits only), or `None` when it cannot be one.
#[must_use]
pub fn normalize(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The stored form of a code sent to `user_id`: HMAC-SHA-256 under a key from the master
/// key, so the table cannot be searched offline.
#[must_use]
pub fn hash_code(key: &[u8; 32], user_id: Uuid, normalized_code: &str) -> String {
    hex::encode(hmac_sha256(key, format!("one-time-code:{user_id}:{normalized_code}").as_bytes()))
}

/// Whether a code sent at some point is for signing in or for a method's test authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    /// The second step of sign-in (or a step-up).
    SignIn,
    /// The test authentication that confirms a new email or SMS method.
    Enrol,
    /// The proof of the address on file that lets someone with no method enrol a first one.
    FirstMethod,
    /// A help-desk case's check of the caller through the email address on file (read back
    /// to the operator on the call).
    CaseVerification,
    /// The same through the phone number on file, by text message.
    CaseVerificationSms,
}

impl CodePurpose {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Enrol => "enrol",
            Self::FirstMethod => "first_method",
            Self::CaseVerification => "case_verification",
            Self::CaseVerificationSms => "case_verification_sms",
        }
    }
}

/// One sent code, as stored (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeCode {
    /// Identifier.
    pub id: Uuid,
    /// Whose.
    pub user_id: Uuid,
    /// The email or SMS method it was sent through.
    pub authenticator_id: Uuid,
    /// Sign-in or enrolment.
    pub purpose: CodePurpose,
    /// [`hash_code`] of the code.
    pub code_hash: String,
    /// When it was sent.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// Checks a phone number for SMS: E.164 (`+` and 8–15 digits; spaces, dots and dashes
/// allowed while typing).
///
/// # Errors
/// A number that is not in international form.
pub fn check_phone(text: &str) -> Result<String, crate::ValidationErrors> {
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(crate::ValidationErrors::one("phone", "must be in international form, like +44 7700 900123"));
    }
    Ok(compact)
}

/// A destination shown to people without revealing it whole: `a•••@example.com`, `•••• 0123`.
#[must_use]
pub fn mask_destination(destination: &str) -> String {
    if let Some((local, domain)) = destination.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}•••@{domain}");
    }
    let last: String = destination.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("•••• {last}")
}

/// The text of a code message (email body or SMS).
#[must_use]
pub fn code_text(code: &str, purpose: CodePurpose) -> String {
    let what = match purpose {
        CodePurpose::SignIn => "sign in to",
        CodePurpose::Enrol => "confirm this contact method for",
        CodePurpose::FirstMethod => "set up the first sign-in method of",
        CodePurpose::CaseVerification | CodePurpose::CaseVerificationSms => {
            return format!(
                "Your help desk opened a support case for your Twofold account. Only if you are on a call with them now, read them this code: {code}. It works for {} minutes. If you did not contact the help desk, do not share it: report it to your security team.",
                CODE_LIFETIME_SECS / 60
            );
        }
    };
    format!(
        "Your Twofold verification code is {code}. Use it to {what} your account within {} minutes. Never share it: nobody from your help desk will ask for it.",
        CODE_LIFETIME_SECS / 60
    )
}

/// The email carrying a code.
#[must_use]
pub fn code_email(user: &User, to: &str, code: &str, purpose: CodePurpose) -> crate::mail::Email {
    crate::mail::Email {
        to: to.to_owned(),
        cc: Vec::new(),
        subject: match purpose {
            CodePurpose::CaseVerification | CodePurpose::CaseVerificationSms => {
                "Your help desk asks to verify it's you"
            }
            _ => "Your verification code",
        }
        .into(),
        body: format!("Hello {},\n\n{}\n", user.display_name, code_text(code, purpose)),
    }
}

/// Why a text message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SMS not sent: {0}")]
pub struct SmsError(pub String);

/// The SMS port: implemented by `twofold-mail` as an HTTP webhook to an SMS provider.
#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// Sends `text` to the phone number `to` (E.164).
    async fn send(&self, to: &str, text: &str) -> Result<(), SmsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn a_channel_is_off_until_enabled_and_ends_on_its_date() {
        let mut policy = FallbackPolicy::default();
        let now = Timestamp(10 * MINUTE);
        assert_eq!(
            policy.allows(AuthenticatorKind::SmsOtp, Tier::Standard, now),
            Err(FallbackRefusal::Disabled("SMS"))
        );
        policy.sms = ChannelPolicy {
            enabled: true,
            until: Some(Timestamp(20 * MINUTE)),
            forbidden_tiers: vec![],
            ..ChannelPolicy::default()
        };
        assert_eq!(policy.allows(AuthenticatorKind::SmsOtp, Tier::Standard, now), Ok(()));
        assert!(matches!(
            policy.allows(AuthenticatorKind::SmsOtp, Tier::Standard, Timestamp(20 * MINUTE)),
            Err(FallbackRefusal::Ended("SMS", _))
        ));
        assert_eq!(policy.allows(AuthenticatorKind::Totp, Tier::Standard, now), Err(FallbackRefusal::NotAFallback));
    }

    #[test]
    fn a_tier_can_be_forbidden_a_channel() {
        let policy = FallbackPolicy {
            email: ChannelPolicy {
                enabled: true,
                until: None,
                forbidden_tiers: vec![Tier::Privileged],
                ..ChannelPolicy::default()
            },
            sms: ChannelPolicy::default(),
        };
        assert_eq!(policy.allows(AuthenticatorKind::EmailOtp, Tier::Standard, Timestamp(0)), Ok(()));
        assert_eq!(
            policy.allows(AuthenticatorKind::EmailOtp, Tier::Privileged, Timestamp(0)),
            Err(FallbackRefusal::ForbiddenForTier("Email", Tier::Privileged))
        );
    }

    #[test]
    fn resends_wait_thirty_seconds_and_at_most_five_an_hour() {
        let now = Timestamp(100 * MINUTE);
        assert_eq!(may_send(&[], now), Ok(()));
        assert_eq!(may_send(&[now.plus_seconds(-10)], now), Err(SendLimited { retry_after_secs: 20 }));
        assert_eq!(may_send(&[now.plus_seconds(-31)], now), Ok(()));
        let five: Vec<_> = (1..=5).map(|i| now.plus_seconds(-600 * i)).collect();
        // The oldest of the five (50 minutes ago) leaves the window in 10 minutes.
        assert_eq!(may_send(&five, now), Err(SendLimited { retry_after_secs: 600 }));
        let old: Vec<_> = (1..=5).map(|i| now.plus_seconds(-3_600 - i)).collect();
        assert_eq!(may_send(&old, now), Ok(()), "sends outside the window do not count");
    }

    #[test]
    fn codes_are_six_digits_and_normalise() {
        for _ in 0..200 {
            let code = generate_code();
            assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalize(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize("12345"), None);
        assert_eq!(normalize("12345a"), None);
    }

    #[test]
    fn code_hashes_depend_on_key_user_and_code() {
        let user = Uuid::nil();
        let h = hash_code(&[1; 32], user, "123456");
        assert_ne!(h, hash_code(&[2; 32], user, "123456"));
        assert_ne!(h, hash_code(&[1; 32], Uuid::max(), "123456"));
        assert_ne!(h, hash_code(&[1; 32], user, "123457"));
        assert!(!h.contains("123456"));
    }

    #[test]
    fn phone_numbers_must_be_international() {
        assert_eq!(check_phone("+44 7700 900-123").as_deref(), Ok("+447700900123"));
        assert!(check_phone("07700 900123").is_err());
        assert!(check_phone("+1 555").is_err());
        assert!(check_phone("+44 77OO 900123").is_err());
    }

    #[test]
    fn destinations_are_masked() {
        assert_eq!(mask_destination("ann@example.com"), "a•••@example.com");
        assert_eq!(mask_destination("+447700900123"), "•••• 0123");
    }

    #[test]
    fn one_person_gets_few_codes_whatever_the_method() {
        let now = Timestamp(10_000_000);
        let just_sent = SendCount { count: 1, last_at: Some(now) };
        let none = SendCount::default();
        assert!(may_send_to(just_sent, Some(now), none, now).is_err(), "a second text in the same second");
        assert!(may_send_to(just_sent, None, none, now).is_ok(), "an email right after a text");
        let later = now.plus_seconds(PERSON_RESEND_SECS);
        assert!(may_send_to(just_sent, Some(now), just_sent, later).is_ok());
        let many = SendCount { count: MAX_SENDS_PER_PERSON, last_at: Some(now) };
        assert!(may_send_to(many, None, none, later).is_err(), "ten an hour at most");
        let busy_source = SendCount { count: MAX_SENDS_PER_SOURCE, last_at: Some(now) };
        assert!(may_send_to(none, None, busy_source, later).is_err());
    }

    #[test]
    fn premium_ranges_are_refused_unless_allowed_and_an_allow_list_refuses_the_rest() {
        assert_eq!(check_sms_destination("+882161000001", &[]), Err(FallbackRefusal::NumberNotAllowed("+882".into())));
        assert!(check_sms_destination("+447700900123", &[]).is_ok());
        let uk_only = vec!["44".to_owned()];
        assert!(check_sms_destination("+447700900123", &uk_only).is_ok());
        assert!(check_sms_destination("+15555550123", &uk_only).is_err());
        assert!(check_sms_destination("+882161000001", &["882".to_owned()]).is_ok(), "named, so allowed");
        assert!(check_sms_destination("+882161000001", &["8".to_owned()]).is_err(), "a broad entry does not name it");
        assert!(check_sms_destination("+15555550123", &[String::new()]).is_ok(), "an empty entry allows nothing more");
        assert!(check_calling_code("44").is_ok() && check_calling_code("+1").is_ok());
        assert!(
            check_calling_code("").is_err() && check_calling_code("+").is_err() && check_calling_code("4a").is_err()
        );
    }
}
