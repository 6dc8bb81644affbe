//! Twofold use cases: the one place the CLI and the HTTP layer go to change or read state.
//!
//! Each use case validates with the core's rules, calls the [`Store`] port once for an
//! atomic change (which carries its audit event), and returns domain values. No HTTP, no
//! terminal: callers map [`AppError`] to their own surface.

pub mod access;
pub mod audit;
pub mod csv_out;
pub mod demo;
pub mod factors;
pub mod forward_auth;
pub mod identity;
pub mod oidc;
pub mod refusal;
pub mod rollout;
pub mod signin;

use std::sync::Arc;

use tokio::sync::Semaphore;
use twofold_core::audit::{ActorKind, AuditContext};
use twofold_core::clock::Clock;
use twofold_core::identity::password::{HashMemory, HashParams, PasswordRejection};
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

/// The application: the store, the clock and the settings, shared by every surface.
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: AppSettings,
    /// Absent for admin verbs run where no master key file exists yet.
    keys: Option<SecretKeys>,
    /// The WebAuthn relying party (for the public URL); absent for admin verbs.
    webauthn: Option<Arc<webauthn_rs::prelude::Webauthn>>,
    /// Absent when no SMTP relay is configured: notifications are then only logged.
    mailer: Option<Arc<dyn twofold_core::mail::Mailer>>,
    /// Absent when no SMS webhook is configured: SMS codes cannot be sent.
    sms: Option<Arc<dyn twofold_core::factors::one_time_codes::SmsGateway>>,
    /// The OpenID Connect issuer (the public URL); absent for admin verbs.
    issuer: Option<String>,
    /// Which tiers must register attested hardware keys, and whose attestation counts.
    attestation: Option<factors::passkeys::AttestationRule>,
    /// The conditional-access policy in force as last read (when read, the policy); see `oidc::CACHE_MS`.
    policy_cache: std::sync::Mutex<Option<(Timestamp, Option<access::policies::VersionInForce>)>>,
    /// The longest a campaign exception may run, in days.
    exception_max_days: u32,
    /// Locates addresses for country rules and impossible travel; absent without a GeoIP database.
    geo: Option<Arc<dyn twofold_core::access::geo::Geolocator>>,
    /// Forward-auth rules (hosts and paths behind a reverse proxy).
    forward_auth: twofold_core::forward_auth::Policy,
    /// Where email and SMS codes are allowed.
    fallback_policy: twofold_core::factors::one_time_codes::FallbackPolicy,
    /// Bounds concurrent argon2id hashes (each holds ~19 MiB and a core).
    hashing: Semaphore,
    /// Token-signing keys read recently (when read, the keys); see `oidc::CACHE_MS`.
    signing_cache: std::sync::Mutex<Option<(Timestamp, Arc<Vec<twofold_core::oidc::SigningKey>>)>>,
    /// Opened private signing keys by `kid` (keys never change once made).
    private_keys: std::sync::Mutex<std::collections::HashMap<String, Arc<Vec<u8>>>>,
    /// OpenID Connect client records read recently (id → when read, record).
    client_cache: std::sync::Mutex<std::collections::HashMap<String, (Timestamp, twofold_core::oidc::Client)>>,
    /// API key records read recently (id → record, when read); see `api_keys::API_KEY_CACHE_MS`.
    api_key_cache:
        std::sync::Mutex<std::collections::HashMap<String, (twofold_core::identity::api_key::ApiKey, Timestamp)>>,
    /// Working memory for password verification, one per hashing permit, reused.
    hash_memory: std::sync::Mutex<Vec<twofold_core::identity::password::HashMemory>>,
    /// Failures allowed per calling client of the verify API before its calls are delayed,
    /// by caller name (`api_key:NAME`, `service:NAME`); others get the per-source default.
    verify_caller_limits: std::collections::HashMap<String, i64>,
}

