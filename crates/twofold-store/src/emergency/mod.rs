//! Emergency access and reviews ([`twofold_core::store::EmergencyStore`] on
//! [`crate::SqlStore`]): emergency accesses, each one row holding the whole access as JSON
//! beside the columns lists filter on and changed by compare-and-swap on its version
//! (`accesses.rs`); review tasks, one per `(kind, subject_id)` and completed once
//! (`reviews.rs`).

mod accesses;
mod reviews;

use async_trait::async_trait;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, Change};
use twofold_core::emergency::EmergencyAccess;
use twofold_core::emergency::review::Review;
use twofold_core::store::{EmergencyStore, StoreResult};
use uuid::Uuid;

use crate::SqlStore;

#[async_trait]
impl EmergencyStore for SqlStore {
    async fn create_emergency_access(&self, access: &EmergencyAccess, ctx: &AuditContext) -> StoreResult<()> {
        accesses::create(self, access, ctx).await
    }

    async fn emergency_access(&self, id: Uuid) -> StoreResult<Option<EmergencyAccess>> {
        accesses::one(self, id).await
    }

    async fn emergency_accesses(&self, user_id: Option<Uuid>) -> StoreResult<Vec<EmergencyAccess>> {
        accesses::list(self, user_id).await
    }

    async fn update_emergency_access(
        &self,
        access: &EmergencyAccess,
        change: &Change,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        accesses::update(self, access, change, ctx).await
    }

    async fn open_review(&self, review: &Review, ctx: &AuditContext) -> StoreResult<bool> {
        reviews::open(self, review, ctx).await
    }

    async fn reviews(&self, open_only: bool) -> StoreResult<Vec<Review>> {
        reviews::list(self, open_only).await
    }

    async fn review(&self, id: Uuid) -> StoreResult<Option<Review>> {
        reviews::one(self, id).await
    }

    async fn complete_review(
        &self,
        id: Uuid,
        by: &str,
        findings: &str,
        control_test: bool,
        at: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        reviews::complete(self, id, by, findings, control_test, at, ctx).await
    }
}
