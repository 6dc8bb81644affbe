//! Groups and membership ([`GroupStore`]).

use async_trait::async_trait;
use sqlx::Row;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::identity::{Group, User};
use twofold_core::store::{GroupStore, GroupSummary, StoreError, StoreResult};
use uuid::Uuid;

use crate::rows::{self, USER_COLUMNS};
use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

/// The membership change `action` (add or remove) of `user` in `group`.
fn membership(action: AuditAction, group: &Group, user: &User) -> Change {
    let member = serde_json::json!({"group": group.name, "username": user.username, "user_id": user.id});
    let (before, after) =
        if action == AuditAction::GroupMemberAdd { (None, Some(member)) } else { (Some(member), None) };
    Change::new(action, Some(group.id.to_string())).states(before, after)
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn create_group(&self, group: &Group, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        sqlx::query("INSERT INTO identity_groups (id, name, description, created_at) VALUES ($1, $2, $3, $4)")
            .bind(group.id.to_string())
            .bind(&group.name)
            .bind(&group.description)
            .bind(group.created_at.millis())
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| match store_error(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("group '{}' already exists", group.name)),
                other => other,
            })?;
        let after = serde_json::to_value(group).unwrap_or_default();
        tx.append(&Change::new(AuditAction::GroupCreate, Some(group.id.to_string())).states(None, Some(after)), ctx)
            .await?;
        tx.commit().await
    }

    async fn list_groups(&self) -> StoreResult<Vec<GroupSummary>> {
        sqlx::query(
            "SELECT g.id, g.name, g.description, g.created_at,
                    (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count
             FROM identity_groups g ORDER BY g.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(|row| {
            Ok(GroupSummary {
                group: rows::group(row)?,
                member_count: row.try_get("member_count").map_err(store_error)?,
            })
        })
        .collect()
    }

    async fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>> {
        sqlx::query("SELECT id, name, description, created_at FROM identity_groups WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(rows::group)
            .transpose()
    }

    async fn add_group_member(&self, group: &Group, user: &User, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let exists = sqlx::query("SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.id.to_string())
            .bind(user.id.to_string())
            .fetch_optional(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        if exists.is_some() {
            return Ok(false);
        }
        sqlx::query("INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3)")
            .bind(group.id.to_string())
            .bind(user.id.to_string())
            .bind(ctx.at.millis())
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        tx.append(&membership(AuditAction::GroupMemberAdd, group, user), ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn remove_group_member(&self, group: &Group, user: &User, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let removed = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.id.to_string())
            .bind(user.id.to_string())
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        if removed.rows_affected() == 0 {
            return Ok(false);
        }
        tx.append(&membership(AuditAction::GroupMemberRemove, group, user), ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<User>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN group_members m ON m.user_id = u.id
             WHERE m.group_id = $1 ORDER BY u.username"
        )))
        .bind(group_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?
        .iter()
        .map(rows::user)
        .collect()
    }

    async fn user_groups(&self, user_id: Uuid) -> StoreResult<Vec<String>> {
        let names: Vec<(String,)> = sqlx::query_as(
            "SELECT g.name FROM identity_groups g JOIN group_members m ON m.group_id = g.id
             WHERE m.user_id = $1 ORDER BY g.name",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(names.into_iter().map(|(n,)| n).collect())
    }
}
