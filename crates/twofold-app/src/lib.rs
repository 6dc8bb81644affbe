//! Twofold use cases: the one place the CLI and the HTTP layer go to change or read state.
//!
//! Each use case validates with the core's rules, calls the [`Store`] port once for an
//! atomic change (which carries its audit event), and returns domain values. No HTTP, no
//! terminal: callers map [`AppError`] to their own surface.

pub mod access;
pub mod approvals;
pub mod audit;
mod builder;
pub mod cases;
pub mod csv_out;
pub mod demo;
pub mod emergency;
pub mod factors;
pub mod forward_auth;
pub mod gaps;
pub mod identity;
pub mod oidc;
pub mod progress;
pub mod refusal;
pub mod rollout;
pub mod signin;

pub use builder::AppBuilder;

use std::sync::Arc;

use twofold_core::audit::{ActorKind, AuditContext};
use twofold_core::clock::Clock;
use twofold_core::identity::password::{HashParams, PasswordRejection};
use twofold_core::signin::session::{AuthContext, SessionPolicy};
use twofold_core::store::{Store, StoreError};
use twofold_core::{Timestamp, ValidationErrors};

pub use refusal::Refusal;

/// Errors of the use cases, in terms every surface can present.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input was malformed; every problem is listed.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    /// The new password breaks a rule.
    #[error("password {0}")]
    Password(#[from] PasswordRejection),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change conflicts with existing state: a uniqueness conflict the store reports, or
    /// an enrolment that waited too long. The text may be the database's own: surfaces that
    /// show people pages do not repeat it.
    #[error("{0}")]
    Conflict(String),
    /// Credentials were missing or wrong. Deliberately says no more.
    #[error("authentication failed")]
    Unauthenticated,
    /// Too many recent failed attempts; try again after this many seconds.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: i64,
    },
    /// The action needs a second factor proved within the last few minutes.
    #[error("confirm it's you with your second factor first")]
    StepUpRequired,
    /// Understood and authenticated, but the rules or the present state refuse it; each
    /// surface words the [`Refusal`] for its readers.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// The database is unreachable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A fault that is ours; detail for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::Invalid(errors) => Self::Invalid(errors),
            StoreError::Unavailable(message) => Self::Unavailable(message),
            StoreError::Other(message) => Self::Internal(message),
        }
    }
}

/// Shorthand for use-case results.
pub type AppResult<T> = Result<T, AppError>;

/// Settings the use cases need.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppSettings {
    /// argon2id cost.
    pub hash_params: HashParams,
    /// Session lifetimes.
    pub session_policy: SessionPolicy,
}

/// Where a request came from; recorded on audit and sign-in events.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// Client address.
    pub ip: Option<String>,
    /// User agent, truncated to 512 characters.
    pub user_agent: Option<String>,
    /// Device identifier, when known.
    pub device_id: Option<String>,
    /// The app a sign-in is for (where it returns to): an OpenID Connect `client_id`, a
    /// forward-auth `host/path`, or `twofold` for Twofold's own pages.
    pub app: Option<String>,
    /// What attempts are throttled by besides the username, when not the address: the
    /// calling client of the verify API (`client:NAME`), so one gateway's address does not
    /// lock out everyone behind it.
    pub throttle_source: Option<String>,
}

/// Who is acting: built by the surface after authenticating the caller.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Kind of actor.
    pub kind: ActorKind,
    /// Identifier.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// How they authenticated.
    pub auth: AuthContext,
}

impl Actor {
    /// The admin CLI, run by the operating-system user `os_user`.
    #[must_use]
    pub fn cli(os_user: &str) -> Self {
        Self {
            kind: ActorKind::Cli,
            id: Some(os_user.to_owned()),
            name: format!("cli:{os_user}"),
            auth: AuthContext { amr: vec!["local".into()], acr: "local".into(), auth_time: None },
        }
    }

