//! Factor ports: authenticators (with hardware tokens, WebAuthn ceremonies and recovery
//! codes), email/SMS one-time codes, and temporary access passes.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::Timestamp;
use crate::audit::AuditContext;
use crate::factors::access_pass::AccessPass;
use crate::factors::authenticator::Authenticator;
use crate::factors::one_time_codes::{CodePurpose, OneTimeCode, SendLimited};
use crate::signin::SignInEvent;

/// Authenticators, hardware tokens, WebAuthn ceremony state and recovery codes.
///
/// Atomicity: every "use once" rule is one compare-and-swap statement whose affected-row
/// count says whether this caller won — an OTP step is accepted only if later than the last
/// one, a recovery code is used once, a ceremony is taken once, a confirmation happens once —
/// so a replay on another node loses.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// Stores a new, unconfirmed authenticator (`authenticator.enrol_start`).
    async fn create_authenticator(&self, authenticator: &Authenticator, ctx: &AuditContext) -> StoreResult<()>;
    /// A user's authenticators, oldest first.
    async fn authenticators(&self, user_id: Uuid) -> StoreResult<Vec<Authenticator>>;
    /// One authenticator.
    async fn authenticator(&self, id: Uuid) -> StoreResult<Option<Authenticator>>;
    /// Marks an authenticator confirmed after its test authentication at `step`
    /// (`authenticator.add`). False when it was already confirmed.
    async fn confirm_authenticator(&self, id: Uuid, step: i64, ctx: &AuditContext) -> StoreResult<bool>;
    /// As [`FactorStore::confirm_authenticator`], only while `user_id` has no confirmed
    /// method (a first method, confirmed on a session that proved no second factor).
    /// Invariant: serialised per user across nodes, so of two racing first confirmations one
    /// wins.
    async fn confirm_first_authenticator(
        &self,
        id: Uuid,
        user_id: Uuid,
        step: i64,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Records an accepted TOTP step, only if it is later than the last one accepted:
    /// true means this caller won the step; false means it was used already (a replay,
    /// possibly on another node). Not audited: the sign-in that follows is.
    async fn use_otp_step(&self, id: Uuid, step: i64, drift_steps: i64, at: Timestamp) -> StoreResult<bool>;
    /// Records a code check for a gateway in one transaction: wins `candidate`'s step
    /// (authenticator, step, drift) if it is still unused, then records `success` or, when
    /// there was no candidate or the step was taken already, `failure`, each with its audit
    /// event (`signin.success` / `signin.failure`). Returns whether the step was won. One
    /// commit per verification, shared with others queued at the same moment.
    async fn record_verification(
        &self,
        candidate: Option<(Uuid, i64, i64)>,
        success: &SignInEvent,
        failure: &SignInEvent,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Renames an authenticator (`authenticator.rename`).
    async fn rename_authenticator(&self, id: Uuid, name: &str, ctx: &AuditContext) -> StoreResult<()>;
    /// Removes an authenticator (`authenticator.remove`); false when already gone.
    async fn remove_authenticator(&self, authenticator: &Authenticator, ctx: &AuditContext) -> StoreResult<bool>;
    /// Stores imported hardware tokens, all or none (`token.import`). Conflict on a known serial.
    async fn import_tokens(&self, tokens: &[Authenticator], ctx: &AuditContext) -> StoreResult<()>;
    /// Every hardware token, by serial.
    async fn tokens(&self) -> StoreResult<Vec<Authenticator>>;
    /// Assigns a free token to a user (`Some`) or frees an assigned one (`None`)
    /// (`token.assign` / `token.unassign`). Never moves a token between users in one step.
    async fn assign_token(&self, serial: &str, user_id: Option<Uuid>, ctx: &AuditContext)
    -> StoreResult<Authenticator>;
    /// Sets an OTP authenticator's position after a resynchronisation (`authenticator.resync`).
    async fn set_otp_position(
        &self,
        id: Uuid,
        last_used_step: i64,
        drift_steps: i64,
        ctx: &AuditContext,
    ) -> StoreResult<()>;
    /// Stores a passkey's credential after use (new sign counter, backup state) and the time.
    async fn update_credential(&self, id: Uuid, credential: &str, at: Timestamp) -> StoreResult<()>;
    /// Keeps WebAuthn ceremony state until `expires_at`, bound to a session when there is one
    /// (expired ceremonies are swept on the way).
    async fn put_ceremony(
        &self,
        id: &str,
        session_hash: Option<&str>,
        purpose: &str,
        state: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Takes (and deletes) an unexpired ceremony: each challenge is answered at most once.
    /// Returns the session it was bound to and its state.
    async fn take_ceremony(
        &self,
        id: &str,
        purpose: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(Option<String>, String)>>;
    /// Replaces a user's recovery codes with these hashes (`recovery_codes.generate`).
    async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String], ctx: &AuditContext) -> StoreResult<()>;
    /// Uses a recovery code once (`recovery_code.use`); false when unknown or used.
    async fn consume_recovery_code(&self, user_id: Uuid, hash: &str, ctx: &AuditContext) -> StoreResult<bool>;
    /// How many unused recovery codes a user has.
    async fn recovery_codes_left(&self, user_id: Uuid) -> StoreResult<i64>;
}

/// Email and SMS one-time codes (only their hashes) and the sends they cost.
///
/// Atomicity: a code is redeemed once and a miss counts against every live code of its
/// purpose, in one transaction; send claims for one person or one source are serialised
/// across nodes, so concurrent requests never all see the same count.
#[async_trait]
pub trait OneTimeCodeStore: Send + Sync {
    /// Records a sent email or SMS code (only its hash) with `one_time_code.send`, which
    /// names the destination masked.
    async fn create_one_time_code(&self, code: &OneTimeCode, destination: &str, ctx: &AuditContext) -> StoreResult<()>;
    /// When the codes of `purpose` sent through one method at or after `since` went out
    /// (for resend limits).
    async fn one_time_code_sends(
        &self,
        authenticator_id: Uuid,
        purpose: CodePurpose,
        since: Timestamp,
    ) -> StoreResult<Vec<Timestamp>>;
    /// Claims one email or SMS send (`kind`) to `user_id` requested from `source`, before it
    /// goes out: refused with the wait while the person's or the source's sends within the
    /// window, across every method and enrolment, reach
    /// [`crate::factors::one_time_codes::may_send_to`]'s limits. Invariant: claims for one
    /// person or one source are serialised across nodes.
    async fn claim_code_send(
        &self,
        user_id: Uuid,
        source: Option<&str>,
        kind: &str,
        now: Timestamp,
    ) -> StoreResult<Result<(), SendLimited>>;
    /// Uses the user's live (unexpired, unused, not over its guess limit) code of `purpose`
    /// whose hash is `code_hash`, once, and returns the method it was sent through. A miss
    /// counts as a wrong guess against each live code of that purpose.
    async fn redeem_one_time_code(
        &self,
        user_id: Uuid,
        purpose: CodePurpose,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Uuid>>;
}

/// Temporary access passes (only their keyed hashes).
///
/// Atomicity: issuing a pass revokes the person's others in the same transaction, serialised
/// per person across nodes, so at most one is ever usable; using a pass is a
/// compare-and-swap, so of two sign-ins racing with one single-use pass one wins.
#[async_trait]
pub trait AccessPassStore: Send + Sync {
    /// Stores a new pass for `username` and revokes their other passes still running (not
    /// revoked, not expired) in the same transaction (`access_pass.issue`, and one
    /// `access_pass.revoke` per pass revoked).
    async fn issue_access_pass(&self, pass: &AccessPass, username: &str, ctx: &AuditContext) -> StoreResult<()>;
    /// A person's passes, newest first.
    async fn access_passes(&self, user_id: Uuid) -> StoreResult<Vec<AccessPass>>;
    /// Uses pass `id` at `now` (`access_pass.use`) only while it is usable — not revoked, not
    /// expired, and for a single-use pass not used — recording the first use; false when it
    /// is not usable (nothing written).
    async fn use_access_pass(&self, id: Uuid, username: &str, now: Timestamp, ctx: &AuditContext) -> StoreResult<bool>;
    /// Revokes every pass of the person still running at `now` (not revoked, not expired), in
    /// one `access_pass.revoke` when any were; returns how many.
    async fn revoke_access_passes(
        &self,
        user_id: Uuid,
        username: &str,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<u64>;
}
