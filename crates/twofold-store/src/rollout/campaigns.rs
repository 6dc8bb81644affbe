//! Rollout campaigns ([`RolloutStore`]): their files and status, one adoption snapshot per
//! day, the exceptions that waive their requirement for a while, each identity's compliance
//! state, and the reminders sent.

use async_trait::async_trait;
use sqlx::{AnyPool, Row};
use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, Change};
use twofold_core::rollout::compliance::State;
use twofold_core::rollout::exception::{Decision, Exception};
use twofold_core::rollout::progress::Snapshot;
use twofold_core::rollout::{CampaignStatus, StoredCampaign, StoredState, Transition};
use twofold_core::store::{RolloutStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::tx::AuditedTx;
use crate::{SqlStore, store_error};

const DAY_MS: i64 = 86_400_000;

/// The campaign's stored status, inside the transaction.
async fn status_in(tx: &mut AuditedTx, name: &str) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT status FROM campaigns WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(store_error)?;
    Ok(row.map(|(status,)| status))
}

/// Every exception, or one identity's, newest first.
async fn exceptions_of(pool: &AnyPool, user: Option<Uuid>) -> StoreResult<Vec<Exception>> {
    let select = "SELECT e.id, e.user_id, u.username, e.reason, e.requested_by, e.requested_at, e.ends_at, e.decision,
                e.approved_by, e.approved_at, e.ended_by, e.ended_at, e.end_reason, e.attestation_asked_at,
                e.attested_at
         FROM exceptions e JOIN users u ON u.id = e.user_id";
    let order = "ORDER BY e.requested_at DESC, e.id DESC";
    let rows = match user {
        Some(user) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("{select} WHERE e.user_id = $1 {order}")))
                .bind(user.to_string())
                .fetch_all(pool)
                .await
        }
        None => sqlx::query(sqlx::AssertSqlSafe(format!("{select} {order}"))).fetch_all(pool).await,
    }
    .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            let text = |column: &str| row.try_get::<String, _>(column).map_err(store_error);
            let uuid = |column: &str| {
                let value = text(column)?;
                Uuid::parse_str(&value).map_err(|_| StoreError::Other(format!("bad {column} {value}")))
            };
            let decision = text("decision")?;
            Ok(Exception {
                id: uuid("id")?,
                user_id: uuid("user_id")?,
                username: text("username")?,
                reason: text("reason")?,
                requested_by: text("requested_by")?,
                requested_at: Timestamp(row.try_get("requested_at").map_err(store_error)?),
                ends_at: Timestamp(row.try_get("ends_at").map_err(store_error)?),
                decision: Decision::parse(&decision)
                    .ok_or_else(|| StoreError::Other(format!("unknown decision {decision}")))?,
                approved_by: row.try_get("approved_by").map_err(store_error)?,
                approved_at: row.try_get::<Option<i64>, _>("approved_at").map_err(store_error)?.map(Timestamp),
                ended_by: row.try_get("ended_by").map_err(store_error)?,
                ended_at: row.try_get::<Option<i64>, _>("ended_at").map_err(store_error)?.map(Timestamp),
                end_reason: row.try_get("end_reason").map_err(store_error)?,
                attestation_asked_at: row
                    .try_get::<Option<i64>, _>("attestation_asked_at")
                    .map_err(store_error)?
                    .map(Timestamp),
                attested_at: row.try_get::<Option<i64>, _>("attested_at").map_err(store_error)?.map(Timestamp),
            })
        })
        .collect()
}

