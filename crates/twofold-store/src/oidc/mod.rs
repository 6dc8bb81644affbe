//! OpenID Connect: clients (with their secrets, consents and assertions) and what tokens are
//! signed with and stand for, each file implementing one port of `twofold_core::store` on
//! [`crate::SqlStore`].

mod clients;
mod tokens;
