//! Factors: authenticators (with hardware tokens, WebAuthn ceremonies and recovery codes)
//! and email/SMS one-time codes, each file implementing one port of `twofold_core::store`
//! on [`crate::SqlStore`].

pub(crate) mod authenticators;
mod one_time_codes;
