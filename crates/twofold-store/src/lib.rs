//! Twofold storage: the storage ports of [`twofold_core::store`] over SQLite (embedded, WAL)
//! and PostgreSQL, through sqlx's `Any` driver with `$n` placeholders and portable SQL.
//!
//! The backend is chosen once, from the database URL. Each backend has its own versioned
//! migrations under `migrations/<backend>/`. Depends on `twofold-core` only.
//!
//! [`SqlStore`] implements every port directly, each in the module that owns its tables,
//! grouped by capability as the core is:
//! - `identity/`: users and passwords (`users.rs`, `UserStore`), groups (`groups.rs`,
//!   `GroupStore`), admin API keys (`api_keys.rs`, `ApiKeyStore`), whole-directory reads
//!   (`directory.rs`, `DirectoryStore`);
//! - `factors/`: authenticators, hardware tokens, WebAuthn ceremonies and recovery codes
//!   (`authenticators.rs`, `FactorStore`), email/SMS codes (`one_time_codes.rs`,
//!   `OneTimeCodeStore`), temporary access passes (`access_passes.rs`, `AccessPassStore`);
//! - `signin/`: sessions and sign-in events (`sessions.rs`, `SignInStore`), throttling's
//!   failure counts and attempt claims (`attempts.rs`, `AttemptStore`), trusted devices
//!   (`devices.rs`, `DeviceStore`);
//! - `oidc/`: clients, consents and client assertions (`clients.rs`, `OidcClientStore`);
//!   signing keys, codes, refresh tokens and revocations (`tokens.rs`, `OidcTokenStore`);
//! - `access/`: policy versions (`policies.rs`, `PolicyStore`);
//! - `rollout/`: campaigns, snapshots, exceptions, compliance states, reminders
//!   (`campaigns.rs`, `RolloutStore`);
//! - `cases/`: help-desk support cases (`cases.rs`, `CaseStore`);
//! - `emergency/`: emergency accesses (`accesses.rs`) and review tasks (`reviews.rs`),
//!   together `EmergencyStore`;
//! - `approvals/`: approval requests (`requests.rs`, `ApprovalStore`, its rules versions kept
//!   by `access/versions.rs`) and the outbox (`outbox.rs`, `OutboxStore`);
//! - `audit/`: reading and appending the log (`events.rs`, `AuditStore`) and the chainer
//!   (`chain.rs`).
//!
//! Infrastructure shared by all: `tx.rs` (the audited transaction: a change and its audit
//! events commit together; `serialised`, for checks that must hold per person or per source
//! across nodes), `group_commit.rs` (code verifications and stand-alone events share
//! commits), `rows.rs` (row conversions), `migrate.rs`, `sqlite_file.rs`; the readiness
//! check (`HealthCheck`) is here.

mod access;
mod approvals;
mod audit;
mod cases;
mod emergency;
mod factors;
mod group_commit;
mod identity;
mod migrate;
mod oidc;
mod rollout;
mod rows;
mod signin;
mod sqlite_file;
mod tx;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use twofold_core::store::{HealthCheck, StoreError, StoreResult};

pub use migrate::{MigrationReport, Migrator};
pub use sqlite_file::{sqlite_files, sqlite_path};

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a URL names.
    ///
    /// # Errors
    /// A message when the scheme is neither `sqlite:` nor `postgres(ql):`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Unavailable(format!(
                "unsupported database URL scheme in '{}': use sqlite://PATH or postgres://...",
                redact_url(url)
            )))
        }
    }

    /// The name used in logs and migration folders.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The URL with any password replaced by `***`, for logs and errors.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The sqlx implementation of the store.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// The writers that batch code verifications and stand-alone audit events into shared
    /// commits.
    verifications: group_commit::GroupCommit,
}

impl SqlStore {
    /// Connects to `url` (`sqlite://FILE` creates the file, mode 0600; `postgres://...`).
    /// Does not migrate.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] with the reason when the database cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let file = if backend == Backend::Sqlite { sqlite_path(url) } else { None };
        if let Some(file) = &file {
            sqlite_file::create_private(file)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", file.display())))?;
        }
        let (url, max_connections) = match backend {
            Backend::Sqlite if url.contains('?') => (url.to_owned(), 8),
            Backend::Sqlite => (format!("{url}?mode=rwc"), 8),
            Backend::Postgres => (url.to_owned(), 16),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each use: it doubled the round trips of every query. A broken
            // connection still fails its query, which surfaces as "database unavailable".
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes each commit durable
                        // before it is acknowledged; the busy timeout queues writers.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 15000").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {}", redact_url(&url), describe(&e))))?;
        if let Some(file) = &file
            && let Err(e) = sqlite_file::restrict_companions(file)
        {
            tracing::warn!(database = %file.display(), error = %e, "cannot make the -wal and -shm files private");
        }
        // SQLite has one writer whatever we do; PostgreSQL commits batches side by side.
        let writers = if backend == Backend::Sqlite { 1 } else { 4 };
        let verifications = group_commit::GroupCommit::start(pool.clone(), writers);
        Ok(Self { pool, backend, verifications })
    }

