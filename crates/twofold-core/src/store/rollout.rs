//! Rollout port: campaigns, their daily snapshots, exceptions, compliance states, reminders.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::Timestamp;
use crate::audit::AuditContext;
use crate::rollout::exception::{Decision, Exception};
use crate::rollout::progress::Snapshot;
use crate::rollout::{CampaignStatus, StoredCampaign, StoredState, Transition};

/// Campaign files and status, adoption snapshots, exceptions and their decisions, each
/// identity's compliance state per campaign, and the reminders sent.
///
/// Atomicity: the scheduler may run on every node at once, so each of its writes is a
/// compare-and-swap that one node wins — an exception's decision moves from the state the
/// caller saw, a compliance transition is recorded only where the stored state is still its
/// `from`, an attestation is asked once per period, a reminder is claimed once.
#[async_trait]
pub trait RolloutStore: Send + Sync {
    /// Stores a campaign's file under its name, new (`draft`) or replacing the file of the
    /// campaign of that name (its status kept); audited `campaign.apply`.
    async fn put_campaign(&self, name: &str, source: &str, now: Timestamp, ctx: &AuditContext) -> StoreResult<()>;
    /// Starts or pauses a campaign (`campaign.start`, `campaign.pause`); false when unknown.
    async fn set_campaign_status(
        &self,
        name: &str,
        status: CampaignStatus,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Every campaign, by name.
    async fn campaigns(&self) -> StoreResult<Vec<StoredCampaign>>;
    /// Keeps the day's snapshot of a campaign's adoption (one per UTC day; a later one that
    /// day replaces it). Not audited: it is a measurement, not a change.
    async fn put_campaign_snapshot(&self, name: &str, snapshot: &Snapshot) -> StoreResult<()>;
    /// A campaign's daily snapshots, oldest first.
    async fn campaign_snapshots(&self, name: &str) -> StoreResult<Vec<Snapshot>>;
    /// Stores a requested exception (`exception.request`).
    async fn create_exception(&self, exception: &Exception, ctx: &AuditContext) -> StoreResult<()>;
    /// Moves an exception from `from` to `to`, once: false when it is not (or no longer) in
    /// `from` — two approvers deciding at once, one wins. Approving records `ctx`'s actor as
    /// `approved_by`; rejecting, revoking and expiring record it as `ended_by` with
    /// `end_reason` (`reason`, or the decision's name) and keep the approver. Audited
    /// `exception.approve`, `exception.reject`, `exception.revoke` or `exception.expire`.
    async fn decide_exception(
        &self,
        id: Uuid,
        from: Decision,
        to: Decision,
        reason: Option<&str>,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Asks for a running exception's quarterly confirmation at `ctx.at`, once: false when
    /// the question was already asked since `asked_before` (another node asked it).
    /// Audited `exception.attestation_request`.
    async fn ask_attestation(&self, id: Uuid, asked_before: Option<Timestamp>, ctx: &AuditContext)
    -> StoreResult<bool>;
    /// Records the manager's confirmation of an approved exception whose confirmation is
    /// being asked (`exception.attest`); false when none is.
    async fn attest_exception(&self, id: Uuid, ctx: &AuditContext) -> StoreResult<bool>;
    /// Every exception, newest first.
    async fn exceptions(&self) -> StoreResult<Vec<Exception>>;
    /// One identity's exceptions, newest first.
    async fn user_exceptions(&self, user_id: Uuid) -> StoreResult<Vec<Exception>>;
    /// Records compliance transitions: each identity's new state (with the time it entered it)
    /// where its stored state is still `from` (compare-and-swap: of two nodes running the job,
    /// one records each transition), audited `compliance.transition`. Returns the transitions
    /// recorded.
    async fn record_transitions(
        &self,
        campaign: &str,
        transitions: &[Transition],
        ctx: &AuditContext,
    ) -> StoreResult<Vec<Transition>>;
    /// Stored compliance states: of a campaign (all identities) or of one identity (all campaigns).
    async fn compliance_states(&self, campaign: Option<&str>, user_id: Option<Uuid>) -> StoreResult<Vec<StoredState>>;
    /// Claims a reminder for sending: true once per campaign, identity and key.
    async fn claim_reminder(&self, campaign: &str, user_id: Uuid, key: &str, now: Timestamp) -> StoreResult<bool>;
}
