//! Conditional-access policy versions ([`PolicyStore`]): every applied file kept with its
//! author and time (`versions.rs`).

use async_trait::async_trait;
use twofold_core::Timestamp;
use twofold_core::access::PolicyVersion;
use twofold_core::audit::{AuditAction, AuditContext};
use twofold_core::store::{PolicyStore, StoreResult};

use super::versions::{self, VersionTable};
use crate::SqlStore;

#[async_trait]
impl PolicyStore for SqlStore {
    async fn put_policy_version(
        &self,
        source: &str,
        note: Option<&str>,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<i64> {
        versions::put(self, VersionTable::Policies, AuditAction::PolicyApply, source, note, now, ctx).await
    }

    async fn policy_versions(&self) -> StoreResult<Vec<PolicyVersion>> {
        versions::list(self, VersionTable::Policies).await
    }
}
