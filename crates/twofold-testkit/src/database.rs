//! Fresh databases: SQLite always, PostgreSQL when `TWOFOLD_TEST_DATABASE_URL` is set. A run
//! that asked for PostgreSQL and cannot reach it fails: it never skips silently.

use std::path::PathBuf;

use sqlx::{Connection, Executor};

/// One empty database for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// `sqlite` or `postgres`, for assertion messages.
    pub backend: &'static str,
    /// The URL to hand to the store or the server.
    pub url: String,
    /// A scratch directory for this test (holds the SQLite file; usable as a data dir).
    pub dir: PathBuf,
}

/// The PostgreSQL server URL the run was asked to use, if any.
#[must_use]
pub fn postgres_url() -> Option<String> {
    std::env::var("TWOFOLD_TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty())
}

/// A new empty scratch directory under the system temp dir.
#[must_use]
pub fn scratch_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twofold-test-{label}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A fresh SQLite database.
#[must_use]
pub fn sqlite() -> TestDatabase {
    let dir = scratch_dir("sqlite");
    let url = format!("sqlite://{}", dir.join("twofold.db").display());
    TestDatabase { backend: "sqlite", url, dir }
}

/// A fresh PostgreSQL database (a new database on the configured server).
///
/// # Panics
/// When the configured server cannot be reached or refuses to create a database.
pub async fn postgres(server_url: &str) -> TestDatabase {
    let name = format!("twofold_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(server_url)
        .await
        .unwrap_or_else(|e| panic!("TWOFOLD_TEST_DATABASE_URL={server_url} is set but unreachable: {e}"));
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create test database");
    admin.close().await.ok();
    let url = match server_url.rfind('/') {
        Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &server_url[..slash]),
        _ => format!("{}/{name}", server_url.trim_end_matches('/')),
    };
    TestDatabase { backend: "postgres", url, dir: scratch_dir("postgres") }
}

/// A fresh database on every configured backend: SQLite, then PostgreSQL if asked for.
pub async fn databases() -> Vec<TestDatabase> {
    let mut all = vec![sqlite()];
    if let Some(server) = postgres_url() {
        all.push(postgres(&server).await);
    }
    all
}

/// Runs raw SQL against a database, for tests that tamper with stored rows.
pub async fn execute(url: &str, sql: &str) -> u64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect for raw SQL");
    let done = conn.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.expect("raw SQL");
    conn.close().await.ok();
    done.rows_affected()
}

/// Every value of the first column of `sql`'s rows, as raw bytes (text or blob), for tests
/// that look at what is stored at rest.
pub async fn fetch_column_bytes(url: &str, sql: &str) -> Vec<Vec<u8>> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect for raw SQL");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&mut conn).await.expect("raw SQL");
    conn.close().await.ok();
    rows.iter()
        .map(|row| {
            row.try_get::<Vec<u8>, _>(0)
                .or_else(|_| row.try_get::<String, _>(0).map(String::into_bytes))
                .expect("bytes")
        })
        .collect()
}
