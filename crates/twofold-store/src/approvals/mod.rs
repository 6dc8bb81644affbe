//! Maker–checker approvals ([`twofold_core::store::ApprovalStore`] and
//! [`twofold_core::store::OutboxStore`] on [`crate::SqlStore`]): rules versions (kept like
//! policy versions, `crate::access::versions`), requests each one row changed by
//! compare-and-swap (`requests.rs`), the callback URLs registered per app (`callbacks.rs`), and the outbox that delivers their results
//! (`outbox.rs`).

mod callbacks;
mod outbox;
mod requests;

use async_trait::async_trait;
use twofold_core::Timestamp;
use twofold_core::access::PolicyVersion;
use twofold_core::approvals::{ApprovalRequest, ApprovalState};
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::outbox::OutboxMessage;
use twofold_core::store::{ApprovalStore, OutboxStore, StoreResult};
use uuid::Uuid;

use crate::SqlStore;
use crate::access::versions::{self, VersionTable};

#[async_trait]
impl ApprovalStore for SqlStore {
    async fn put_approval_rules(
        &self,
        source: &str,
        note: Option<&str>,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<i64> {
        versions::put(self, VersionTable::ApprovalRules, AuditAction::ApprovalRulesApply, source, note, now, ctx).await
    }

    async fn approval_rules_versions(&self) -> StoreResult<Vec<PolicyVersion>> {
        versions::list(self, VersionTable::ApprovalRules).await
    }

    async fn approval_callbacks(&self, client_id: &str) -> StoreResult<Vec<String>> {
        callbacks::list(self, client_id).await
    }

    async fn set_approval_callbacks(&self, client_id: &str, urls: &[String], ctx: &AuditContext) -> StoreResult<bool> {
        callbacks::set(self, client_id, urls, ctx).await
    }

    async fn create_approval(&self, request: &ApprovalRequest, ctx: &AuditContext) -> StoreResult<()> {
        requests::create(self, request, ctx).await
    }

    async fn approval(&self, id: Uuid) -> StoreResult<Option<ApprovalRequest>> {
        requests::one(self, id).await
    }

    async fn expired_approvals(&self, now: Timestamp) -> StoreResult<Vec<ApprovalRequest>> {
        requests::expired(self, now).await
    }

    async fn approvals(
        &self,
        state: Option<ApprovalState>,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<ApprovalRequest>> {
        requests::list(self, state, client_id).await
    }

    async fn update_approval(
        &self,
        request: &ApprovalRequest,
        change: &Change,
        delivery: Option<&OutboxMessage>,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        requests::update(self, request, change, delivery, ctx).await
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn claim_outbox(&self, now: Timestamp, lease_ms: i64, claim: &str) -> StoreResult<Option<OutboxMessage>> {
        outbox::claim(self, now, lease_ms, claim).await
    }

    async fn outbox_delivered(&self, id: Uuid, claim: &str, at: Timestamp) -> StoreResult<bool> {
        outbox::delivered(self, id, claim, at).await
    }

    async fn outbox_failed(
        &self,
        id: Uuid,
        claim: &str,
        attempts: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> StoreResult<bool> {
        outbox::failed(self, id, claim, attempts, next_attempt_at, error).await
    }

    async fn outbox_for(&self, subject_id: &str) -> StoreResult<Vec<OutboxMessage>> {
        outbox::about(self, subject_id).await
    }
}
