//! The port implementation: each method delegates to the module that owns its table.

use async_trait::async_trait;
use twofold_core::Timestamp;
use twofold_core::audit::{AuditContext, AuditEvent, ChainHead, Change};
use twofold_core::factors::authenticator::Authenticator;
use twofold_core::identity::api_key::ApiKey;
use twofold_core::identity::{Group, User, UserPatch};
use twofold_core::signin::SignInEvent;
use twofold_core::signin::session::Session;
use twofold_core::store::{GroupSummary, Store, StoreError, StoreResult, UserFilter, UserRecord};
use uuid::Uuid;

use crate::{
    SqlStore, api_keys, audit, authenticators, campaigns, devices, groups, oidc, one_time_codes, policies, sessions,
    store_error, users,
};

#[async_trait]
impl Store for SqlStore {
    async fn create_one_time_code(
        &self,
        code: &twofold_core::factors::one_time_codes::OneTimeCode,
        destination: &str,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        one_time_codes::create(&self.pool, code, destination, ctx).await
    }
    async fn one_time_code_sends(
        &self,
        authenticator_id: Uuid,
        purpose: twofold_core::factors::one_time_codes::CodePurpose,
        since: Timestamp,
    ) -> StoreResult<Vec<Timestamp>> {
        one_time_codes::sends_since(&self.pool, authenticator_id, purpose, since).await
    }
    async fn claim_code_send(
        &self,
        user_id: Uuid,
        source: Option<&str>,
        kind: &str,
        now: Timestamp,
    ) -> StoreResult<Result<(), twofold_core::factors::one_time_codes::SendLimited>> {
        one_time_codes::claim_send(&self.pool, self.backend, user_id, source, kind, now).await
    }
    async fn redeem_one_time_code(
        &self,
        user_id: Uuid,
        purpose: twofold_core::factors::one_time_codes::CodePurpose,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Uuid>> {
        one_time_codes::redeem(&self.pool, user_id, purpose, code_hash, now).await
    }

    async fn create_client(&self, client: &twofold_core::oidc::Client, ctx: &AuditContext) -> StoreResult<()> {
        oidc::create_client(&self.pool, client, ctx).await
    }
    async fn client(&self, client_id: &str) -> StoreResult<Option<twofold_core::oidc::Client>> {
        oidc::client(&self.pool, client_id).await
    }
    async fn clients(&self) -> StoreResult<Vec<twofold_core::oidc::Client>> {
        oidc::clients(&self.pool).await
    }
    async fn signing_keys(&self) -> StoreResult<Vec<twofold_core::oidc::SigningKey>> {
        oidc::signing_keys(&self.pool).await
    }
    async fn add_signing_key(&self, key: &twofold_core::oidc::SigningKey, ctx: &AuditContext) -> StoreResult<()> {
        oidc::add_signing_key(&self.pool, key, ctx).await
    }
    async fn put_authorization_code(
        &self,
        code_hash: &str,
        grant: &twofold_core::oidc::Grant,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        oidc::put_code(&self.pool, code_hash, grant, now, expires_at).await
    }
    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Result<twofold_core::oidc::Grant, bool>> {
        oidc::redeem_code(&self.pool, code_hash, now).await
    }

    async fn put_refresh_token(&self, token: &twofold_core::oidc::RefreshToken) -> StoreResult<bool> {
        oidc::put_refresh(&self.pool, token).await
    }
    async fn use_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: Timestamp,
    ) -> StoreResult<Result<twofold_core::oidc::RefreshToken, twofold_core::oidc::RefreshRefusal>> {
        oidc::use_refresh(&self.pool, token_hash, client_id, now).await
    }
    async fn revoke_token_family(
        &self,
        family_id: &str,
        reason: &str,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<u64> {
        oidc::revoke_token_family(&self.pool, family_id, reason, now, ctx).await
    }
    async fn token_family_revoked(&self, family_id: &str) -> StoreResult<bool> {
        oidc::token_family_revoked(&self.pool, family_id).await
    }
    async fn live_refresh_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<twofold_core::oidc::RefreshToken>> {
        oidc::live_refresh(&self.pool, token_hash, now).await
    }
    async fn revoke_refresh_family(&self, token_hash: &str, client_id: &str, now: Timestamp) -> StoreResult<bool> {
        oidc::revoke_family(&self.pool, token_hash, client_id, now).await
    }
    async fn put_policy_version(
        &self,
        source: &str,
        note: Option<&str>,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<i64> {
        policies::put_version(&self.pool, source, note, now, ctx).await
    }
    async fn policy_versions(&self) -> StoreResult<Vec<twofold_core::access::PolicyVersion>> {
        policies::versions(&self.pool).await
    }
    async fn put_campaign(&self, name: &str, source: &str, now: Timestamp, ctx: &AuditContext) -> StoreResult<()> {
        campaigns::put(&self.pool, name, source, now, ctx).await
    }
    async fn set_campaign_status(
        &self,
        name: &str,
        status: twofold_core::rollout::CampaignStatus,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        campaigns::set_status(&self.pool, name, status, now, ctx).await
    }
    async fn campaigns(&self) -> StoreResult<Vec<twofold_core::rollout::StoredCampaign>> {
        campaigns::all(&self.pool).await
    }
    async fn put_campaign_snapshot(
        &self,
        name: &str,
        snapshot: &twofold_core::rollout::progress::Snapshot,
    ) -> StoreResult<()> {
        campaigns::put_snapshot(&self.pool, name, snapshot).await
    }
    async fn campaign_snapshots(&self, name: &str) -> StoreResult<Vec<twofold_core::rollout::progress::Snapshot>> {
        campaigns::snapshots(&self.pool, name).await
    }
    async fn create_exception(
        &self,
        exception: &twofold_core::rollout::exception::Exception,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        campaigns::create_exception(&self.pool, exception, ctx).await
    }
    async fn decide_exception(
        &self,
        id: Uuid,
        from: twofold_core::rollout::exception::Decision,
        to: twofold_core::rollout::exception::Decision,
        reason: Option<&str>,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        campaigns::decide_exception(&self.pool, id, from, to, reason, ctx).await
    }
    async fn exceptions(&self) -> StoreResult<Vec<twofold_core::rollout::exception::Exception>> {
        campaigns::exceptions(&self.pool, None).await
    }
    async fn ask_attestation(
        &self,
        id: Uuid,
        asked_before: Option<Timestamp>,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        campaigns::ask_attestation(&self.pool, id, asked_before, ctx).await
    }
    async fn attest_exception(&self, id: Uuid, ctx: &AuditContext) -> StoreResult<bool> {
        campaigns::attest(&self.pool, id, ctx).await
    }
    async fn user_exceptions(&self, user_id: Uuid) -> StoreResult<Vec<twofold_core::rollout::exception::Exception>> {
        campaigns::exceptions(&self.pool, Some(user_id)).await
    }
    async fn record_transitions(
        &self,
        campaign: &str,
        transitions: &[twofold_core::rollout::Transition],
        ctx: &AuditContext,
    ) -> StoreResult<Vec<twofold_core::rollout::Transition>> {
        campaigns::record_transitions(&self.pool, campaign, transitions, ctx).await
    }
    async fn compliance_states(
        &self,
        campaign: Option<&str>,
        user_id: Option<Uuid>,
    ) -> StoreResult<Vec<twofold_core::rollout::StoredState>> {
        campaigns::states(&self.pool, campaign, user_id).await
    }
    async fn claim_reminder(&self, campaign: &str, user_id: Uuid, key: &str, now: Timestamp) -> StoreResult<bool> {
        campaigns::claim_reminder(&self.pool, campaign, user_id, key, now).await
    }
    async fn note_client_used(&self, client_id: &str, now: Timestamp, unless_after: Timestamp) -> StoreResult<()> {
        oidc::note_client_used(&self.pool, client_id, now, unless_after).await
    }
    async fn consented_scopes(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<Vec<String>>> {
        oidc::consented_scopes(&self.pool, &user_id.to_string(), client_id).await
    }
    async fn grant_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &[String],
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        oidc::grant_consent(&self.pool, &user_id.to_string(), client_id, scopes, now, ctx).await
    }
    async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        oidc::use_client_assertion(&self.pool, client_id, jti, expires_at, now).await
    }
    async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()> {
        oidc::revoke_access(&self.pool, jti, expires_at).await
    }
    async fn access_token_revoked(&self, jti: &str) -> StoreResult<bool> {
        oidc::access_revoked(&self.pool, jti).await
    }

    async fn rotate_client_secret(
        &self,
        client_id: &str,
        new_hash: &str,
        previous_expires_at: Timestamp,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        oidc::rotate_secret(&self.pool, client_id, new_hash, previous_expires_at, now, ctx).await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(store_error)
    }

    async fn create_users(&self, records: &[UserRecord], ctx: &AuditContext) -> StoreResult<()> {
        users::create(&self.pool, records, ctx).await
    }
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        users::by_id(&self.pool, id).await
    }
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        users::by_username(&self.pool, username).await
    }
    async fn list_users(&self, filter: &UserFilter) -> StoreResult<Vec<User>> {
        users::list(&self.pool, filter).await
    }
    async fn update_user(&self, id: Uuid, patch: &UserPatch, ctx: &AuditContext) -> StoreResult<User> {
        users::update(&self.pool, id, patch, ctx).await
    }
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, Option<String>)>> {
        users::credentials(&self.pool, username).await
    }
    async fn set_password_hash(&self, user_id: Uuid, hash: &str, action: &str, ctx: &AuditContext) -> StoreResult<()> {
        users::set_password_hash(&self.pool, user_id, hash, action, ctx).await
    }

    async fn create_group(&self, group: &Group, ctx: &AuditContext) -> StoreResult<()> {
        groups::create(&self.pool, group, ctx).await
    }
    async fn list_groups(&self) -> StoreResult<Vec<GroupSummary>> {
        groups::list(&self.pool).await
    }
    async fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>> {
        groups::by_name(&self.pool, name).await
    }
    async fn add_group_member(&self, group: &Group, user: &User, ctx: &AuditContext) -> StoreResult<bool> {
        groups::add_member(&self.pool, group, user, ctx).await
    }
    async fn remove_group_member(&self, group: &Group, user: &User, ctx: &AuditContext) -> StoreResult<bool> {
        groups::remove_member(&self.pool, group, user, ctx).await
    }
    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<User>> {
        groups::members(&self.pool, group_id).await
    }
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

    async fn enrolment_counts(
        &self,
    ) -> StoreResult<Vec<(twofold_core::factors::authenticator::AuthenticatorKind, i64, i64)>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT kind, COUNT(*), COUNT(confirmed_at) FROM authenticators
             WHERE user_id IS NOT NULL AND serial IS NULL GROUP BY kind ORDER BY kind",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, started, finished)| {
                Some((twofold_core::factors::authenticator::AuthenticatorKind::parse(&kind)?, started, finished))
            })
            .collect())
    }

    async fn all_confirmed_methods(
        &self,
    ) -> StoreResult<Vec<(Uuid, twofold_core::factors::authenticator::AuthenticatorKind, bool)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT user_id, kind, attested FROM authenticators WHERE user_id IS NOT NULL AND confirmed_at IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(user, kind, attested)| {
                Some((
                    Uuid::parse_str(&user).ok()?,
                    twofold_core::factors::authenticator::AuthenticatorKind::parse(&kind)?,
                    attested != 0,
                ))
            })
            .collect())
    }

    async fn user_groups(&self, user_id: Uuid) -> StoreResult<Vec<String>> {
        groups::of_user(&self.pool, user_id).await
    }

    async fn start_session(&self, session: &Session, event: &SignInEvent, ctx: &AuditContext) -> StoreResult<()> {
        sessions::start(&self.pool, session, event, ctx).await
    }
    async fn start_pending_session(&self, session: &Session, ctx: &AuditContext) -> StoreResult<()> {
        sessions::start_pending(&self.pool, session, ctx).await
    }
    async fn complete_session(
        &self,
        pending_id_hash: &str,
        session: &Session,
        event: &SignInEvent,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        sessions::complete(&self.pool, pending_id_hash, session, event, ctx).await
    }
    async fn renew_session(
        &self,
        old_id_hash: &str,
        session: &Session,
        reason: &str,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        sessions::renew(&self.pool, old_id_hash, session, reason, ctx).await
    }
    async fn record_sign_in_attempt(&self, event: &SignInEvent, ctx: &AuditContext) -> StoreResult<()> {
        sessions::record_attempt(&self.pool, event, ctx).await
    }
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        sessions::get(&self.pool, id_hash).await
    }
    async fn touch_session(&self, id_hash: &str, now: Timestamp) -> StoreResult<()> {
        sessions::touch(&self.pool, id_hash, now).await
    }
    async fn revoke_session(&self, id_hash: &str, ctx: &AuditContext) -> StoreResult<bool> {
        sessions::revoke(&self.pool, id_hash, ctx).await
    }
    async fn revoke_user_sessions(&self, user_id: Uuid, ctx: &AuditContext) -> StoreResult<u64> {
        sessions::revoke_all(&self.pool, user_id, ctx).await
    }
    async fn user_sessions(&self, user_id: Uuid) -> StoreResult<Vec<Session>> {
        sessions::of_user(&self.pool, user_id).await
    }
    async fn sign_in_failures(
        &self,
        username: &str,
        ip: Option<&str>,
        since: Timestamp,
    ) -> StoreResult<(twofold_core::signin::throttle::Failures, twofold_core::signin::throttle::Failures)> {
        sessions::failures(&self.pool, username, ip, since).await
    }
    async fn claim_attempt(
        &self,
        username: &str,
        source: Option<&str>,
        limits: twofold_core::signin::throttle::Limits,
        now: Timestamp,
    ) -> StoreResult<twofold_core::signin::throttle::Claim> {
        sessions::claim_attempt(&self.pool, self.backend, username, source, limits, now).await
    }
    async fn release_attempt(&self, claim: Uuid) -> StoreResult<()> {
        sessions::release_attempt(&self.pool, claim).await
    }
    async fn sign_in_events_page(
        &self,
        since: Timestamp,
        after: Option<Uuid>,
        limit: i64,
    ) -> StoreResult<Vec<SignInEvent>> {
        sessions::sign_in_events_page(&self.pool, since, after, limit).await
    }

    async fn sign_in_history(
        &self,
        user_id: Uuid,
        device_id: Option<&str>,
        country: Option<&str>,
        last_success: bool,
    ) -> StoreResult<twofold_core::store::SignInHistory> {
        sessions::history(&self.pool, user_id, device_id, country, last_success).await
    }

    async fn create_api_key(&self, key: &ApiKey, ctx: &AuditContext) -> StoreResult<()> {
        api_keys::create(&self.pool, key, ctx).await
    }
    async fn api_key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        api_keys::get(&self.pool, id).await
    }
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        api_keys::list(&self.pool).await
    }
    async fn revoke_api_key(&self, id: &str, ctx: &AuditContext) -> StoreResult<bool> {
        api_keys::revoke(&self.pool, id, ctx).await
    }
    async fn touch_api_key(&self, id: &str, now: Timestamp) -> StoreResult<()> {
        api_keys::touch(&self.pool, id, now).await
    }

    async fn create_authenticator(&self, authenticator: &Authenticator, ctx: &AuditContext) -> StoreResult<()> {
        authenticators::create(&self.pool, authenticator, ctx).await
    }
    async fn authenticators(&self, user_id: Uuid) -> StoreResult<Vec<Authenticator>> {
        authenticators::of_user(&self.pool, user_id).await
    }
    async fn authenticator(&self, id: Uuid) -> StoreResult<Option<Authenticator>> {
        authenticators::get(&self.pool, id).await
    }
    async fn confirm_authenticator(&self, id: Uuid, step: i64, ctx: &AuditContext) -> StoreResult<bool> {
        authenticators::confirm(&self.pool, id, step, ctx).await
    }
    async fn confirm_first_authenticator(
        &self,
        id: Uuid,
        user_id: Uuid,
        step: i64,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        authenticators::confirm_first(&self.pool, self.backend, id, user_id, step, ctx).await
    }
    async fn use_otp_step(&self, id: Uuid, step: i64, drift_steps: i64, at: Timestamp) -> StoreResult<bool> {
        authenticators::use_step(&self.pool, id, step, drift_steps, at).await
    }
    async fn record_verification(
        &self,
        candidate: Option<(Uuid, i64, i64)>,
        success: &SignInEvent,
        failure: &SignInEvent,
        ctx: &AuditContext,
    ) -> StoreResult<bool> {
        self.verifications.record(candidate, success.clone(), failure.clone(), ctx.clone()).await
    }
    async fn rename_authenticator(&self, id: Uuid, name: &str, ctx: &AuditContext) -> StoreResult<()> {
        authenticators::rename(&self.pool, id, name, ctx).await
    }
    async fn remove_authenticator(&self, authenticator: &Authenticator, ctx: &AuditContext) -> StoreResult<bool> {
        authenticators::remove(&self.pool, authenticator, ctx).await
    }
    async fn import_tokens(&self, tokens: &[Authenticator], ctx: &AuditContext) -> StoreResult<()> {
        authenticators::import_tokens(&self.pool, tokens, ctx).await
    }
    async fn tokens(&self) -> StoreResult<Vec<Authenticator>> {
        authenticators::tokens(&self.pool).await
    }
    async fn assign_token(
        &self,
        serial: &str,
        user_id: Option<Uuid>,
        ctx: &AuditContext,
    ) -> StoreResult<Authenticator> {
        authenticators::assign_token(&self.pool, serial, user_id, ctx).await
    }
    async fn set_otp_position(
        &self,
        id: Uuid,
        last_used_step: i64,
        drift_steps: i64,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        authenticators::set_otp_position(&self.pool, id, last_used_step, drift_steps, ctx).await
    }
    async fn update_credential(&self, id: Uuid, credential: &str, at: Timestamp) -> StoreResult<()> {
        authenticators::update_credential(&self.pool, id, credential, at).await
    }
    async fn put_ceremony(
        &self,
        id: &str,
        session_hash: Option<&str>,
        purpose: &str,
        state: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        authenticators::put_ceremony(&self.pool, id, session_hash, purpose, state, now, expires_at).await
    }
    async fn take_ceremony(
        &self,
        id: &str,
        purpose: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(Option<String>, String)>> {
        authenticators::take_ceremony(&self.pool, id, purpose, now).await
    }
    async fn trust_device(
        &self,
        device: &twofold_core::signin::device_trust::TrustedDevice,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        devices::trust(&self.pool, device, ctx).await
    }
    async fn trusted_device(
        &self,
        device_id: &str,
        user_id: Uuid,
    ) -> StoreResult<Option<twofold_core::signin::device_trust::TrustedDevice>> {
        devices::get(&self.pool, device_id, user_id).await
    }
    async fn trusted_devices(
        &self,
        user_id: Uuid,
    ) -> StoreResult<Vec<twofold_core::signin::device_trust::TrustedDevice>> {
        devices::of_user(&self.pool, user_id).await
    }
    async fn forget_device(&self, device_id: &str, user_id: Uuid, ctx: &AuditContext) -> StoreResult<bool> {
        devices::forget(&self.pool, device_id, user_id, ctx).await
    }
    async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String], ctx: &AuditContext) -> StoreResult<()> {
        authenticators::replace_recovery_codes(&self.pool, user_id, hashes, ctx).await
    }
    async fn consume_recovery_code(&self, user_id: Uuid, hash: &str, ctx: &AuditContext) -> StoreResult<bool> {
        authenticators::consume_recovery_code(&self.pool, user_id, hash, ctx).await
    }
    async fn recovery_codes_left(&self, user_id: Uuid) -> StoreResult<i64> {
        authenticators::recovery_codes_left(&self.pool, user_id).await
    }

    async fn chain_audit(&self) -> StoreResult<u64> {
        crate::chain::chain_pending(&self.pool).await
    }
    async fn append_audit(&self, change: &Change, ctx: &AuditContext) -> StoreResult<()> {
        self.verifications.append(change.clone(), ctx.clone()).await
    }
    async fn audit_events(&self, after_seq: i64, since: Timestamp, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        audit::events(&self.pool, after_seq, since, limit).await
    }
    async fn audit_head(&self) -> StoreResult<ChainHead> {
        audit::head(&self.pool).await
    }
}
