//! Managing users: create, show, list, update, disable, set passwords.

use super::Identities;
use twofold_core::identity::password::check_new_password;
use twofold_core::identity::{NewUser, User, UserPatch, normalize_username};
use twofold_core::store::{UserFilter, UserRecord};
use uuid::Uuid;

use crate::{Actor, AppError, AppResult, RequestMeta};

/// A user with the groups they belong to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserDetail {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// Group names.
    pub groups: Vec<String>,
}

impl Identities {
    /// Creates one user, optionally with a password and group memberships.
    ///
    /// # Errors
    /// Invalid fields, a refused password, a taken username, an unknown group or manager.
    pub async fn create_user(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        new_user: NewUser,
        password: Option<String>,
        groups: Vec<String>,
    ) -> AppResult<User> {
        let user = new_user.validate(Uuid::now_v7(), self.now())?;
        self.check_manager_exists(user.manager.as_deref()).await?;
        let password_hash = match password {
            Some(password) => Some(self.new_password_hash(password, &user.username).await?),
            None => None,
        };
        let groups = groups.iter().map(|g| g.trim().to_lowercase()).filter(|g| !g.is_empty()).collect();
        let record = UserRecord { user: user.clone(), password_hash, groups };
        self.store.create_users(&[record], &self.audit_context(actor, meta)).await?;
        Ok(user)
    }

    /// Refuses a manager username that names no user.
    async fn check_manager_exists(&self, manager: Option<&str>) -> AppResult<()> {
        let Some(manager) = manager.map(normalize_username) else { return Ok(()) };
        if self.store.user_by_username(&manager).await?.is_none() {
            return Err(twofold_core::ValidationErrors::one("manager", format!("no user named '{manager}'")).into());
        }
        Ok(())
    }

    /// Checks a new password against the rules and hashes it.
    pub(crate) async fn new_password_hash(&self, password: String, username: &str) -> AppResult<String> {
        check_new_password(&password, username)?;
        self.hasher.hash_password(password).await
    }

    /// Finds a user by username or id.
    ///
    /// # Errors
    /// [`AppError::NotFound`] when neither matches.
    pub async fn find_user(&self, username_or_id: &str) -> AppResult<User> {
        let by_name = self.store.user_by_username(&normalize_username(username_or_id)).await?;
        let found = match by_name {
            Some(user) => Some(user),
            None => match Uuid::parse_str(username_or_id.trim()) {
                Ok(id) => self.store.user_by_id(id).await?,
                Err(_) => None,
            },
        };
        found.ok_or(AppError::NotFound("user"))
    }

    /// A user with their groups.
    ///
    /// # Errors
    /// [`AppError::NotFound`] when there is no such user.
    pub async fn user_detail(&self, username_or_id: &str) -> AppResult<UserDetail> {
        let user = self.find_user(username_or_id).await?;
        let groups = self.store.user_groups(user.id).await?;
        Ok(UserDetail { user, groups })
    }

    /// Users matching `filter`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list_users(&self, filter: &UserFilter) -> AppResult<Vec<User>> {
        Ok(self.store.list_users(filter).await?)
    }

    /// How many users match `filter` (its limit and offset aside), for "showing N of M".
    ///
    /// # Errors
    /// Storage failures.
    pub async fn count_users(&self, filter: &UserFilter) -> AppResult<i64> {
        Ok(self.store.count_users(filter).await?)
    }

    /// Applies a patch to a user.
    ///
    /// # Errors
    /// Invalid fields, an unknown user or manager.
    pub async fn update_user(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        username_or_id: &str,
        patch: &UserPatch,
    ) -> AppResult<User> {
        let user = self.find_user(username_or_id).await?;
        self.check_manager_exists(patch.manager.as_ref().and_then(Option::as_deref)).await?;
        Ok(self.store.update_user(user.id, patch, &self.audit_context(actor, meta)).await?)
    }

    /// Suspends a user; their sessions end in the same transaction.
    ///
    /// # Errors
    /// An unknown user, or one already deprovisioned.
    pub async fn disable_user(&self, actor: &Actor, meta: &RequestMeta, username_or_id: &str) -> AppResult<User> {
        let patch = UserPatch { status: Some("suspended".into()), ..UserPatch::default() };
        self.update_user(actor, meta, username_or_id, &patch).await
    }

    /// Sets a user's password.
    ///
    /// # Errors
    /// An unknown user or a refused password.
    pub async fn set_password(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        username_or_id: &str,
        password: String,
    ) -> AppResult<()> {
        let user = self.find_user(username_or_id).await?;
        let hash = self.new_password_hash(password, &user.username).await?;
        self.store
            .set_password_hash(
                user.id,
                &hash,
                twofold_core::audit::AuditAction::UserPasswordSet,
                &self.audit_context(actor, meta),
            )
            .await?;
        Ok(())
    }

    /// Ends every session of a user.
    ///
    /// # Errors
    /// An unknown user.
    pub async fn revoke_user_sessions(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        username_or_id: &str,
    ) -> AppResult<u64> {
        let user = self.find_user(username_or_id).await?;
        Ok(self.store.revoke_user_sessions(user.id, &self.audit_context(actor, meta)).await?)
    }
}
