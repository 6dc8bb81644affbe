//! Factors: the authenticators a person registers and the rules for proving each one —
//! HOTP/TOTP codes and their acceptance window, hardware-token files, recovery codes, and
//! one-time codes sent by email or SMS with the policy for where they are allowed, the
//! temporary access passes the help desk issues, and what a first method needs.

pub mod access_pass;
pub mod authenticator;
pub mod first_enrolment;
pub mod hardware_tokens;
pub mod one_time_codes;
pub mod otp;
pub mod recovery;
