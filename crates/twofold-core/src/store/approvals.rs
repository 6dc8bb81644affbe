//! Approvals port: approval rules versions, approval requests, and the outbox that delivers
//! their results.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::Timestamp;
use crate::access::PolicyVersion;
use crate::approvals::{ApprovalRequest, ApprovalState};
use crate::audit::{AuditContext, Change};
use crate::outbox::OutboxMessage;

/// Approval rules versions and approval requests (each stored whole).
///
/// Atomicity: rules version numbers are handed out under the chain head's lock, like policy
/// versions; a request changes by compare-and-swap on [`ApprovalRequest::version`], so of two
/// approvers voting at once on any nodes one wins and the other reads again; the delivery of
/// a decided request's result is written to the outbox in the same transaction as the
/// decision, so a crash between the two cannot lose it.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Stores a new approval rules version (the next number), audited as
    /// `approval_rules.apply`; returns its number.
    async fn put_approval_rules(
        &self,
        source: &str,
        note: Option<&str>,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<i64>;
    /// Every approval rules version, newest first.
    async fn approval_rules_versions(&self) -> StoreResult<Vec<PolicyVersion>>;
    /// The callback URLs registered for `client_id`'s approval results.
    async fn approval_callbacks(&self, client_id: &str) -> StoreResult<Vec<String>>;
    /// Replaces them (audited `client.update` with `approval_callback_uris`); false for an
    /// unknown client.
    async fn set_approval_callbacks(&self, client_id: &str, urls: &[String], ctx: &AuditContext) -> StoreResult<bool>;
    /// Stores a raised request (`approval.request`).
    async fn create_approval(&self, request: &ApprovalRequest, ctx: &AuditContext) -> StoreResult<()>;
    /// One request.
    async fn approval(&self, id: Uuid) -> StoreResult<Option<ApprovalRequest>>;
    /// Pending requests whose time ran out by `now` (for the expiry job).
    async fn expired_approvals(&self, now: Timestamp) -> StoreResult<Vec<ApprovalRequest>>;
    /// Requests, newest first: only those in `state`, and only `client_id`'s, when given.
    async fn approvals(
        &self,
        state: Option<ApprovalState>,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<ApprovalRequest>>;
    /// Writes `request` (whose version is one more than the one it was read at) only where
    /// the stored version is still `request.version - 1`, with `change`'s audit event and,
    /// when given, `delivery` into the outbox; false when someone else changed it first
    /// (nothing written).
    async fn update_approval(
        &self,
        request: &ApprovalRequest,
        change: &Change,
        delivery: Option<&OutboxMessage>,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
}

/// The outbox: what must be delivered, retried until acknowledged.
///
/// Atomicity: a message is claimed for a lease by compare-and-swap, so one node delivers it
/// at a time; an unacknowledged claim runs out and the message is tried again, so a crash
/// while delivering loses nothing (a receiver may see a message twice, never zero times).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims the oldest undelivered message due by `now` until `now + lease_ms` under
    /// `claim` (a token of the caller's), if one is free: claimed by this caller only.
    async fn claim_outbox(&self, now: Timestamp, lease_ms: i64, claim: &str) -> StoreResult<Option<OutboxMessage>>;
    /// Records a delivery made under `claim` (not audited: the caller records what it
    /// means); false when the claim was lost meanwhile (nothing written).
    async fn outbox_delivered(&self, id: Uuid, claim: &str, at: Timestamp) -> StoreResult<bool>;
    /// Records a failed attempt made under `claim` and when to try again; false when the
    /// claim was lost meanwhile (nothing written).
    async fn outbox_failed(
        &self,
        id: Uuid,
        claim: &str,
        attempts: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StoreResult<bool>;
    /// Messages about `subject_id`, oldest first (what was sent, how often, whether it arrived).
    async fn outbox_for(&self, subject_id: &str) -> StoreResult<Vec<OutboxMessage>>;
}
