//! The storage port. One trait, implemented by `twofold-store` for SQLite and PostgreSQL.
//!
//! Every method that changes state takes an [`AuditContext`] and records its audit event
//! in the same transaction as the change: either both are committed or neither is. Events
//! are linked into the hash chain in commit order by [`Store::chain_audit`], which takes
//! the chain head's lock, so the chain never forks while writers never wait for it; every
//! read of the log chains what is pending first.

use async_trait::async_trait;
use uuid::Uuid;

use crate::Timestamp;
use crate::audit::{AuditContext, AuditEvent, ChainHead, Change};
use crate::factors::authenticator::Authenticator;
use crate::identity::api_key::ApiKey;
use crate::identity::{Group, Tier, User, UserPatch, UserStatus};
use crate::signin::SignInEvent;
use crate::signin::session::Session;
use crate::validation::ValidationErrors;

/// Storage failures, in the terms callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken (e.g. the username is taken).
    #[error("{0}")]
    Conflict(String),
    /// A rule of the core refused the change (checked inside the transaction).
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The database could not be reached or did not answer.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else from the database; the text is for logs, never for clients.
    #[error("database error: {0}")]
    Other(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Filters for listing users; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only this status.
    pub status: Option<UserStatus>,
    /// Only this tier.
    pub tier: Option<Tier>,
    /// Only members of this group (by name).
    pub group: Option<String>,
    /// Only this department.
    pub department: Option<String>,
    /// At most this many (default 1000).
    pub limit: Option<i64>,
    /// Skip this many, for paging.
    pub offset: Option<i64>,
}

/// A group with its size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupSummary {
    /// The group.
    #[serde(flatten)]
    pub group: Group,
    /// How many members it has.
    pub member_count: i64,
}

/// A user to create, with their password hash if they have one.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// The validated user.
    pub user: User,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
    /// Groups to add the user to (must exist).
    pub groups: Vec<String>,
}

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

/// The storage port.
#[async_trait]
pub trait Store: Send + Sync {
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;

