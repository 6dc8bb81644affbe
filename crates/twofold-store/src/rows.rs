//! Row to domain conversions. Lists (roles, amr, methods) are stored comma-separated.

use sqlx::Row;
use sqlx::any::AnyRow;
use twofold_core::Timestamp;
use twofold_core::audit::AuditEvent;
use twofold_core::identity::api_key::ApiKey;
use twofold_core::identity::{Group, Role, Tier, User, UserStatus};
use twofold_core::signin::session::{AuthContext, Session};
use twofold_core::signin::{FailureReason, SignInEvent, SignInOutcome};
use twofold_core::store::StoreError;
use uuid::Uuid;

use crate::store_error;

pub(crate) const USER_COLUMNS: &str = "u.id, u.username, u.email, u.display_name, u.phone, u.department, u.manager, u.status, u.tier, u.roles, u.created_at, u.updated_at";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Other(format!("stored {what} '{value}' is not valid"))
}

fn get<T>(row: &AnyRow, column: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(store_error)
}

fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, StoreError> {
    let text: String = get(row, column)?;
    Uuid::parse_str(&text).map_err(|_| corrupt(column, &text))
}

fn time(row: &AnyRow, column: &str) -> Result<Timestamp, StoreError> {
    get::<i64>(row, column).map(Timestamp)
}

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    get::<Option<i64>>(row, column).map(|t| t.map(Timestamp))
}

/// Joins a list for storage.
pub(crate) fn join<T: AsRef<str>>(items: &[T]) -> String {
    items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(",")
}

fn split(text: &str) -> Vec<String> {
    text.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

pub(crate) fn user(row: &AnyRow) -> Result<User, StoreError> {
    let status: String = get(row, "status")?;
    let tier: String = get(row, "tier")?;
    let roles: String = get(row, "roles")?;
    Ok(User {
        id: uuid(row, "id")?,
        username: get(row, "username")?,
        email: get(row, "email")?,
        display_name: get(row, "display_name")?,
        phone: get(row, "phone")?,
        department: get(row, "department")?,
        manager: get(row, "manager")?,
        status: UserStatus::parse(&status).map_err(|_| corrupt("status", &status))?,
        tier: Tier::parse(&tier).map_err(|_| corrupt("tier", &tier))?,
        roles: split(&roles)
            .iter()
            .map(|r| Role::parse(r).map_err(|_| corrupt("role", r)))
            .collect::<Result<_, _>>()?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(crate) fn group(row: &AnyRow) -> Result<Group, StoreError> {
    Ok(Group {
        id: uuid(row, "id")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) fn session(row: &AnyRow) -> Result<Session, StoreError> {
    let amr: String = get(row, "amr")?;
    Ok(Session {
        id_hash: get(row, "id_hash")?,
        user_id: uuid(row, "user_id")?,
        auth: AuthContext { amr: split(&amr), acr: get(row, "acr")?, auth_time: optional_time(row, "auth_time")? },
        created_at: time(row, "created_at")?,
        last_seen_at: time(row, "last_seen_at")?,
        absolute_expires_at: time(row, "absolute_expires_at")?,
        idle_timeout_secs: get(row, "idle_timeout_secs")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        revoked_at: optional_time(row, "revoked_at")?,
        mfa_pending: get::<i64>(row, "mfa_pending")? != 0,
    })
}

pub(crate) fn sign_in_event(row: &AnyRow) -> Result<SignInEvent, StoreError> {
    let outcome: String = get(row, "outcome")?;
    let reason: Option<String> = get(row, "reason")?;
    let user_id: Option<String> = get(row, "user_id")?;
    let methods: String = get(row, "methods")?;
    let ip: Option<String> = get(row, "ip")?;
    // The column holds the address too when nothing else throttled the attempt.
    let source = get::<Option<String>>(row, "source")?.filter(|source| Some(source) != ip.as_ref());
    Ok(SignInEvent {
        id: uuid(row, "id")?,
        at: time(row, "at")?,
        username: get(row, "username")?,
        user_id: user_id.map(|u| Uuid::parse_str(&u).map_err(|_| corrupt("user_id", &u))).transpose()?,
        outcome: if outcome == "success" { SignInOutcome::Success } else { SignInOutcome::Failure },
        reason: reason.and_then(|r| FailureReason::ALL.into_iter().find(|k| k.as_str() == r)),
        methods: split(&methods),
        ip,
        user_agent: get(row, "user_agent")?,
        source,
        context: sign_in_context(row)?,
    })
}

/// The conditional-access columns of a sign-in event; a value that no longer parses (a
/// word from a newer version) reads as unknown rather than failing the whole read.
fn sign_in_context(row: &AnyRow) -> Result<twofold_core::signin::SignInContext, StoreError> {
    let word = |column: &str| -> Result<Option<serde_json::Value>, StoreError> {
        Ok(get::<Option<String>>(row, column)?.map(serde_json::Value::String))
    };
    let policy: Option<String> = get(row, "policy")?;
    Ok(twofold_core::signin::SignInContext {
        app: get(row, "app")?,
        device: word("device")?.and_then(|v| serde_json::from_value(v).ok()),
        device_id: get(row, "device_id")?,
        country: get(row, "country")?,
        risk: word("risk")?.and_then(|v| serde_json::from_value(v).ok()),
        policy: policy.and_then(|p| serde_json::from_str(&p).ok()),
    })
}

pub(crate) fn api_key(row: &AnyRow) -> Result<ApiKey, StoreError> {
    let role: String = get(row, "role")?;
    Ok(ApiKey {
        id: get(row, "id")?,
        name: get(row, "name")?,
        role: Role::parse(&role).map_err(|_| corrupt("role", &role))?,
        secret_hash: get(row, "secret_hash")?,
        created_at: time(row, "created_at")?,
        expires_at: optional_time(row, "expires_at")?,
        last_used_at: optional_time(row, "last_used_at")?,
        revoked_at: optional_time(row, "revoked_at")?,
    })
}

pub(crate) fn audit_event(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        seq: get(row, "seq")?,
        id: uuid(row, "id")?,
        at: time(row, "at")?,
        actor_kind: get(row, "actor_kind")?,
        actor_id: get(row, "actor_id")?,
        actor_name: get(row, "actor_name")?,
        actor_auth: get(row, "actor_auth")?,
        action: get(row, "action")?,
        target_type: get(row, "target_type")?,
        target_id: get(row, "target_id")?,
        before: get(row, "before_state")?,
        after: get(row, "after_state")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        device_id: get(row, "device_id")?,
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}
