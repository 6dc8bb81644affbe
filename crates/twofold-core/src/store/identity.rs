//! Identity ports: users, groups, admin API keys, and the whole-directory reads.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::Timestamp;
use crate::audit::{AuditAction, AuditContext};
use crate::factors::authenticator::AuthenticatorKind;
use crate::identity::api_key::ApiKey;
use crate::identity::{Group, Tier, User, UserPatch, UserStatus};

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
    /// Only people holding this role.
    pub role: Option<crate::identity::Role>,
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

/// Users and their passwords.
///
/// Atomicity: a bulk creation is all or none; an update applies its patch to the state read
/// inside the same transaction, so the audited `before` is exact and a concurrent update is
/// never lost between the read and the write.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates users, all or none, with one `user.create` event each.
    /// Conflict when a username is taken; NotFound when a named group does not exist.
    async fn create_users(&self, users: &[UserRecord], ctx: &AuditContext) -> StoreResult<()>;
    /// The user with this id.
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The user with this (normalised) username.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// Users matching `filter`, ordered by username.
    async fn list_users(&self, filter: &UserFilter) -> StoreResult<Vec<User>>;
    /// How many users match `filter` (its limit and offset aside).
    async fn count_users(&self, filter: &UserFilter) -> StoreResult<i64>;
    /// Applies `patch` to the current state inside the transaction (so `before` is exact).
    /// When the status leaves `active`, every session of the user is revoked in the same
    /// transaction (`session.revoke_all`). Emits `user.update`.
    async fn update_user(&self, id: Uuid, patch: &UserPatch, ctx: &AuditContext) -> StoreResult<User>;
    /// The user with this username and their password hash, in one read (the sign-in path).
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, Option<String>)>>;
    /// Replaces the password hash; `action` is [`AuditAction::UserPasswordSet`] or
    /// [`AuditAction::UserPasswordRehash`]. The hash itself never enters the audit log.
    async fn set_password_hash(
        &self,
        user_id: Uuid,
        hash: &str,
        action: AuditAction,
        ctx: &AuditContext,
    ) -> StoreResult<()>;
}

/// Groups and their members.
///
/// Atomicity: adding or removing a member changes and audits it only when it was not (or
/// was) a member, in one transaction.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Creates a group (`group.create`). Conflict when the name is taken.
    async fn create_group(&self, group: &Group, ctx: &AuditContext) -> StoreResult<()>;
    /// All groups with member counts, by name.
    async fn list_groups(&self) -> StoreResult<Vec<GroupSummary>>;
    /// The group with this name.
    async fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>>;
    /// Adds a member (`group.member.add`); false (and no event) when already a member.
    async fn add_group_member(&self, group: &Group, user: &User, ctx: &AuditContext) -> StoreResult<bool>;
    /// Removes a member (`group.member.remove`); false (and no event) when not a member.
    async fn remove_group_member(&self, group: &Group, user: &User, ctx: &AuditContext) -> StoreResult<bool>;
    /// Members of a group, by username.
    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<User>>;
    /// Names of the groups a user belongs to.
    async fn user_groups(&self, user_id: Uuid) -> StoreResult<Vec<String>>;
}

/// Admin API keys (only their secrets' hashes).
///
/// Atomicity: a revocation happens once (false when already revoked).
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a new API key (`api_key.create`).
    async fn create_api_key(&self, key: &ApiKey, ctx: &AuditContext) -> StoreResult<()>;
    /// The API key with this id.
    async fn api_key(&self, id: &str) -> StoreResult<Option<ApiKey>>;
    /// All API keys, newest first.
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a key (`api_key.revoke`); false when already revoked.
    async fn revoke_api_key(&self, id: &str, ctx: &AuditContext) -> StoreResult<bool>;
    /// Records use of a key (not audited; at most one write a minute per key).
    async fn touch_api_key(&self, id: &str, now: Timestamp) -> StoreResult<()>;
}

/// Reads over the whole directory, one statement each, for passes (simulation, reports,
/// campaign status) that would otherwise ask once per person. Read-only.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Every membership as (user id, group name).
    async fn all_memberships(&self) -> StoreResult<Vec<(Uuid, String)>>;
    /// Each person's latest successful sign-in that proved more than a password, by user id.
    async fn last_mfa_sign_ins(&self) -> StoreResult<Vec<(Uuid, Timestamp)>>;
    /// Enrolments per kind of method: (kind, started, finished with the test authentication),
    /// hardware tokens (imported, never enrolled) left out.
    async fn enrolment_counts(&self) -> StoreResult<Vec<(AuthenticatorKind, i64, i64)>>;
    /// Every confirmed authenticator assigned to someone, as (user id, kind, attested).
    async fn all_confirmed_methods(&self) -> StoreResult<Vec<(Uuid, AuthenticatorKind, bool)>>;
    /// Everyone holding at least one unused recovery code.
    async fn users_with_recovery_codes(&self) -> StoreResult<Vec<Uuid>>;
}
