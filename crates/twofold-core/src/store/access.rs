//! Conditional-access port: the applied policy versions.

use async_trait::async_trait;

use super::StoreResult;
use crate::Timestamp;
use crate::access::PolicyVersion;
use crate::audit::AuditContext;

/// Every applied policy file, kept with its author, time and note.
///
/// Atomicity: version numbers are handed out under the chain head's lock, so two nodes
/// applying at once take turns and never pick the same number.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Stores a new policy version (the next number) with its author and note, audited as
    /// `policy.apply`; returns its number.
    async fn put_policy_version(
        &self,
        source: &str,
        note: Option<&str>,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<i64>;
    /// Every policy version, newest first.
    async fn policy_versions(&self) -> StoreResult<Vec<PolicyVersion>>;
}
