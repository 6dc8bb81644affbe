//! Help-desk port: support cases, each stored whole with its timeline.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::Timestamp;
use crate::audit::{AuditContext, Change};
use crate::cases::{Case, CaseKind, CaseState};

/// Which cases a list asks for, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only cases in this state.
    pub state: Option<CaseState>,
    /// Only cases about this person.
    pub target_id: Option<Uuid>,
    /// Only cases of this kind.
    pub kind: Option<CaseKind>,
    /// Only cases opened at or after this moment.
    pub opened_since: Option<Timestamp>,
    /// At most this many (clamped to 1..=10 000).
    pub limit: i64,
    /// Skipping this many.
    pub offset: i64,
}

/// Support cases. A case is one row holding the whole [`Case`] (its timeline included) beside
/// the columns lists and metrics filter on.
///
/// Atomicity: every change is a compare-and-swap on [`Case::version`]: of two operators
/// writing over the same version on any nodes, one wins and the other changes nothing.
#[async_trait]
pub trait CaseStore: Send + Sync {
    /// Stores a newly opened case (`case.open`). Conflict when its id exists.
    async fn create_case(&self, case: &Case, ctx: &AuditContext) -> StoreResult<()>;
    /// One case.
    async fn case(&self, id: Uuid) -> StoreResult<Option<Case>>;
    /// The cases the filter names, newest first, and how many match in all.
    async fn cases(&self, filter: &CaseFilter) -> StoreResult<(Vec<Case>, i64)>;
    /// Writes `case` (whose version is one more than the one it was read at) only where the
    /// stored version is still `case.version - 1`, with `change`'s audit event; false when
    /// someone else changed the case first (nothing written).
    async fn update_case(&self, case: &Case, change: &Change, ctx: &AuditContext) -> StoreResult<bool>;
}
