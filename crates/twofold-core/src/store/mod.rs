//! The storage ports, one trait per capability, implemented by `twofold-store` for SQLite and
//! PostgreSQL. [`Store`] is all of them together: what the application holds as
//! `Arc<dyn Store>`.
//!
//! Rules every port keeps:
//! - Every method that changes state takes an [`AuditContext`](crate::audit::AuditContext)
//!   and records its audit event in the same transaction as the change: both are committed
//!   or neither is. The event's action is one of [`crate::audit::AuditAction`]; the store
//!   persists its name and invents none.
//! - A method documented as "once" or "compare-and-swap" decides under concurrency: of two
//!   callers racing on any number of nodes, exactly one wins, and the loser changes nothing.
//! - Methods that change no permission (last-seen times, measurements) are not audited, and
//!   say so.
//!
//! Events are linked into the hash chain in commit order by
//! [`AuditStore::chain_audit`], which takes the chain head's lock, so the chain never forks
//! while writers never wait for it; every read of the log chains what is pending first.

mod access;
mod approvals;
mod audit;
mod cases;
mod emergency;
mod factors;
mod identity;
mod oidc;
mod rollout;
mod signin;

use async_trait::async_trait;

pub use access::PolicyStore;
pub use approvals::{ApprovalStore, OutboxStore};
pub use audit::{AuditFilter, AuditStore};
pub use cases::{CaseFilter, CaseStore};
pub use emergency::EmergencyStore;
pub use factors::{AccessPassStore, FactorStore, OneTimeCodeStore};
pub use identity::{ApiKeyStore, DirectoryStore, GroupStore, GroupSummary, UserFilter, UserRecord, UserStore};
pub use oidc::{OidcClientStore, OidcTokenStore};
pub use rollout::RolloutStore;
pub use signin::{AttemptStore, DeviceStore, SignInHistory, SignInStore};

use crate::validation::ValidationErrors;

/// Storage failures, in the terms callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken (e.g. the username is taken).
    #[error("{0}")]
    Conflict(String),
    /// A rule of the core refused the change (checked inside the transaction).
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The database could not be reached or did not answer.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else from the database; the text is for logs, never for clients.
    #[error("database error: {0}")]
    Other(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Whether the database answers, for readiness checks (`/readyz`).
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> StoreResult<()>;
}

/// Lists the ports once: the `Store` trait is their sum, and every type that has them all is
/// a `Store`. A new capability's port is added to this list and nowhere else.
macro_rules! sum_of_ports {
    ($(#[$doc:meta])* $($port:ident),+ $(,)?) => {
        $(#[$doc])*
        pub trait Store: $($port +)+ {}
        impl<T> Store for T where T: $($port +)+ {}
    };
}

sum_of_ports!(
    /// Every storage port: what a backend implements and the application holds. Implemented for
    /// any type that implements all the ports, so a backend never names it; the ports' methods
    /// are callable on `dyn Store` directly.
    HealthCheck,
    UserStore,
    GroupStore,
    ApiKeyStore,
    DirectoryStore,
    FactorStore,
    OneTimeCodeStore,
    SignInStore,
    AttemptStore,
    DeviceStore,
    OidcClientStore,
    OidcTokenStore,
    PolicyStore,
    RolloutStore,
    CaseStore,
    AccessPassStore,
    EmergencyStore,
    ApprovalStore,
    OutboxStore,
    AuditStore,
);
