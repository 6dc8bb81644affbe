//! Factors: the authenticators a person registers and the rules for proving each one —
//! HOTP/TOTP codes and their acceptance window, hardware-token files, recovery codes, and
//! one-time codes sent by email or SMS with the policy for where they are allowed.

pub mod authenticator;
pub mod hardware_tokens;
pub mod one_time_codes;
pub mod otp;
pub mod recovery;
