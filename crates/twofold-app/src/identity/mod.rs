//! Identities: people and their import, groups, the whole-directory pass, API keys for
//! admin callers, and service accounts' health.

pub mod api_keys;
pub(crate) mod directory;
pub mod groups;
pub mod import;
pub mod users;

pub(crate) mod hasher;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use twofold_core::Timestamp;
use twofold_core::identity::api_key::ApiKey;

use self::hasher::Hasher;
use crate::Shared;

/// The identity capability: people, groups, import, the whole directory and API keys.
pub struct Identities {
    pub(crate) shared: Arc<Shared>,
    pub(crate) hasher: Arc<Hasher>,
    /// API key records read recently (id → record, when read); see `api_keys::API_KEY_CACHE_MS`.
    pub(crate) api_key_cache: Mutex<HashMap<String, (ApiKey, Timestamp)>>,
}

crate::reads_shared!(Identities);
