//! Emergency port: emergency accesses and the review tasks that follow them and break-glass
//! sign-ins.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::Timestamp;
use crate::audit::{AuditContext, Change};
use crate::emergency::EmergencyAccess;
use crate::emergency::review::Review;

/// Emergency accesses (each stored whole) and review tasks.
///
/// Atomicity: an emergency access changes by compare-and-swap on
/// [`EmergencyAccess::version`], so of two approvers, or two nodes ending it, one wins; a
/// review is opened once per subject (a unique `(kind, subject_id)`), so every node may try;
/// a review is completed once.
#[async_trait]
pub trait EmergencyStore: Send + Sync {
    /// Stores a requested emergency access (`emergency.request`).
    async fn create_emergency_access(&self, access: &EmergencyAccess, ctx: &AuditContext) -> StoreResult<()>;
    /// One emergency access.
    async fn emergency_access(&self, id: Uuid) -> StoreResult<Option<EmergencyAccess>>;
    /// Emergency accesses, newest first; only `user_id`'s when given.
    async fn emergency_accesses(&self, user_id: Option<Uuid>) -> StoreResult<Vec<EmergencyAccess>>;
    /// Writes `access` (whose version is one more than the one it was read at) only where
    /// the stored version is still `access.version - 1`, with `change`'s audit event; false
    /// when someone else changed it first (nothing written).
    async fn update_emergency_access(
        &self,
        access: &EmergencyAccess,
        change: &Change,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Opens `review` (`review.open`) unless one of its kind about its subject exists already:
    /// false then (nothing written).
    async fn open_review(&self, review: &Review, ctx: &AuditContext) -> StoreResult<bool>;
    /// Reviews, oldest first; only the open ones when `open_only`.
    async fn reviews(&self, open_only: bool) -> StoreResult<Vec<Review>>;
    /// One review.
    async fn review(&self, id: Uuid) -> StoreResult<Option<Review>>;
    /// Completes an open review once (`review.complete`, with `findings` and whether it was
    /// a break-glass control test); false when it was completed already.
    async fn complete_review(
        &self,
        id: Uuid,
        by: &str,
        findings: &str,
        control_test: bool,
        at: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
}
