//! Versioned migrations, embedded in the binary, one folder per backend.
//!
//! Applied in order inside a transaction each and recorded with a checksum in
//! `schema_migrations`. On PostgreSQL an advisory lock makes nodes that start together
//! migrate one at a time. An applied migration whose text changed, or a database newer
//! than this binary, is refused with a clear message.

use sqlx::{AnyPool, Row};
use twofold_core::secret::sha256_hex;
use twofold_core::store::StoreError;

use crate::{Backend, store_error};

/// One migration: version, name and SQL.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/sqlite/0001_init.sql") },
    Migration {
        version: 2,
        name: "sign_in_throttle_indexes",
        sql: include_str!("../migrations/sqlite/0002_sign_in_throttle_indexes.sql"),
    },
    Migration { version: 3, name: "authenticators", sql: include_str!("../migrations/sqlite/0003_authenticators.sql") },
    Migration { version: 4, name: "audit_pending", sql: include_str!("../migrations/sqlite/0004_audit_pending.sql") },
    Migration {
        version: 5,
        name: "one_time_codes_attestation",
        sql: include_str!("../migrations/sqlite/0005_one_time_codes.sql"),
    },
    Migration {
        version: 6,
        name: "sign_in_outcome_indexes",
        sql: include_str!("../migrations/sqlite/0006_sign_in_outcome_indexes.sql"),
    },
    Migration { version: 7, name: "oidc", sql: include_str!("../migrations/sqlite/0007_oidc.sql") },
    Migration { version: 8, name: "oidc_refresh", sql: include_str!("../migrations/sqlite/0008_oidc_refresh.sql") },
    Migration {
        version: 9,
        name: "service_accounts",
        sql: include_str!("../migrations/sqlite/0009_service_accounts.sql"),
    },
    Migration {
        version: 10,
        name: "client_min_acr",
        sql: include_str!("../migrations/sqlite/0010_client_min_acr.sql"),
    },
    Migration {
        version: 11,
        name: "client_assertions",
        sql: include_str!("../migrations/sqlite/0011_client_assertions.sql"),
    },
    Migration { version: 12, name: "consent", sql: include_str!("../migrations/sqlite/0012_consent.sql") },
    Migration { version: 13, name: "client_use", sql: include_str!("../migrations/sqlite/0013_client_use.sql") },
    Migration { version: 14, name: "id_token_alg", sql: include_str!("../migrations/sqlite/0014_id_token_alg.sql") },
    Migration {
        version: 15,
        name: "tls_client_auth",
        sql: include_str!("../migrations/sqlite/0015_tls_client_auth.sql"),
    },
    Migration {
        version: 16,
        name: "policy_versions",
        sql: include_str!("../migrations/sqlite/0016_policy_versions.sql"),
    },
    Migration {
        version: 17,
        name: "sign_in_context",
        sql: include_str!("../migrations/sqlite/0017_sign_in_context.sql"),
    },
    Migration { version: 18, name: "campaigns", sql: include_str!("../migrations/sqlite/0018_campaigns.sql") },
    Migration { version: 19, name: "exceptions", sql: include_str!("../migrations/sqlite/0019_exceptions.sql") },
    Migration {
        version: 20,
        name: "campaign_states",
        sql: include_str!("../migrations/sqlite/0020_campaign_states.sql"),
    },
    Migration {
        version: 21,
        name: "attempt_claims",
        sql: include_str!("../migrations/sqlite/0021_attempt_claims.sql"),
    },
    Migration {
        version: 22,
        name: "token_revocation",
        sql: include_str!("../migrations/sqlite/0022_token_revocation.sql"),
    },
    Migration {
        version: 23,
        name: "exception_approver_and_end",
        sql: include_str!("../migrations/sqlite/0023_exception_approver_and_end.sql"),
    },
    Migration {
        version: 24,
        name: "cases_and_access_passes",
        sql: include_str!("../migrations/sqlite/0024_cases_and_access_passes.sql"),
    },
    Migration {
        version: 25,
        name: "emergency_access_and_reviews",
        sql: include_str!("../migrations/sqlite/0025_emergency_access_and_reviews.sql"),
    },
    Migration {
        version: 26,
        name: "approvals_and_outbox",
        sql: include_str!("../migrations/sqlite/0026_approvals_and_outbox.sql"),
    },
];
const POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/postgres/0001_init.sql") },
    Migration {
        version: 2,
        name: "sign_in_throttle_indexes",
        sql: include_str!("../migrations/postgres/0002_sign_in_throttle_indexes.sql"),
    },
    Migration {
        version: 3,
        name: "authenticators",
        sql: include_str!("../migrations/postgres/0003_authenticators.sql"),
    },
    Migration { version: 4, name: "audit_pending", sql: include_str!("../migrations/postgres/0004_audit_pending.sql") },
    Migration {
        version: 5,
        name: "one_time_codes_attestation",
        sql: include_str!("../migrations/postgres/0005_one_time_codes.sql"),
    },
    Migration {
        version: 6,
        name: "sign_in_outcome_indexes",
        sql: include_str!("../migrations/postgres/0006_sign_in_outcome_indexes.sql"),
    },
    Migration { version: 7, name: "oidc", sql: include_str!("../migrations/postgres/0007_oidc.sql") },
    Migration { version: 8, name: "oidc_refresh", sql: include_str!("../migrations/postgres/0008_oidc_refresh.sql") },
    Migration {
        version: 9,
        name: "service_accounts",
        sql: include_str!("../migrations/postgres/0009_service_accounts.sql"),
    },
    Migration {
        version: 10,
        name: "client_min_acr",
        sql: include_str!("../migrations/postgres/0010_client_min_acr.sql"),
    },
    Migration {
        version: 11,
        name: "client_assertions",
        sql: include_str!("../migrations/postgres/0011_client_assertions.sql"),
    },
    Migration { version: 12, name: "consent", sql: include_str!("../migrations/postgres/0012_consent.sql") },
    Migration { version: 13, name: "client_use", sql: include_str!("../migrations/postgres/0013_client_use.sql") },
    Migration { version: 14, name: "id_token_alg", sql: include_str!("../migrations/postgres/0014_id_token_alg.sql") },
    Migration {
        version: 15,
        name: "tls_client_auth",
        sql: include_str!("../migrations/postgres/0015_tls_client_auth.sql"),
    },
    Migration {
        version: 16,
        name: "policy_versions",
        sql: include_str!("../migrations/postgres/0016_policy_versions.sql"),
    },
    Migration {
        version: 17,
        name: "sign_in_context",
        sql: include_str!("../migrations/postgres/0017_sign_in_context.sql"),
    },
    Migration { version: 18, name: "campaigns", sql: include_str!("../migrations/postgres/0018_campaigns.sql") },
    Migration { version: 19, name: "exceptions", sql: include_str!("../migrations/postgres/0019_exceptions.sql") },
    Migration {
        version: 20,
        name: "campaign_states",
        sql: include_str!("../migrations/postgres/0020_campaign_states.sql"),
    },
    Migration {
        version: 21,
        name: "attempt_claims",
        sql: include_str!("../migrations/postgres/0021_attempt_claims.sql"),
    },
    Migration {
        version: 22,
        name: "token_revocation",
        sql: include_str!("../migrations/postgres/0022_token_revocation.sql"),
    },
    Migration {
        version: 23,
        name: "exception_approver_and_end",
        sql: include_str!("../migrations/postgres/0023_exception_approver_and_end.sql"),
    },
    Migration {
        version: 24,
        name: "cases_and_access_passes",
        sql: include_str!("../migrations/postgres/0024_cases_and_access_passes.sql"),
    },
    Migration {
        version: 25,
        name: "emergency_access_and_reviews",
        sql: include_str!("../migrations/postgres/0025_emergency_access_and_reviews.sql"),
    },
    Migration {
        version: 26,
        name: "approvals_and_outbox",
        sql: include_str!("../migrations/postgres/0026_approvals_and_outbox.sql"),
    },
];

