//! Users ([`UserStore`]): creation (single and bulk import), lookup, listing, patching,
//! passwords.

use async_trait::async_trait;
use sqlx::AnyPool;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::identity::{User, UserPatch, UserStatus};
use twofold_core::store::{StoreError, StoreResult, UserFilter, UserRecord, UserStore};
use uuid::Uuid;

use crate::rows::{self, USER_COLUMNS, join};
use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

fn user_json(user: &User) -> serde_json::Value {
    serde_json::to_value(user).unwrap_or_default()
}

/// The one user matching `condition` (a fixed SQL predicate on `u` with `$1`).
async fn find_one(pool: &AnyPool, condition: &'static str, value: String) -> StoreResult<Option<User>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users u WHERE {condition}")))
        .bind(value)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(rows::user)
        .transpose()
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_users(&self, records: &[UserRecord], ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        for record in records {
            let u = &record.user;
            let inserted = sqlx::query(
                "INSERT INTO users (id, username, email, display_name, phone, department, manager, status, tier, roles,
                    password_hash, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(u.id.to_string())
            .bind(&u.username)
            .bind(&u.email)
            .bind(&u.display_name)
            .bind(&u.phone)
            .bind(&u.department)
            .bind(&u.manager)
            .bind(u.status.as_str())
            .bind(u.tier.as_str())
            .bind(join(&u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()))
            .bind(&record.password_hash)
            .bind(u.created_at.millis())
            .bind(u.updated_at.millis())
            .execute(&mut *tx.tx)
            .await;
            if let Err(e) = inserted {
                return Err(match store_error(e) {
                    StoreError::Conflict(_) => {
                        StoreError::Conflict(format!("username '{}' is already taken", u.username))
                    }
                    other => other,
                });
            }
            let mut after = user_json(u);
            after["groups"] = serde_json::json!(record.groups);
            after["has_password"] = serde_json::json!(record.password_hash.is_some());
            tx.append(&Change::new(AuditAction::UserCreate, Some(u.id.to_string())).states(None, Some(after)), ctx)
                .await?;
            for group_name in &record.groups {
                let added = sqlx::query(
                    "INSERT INTO group_members (group_id, user_id, added_at)
                     SELECT g.id, $1, $2 FROM identity_groups g WHERE g.name = $3",
                )
                .bind(u.id.to_string())
                .bind(ctx.at.millis())
                .bind(group_name)
                .execute(&mut *tx.tx)
                .await
                .map_err(store_error)?;
                if added.rows_affected() == 0 {
                    return Err(StoreError::NotFound("group"));
                }
            }
        }
        tx.commit().await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        find_one(&self.pool, "u.id = $1", id.to_string()).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        find_one(&self.pool, "u.username = $1", username.to_owned()).await
    }

    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.map(|row| Ok((rows::user(&row)?, sqlx::Row::try_get(&row, "password_hash").map_err(store_error)?)))
            .transpose()
    }

    async fn list_users(&self, filter: &UserFilter) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u {USER_FILTER} ORDER BY u.username LIMIT $6 OFFSET $7");
        bind_user_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .bind(filter.limit.unwrap_or(1000).clamp(1, 10_000))
            .bind(filter.offset.unwrap_or(0).max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?
            .iter()
            .map(rows::user)
            .collect()
    }

    async fn count_users(&self, filter: &UserFilter) -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM users u {USER_FILTER}");
        let row = bind_user_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)?;
        sqlx::Row::try_get::<i64, _>(&row, 0).map_err(store_error)
    }

    async fn update_user(&self, id: Uuid, patch: &UserPatch, ctx: &AuditContext) -> StoreResult<User> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let before = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1")))
            .bind(id.to_string())
            .fetch_optional(&mut *tx.tx)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(rows::user)
            .transpose()?
            .ok_or(StoreError::NotFound("user"))?;
        let after = patch.apply(&before, ctx.at)?;
        sqlx::query(
            "UPDATE users SET email = $1, display_name = $2, phone = $3, department = $4, manager = $5,
                status = $6, tier = $7, roles = $8, updated_at = $9 WHERE id = $10",
        )
        .bind(&after.email)
        .bind(&after.display_name)
        .bind(&after.phone)
        .bind(&after.department)
        .bind(&after.manager)
        .bind(after.status.as_str())
        .bind(after.tier.as_str())
        .bind(join(&after.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()))
        .bind(after.updated_at.millis())
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        tx.append(
            &Change::new(AuditAction::UserUpdate, Some(id.to_string()))
                .states(Some(user_json(&before)), Some(user_json(&after))),
            ctx,
        )
        .await?;
        if before.status == UserStatus::Active && after.status != UserStatus::Active {
            let revoked = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(ctx.at.millis())
                .bind(id.to_string())
                .execute(&mut *tx.tx)
                .await
                .map_err(store_error)?
                .rows_affected();
            if revoked > 0 {
                let change = Change::new(AuditAction::SessionRevokeAll, Some(id.to_string())).states(
                    None,
                    Some(serde_json::json!({"revoked": revoked, "reason": format!("status {}", after.status)})),
                );
                tx.append(&change, ctx).await?;
            }
        }
        tx.commit().await?;
        Ok(after)
    }

    async fn set_password_hash(
        &self,
        user_id: Uuid,
        hash: &str,
        action: AuditAction,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        if !matches!(action, AuditAction::UserPasswordSet | AuditAction::UserPasswordRehash) {
            return Err(StoreError::Other(format!("{action} is not a password change")));
        }
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let updated = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(ctx.at.millis())
            .bind(user_id.to_string())
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        tx.append(&Change::new(action, Some(user_id.to_string())), ctx).await?;
        tx.commit().await
    }
}

/// The conditions of a [`UserFilter`], `$1`–`$5`: each is "$n IS NULL OR column = $n", so one
/// statement serves every combination (bound by [`bind_user_filter`]). Roles are stored
/// comma-separated, so a role is matched as `,role,` inside `,roles,`.
const USER_FILTER: &str = "WHERE ($1 IS NULL OR u.status = $1)
       AND ($2 IS NULL OR u.tier = $2)
       AND ($3 IS NULL OR u.department = $3)
       AND ($4 IS NULL OR EXISTS (SELECT 1 FROM group_members m JOIN identity_groups g ON g.id = m.group_id
                                  WHERE m.user_id = u.id AND g.name = $4))
       AND ($5 IS NULL OR (',' || u.roles || ',') LIKE ('%,' || $5 || ',%'))";

/// Binds a [`UserFilter`]'s conditions as [`USER_FILTER`] numbers them.
fn bind_user_filter<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    filter: &'q UserFilter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(filter.status.map(|s| s.as_str().to_owned()))
        .bind(filter.tier.map(|t| t.as_str().to_owned()))
        .bind(&filter.department)
        .bind(&filter.group)
        .bind(filter.role.map(|r| r.as_str().to_owned()))
}
