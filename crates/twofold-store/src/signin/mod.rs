//! Sign-in: sessions and sign-in events, throttling's attempt claims, trusted devices, each
//! file implementing one port of `twofold_core::store` on [`crate::SqlStore`].

mod attempts;
mod devices;
pub(crate) mod sessions;
