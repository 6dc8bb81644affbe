//! Black-box tests: the real `twofold` binary on a random port, on every configured
//! database backend, through the harness in `twofold-testkit` (servers, admin verbs, a test
//! clock they all run on, browsers, API clients, mail and SMS sinks). One test binary;
//! modules by feature. No test sleeps for time to pass: it moves the clock (`Env::advance`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_twofold");

mod api;
mod approvals;
mod attestation;
mod browser;
mod campaign_time;
mod campaigns;
mod cli;
mod client_auth;
mod clients;
mod clock;
mod cluster;
mod config;
mod consent;
mod console;
mod crash;
mod emergency;
mod enrolment;
mod exceptions;
mod exports;
mod fallback;
mod files;
mod first_method;
mod forward_auth;
mod helpdesk;
mod helpdesk_api;
mod helpdesk_review;
mod helpdesk_signals;
mod metrics;
mod mfa;
mod oidc;
mod oidc_actions;
mod oidc_attacks;
mod pages;
mod policy;
mod policy_signin;
mod races;
mod signing;
mod tokens;
