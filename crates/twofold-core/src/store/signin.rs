//! Sign-in ports: sessions and sign-in events, attempt claims (throttling), trusted devices.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::Timestamp;
use crate::audit::AuditContext;
use crate::signin::SignInEvent;
use crate::signin::device_trust::TrustedDevice;
use crate::signin::session::Session;
use crate::signin::throttle::{Claim, Failures, Limits};

/// A person's earlier successful sign-ins, as far as risk and device state need them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInHistory {
    /// The device (cookie) has signed this person in before.
    pub device_seen: bool,
    /// The country asked about is known, and none of their located sign-ins came from it.
    pub new_country: bool,
    /// Their latest successful sign-in: when, and from which address.
    pub last_success: Option<(Timestamp, Option<String>)>,
}

/// Sessions, the sign-in events that start them, and what earlier sign-ins say.
///
/// Atomicity: a session starts with its sign-in event and `signin.success` in one
/// transaction; replacing a session (second step, renewal) ends the old one by
/// compare-and-swap, so a pending sign-in completes once. A sign-in event whose id is an
/// attempt claim's ends that claim in the same transaction (see [`AttemptStore`]).
#[async_trait]
pub trait SignInStore: Send + Sync {
    /// Records a successful sign-in: the session, the sign-in event and `signin.success`, atomically.
    async fn start_session(&self, session: &Session, event: &SignInEvent, ctx: &AuditContext) -> StoreResult<()>;
    /// Records a password check that passed while a second factor is still due: the pending
    /// session and `signin.first_factor` (no sign-in event yet: the attempt goes on).
    async fn start_pending_session(&self, session: &Session, ctx: &AuditContext) -> StoreResult<()>;
    /// After a second factor: ends the session that asked (pending sign-in, or a full session
    /// stepping up) and starts `session` under a new id, with the sign-in event and
    /// `signin.success`, atomically. False when that session was already ended.
    async fn complete_session(
        &self,
        pending_id_hash: &str,
        session: &Session,
        event: &SignInEvent,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Replaces the active session `old_id_hash` by `session` (a new id) when it proved more
    /// without signing in again (the test authentication of a person's first method), ends
    /// the person's other sessions (opened on the password alone), with its audit event
    /// (`session.renew`, naming `reason`); false when the old one had ended.
    async fn renew_session(
        &self,
        old_id_hash: &str,
        session: &Session,
        reason: &str,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Records an attempt that starts no session (a failure, or a code checked for a
    /// gateway): the sign-in event and `signin.failure` or `signin.success`.
    async fn record_sign_in_attempt(&self, event: &SignInEvent, ctx: &AuditContext) -> StoreResult<()>;
    /// The session with this token hash, whatever its state.
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    /// Moves the session's last-seen time forward (not audited: it changes no permission).
    async fn touch_session(&self, id_hash: &str, now: Timestamp) -> StoreResult<()>;
    /// Revokes one session (`session.revoke`); false when it was not active.
    async fn revoke_session(&self, id_hash: &str, ctx: &AuditContext) -> StoreResult<bool>;
    /// Revokes every active session of a user (`session.revoke_all`); returns how many.
    async fn revoke_user_sessions(&self, user_id: Uuid, ctx: &AuditContext) -> StoreResult<u64>;
    /// The user's sessions that are not revoked, newest first.
    async fn user_sessions(&self, user_id: Uuid) -> StoreResult<Vec<Session>>;
    /// Sign-in events at or after `since`, oldest first, at most `limit` (≤ 100,000), after
    /// the event `after` when given: call again with the last id to read the next page.
    async fn sign_in_events_page(
        &self,
        since: Timestamp,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<SignInEvent>>;
    /// What earlier successful sign-ins say of a new one: whether the device signed the
    /// person in before; with `country`, whether it is one never seen for them (while others
    /// were); with `last_success`, their latest one. Each an indexed look-up, never a scan of
    /// the person's history.
    async fn sign_in_history(
        &self,
        user_id: Uuid,
        device_id: Option<&str>,
        country: Option<&str>,
        last_success: bool,
    ) -> StoreResult<SignInHistory>;
    /// The addresses of the person's latest `limit` successful sign-ins (newest first), to
    /// tell whether a network was ever seen for them.
    async fn sign_in_addresses(&self, user_id: Uuid, limit: i64) -> StoreResult<Vec<String>>;
}

/// The failure counts throttling reads, and the claims that hold an attempt's place while it
/// is checked.
///
/// Atomicity: claims for one username or one source are serialised across every node, so
/// concurrent attempts never all see the same count. Claims are not audited: the sign-in
/// event that ends one is.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Recent failed sign-ins (throttled attempts excluded) for a username (since its last
    /// success) and for a source address, at or after `since`.
    async fn sign_in_failures(
        &self,
        username: &str,
        ip: Option<&str>,
        since: Timestamp,
    ) -> StoreResult<(Failures, Failures)>;
    /// Claims the right to check one attempt for `username` from `source` (an address or a
    /// calling client): refused when the failures recorded in the window plus the attempts
    /// in flight demand a wait under `limits`, else granted and counted as a failure until
    /// the sign-in event with the claim's id is recorded (which ends the claim in its own
    /// transaction), [`AttemptStore::release_attempt`] ends it, or
    /// [`crate::signin::throttle::CLAIM_TTL_SECS`] pass.
    async fn claim_attempt(
        &self,
        username: &str,
        source: Option<&str>,
        limits: Limits,
        now: Timestamp,
    ) -> StoreResult<Claim>;
    /// Ends a claim whose attempt records no sign-in event.
    async fn release_attempt(&self, claim: Uuid) -> StoreResult<()>;
}

/// Trusted devices: a person's trust in a browser until a date.
///
/// Atomicity: trusting replaces any earlier trust of the pair in one transaction; forgetting
/// happens once (false when there was no trust).
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Trusts a device for a user until a date (`device.trust`), replacing any earlier trust.
    async fn trust_device(&self, device: &TrustedDevice, ctx: &AuditContext) -> StoreResult<()>;
    /// A user's trust record for a device, whatever its state.
    async fn trusted_device(&self, device_id: &str, user_id: Uuid) -> StoreResult<Option<TrustedDevice>>;
    /// A user's devices whose trust was not withdrawn, newest first.
    async fn trusted_devices(&self, user_id: Uuid) -> StoreResult<Vec<TrustedDevice>>;
    /// Withdraws trust (`device.forget`); false when there was none.
    async fn forget_device(&self, device_id: &str, user_id: Uuid, ctx: &AuditContext) -> StoreResult<bool>;
}
