//! Audit port: appending stand-alone events and reading the chained log.

use async_trait::async_trait;

use super::StoreResult;
use crate::Timestamp;
use crate::audit::{AuditContext, AuditEvent, ChainHead, Change};

/// The audit log. Events of changes are written by the other ports, inside their changes'
/// transactions; this port appends the events that accompany no stored change and reads the
/// chain.
///
/// Atomicity: an appended event is acknowledged only once committed; chaining is safe to run
/// on several nodes at once (the chain head's lock makes them take turns), and every read
/// chains what is pending first, so readers see every committed event in chain order.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Records an event that accompanies no other stored change (e.g. `oidc.token`).
    async fn append_audit(&self, change: &Change, ctx: &AuditContext) -> StoreResult<()>;
    /// Links committed pending events into the hash chain; returns how many.
    async fn chain_audit(&self) -> StoreResult<u64>;
    /// Events with `seq > after_seq` and time ≥ `since`, in chain order, at most `limit`.
    async fn audit_events(&self, after_seq: i64, since: Timestamp, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// The recorded chain head.
    async fn audit_head(&self) -> StoreResult<ChainHead>;
    /// Events matching `filter`, newest first, at most `filter.limit`.
    async fn search_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>>;
}

/// Which audit events a search returns: every given field must match exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor's name (`alice`, `cli:root`, `client:forecast`).
    pub actor: Option<String>,
    /// The action (`approval.approve`).
    pub action: Option<String>,
    /// The target's id (a user's UUID, a client id, ...).
    pub target: Option<String>,
    /// Events at or after this time.
    pub since: Option<Timestamp>,
    /// Events before this time.
    pub until: Option<Timestamp>,
    /// Only events older than this sequence number (the next page).
    pub before_seq: Option<i64>,
    /// At most this many (1 to 1000).
    pub limit: i64,
}
