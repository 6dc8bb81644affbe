//! Twofold storage: the [`twofold_core::store::Store`] port over SQLite (embedded, WAL)
//! and PostgreSQL, through sqlx's `Any` driver with `$n` placeholders and portable SQL.
//!
//! The backend is chosen once, from the database URL. Each backend has its own versioned
//! migrations under `migrations/<backend>/`. Depends on `twofold-core` only.

mod api_keys;
mod audit;
mod authenticators;
mod campaigns;
mod chain;
mod devices;
mod group_commit;
mod groups;
mod migrate;
mod oidc;
mod one_time_codes;
mod policies;
mod rows;
mod sessions;
mod sqlite_file;
mod store_impl;
mod tx;
mod users;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use twofold_core::store::StoreError;

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
        _ => StoreError::Other(describe(&error)),
    }
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
    fn the_backend_follows_the_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgresql://h/db").unwrap(), Backend::Postgres);
        assert!(Backend::from_url("mysql://h/db").is_err());
    }
}
