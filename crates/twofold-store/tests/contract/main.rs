//! The store contract: the same behaviour on every backend. Each test runs once per
//! database from `twofold_testkit::databases()` (SQLite, and PostgreSQL when configured).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod approvals;
mod audit;
mod cases;
mod emergency;
mod factors;
mod identity;
mod oidc;
mod rollout;
mod signin;

use std::sync::Arc;

use twofold_core::Timestamp;
use twofold_core::audit::{AuditAction, AuditContext, ChainHead, ChainVerifier, Change};
use twofold_core::identity::api_key::ApiKey;
use twofold_core::identity::{NewUser, Role, User, UserPatch, UserStatus, new_group};
use twofold_core::signin::session::{AuthContext, Session, SessionPolicy, SessionState};
use twofold_core::signin::{PolicyRecord, RuleRecord, SignInContext, SignInEvent, SignInOutcome};
use twofold_core::store::{
    ApiKeyStore, AttemptStore, AuditStore, FactorStore, GroupStore, HealthCheck, OidcClientStore, OidcTokenStore,
    OneTimeCodeStore, RolloutStore, SignInStore, StoreError, UserFilter, UserRecord, UserStore,
};
use twofold_store::SqlStore;
use uuid::Uuid;

pub(crate) fn ctx(at: i64) -> AuditContext {
    AuditContext::system("contract-test", Timestamp(at))
}

pub(crate) fn user(name: &str) -> User {
    NewUser { username: name.into(), email: Some(format!("{name}@example.com")), ..NewUser::default() }
        .validate(Uuid::now_v7(), Timestamp(1_000))
        .unwrap()
}

pub(crate) fn record(name: &str) -> UserRecord {
    UserRecord { user: user(name), password_hash: Some("$argon2id$fake".into()), groups: vec![] }
}

pub(crate) fn success(user: &User, at: i64) -> SignInEvent {
    SignInEvent {
        id: Uuid::now_v7(),
        at: Timestamp(at),
        username: user.username.clone(),
        user_id: Some(user.id),
        outcome: SignInOutcome::Success,
        reason: None,
        methods: vec!["pwd".into()],
        ip: None,
        user_agent: None,
        source: None,
        context: SignInContext::default(),
    }
}

pub(crate) async fn stores() -> Vec<(&'static str, SqlStore)> {
    let mut out = Vec::new();
    for db in twofold_testkit::databases().await {
        out.push((db.backend, SqlStore::open(&db.url).await.unwrap_or_else(|e| panic!("{}: {e}", db.backend))));
    }
    out
}

/// Reads the whole log and checks it against the head, as `twofold audit verify` does.
pub(crate) async fn verify_chain(store: &SqlStore) -> Result<ChainHead, String> {
    let mut verifier = ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = store.audit_events(after, Timestamp(0), 500).await.map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            verifier.push(event).map_err(|e| e.to_string())?;
        }
    }
    verifier.finish(&store.audit_head().await.map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

pub(crate) fn oidc_client(client_id: &str) -> twofold_core::oidc::Client {
    twofold_core::oidc::Client {
        client_id: client_id.into(),
        name: client_id.into(),
        secret_hash: Some("h".into()),
        redirect_uris: vec!["https://app.example.com/cb".into()],
        scopes: vec!["openid".into()],
        public: false,
        service: false,
        token_lifetime_secs: None,
        min_acr: None,
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        consent_required: false,
        jwks: None,
        id_token_alg: None,
        tls_cert_thumbprint: None,
        resources: Vec::new(),
        token_endpoint_auth_method: Some("client_secret_post".into()),
        may_introspect: true,
        last_used_at: None,
        secret_set_at: None,
        created_at: Timestamp(1),
    }
}
