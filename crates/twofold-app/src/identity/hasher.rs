//! Password hashing off the async threads: at most one argon2id hash per core, each in
//! pooled working memory so the server never allocates a fresh 19 MiB per hash.

use tokio::sync::Semaphore;
use twofold_core::identity::password::{HashMemory, HashParams};

use crate::{AppError, AppResult};

/// Hashes and checks passwords for sign-in and for setting them.
pub(crate) struct Hasher {
    /// Bounds concurrent argon2id hashes (each holds ~19 MiB and a core).
    permits: Semaphore,
    /// Working memory, one block per permit, reused.
    memory: std::sync::Mutex<Vec<HashMemory>>,
    /// The argon2id cost for new hashes.
    pub(crate) params: HashParams,
}

impl Hasher {
    /// A hasher with one permit per core, hashing new passwords at `params`.
    pub(crate) fn new(params: HashParams) -> Self {
        let permits = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self { permits: Semaphore::new(permits), memory: std::sync::Mutex::default(), params }
    }

    async fn with_memory<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::Internal(e.to_string()))?;
        let mut memory = self.memory.lock().map(|mut pool| pool.pop()).ok().flatten().unwrap_or_default();
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let result = work(&mut memory);
            (result, memory)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        if let Ok(mut pool) = self.memory.lock() {
            pool.push(memory);
        }
        Ok(result)
    }

    /// Checks a password against a PHC hash.
    pub(crate) async fn verify_password(&self, password: String, phc: String) -> AppResult<bool> {
        self.with_memory(move |memory| twofold_core::identity::password::verify_password_in(&password, &phc, memory))
            .await
    }

    /// Hashes a password with the configured parameters.
    pub(crate) async fn hash_password(&self, password: String) -> AppResult<String> {
        let params = self.params;
        self.with_memory(move |memory| twofold_core::identity::password::hash_password_in(&password, params, memory))
            .await?
            .map_err(|e| AppError::Internal(e.to_string()))
    }
}
