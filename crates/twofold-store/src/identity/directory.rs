//! Whole-directory reads ([`DirectoryStore`]): one statement each over memberships, sign-in
//! events and authenticators, for passes over everyone.

use async_trait::async_trait;
use twofold_core::Timestamp;
use twofold_core::factors::authenticator::AuthenticatorKind;
use twofold_core::store::{DirectoryStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::{SqlStore, store_error};

#[async_trait]
impl DirectoryStore for SqlStore {
    async fn all_memberships(&self) -> StoreResult<Vec<(Uuid, String)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT m.user_id, g.name FROM group_members m JOIN identity_groups g ON g.id = m.group_id")
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        rows.into_iter()
            .map(|(user, group)| {
                Uuid::parse_str(&user).map(|u| (u, group)).map_err(|_| StoreError::Other(format!("bad user id {user}")))
            })
            .collect()
    }

    async fn last_mfa_sign_ins(&self) -> StoreResult<Vec<(Uuid, Timestamp)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT user_id, MAX(at) FROM sign_in_events
             WHERE outcome = 'success' AND user_id IS NOT NULL AND methods <> 'pwd' GROUP BY user_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows.into_iter().filter_map(|(user, at)| Some((Uuid::parse_str(&user).ok()?, Timestamp(at)))).collect())
    }

    async fn enrolment_counts(&self) -> StoreResult<Vec<(AuthenticatorKind, i64, i64)>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT kind, COUNT(*), COUNT(confirmed_at) FROM authenticators
             WHERE user_id IS NOT NULL AND serial IS NULL GROUP BY kind ORDER BY kind",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, started, finished)| Some((AuthenticatorKind::parse(&kind)?, started, finished)))
            .collect())
    }

    async fn all_confirmed_methods(&self) -> StoreResult<Vec<(Uuid, AuthenticatorKind, bool)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT user_id, kind, attested FROM authenticators WHERE user_id IS NOT NULL AND confirmed_at IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(user, kind, attested)| {
                Some((Uuid::parse_str(&user).ok()?, AuthenticatorKind::parse(&kind)?, attested != 0))
            })
            .collect())
    }

    async fn users_with_recovery_codes(&self) -> StoreResult<Vec<Uuid>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT user_id FROM recovery_codes WHERE used_at IS NULL")
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(rows.into_iter().filter_map(|(user,)| Uuid::parse_str(&user).ok()).collect())
    }
}