    /// Creates users, all or none, with one `user.create` event each.
    /// Conflict when a username is taken; NotFound when a named group does not exist.
    async fn create_users(&self, users: &[UserRecord], ctx: &AuditContext) -> StoreResult<()>;
    /// The user with this id.
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The user with this (normalised) username.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// Users matching `filter`, ordered by username.
    async fn list_users(&self, filter: &UserFilter) -> StoreResult<Vec<User>>;
    /// Applies `patch` to the current state inside the transaction (so `before` is exact).
    /// When the status leaves `active`, every session of the user is revoked in the same
    /// transaction. Emits `user.update`.
    async fn update_user(&self, id: Uuid, patch: &UserPatch, ctx: &AuditContext) -> StoreResult<User>;
    /// The user with this username and their password hash, in one read (the sign-in path).
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, Option<String>)>>;
    /// Replaces the password hash; `action` is `user.password.set` or `user.password.rehash`.
    /// The hash itself never enters the audit log.
    async fn set_password_hash(&self, user_id: Uuid, hash: &str, action: &str, ctx: &AuditContext) -> StoreResult<()>;

    /// Creates a group. Conflict when the name is taken.
    async fn create_group(&self, group: &Group, ctx: &AuditContext) -> StoreResult<()>;
    /// All groups with member counts, by name.
    async fn list_groups(&self) -> StoreResult<Vec<GroupSummary>>;
    /// The group with this name.
    async fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>>;
    /// Adds a member; false (and no event) when already a member.
    async fn add_group_member(&self, group: &Group, user: &User, ctx: &AuditContext) -> StoreResult<bool>;
    /// Removes a member; false (and no event) when not a member.
    async fn remove_group_member(&self, group: &Group, user: &User, ctx: &AuditContext) -> StoreResult<bool>;
    /// Members of a group, by username.
    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<User>>;
    /// Names of the groups a user belongs to.
    async fn user_groups(&self, user_id: Uuid) -> StoreResult<Vec<String>>;
    /// Every membership as (user id, group name), for whole-directory passes (simulation,
    /// reports) that would otherwise ask once per person.
    async fn all_memberships(&self) -> StoreResult<Vec<(Uuid, String)>>;
    /// Each person's latest successful sign-in that proved more than a password, by user id.
    async fn last_mfa_sign_ins(&self) -> StoreResult<Vec<(Uuid, Timestamp)>>;
    /// Enrolments per kind of method: (kind, started, finished with the test authentication),
    /// hardware tokens (imported, never enrolled) left out.
    async fn enrolment_counts(&self) -> StoreResult<Vec<(crate::factors::authenticator::AuthenticatorKind, i64, i64)>>;
    /// Every confirmed authenticator assigned to someone, as (user id, kind, attested).
    async fn all_confirmed_methods(
        &self,
    ) -> StoreResult<Vec<(Uuid, crate::factors::authenticator::AuthenticatorKind, bool)>>;

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
    /// Recent failed sign-ins (throttled attempts excluded) for a username (since its last
    /// success) and for a source address, at or after `since`.
    async fn sign_in_failures(
        &self,
        username: &str,
        ip: Option<&str>,
        since: Timestamp,
    ) -> StoreResult<(crate::signin::throttle::Failures, crate::signin::throttle::Failures)>;
    /// Claims the right to check one attempt for `username` from `source` (an address or a
    /// calling client): refused when the failures recorded in the window plus the attempts
    /// in flight demand a wait under `limits`, else granted and counted as a failure until
    /// the sign-in event with the claim's id is recorded (which ends the claim in its own
    /// transaction), [`Store::release_attempt`] ends it, or [`crate::signin::throttle::CLAIM_TTL_SECS`]
    /// pass. Invariant: claims for one username or one source are serialised across every
    /// node, so concurrent attempts never all see the same count.
    async fn claim_attempt(
        &self,
        username: &str,
        source: Option<&str>,
        limits: crate::signin::throttle::Limits,
        now: Timestamp,
    ) -> StoreResult<crate::signin::throttle::Claim>;
    /// Ends a claim whose attempt records no sign-in event.
    async fn release_attempt(&self, claim: Uuid) -> StoreResult<()>;
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

    /// Stores a new API key (`api_key.create`).
    async fn create_api_key(&self, key: &ApiKey, ctx: &AuditContext) -> StoreResult<()>;
    /// The API key with this id.
    async fn api_key(&self, id: &str) -> StoreResult<Option<ApiKey>>;
    /// All API keys, newest first.
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a key (`api_key.revoke`); false when already revoked.
    async fn revoke_api_key(&self, id: &str, ctx: &AuditContext) -> StoreResult<bool>;
    /// Records use of a key (not audited).
    async fn touch_api_key(&self, id: &str, now: Timestamp) -> StoreResult<()>;

    /// Stores a new, unconfirmed authenticator (`authenticator.enrol_start`).
    async fn create_authenticator(&self, authenticator: &Authenticator, ctx: &AuditContext) -> StoreResult<()>;
    /// A user's authenticators, oldest first.
    async fn authenticators(&self, user_id: Uuid) -> StoreResult<Vec<Authenticator>>;
    /// One authenticator.
    async fn authenticator(&self, id: Uuid) -> StoreResult<Option<Authenticator>>;
    /// Marks an authenticator confirmed after its test authentication at `step`
    /// (`authenticator.add`). False when it was already confirmed.
    async fn confirm_authenticator(&self, id: Uuid, step: i64, ctx: &AuditContext) -> StoreResult<bool>;
    /// As [`Store::confirm_authenticator`], only while `user_id` has no confirmed method (a
    /// first method, confirmed on a session that proved no second factor). Invariant:
    /// serialised per user across nodes, so of two racing first confirmations one wins.
    async fn confirm_first_authenticator(
        &self,
        id: Uuid,
        user_id: Uuid,
        step: i64,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Records an accepted TOTP step, only if it is later than the last one accepted:
    /// true means this caller won the step; false means it was used already (a replay,
    /// possibly on another node).
    async fn use_otp_step(&self, id: Uuid, step: i64, drift_steps: i64, at: Timestamp) -> StoreResult<bool>;
    /// Records a code check for a gateway in one transaction: wins `candidate`'s step
    /// (authenticator, step, drift) if it is still unused, then records `success` or, when
    /// there was no candidate or the step was taken already, `failure`, each with its audit
    /// event. Returns whether the step was won. One commit per verification.
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
    /// Trusts a device for a user until a date (`device.trust`), replacing any earlier trust.
    async fn trust_device(
        &self,
        device: &crate::signin::device_trust::TrustedDevice,
        ctx: &AuditContext,
    ) -> StoreResult<()>;
    /// A user's trust record for a device, whatever its state.
    async fn trusted_device(
        &self,
        device_id: &str,
        user_id: Uuid,
    ) -> StoreResult<Option<crate::signin::device_trust::TrustedDevice>>;
    /// A user's devices whose trust was not withdrawn, newest first.
    async fn trusted_devices(&self, user_id: Uuid) -> StoreResult<Vec<crate::signin::device_trust::TrustedDevice>>;
    /// Withdraws trust (`device.forget`); false when there was none.
    async fn forget_device(&self, device_id: &str, user_id: Uuid, ctx: &AuditContext) -> StoreResult<bool>;
    /// Replaces a user's recovery codes with these hashes (`recovery_codes.generate`).
    async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String], ctx: &AuditContext) -> StoreResult<()>;
    /// Uses a recovery code once (`recovery_code.use`); false when unknown or used.
    async fn consume_recovery_code(&self, user_id: Uuid, hash: &str, ctx: &AuditContext) -> StoreResult<bool>;
    /// How many unused recovery codes a user has.
    async fn recovery_codes_left(&self, user_id: Uuid) -> StoreResult<i64>;

    /// Records a sent email or SMS code (only its hash) with `one_time_code.send`, which
    /// names the destination masked.
    async fn create_one_time_code(
        &self,
        code: &crate::factors::one_time_codes::OneTimeCode,
        destination: &str,
        ctx: &AuditContext,
    ) -> StoreResult<()>;
    /// When the codes of `purpose` sent through one method at or after `since` went out
    /// (for resend limits).
    async fn one_time_code_sends(
        &self,
        authenticator_id: Uuid,
        purpose: crate::factors::one_time_codes::CodePurpose,
        since: Timestamp,
    ) -> StoreResult<Vec<Timestamp>>;
    /// Claims one email or SMS send (`kind`) to `user_id` requested from `source`, before it
    /// goes out: refused with the wait while the person's or the source's sends within the
    /// window, across every method and enrolment, reach [`crate::factors::one_time_codes::may_send_to`]'s
    /// limits. Invariant: claims for one person or one source are serialised across nodes.
    async fn claim_code_send(
        &self,
        user_id: Uuid,
        source: Option<&str>,
        kind: &str,
        now: Timestamp,
    ) -> StoreResult<Result<(), crate::factors::one_time_codes::SendLimited>>;
    /// Uses the user's live (unexpired, unused, not over its guess limit) code of `purpose`
    /// whose hash is `code_hash`, once, and returns the method it was sent through. A miss
    /// counts as a wrong guess against each live code of that purpose.
    async fn redeem_one_time_code(
        &self,
        user_id: Uuid,
        purpose: crate::factors::one_time_codes::CodePurpose,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Uuid>>;

    /// Registers an OpenID Connect client (`client.create`). Conflict when the id is taken.
    async fn create_client(&self, client: &crate::oidc::Client, ctx: &AuditContext) -> StoreResult<()>;
    /// Replaces a confidential client's secret; the old one keeps working until
    /// `previous_expires_at` (`client.secret_rotate`). False for an unknown or public client.
    async fn rotate_client_secret(
        &self,
        client_id: &str,
        new_hash: &str,
        previous_expires_at: Timestamp,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// The client with this `client_id`.
    async fn client(&self, client_id: &str) -> StoreResult<Option<crate::oidc::Client>>;
    /// Every client, by name.
    async fn clients(&self) -> StoreResult<Vec<crate::oidc::Client>>;
    /// Token-signing keys, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<crate::oidc::SigningKey>>;
    /// Makes `key` the signing key for its algorithm, retiring the one before at
    /// `key.created_at` (`signing_key.rotate`).
    async fn add_signing_key(&self, key: &crate::oidc::SigningKey, ctx: &AuditContext) -> StoreResult<()>;
    /// Keeps an authorization code's grant under the code's hash until `expires_at`.
    async fn put_authorization_code(
        &self,
        code_hash: &str,
        grant: &crate::oidc::Grant,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Uses an authorization code once: `Ok(Ok(grant))` the first time within its life;
    /// `Ok(Err(true))` when it was used already (a replay), `Ok(Err(false))` when unknown or
    /// expired.
    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Result<crate::oidc::Grant, bool>>;

    /// Stores a new refresh token, unless its family has been revoked (false then): a token
    /// being issued while a replay revokes the family is never left behind alive.
    async fn put_refresh_token(&self, token: &crate::oidc::RefreshToken) -> StoreResult<bool>;
    /// Uses a refresh token of `client_id` once (it is rotated; compare-and-swap on
    /// `used_at`). A used or revoked one presented again answers
    /// [`RefreshRefusal::Reused`](crate::oidc::RefreshRefusal) with its family, for the
    /// caller to revoke ([`Store::revoke_token_family`]); one of another client answers
    /// `OtherClient` and changes nothing.
    async fn use_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: Timestamp,
    ) -> StoreResult<Result<crate::oidc::RefreshToken, crate::oidc::RefreshRefusal>>;
    /// Revokes a token family — every refresh token in it, and (by the family's mark, which
    /// access tokens carry as `fid`) every access token issued from it — with its audit event
    /// (`oidc.token_family_revoke`, `reason`) in one transaction. Returns how many refresh
    /// tokens it revoked (used ones included). Idempotent.
    async fn revoke_token_family(
        &self,
        family_id: &str,
        reason: &str,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<u64>;
    /// Whether a token family has been revoked (its access tokens are then dead too).
    async fn token_family_revoked(&self, family_id: &str) -> StoreResult<bool>;
    /// The refresh token with this hash if it is still usable at `now`.
    async fn live_refresh_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<crate::oidc::RefreshToken>>;
    /// Revokes the family of a refresh token of `client_id` (its access tokens with it, as
    /// [`Store::revoke_token_family`] does); false when there is no such token.
    async fn revoke_refresh_family(&self, token_hash: &str, client_id: &str, now: Timestamp) -> StoreResult<bool>;
    /// Stores a new policy version (the next number) with its author and note, audited as
    /// `policy.apply`; returns its number.
    async fn put_policy_version(
        &self,
        source: &str,
        note: Option<&str>,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<i64>;
    /// Every policy version, newest first.
    async fn policy_versions(&self) -> StoreResult<Vec<crate::access::PolicyVersion>>;
    /// Stores a campaign's file under its name, new (`draft`) or replacing the file of the
    /// campaign of that name (its status kept); audited `campaign.apply`.
    async fn put_campaign(&self, name: &str, source: &str, now: Timestamp, ctx: &AuditContext) -> StoreResult<()>;
    /// Starts or pauses a campaign (`campaign.start`, `campaign.pause`); false when unknown.
    async fn set_campaign_status(
        &self,
        name: &str,
        status: crate::rollout::CampaignStatus,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Every campaign, by name.
    async fn campaigns(&self) -> StoreResult<Vec<crate::rollout::StoredCampaign>>;
    /// Keeps the day's snapshot of a campaign's adoption (one per UTC day; a later one that
    /// day replaces it). Not audited: it is a measurement, not a change.
    async fn put_campaign_snapshot(&self, name: &str, snapshot: &crate::rollout::progress::Snapshot)
    -> StoreResult<()>;
    /// A campaign's daily snapshots, oldest first.
    async fn campaign_snapshots(&self, name: &str) -> StoreResult<Vec<crate::rollout::progress::Snapshot>>;
    /// Stores a requested exception (`exception.request`).
    async fn create_exception(
        &self,
        exception: &crate::rollout::exception::Exception,
        ctx: &AuditContext,
    ) -> StoreResult<()>;
    /// Moves an exception from `from` to `to`, once: false when it is not (or no longer) in
    /// `from` — two approvers deciding at once, one wins. Approving records `ctx`'s actor as
    /// `approved_by`; rejecting, revoking and expiring record it as `ended_by` with
    /// `end_reason` (`reason`, or the decision's name) and keep the approver. Audited
    /// `exception.approve`, `exception.reject`, `exception.revoke` or `exception.expire`.
    async fn decide_exception(
        &self,
        id: Uuid,
        from: crate::rollout::exception::Decision,
        to: crate::rollout::exception::Decision,
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
    async fn exceptions(&self) -> StoreResult<Vec<crate::rollout::exception::Exception>>;
    /// One identity's exceptions, newest first.
    async fn user_exceptions(&self, user_id: Uuid) -> StoreResult<Vec<crate::rollout::exception::Exception>>;
    /// Records compliance transitions: each identity's new state (with the time it entered it)
    /// where its stored state is still `from` (compare-and-swap: of two nodes running the job,
    /// one records each transition), audited `compliance.transition`. Returns the transitions
    /// recorded.
    async fn record_transitions(
        &self,
        campaign: &str,
        transitions: &[crate::rollout::Transition],
        ctx: &AuditContext,
    ) -> StoreResult<Vec<crate::rollout::Transition>>;
    /// Stored compliance states: of a campaign (all identities) or of one identity (all campaigns).
    async fn compliance_states(
        &self,
        campaign: Option<&str>,
        user_id: Option<Uuid>,
    ) -> StoreResult<Vec<crate::rollout::StoredState>>;
    /// Claims a reminder for sending: true once per campaign, identity and key.
    async fn claim_reminder(&self, campaign: &str, user_id: Uuid, key: &str, now: Timestamp) -> StoreResult<bool>;
    /// Records that a client got a token at `now`, unless that was already recorded after
    /// `unless_after` (so busy clients cause few writes).
    async fn note_client_used(&self, client_id: &str, now: Timestamp, unless_after: Timestamp) -> StoreResult<()>;
    /// The scopes `user_id` allowed third-party client `client_id`, if they ever did.
    async fn consented_scopes(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<Vec<String>>>;
    /// Records that `user_id` allows `client_id` these scopes (replacing what they allowed
    /// before; `consent.grant`).
    async fn grant_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &[String],
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<()>;
    /// Remembers a client assertion (`private_key_jwt`) by client and `jti` until it expires;
    /// false when it was presented before (a replay).
    async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Denies an access token (by `jti`) until it would have expired anyway.
    async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()>;
    /// Whether an access token was revoked.
    async fn access_token_revoked(&self, jti: &str) -> StoreResult<bool>;

    /// Records an event that accompanies no other stored change (e.g. `audit.export`).
    async fn append_audit(&self, change: &Change, ctx: &AuditContext) -> StoreResult<()>;
    /// Links committed pending events into the hash chain; returns how many. Safe to run
    /// on several nodes at once.
    async fn chain_audit(&self) -> StoreResult<u64>;
    /// Events with `seq > after_seq` and time ≥ `since`, in chain order, at most `limit`.
    async fn audit_events(&self, after_seq: i64, since: Timestamp, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// The recorded chain head.
    async fn audit_head(&self) -> StoreResult<ChainHead>;
}