    /// Twofold itself.
    #[must_use]
    pub fn system(name: &str) -> Self {
        Self { kind: ActorKind::System, id: None, name: name.to_owned(), auth: AuthContext::default() }
    }
}

/// Keys derived from the master key for secrets at rest.
#[derive(Clone)]
pub struct SecretKeys {
    /// Seals OTP seeds (AES-256-GCM).
    pub seal: [u8; 32],
    /// Keys the recovery-code hashes (HMAC-SHA-256).
    pub recovery: [u8; 32],
}

/// What every capability service shares: the store, the clock, the settings and the mailer.
/// Services reach it through `Deref`, so `self.store` and `self.now()` read the same in each;
/// nothing of it is reachable outside this crate.
pub struct Shared {
    pub(crate) store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    pub(crate) settings: AppSettings,
    /// Absent when no SMTP relay is configured: notifications are then only logged.
    mailer: Option<Arc<dyn twofold_core::mail::Mailer>>,
    /// Where security alerts go (`[emergency] security_team`): help-desk detection,
    /// emergency access, break-glass, risky use after a help-desk change.
    security_team: Option<String>,
    /// Notifications still on their way, so a short-lived process (an admin verb) can wait
    /// for them before it exits.
    sending: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Shared {
    /// Sends a notification in the background, after the change it reports has committed.
    /// Delivery is best-effort: a failure is logged, never undoes the change.
    pub(crate) fn notify(&self, email: Option<twofold_core::mail::Email>) {
        let Some(email) = email else { return };
        let Some(mailer) = self.mailer.clone() else {
            tracing::info!(subject = %email.subject, "notification not sent: no SMTP relay configured");
            return;
        };
        let task = tokio::spawn(async move {
            match mailer.send(&email).await {
                Ok(()) => metrics::counter!("twofold_mail_sent_total", "outcome" => "sent").increment(1),
                Err(e) => {
                    metrics::counter!("twofold_mail_sent_total", "outcome" => "failed").increment(1);
                    tracing::warn!(subject = %email.subject, error = %e, "notification not delivered");
                }
            }
        });
        if let Ok(mut sending) = self.sending.lock() {
            sending.retain(|t| !t.is_finished());
            sending.push(task);
        }
    }

    /// Mails an alert to the security team (in the background, as every notification);
    /// without an address it is only logged.
    pub(crate) fn alert(&self, subject: &str, body: String) {
        match self.security_team.as_deref() {
            Some(to) => self.notify(Some(twofold_core::mail::Email {
                to: to.to_owned(),
                cc: Vec::new(),
                subject: subject.to_owned(),
                body,
            })),
            None => tracing::warn!(%subject, "security alert not mailed: no [emergency] security_team"),
        }
    }

    /// Waits (up to `within`) for the notifications still on their way.
    async fn settle(&self, within: std::time::Duration) {
        let tasks: Vec<_> = self.sending.lock().map(|mut s| s.drain(..).collect()).unwrap_or_default();
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!("notifications still unsent when the command ended");
        }
    }

    /// The current time from the configured clock.
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The audit context for `actor` acting now from `meta`.
    pub(crate) fn audit_context(&self, actor: &Actor, meta: &RequestMeta) -> AuditContext {
        AuditContext {
            actor_kind: actor.kind,
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            auth: actor.auth.clone(),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            device_id: meta.device_id.clone(),
            at: self.now(),
            case: None,
        }
    }
}

/// Lets a capability service read the shared parts as its own (`self.store`, `self.now()`).
macro_rules! reads_shared {
    ($($service:ty),* $(,)?) => {$(
        impl std::ops::Deref for $service {
            type Target = crate::Shared;
            fn deref(&self) -> &crate::Shared {
                &self.shared
            }
        }
    )*};
}
pub(crate) use reads_shared;

/// The secret keys, or a clear error where the master key is not available (admin verbs
/// run before the server ever made one; the server itself refuses to start without them).
pub(crate) fn require_keys(keys: Option<&SecretKeys>) -> AppResult<&SecretKeys> {
    keys.ok_or_else(|| {
        AppError::Internal("the master key is not available: start the server once, or pass --master-key-file".into())
    })
}