/// Arbitrary, fixed key of the PostgreSQL advisory lock held while migrating.
const MIGRATION_LOCK_KEY: i64 = 0x0074_776f_666f_6c64;

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run.
    pub applied: Vec<i64>,
    /// The schema version now.
    pub current: i64,
}

/// Applies the embedded migrations to one database.
#[derive(Debug)]
pub struct Migrator<'a> {
    pool: &'a AnyPool,
    backend: Backend,
}

impl<'a> Migrator<'a> {
    pub(crate) const fn new(pool: &'a AnyPool, backend: Backend) -> Self {
        Self { pool, backend }
    }

    fn migrations(&self) -> &'static [Migration] {
        match self.backend {
            Backend::Sqlite => SQLITE,
            Backend::Postgres => POSTGRES,
        }
    }

    /// The newest schema version this binary knows.
    #[must_use]
    pub fn latest(&self) -> i64 {
        self.migrations().last().map_or(0, |m| m.version)
    }

    /// Whether the database holds Twofold's schema (any migration was ever applied).
    ///
    /// # Errors
    /// The database cannot be asked.
    pub async fn has_schema(&self) -> Result<bool, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables
                 WHERE table_name = 'schema_migrations' AND table_schema = current_schema()"
            }
        };
        let row = sqlx::query(sql).fetch_one(self.pool).await.map_err(store_error)?;
        Ok(row.try_get::<i64, _>(0).map_err(store_error)? > 0)
    }

    /// Applies every pending migration.
    ///
    /// # Errors
    /// A failed migration (rolled back), an edited applied migration, or a newer database.
    pub async fn run(&self) -> Result<MigrationReport, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(store_error)?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut *conn)
                .await
                .map_err(store_error)?;
        }
        let result = self.run_locked(&mut conn).await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut *conn)
                .await
                .map_err(store_error)?;
        }
        result
    }

    async fn run_locked(&self, conn: &mut sqlx::AnyConnection) -> Result<MigrationReport, StoreError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
        let applied: Vec<(i64, String)> =
            sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
                .fetch_all(&mut *conn)
                .await
                .map_err(store_error)?
                .iter()
                .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)))
                .collect::<Result<_, sqlx::Error>>()
                .map_err(store_error)?;
        let latest = self.latest();
        if let Some((newest, _)) = applied.last().filter(|(v, _)| *v > latest) {
            return Err(StoreError::Other(format!(
                "the database schema is at version {newest}, newer than this binary knows ({latest}); upgrade twofold"
            )));
        }
        let mut report = MigrationReport { applied: Vec::new(), current: applied.last().map_or(0, |(v, _)| *v) };
        for migration in self.migrations() {
            let checksum = sha256_hex(migration.sql.as_bytes());
            if let Some((_, recorded)) = applied.iter().find(|(v, _)| *v == migration.version) {
                if *recorded != checksum {
                    return Err(StoreError::Other(format!(
                        "migration {} ({}) was changed after it was applied; restore the original file",
                        migration.version, migration.name
                    )));
                }
                continue;
            }
            let begin = if self.backend == Backend::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
            sqlx::raw_sql(begin).execute(&mut *conn).await.map_err(store_error)?;
            let outcome = async {
                // Re-read under the lock: another process (SQLite has no advisory lock) may
                // have applied it since the list above was read.
                let done = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = $1")
                    .bind(migration.version)
                    .fetch_optional(&mut *conn)
                    .await?;
                if done.is_some() {
                    return sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(|_| false);
                }
                sqlx::raw_sql(migration.sql).execute(&mut *conn).await?;
                sqlx::query(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(migration.version)
                .bind(migration.name)
                .bind(&checksum)
                .bind(applied_at_millis())
                .execute(&mut *conn)
                .await?;
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(|_| true)
            }
            .await;
            match outcome {
                Ok(true) => report.applied.push(migration.version),
                Ok(false) => {}
                Err(e) => {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                    return Err(StoreError::Other(format!(
                        "migration {} ({}) failed: {e}",
                        migration.version, migration.name
                    )));
                }
            }
            report.current = migration.version;
        }
        Ok(report)
    }
}

/// When a migration was applied: bookkeeping only, never read by a rule.
#[allow(clippy::disallowed_methods)]
fn applied_at_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
