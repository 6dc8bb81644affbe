//! Factors: authenticators (with hardware tokens, WebAuthn ceremonies and recovery codes),
//! email/SMS one-time codes and temporary access passes, each file implementing one port of
//! `twofold_core::store` on [`crate::SqlStore`].

mod access_passes;
pub(crate) mod authenticators;
mod one_time_codes;