    /// Connects and applies pending migrations.
    ///
    /// # Errors
    /// As [`SqlStore::connect`] and [`Migrator::run`].
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        store.migrator().run().await?;
        Ok(store)
    }

    /// Opens a Twofold database that exists already and applies pending migrations; `None`
    /// when there is none at `url` yet (no SQLite file, or a database without Twofold's
    /// schema), so that an admin verb given a mistyped data directory or URL says so instead
    /// of quietly making a new, empty database. Only `serve` and `migrate` create one.
    ///
    /// # Errors
    /// As [`SqlStore::open`].
    pub async fn open_existing(url: &str) -> Result<Option<Self>, StoreError> {
        if Backend::from_url(url)? == Backend::Sqlite && sqlite_path(url).is_some_and(|file| !file.exists()) {
            return Ok(None);
        }
        let store = Self::connect(url).await?;
        if !store.migrator().has_schema().await? {
            store.close().await;
            return Ok(None);
        }
        store.migrator().run().await?;
        Ok(Some(store))
    }

    /// The backend in use.
    #[must_use]
    pub const fn backend(&self) -> Backend {
        self.backend
    }

    /// The migration runner for this database.
    #[must_use]
    pub fn migrator(&self) -> Migrator<'_> {
        Migrator::new(&self.pool, self.backend)
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The raw pool, for tests that inspect or tamper with stored rows.
    #[doc(hidden)]
    #[must_use]
    pub const fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

#[async_trait]
impl HealthCheck for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(store_error)
    }
}

/// A database error in words, without the parameters that may carry secrets.
fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection".into(),
        sqlx::Error::PoolClosed => "the connection pool is closed".into(),
        other => other.to_string(),
    }
}

/// Maps a sqlx error to the port's terms.
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Conflict(format!("refers to something that does not exist: {}", db.message()))
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(describe(&error))
        }
        sqlx::Error::Database(db) if cannot_serve_now(db.as_ref()) => StoreError::Unavailable(describe(&error)),
        _ => StoreError::Other(describe(&error)),
    }
}

/// Whether a database error says the database cannot serve now rather than that the
/// statement is wrong, by the backend's own codes.
fn cannot_serve_now(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code();
    let code = code.as_deref().unwrap_or_default();
    if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
        postgres_cannot_serve(code)
    } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        sqlite_cannot_serve(code)
    } else {
        false
    }
}

/// PostgreSQL's SQLSTATEs for "not now": connection exceptions (class 08), shutdowns and
/// "cannot connect now" (57P01–57P03), too many connections (53300).
fn postgres_cannot_serve(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || ["57P01", "57P02", "57P03", "53300"].contains(&sqlstate)
}

/// SQLite's result codes for "not now": busy, locked, I/O error and cannot open (5, 6, 10,
/// 14), also as extended codes (the primary code in the low byte).
fn sqlite_cannot_serve(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|extended| matches!(extended & 0xff, 5 | 6 | 10 | 14))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[test]
    fn a_database_that_cannot_serve_now_is_unavailable_not_an_error_of_ours() {
        for sqlstate in ["08006", "08001", "57P01", "57P03", "53300"] {
            assert!(postgres_cannot_serve(sqlstate), "{sqlstate}");
        }
        // A NUL byte in input (22021) or a missing privilege (42501) is no outage.
        for sqlstate in ["23505", "42P01", "22021", "22022", "42501"] {
            assert!(!postgres_cannot_serve(sqlstate), "{sqlstate}");
        }
        for code in ["5", "517", "6", "14", "10", "266"] {
            assert!(sqlite_cannot_serve(code), "{code}");
        }
        for code in ["19", "2067", "1", "787"] {
            assert!(!sqlite_cannot_serve(code), "{code}");
        }
    }

    /// Through the Any driver the backend's own error type arrives, so its codes are read by
    /// the right rules; a connection PostgreSQL terminates is "unavailable".
    #[tokio::test]
    async fn the_drivers_errors_are_told_apart_through_the_any_driver() {
        let backend_error = |error: sqlx::Error| match error {
            sqlx::Error::Database(db) => db,
            other => panic!("not a database error: {other}"),
        };
        let sqlite = SqlStore::open("sqlite::memory:").await.unwrap();
        let missing = sqlx::query("SELECT 1 FROM no_such_table").execute(sqlite.pool()).await.unwrap_err();
        assert!(backend_error(missing).try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some());
        let Some(server) = twofold_testkit::postgres_url() else {
            eprintln!("PostgreSQL half skipped: TWOFOLD_TEST_DATABASE_URL is not set");
            return;
        };
        let db = twofold_testkit::postgres(&server).await;
        let postgres = SqlStore::open(&db.url).await.unwrap();
        let missing = sqlx::query("SELECT 1 FROM no_such_table").execute(postgres.pool()).await.unwrap_err();
        let missing = backend_error(missing);
        assert!(missing.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some());
        assert_eq!(missing.code().as_deref(), Some("42P01"));
        assert!(!cannot_serve_now(missing.as_ref()), "a missing table is no outage");
        let terminated =
            sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())").execute(postgres.pool()).await.unwrap_err();
        assert!(matches!(store_error(terminated), StoreError::Unavailable(_)), "57P01 is an outage");
    }

    #[test]
    fn the_backend_follows_the_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgresql://h/db").unwrap(), Backend::Postgres);
        assert!(Backend::from_url("mysql://h/db").is_err());
    }
}