#[async_trait]
impl RolloutStore for SqlStore {
    async fn put_campaign(&self, name: &str, source: &str, now: Timestamp, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let before = status_in(&mut tx, name).await?;
        sqlx::query(
            "INSERT INTO campaigns (name, source, status, created_at, updated_at) VALUES ($1, $2, 'draft', $3, $3)
             ON CONFLICT (name) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(source)
        .bind(now.millis())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let change = Change::new(AuditAction::CampaignApply, Some(name.to_owned())).states(
            before.map(|status| serde_json::json!({"status": status})),
            Some(serde_json::json!({"source_chars": source.len()})),
        );
        tx.append(&change, ctx).await?;
        tx.commit().await
    }

    async fn set_campaign_status(
        &self,
        name: &str,
        status: CampaignStatus,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let Some(before) = status_in(&mut tx, name).await? else { return Ok(false) };
        sqlx::query("UPDATE campaigns SET status = $1, updated_at = $2 WHERE name = $3")
            .bind(status.as_str())
            .bind(now.millis())
            .bind(name)
            .execute(&mut *tx.tx)
            .await
            .map_err(store_error)?;
        let action =
            if status == CampaignStatus::Paused { AuditAction::CampaignPause } else { AuditAction::CampaignStart };
        let change = Change::new(action, Some(name.to_owned()))
            .states(Some(serde_json::json!({"status": before})), Some(serde_json::json!({"status": status.as_str()})));
        tx.append(&change, ctx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn campaigns(&self) -> StoreResult<Vec<StoredCampaign>> {
        let rows = sqlx::query("SELECT name, source, status, created_at, updated_at FROM campaigns ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status").map_err(store_error)?;
                Ok(StoredCampaign {
                    name: row.try_get("name").map_err(store_error)?,
                    source: row.try_get("source").map_err(store_error)?,
                    status: CampaignStatus::parse(&status)
                        .ok_or_else(|| StoreError::Other(format!("unknown campaign status {status}")))?,
                    created_at: Timestamp(row.try_get("created_at").map_err(store_error)?),
                    updated_at: Timestamp(row.try_get("updated_at").map_err(store_error)?),
                })
            })
            .collect()
    }

    async fn put_campaign_snapshot(&self, name: &str, snapshot: &Snapshot) -> StoreResult<()> {
        let day = snapshot.at.millis().div_euclid(DAY_MS) * DAY_MS;
        sqlx::query(
            "INSERT INTO campaign_snapshots (campaign, day, in_scope, registered) VALUES ($1, $2, $3, $4)
             ON CONFLICT (campaign, day) DO UPDATE SET in_scope = excluded.in_scope, registered = excluded.registered",
        )
        .bind(name)
        .bind(day)
        .bind(i64::try_from(snapshot.in_scope).unwrap_or(i64::MAX))
        .bind(i64::try_from(snapshot.registered).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn campaign_snapshots(&self, name: &str) -> StoreResult<Vec<Snapshot>> {
        let rows: Vec<(i64, i64, i64)> =
            sqlx::query_as("SELECT day, in_scope, registered FROM campaign_snapshots WHERE campaign = $1 ORDER BY day")
                .bind(name)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(day, in_scope, registered)| Snapshot {
                at: Timestamp(day),
                in_scope: u64::try_from(in_scope).unwrap_or(0),
                registered: u64::try_from(registered).unwrap_or(0),
            })
            .collect())
    }

    async fn create_exception(&self, e: &Exception, ctx: &AuditContext) -> StoreResult<()> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        sqlx::query(
            "INSERT INTO exceptions (id, user_id, reason, requested_by, requested_at, ends_at, decision)
             VALUES ($1, $2, $3, $4, $5, $6, 'requested')",
        )
        .bind(e.id.to_string())
        .bind(e.user_id.to_string())
        .bind(&e.reason)
        .bind(&e.requested_by)
        .bind(e.requested_at.millis())
        .bind(e.ends_at.millis())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?;
        let after = serde_json::json!({"user": e.username, "reason": e.reason, "ends_at": e.ends_at});
        tx.append(&Change::new(AuditAction::ExceptionRequest, Some(e.id.to_string())).states(None, Some(after)), ctx)
            .await?;
        tx.commit().await
    }

    async fn decide_exception(
        &self,
        id: Uuid,
        from: Decision,
        to: Decision,
        reason: Option<&str>,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        // Approving names the approver; ending (rejection, revocation, expiry) names who ended it
        // and why in their own columns, so the approver is never overwritten.
        let end_reason = (to != Decision::Approved).then(|| reason.unwrap_or(to.as_str()).to_owned());
        let sql = if to == Decision::Approved {
            "UPDATE exceptions SET decision = $1, approved_by = $2, approved_at = $3 WHERE id = $4 AND decision = $5"
        } else {
            "UPDATE exceptions SET decision = $1, ended_by = $2, ended_at = $3, end_reason = $6
             WHERE id = $4 AND decision = $5"
        };
        let mut query = sqlx::query(sql)
            .bind(to.as_str())
            .bind(&ctx.actor_name)
            .bind(ctx.at.millis())
            .bind(id.to_string())
            .bind(from.as_str());
        if let Some(end_reason) = &end_reason {
            query = query.bind(end_reason.clone());
        }
        let moved = query.execute(&mut *tx.tx).await.map_err(store_error)?.rows_affected();
        let action = match to {
            Decision::Approved => AuditAction::ExceptionApprove,
            Decision::Rejected => AuditAction::ExceptionReject,
            Decision::Expired => AuditAction::ExceptionExpire,
            Decision::Revoked | Decision::Requested => AuditAction::ExceptionRevoke,
        };
        let mut after = serde_json::json!({"decision": to.as_str()});
        if let Some(end_reason) = &end_reason {
            after["end_reason"] = serde_json::json!(end_reason);
        }
        let change = Change::new(action, Some(id.to_string()))
            .states(Some(serde_json::json!({"decision": from.as_str()})), Some(after));
        tx.commit_if_changed(moved, &change, ctx).await
    }

