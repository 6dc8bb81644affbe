//! Black-box tests: the real `twofold` binary on a random port, on every configured
//! database backend. One test binary; modules by feature.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod attestation;
mod browser;
mod campaign_time;
mod campaigns;
mod cli;
mod client_auth;
mod cluster;
mod config;
mod consent;
mod crash;
mod enrolment;
mod exceptions;
mod exports;
mod fallback;
mod files;
mod forward_auth;
mod helpers;
mod metrics;
mod mfa;
mod oidc;
mod oidc_attacks;
mod pages;
mod policy;
mod policy_signin;
mod races;
mod signing;
mod tokens;
