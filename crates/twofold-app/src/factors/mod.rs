//! Factors: what a person has registered and proving it (`mfa`), adding and changing
//! methods (`enrolment`), passkeys and attestation, hardware tokens, and one-time codes
//! sent by email or SMS.

pub(crate) mod enrolment;
pub mod hardware_tokens;
pub mod mfa;
pub mod one_time_codes;
pub mod passkeys;
