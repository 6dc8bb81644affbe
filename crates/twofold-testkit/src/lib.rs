//! Test support for Twofold: fresh databases on every configured backend, and a typed harness
//! over the real binary for the black-box suites.
//!
//! - [`database`]: an empty database per test (SQLite always; PostgreSQL when
//!   `TWOFOLD_TEST_DATABASE_URL` is set) and raw SQL for tests that look at what is stored.
//! - [`Env`]: one test's database, data directory and [`TestClock`], shared by every
//!   [`Server`] (`twofold serve` on a random port) and admin verb it runs. The binary's path is
//!   the test crate's to give (`env!("CARGO_BIN_EXE_twofold")`), so this crate depends on no
//!   part of the server.
//! - [`TestClock`]: the time the binary runs on, moved by the test ([`Env::advance`]) through
//!   the file `TWOFOLD_TEST_CLOCK_FILE` names; no test sleeps for time to pass.
//! - [`Browser`]: a cookie jar bound to one server, with the page flows every suite repeats
//!   (CSRF tokens, the password step, the second step, enrolling an authenticator app,
//!   signing out, asking an app's authorization); [`Api`] an admin API client with a key.
//! - [`SmtpSink`] and [`SmsSink`]: real mail and SMS endpoints that keep what they receive.
//!
//! Tests only: helpers panic with a message instead of returning errors.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::missing_panics_doc)]

mod browser;
mod clock;
pub mod database;
mod env;
pub mod html;
mod server;
mod sinks;

pub use browser::{Api, Browser, TotpApp, api, location};
pub use clock::{TEST_CLOCK_VAR, TestClock};
pub use database::{TestDatabase, databases, execute, fetch_column_bytes, postgres, postgres_url, scratch_dir, sqlite};
pub use env::{Env, stderr, stdout};
pub use server::Server;
pub use sinks::{SmsSink, SmtpSink};

/// The password of every demo user (`twofold serve --demo`).
pub const DEMO_PASSWORD: &str = "twofold-demo-pass";
