//! Managing groups and their members.

use super::Identities;
use twofold_core::identity::{Group, User, new_group};
use twofold_core::store::GroupSummary;
use uuid::Uuid;

use crate::{Actor, AppError, AppResult, RequestMeta};

impl Identities {
    /// Creates a group.
    ///
    /// # Errors
    /// An invalid or taken name.
    pub async fn create_group(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        name: &str,
        description: Option<&str>,
    ) -> AppResult<Group> {
        let group = new_group(Uuid::now_v7(), name, description, self.now())?;
        self.store.create_group(&group, &self.audit_context(actor, meta)).await?;
        Ok(group)
    }

    /// All groups with their sizes.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list_groups(&self) -> AppResult<Vec<GroupSummary>> {
        Ok(self.store.list_groups().await?)
    }

    /// The group with this name.
    ///
    /// # Errors
    /// [`AppError::NotFound`] when there is none.
    pub async fn find_group(&self, name: &str) -> AppResult<Group> {
        self.store.group_by_name(&name.trim().to_lowercase()).await?.ok_or(AppError::NotFound("group"))
    }

    /// The members of a group.
    ///
    /// # Errors
    /// An unknown group.
    pub async fn group_members(&self, name: &str) -> AppResult<Vec<User>> {
        let group = self.find_group(name).await?;
        Ok(self.store.group_members(group.id).await?)
    }

    /// Adds a user to a group; false when they already were a member.
    ///
    /// # Errors
    /// An unknown group or user.
    pub async fn add_group_member(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        group: &str,
        user: &str,
    ) -> AppResult<bool> {
        let group = self.find_group(group).await?;
        let user = self.find_user(user).await?;
        Ok(self.store.add_group_member(&group, &user, &self.audit_context(actor, meta)).await?)
    }

    /// Removes a user from a group; false when they were not a member.
    ///
    /// # Errors
    /// An unknown group or user.
    pub async fn remove_group_member(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        group: &str,
        user: &str,
    ) -> AppResult<bool> {
        let group = self.find_group(group).await?;
        let user = self.find_user(user).await?;
        Ok(self.store.remove_group_member(&group, &user, &self.audit_context(actor, meta)).await?)
    }
}