    async fn record_transitions(
        &self,
        campaign: &str,
        transitions: &[Transition],
        ctx: &AuditContext,
    ) -> StoreResult<Vec<Transition>> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let mut recorded = Vec::new();
        for t in transitions {
            let user = t.user_id.to_string();
            let moved = match t.from {
                Some(from) => {
                    sqlx::query(
                        "UPDATE campaign_states SET state = $1, phase = $2, since = $3
                     WHERE campaign = $4 AND user_id = $5 AND state = $6",
                    )
                    .bind(t.to.as_str())
                    .bind(&t.phase)
                    .bind(ctx.at.millis())
                    .bind(campaign)
                    .bind(&user)
                    .bind(from.as_str())
                    .execute(&mut *tx.tx)
                    .await
                }
                None => sqlx::query(
                    "INSERT INTO campaign_states (campaign, user_id, phase, state, since) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (campaign, user_id) DO NOTHING",
                )
                .bind(campaign)
                .bind(&user)
                .bind(&t.phase)
                .bind(t.to.as_str())
                .bind(ctx.at.millis())
                .execute(&mut *tx.tx)
                .await,
            }
            .map_err(store_error)?
            .rows_affected();
            if moved == 1 {
                recorded.push(t.clone());
            }
        }
        let changes: Vec<Change> = recorded
            .iter()
            .map(|t| {
                Change::new(AuditAction::ComplianceTransition, Some(t.user_id.to_string())).states(
                    t.from.map(|from| serde_json::json!({"campaign": campaign, "state": from.as_str()})),
                    Some(serde_json::json!({"campaign": campaign, "phase": t.phase, "user": t.username, "state": t.to.as_str()})),
                )
            })
            .collect();
        let with_ctx: Vec<(&Change, &AuditContext)> = changes.iter().map(|c| (c, ctx)).collect();
        tx.append_all(&with_ctx).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn compliance_states(&self, campaign: Option<&str>, user: Option<Uuid>) -> StoreResult<Vec<StoredState>> {
        // One plain condition per query, so each uses its index (the primary key, or the user's).
        let select = "SELECT campaign, user_id, phase, state, since FROM campaign_states";
        let query = match (campaign, user) {
            (Some(campaign), Some(user)) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{select} WHERE campaign = $1 AND user_id = $2")))
                    .bind(campaign.to_owned())
                    .bind(user.to_string())
            }
            (Some(campaign), None) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{select} WHERE campaign = $1 ORDER BY user_id")))
                    .bind(campaign.to_owned())
            }
            (None, Some(user)) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{select} WHERE user_id = $1 ORDER BY campaign")))
                    .bind(user.to_string())
            }
            (None, None) => sqlx::query_as(sqlx::AssertSqlSafe(format!("{select} ORDER BY campaign, user_id"))),
        };
        let rows: Vec<(String, String, String, String, i64)> =
            query.fetch_all(&self.pool).await.map_err(store_error)?;
        rows.into_iter()
            .map(|(campaign, user, phase, state, since)| {
                Ok(StoredState {
                    campaign,
                    user_id: Uuid::parse_str(&user).map_err(|_| StoreError::Other(format!("bad user id {user}")))?,
                    phase,
                    state: State::parse(&state).ok_or_else(|| StoreError::Other(format!("unknown state {state}")))?,
                    since: Timestamp(since),
                })
            })
            .collect()
    }

    async fn claim_reminder(&self, campaign: &str, user: Uuid, key: &str, now: Timestamp) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "INSERT INTO campaign_reminders (campaign, user_id, reminder, sent_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (campaign, user_id, reminder) DO NOTHING",
        )
        .bind(campaign)
        .bind(user.to_string())
        .bind(key)
        .bind(now.millis())
        .execute(&self.pool)
        .await
        .map_err(store_error)?
        .rows_affected();
        Ok(claimed == 1)
    }

    async fn ask_attestation(
        &self,
        id: Uuid,
        asked_before: Option<Timestamp>,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let asked = sqlx::query(
            "UPDATE exceptions SET attestation_asked_at = $1
             WHERE id = $2 AND decision = 'approved' AND COALESCE(attestation_asked_at, 0) = $3",
        )
        .bind(ctx.at.millis())
        .bind(id.to_string())
        .bind(asked_before.map_or(0, Timestamp::millis))
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        tx.commit_if_changed(asked, &Change::new(AuditAction::ExceptionAttestationRequest, Some(id.to_string())), ctx)
            .await
    }

    async fn attest_exception(&self, id: Uuid, ctx: &AuditContext) -> StoreResult<bool> {
        let mut tx = AuditedTx::begin(&self.pool).await?;
        let confirmed = sqlx::query(
            "UPDATE exceptions SET attested_at = $1, attested_by = $2
             WHERE id = $3 AND decision = 'approved' AND attestation_asked_at IS NOT NULL
               AND (attested_at IS NULL OR attested_at < attestation_asked_at)",
        )
        .bind(ctx.at.millis())
        .bind(&ctx.actor_name)
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        tx.commit_if_changed(confirmed, &Change::new(AuditAction::ExceptionAttest, Some(id.to_string())), ctx).await
    }

    async fn exceptions(&self) -> StoreResult<Vec<Exception>> {
        exceptions_of(&self.pool, None).await
    }

    async fn user_exceptions(&self, user_id: Uuid) -> StoreResult<Vec<Exception>> {
        exceptions_of(&self.pool, Some(user_id)).await
    }
}
