//! Identity: users and their passwords, groups, admin API keys, and the reads over the
//! whole directory. Each file implements one port of `twofold_core::store` on
//! [`crate::SqlStore`].

mod api_keys;
mod directory;
mod groups;
mod users;