impl App {
    /// Builds the application over a store and a clock.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: AppSettings, keys: Option<SecretKeys>) -> Self {
        let permits = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            store,
            clock,
            settings,
            keys,
            mailer: None,
            sms: None,
            attestation: None,
            issuer: None,
            fallback_policy: twofold_core::factors::one_time_codes::FallbackPolicy::default(),
            forward_auth: twofold_core::forward_auth::Policy::default(),
            geo: None,
            exception_max_days: twofold_core::rollout::exception::DEFAULT_MAX_DAYS,
            policy_cache: std::sync::Mutex::default(),
            webauthn: None,
            hashing: Semaphore::new(permits),
            hash_memory: std::sync::Mutex::default(),
            api_key_cache: std::sync::Mutex::default(),
            signing_cache: std::sync::Mutex::default(),
            private_keys: std::sync::Mutex::default(),
            client_cache: std::sync::Mutex::default(),
            verify_caller_limits: std::collections::HashMap::new(),
        }
    }

    /// Allows these calling clients of the verify API (by caller name, `api_key:NAME` or
    /// `service:NAME`) this many failures before their calls are delayed: a trusted gateway
    /// verifying for many people fails more often than one person's browser.
    #[must_use]
    pub fn with_verify_caller_limits(mut self, limits: std::collections::HashMap<String, i64>) -> Self {
        self.verify_caller_limits = limits;
        self
    }

    /// Accepts passkeys for the relying party at `public_url`.
    ///
    /// # Errors
    /// A public URL webauthn-rs cannot use.
    pub fn with_webauthn(mut self, public_url: &str) -> Result<Self, String> {
        self.webauthn = Some(Arc::new(factors::passkeys::relying_party(public_url)?));
        Ok(self)
    }

    /// Issues tokens as `public_url` (the OpenID Connect issuer).
    #[must_use]
    pub fn with_issuer(mut self, public_url: &str) -> Self {
        self.issuer = Some(public_url.trim_end_matches('/').to_owned());
        self
    }

    /// Sends notifications through `mailer`.
    #[must_use]
    pub fn with_mailer(mut self, mailer: Arc<dyn twofold_core::mail::Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Lets campaign exceptions run at most `days` days.
    #[must_use]
    pub const fn with_exception_max_days(mut self, days: u32) -> Self {
        self.exception_max_days = days;
        self
    }

    /// Locates sign-ins with `geo` (country rules, new countries, impossible travel).
    #[must_use]
    pub fn with_geolocator(mut self, geo: Arc<dyn twofold_core::access::geo::Geolocator>) -> Self {
        self.geo = Some(geo);
        self
    }

    /// Sends SMS codes through `gateway`.
    #[must_use]
    pub fn with_sms_gateway(mut self, gateway: Arc<dyn twofold_core::factors::one_time_codes::SmsGateway>) -> Self {
        self.sms = Some(gateway);
        self
    }

    /// Holds the tiers `policy` names to attested hardware keys from its trusted makers.
    ///
    /// # Errors
    /// A root that is not a PEM certificate, or a maker with no key models.
    pub fn with_attestation_policy(mut self, policy: &factors::passkeys::AttestationPolicy) -> Result<Self, String> {
        self.attestation = policy.build()?;
        Ok(self)
    }

    /// Allows email and SMS codes as `policy` says (both are off by default).
    #[must_use]
    pub fn with_fallback_policy(mut self, policy: twofold_core::factors::one_time_codes::FallbackPolicy) -> Self {
        self.fallback_policy = policy;
        self
    }

    /// Sends a notification in the background, after the change it reports has committed.
    /// Delivery is best-effort: a failure is logged, never undoes the change.
    pub(crate) fn notify(&self, email: Option<twofold_core::mail::Email>) {
        let Some(email) = email else { return };
        let Some(mailer) = self.mailer.clone() else {
            tracing::info!(subject = %email.subject, "notification not sent: no SMTP relay configured");
            return;
        };
        tokio::spawn(async move {
            match mailer.send(&email).await {
                Ok(()) => metrics::counter!("twofold_mail_sent_total", "outcome" => "sent").increment(1),
                Err(e) => {
                    metrics::counter!("twofold_mail_sent_total", "outcome" => "failed").increment(1);
                    tracing::warn!(subject = %email.subject, error = %e, "notification not delivered");
                }
            }
        });
    }

    /// The current time from the configured clock.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The settings.
    #[must_use]
    pub const fn settings(&self) -> &AppSettings {
        &self.settings
    }

    /// The audit context for `actor` acting now from `meta`.
    #[must_use]
    pub fn audit_context(&self, actor: &Actor, meta: &RequestMeta) -> AuditContext {
        AuditContext {
            actor_kind: actor.kind,
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            auth: actor.auth.clone(),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            device_id: meta.device_id.clone(),
            at: self.now(),
        }
    }

    /// Runs a password hash or check off the async threads, at most one per core, in
    /// pooled argon2 working memory so the server never allocates a fresh 19 MiB per hash.
    async fn with_hash_memory<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self.hashing.acquire().await.map_err(|e| AppError::Internal(e.to_string()))?;
        let mut memory = self.hash_memory.lock().map(|mut pool| pool.pop()).ok().flatten().unwrap_or_default();
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let result = work(&mut memory);
            (result, memory)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        if let Ok(mut pool) = self.hash_memory.lock() {
            pool.push(memory);
        }
        Ok(result)
    }

    /// Checks a password against a PHC hash.
    async fn verify_password(&self, password: String, phc: String) -> AppResult<bool> {
        self.with_hash_memory(move |memory| {
            twofold_core::identity::password::verify_password_in(&password, &phc, memory)
        })
        .await
    }

    /// Hashes a password with the configured parameters.
    async fn hash_password(&self, password: String) -> AppResult<String> {
        let params = self.settings.hash_params;
        self.with_hash_memory(move |memory| {
            twofold_core::identity::password::hash_password_in(&password, params, memory)
        })
        .await?
        .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// The secret keys, or a clear error where the master key is not available.
    fn keys(&self) -> AppResult<&SecretKeys> {
        self.keys.as_ref().ok_or_else(|| {
            AppError::Internal(
                "the master key is not available: start the server once, or pass --master-key-file".into(),
            )
        })
    }

    /// Succeeds when the database answers.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] otherwise.
    pub async fn ready(&self) -> AppResult<()> {
        self.store.ping().await.map_err(|e| AppError::Unavailable(e.to_string()))
    }
}