/// The application: a composition of capability services, built once by [`AppBuilder`]. Each
/// service holds exactly what it needs and reaches another only through that one's methods.
pub struct App {
    shared: Arc<Shared>,
    identity: Arc<identity::Identities>,
    factors: Arc<factors::Factors>,
    rollout: Arc<rollout::Rollout>,
    access: Arc<access::ConditionalAccess>,
    oidc: Arc<oidc::Provider>,
    forward_auth: Arc<forward_auth::ForwardAuth>,
    signin: Arc<signin::SignIn>,
    attempts: Arc<signin::Attempts>,
    cases: Arc<cases::Cases>,
    emergency: Arc<emergency::Emergency>,
    approvals: Arc<approvals::Approvals>,
}

impl App {
    /// Starts building the application over a store and a clock.
    #[must_use]
    pub fn builder(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: AppSettings,
        keys: Option<SecretKeys>,
    ) -> AppBuilder {
        AppBuilder::new(store, clock, settings, keys)
    }

    /// People, groups, import, the whole directory, API keys.
    #[must_use]
    pub fn identity(&self) -> &identity::Identities {
        &self.identity
    }

    /// Authenticators: what a person has, adding and changing methods, passkeys, hardware
    /// tokens, email and SMS codes, the verify API.
    #[must_use]
    pub fn factors(&self) -> &factors::Factors {
        &self.factors
    }

    /// Rollout campaigns, their jobs, exceptions and coverage.
    #[must_use]
    pub fn rollout(&self) -> &rollout::Rollout {
        &self.rollout
    }

    /// Conditional access: policy versions, what-if, simulation and the report.
    #[must_use]
    pub fn access(&self) -> &access::ConditionalAccess {
        &self.access
    }

    /// The OpenID Connect provider and its service accounts.
    #[must_use]
    pub fn oidc(&self) -> &oidc::Provider {
        &self.oidc
    }

    /// Forward-auth for reverse proxies.
    #[must_use]
    pub fn forward_auth(&self) -> &forward_auth::ForwardAuth {
        &self.forward_auth
    }

    /// Help-desk support cases: verification, temporary access passes, device replacement,
    /// resets, metrics.
    #[must_use]
    pub fn cases(&self) -> &cases::Cases {
        &self.cases
    }

    /// Emergency access, review tasks, break-glass control tests.
    #[must_use]
    pub fn emergency(&self) -> &emergency::Emergency {
        &self.emergency
    }

    /// Maker–checker approvals: rules, requests apps raise, approvers' decisions, receipts
    /// and their delivery.
    #[must_use]
    pub fn approvals(&self) -> &approvals::Approvals {
        &self.approvals
    }

    /// Sign-in (every way in) and sessions.
    #[must_use]
    pub fn signin(&self) -> &signin::SignIn {
        &self.signin
    }

    /// The record of sign-in attempts.
    #[must_use]
    pub fn attempts(&self) -> &signin::Attempts {
        &self.attempts
    }

    /// The current time from the configured clock.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.shared.now()
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &AppSettings {
        &self.shared.settings
    }

    /// The audit context for `actor` acting now from `meta`.
    #[must_use]
    pub fn audit_context(&self, actor: &Actor, meta: &RequestMeta) -> AuditContext {
        self.shared.audit_context(actor, meta)
    }

    /// Waits up to ten seconds for notifications still being sent: an admin verb calls it
    /// before its process exits, so the mail its change caused is not lost with it.
    pub async fn settle_notifications(&self) {
        self.shared.settle(std::time::Duration::from_secs(10)).await;
    }

    /// Succeeds when the database answers.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] otherwise.
    pub async fn ready(&self) -> AppResult<()> {
        self.shared.store.ping().await.map_err(|e| AppError::Unavailable(e.to_string()))
    }
}
