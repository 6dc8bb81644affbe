//! Identities: people and their import, groups, the whole-directory pass, API keys for
//! admin callers, and service accounts' health.

pub mod api_keys;
pub(crate) mod directory;
pub mod groups;
pub mod import;
pub mod service_accounts;
pub mod users;
