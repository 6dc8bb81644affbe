//! Email and SMS one-time codes ([`OneTimeCodeStore`]): sent codes as keyed hashes, with
//! expiry, wrong-guess counts and single use decided by compare-and-swap updates, and the
//! sends they cost.

use async_trait::async_trait;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::factors::one_time_codes::{
    CodePurpose, MAX_ATTEMPTS, OneTimeCode, SEND_WINDOW_SECS, SendCount, SendLimited, may_send_to,
};
use twofold_core::store::{OneTimeCodeStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::{AuditedTx, LockSpace, serialised};
use crate::{SqlStore, store_error};

#[async_trait]
impl OneTimeCodeStore for SqlStore {
    async fn create_one_time_code(&self, code: &OneTimeCode, destination: &str, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        sqlx::query(
            "INSERT INTO one_time_codes (id, user_id, authenticator_id, purpose, code_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(code.id.to_string())
        .bind(code.user_id.to_string())
        .bind(code.authenticator_id.to_string())
        .bind(code.purpose.as_str())
        .bind(&code.code_hash)
        .bind(code.created_at.millis())
        .bind(code.expires_at.millis())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let change = Change::new(AuditAction::OneTimeCodeSend, Some(code.user_id.to_string())).states(
            None,
            Some(serde_json::json!({
                "authenticator_id": code.authenticator_id,
                "purpose": code.purpose,
                "destination": twofold_core::factors::one_time_codes::mask_destination(destination),
                "expires_at": code.expires_at,
            })),
        );
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn one_time_code_sends(
        &self,
        authenticator_id: Uuid,
        purpose: CodePurpose,
        since: Timestamp,
    ) -> StoreResult<Vec<Timestamp>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT created_at FROM one_time_codes WHERE authenticator_id = $1 AND purpose = $2 AND created_at >= $3",
        )
        .bind(authenticator_id.to_string())
        .bind(purpose.as_str())
        .bind(since.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows.into_iter().map(|(t,)| Timestamp(t)).collect())
    }

    async fn redeem_one_time_code(
        &self,
        user_id: Uuid,
        purpose: CodePurpose,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Uuid>> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let used: Option<(String,)> = sqlx::query_as(
            "UPDATE one_time_codes SET used_at = $1
             WHERE user_id = $2 AND purpose = $3 AND code_hash = $4 AND used_at IS NULL AND expires_at > $1
               AND attempts < $5
             RETURNING authenticator_id",
        )
        .bind(now.millis())
        .bind(user_id.to_string())
        .bind(purpose.as_str())
        .bind(code_hash)
        .bind(MAX_ATTEMPTS)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let authenticator = match used {
            Some((id,)) => {
                sqlx::query("UPDATE authenticators SET last_used_at = $1 WHERE id = $2")
                    .bind(now.millis())
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                Some(
                    Uuid::parse_str(&id)
                        .map_err(|_| StoreError::Other(format!("stored authenticator_id '{id}' is not a UUID")))?,
                )
            }
            None => {
                // A miss is a wrong guess against every live code of this purpose.
                sqlx::query(
                    "UPDATE one_time_codes SET attempts = attempts + 1
                     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
                )
                .bind(user_id.to_string())
                .bind(purpose.as_str())
                .bind(now.millis())
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                None
            }
        };
        tx.commit().await.map_err(store_error)?;
        Ok(authenticator)
    }

    /// Claims one email or SMS send to `user_id` requested from `source`, before it goes out
    /// (THREATS: toll fraud): refused while the person's or the source's recent sends, through
    /// every method and enrolment, reach the limits. Claims for one person or one source are
    /// serialised across nodes (SQLite's write lock; PostgreSQL advisory locks, person then
    /// source), so concurrent requests never all see the same count.
    async fn claim_code_send(
        &self,
        user_id: Uuid,
        source: Option<&str>,
        kind: &str,
        now: Timestamp,
    ) -> StoreResult<Result<(), SendLimited>> {
        let person = user_id.to_string();
        let mut tx = serialised(
            &self.pool,
            self.backend,
            &[(LockSpace::SendPerson, Some(&person)), (LockSpace::SendSource, source)],
        )
        .await?;
        let since = now.plus_seconds(-SEND_WINDOW_SECS).millis();
        let (person_count, person_last, channel_last, source_count, source_last): (
            i64,
            Option<i64>,
            Option<i64>,
            i64,
            Option<i64>,
        ) = sqlx::query_as(
            "SELECT
                (SELECT COUNT(*) FROM code_sends WHERE user_id = $1 AND at > $2),
                (SELECT MAX(at) FROM code_sends WHERE user_id = $1 AND at > $2),
                (SELECT MAX(at) FROM code_sends WHERE user_id = $1 AND at > $2 AND kind = $4),
                (SELECT COUNT(*) FROM code_sends WHERE source = $3 AND at > $2),
                (SELECT MAX(at) FROM code_sends WHERE source = $3 AND at > $2)",
        )
        .bind(user_id.to_string())
        .bind(since)
        .bind(source)
        .bind(kind)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let count = |count, last: Option<i64>| SendCount { count, last_at: last.map(Timestamp) };
        let (by_person, by_source) = (count(person_count, person_last), count(source_count, source_last));
        if let Err(limited) = may_send_to(by_person, channel_last.map(Timestamp), by_source, now) {
            return Ok(Err(limited));
        }
        sqlx::query("INSERT INTO code_sends (id, user_id, source, kind, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(Uuid::now_v7().to_string())
            .bind(user_id.to_string())
            .bind(source)
            .bind(kind)
            .bind(now.millis())
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        sqlx::query("DELETE FROM code_sends WHERE at <= $1")
            .bind(since)
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}
