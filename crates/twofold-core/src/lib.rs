//! Twofold domain core: the rules of every capability, by folder.
//!
//! - [`identity`]: people, groups, tiers and roles; passwords; API keys; service accounts.
//! - [`factors`]: authenticators and how each is proved (OTP, hardware tokens, recovery
//!   codes, email/SMS codes).
//! - [`signin`]: sign-in events, sessions, throttling, devices and trusted devices.
//! - [`access`]: conditional access — the policy model, checks, evaluation, risk, what-if.
//! - [`rollout`]: campaigns, compliance, exceptions, reminders, progress.
//! - [`cases`]: help-desk support cases — identity verification, operator scope, what a
//!   verified case unlocks, closing.
//! - [`emergency`]: emergency access, review tasks, break-glass control tests.
//! - [`approvals`]: maker–checker approvals apps raise, their rules and signed receipts;
//!   [`outbox`]: what must be delivered, retried until acknowledged.
//! - [`oidc`]: the OpenID Connect provider's request, token and claim rules.
//! - [`forward_auth`]: hosts and paths a reverse proxy asks about.
//! - [`audit`]: audit events and the hash chain.
//! - [`store`]: the storage ports, one per capability; [`mail`]: the mail port and the
//!   notifications' text; [`clock`]: the clock port.
//!
//! Shared by all: [`clock`], [`validation`], [`secret`] (random tokens, digests,
//! constant-time comparison), [`sealed`] (secrets at rest), [`spreadsheet`] (CSV cells).
//!
//! Pure: no I/O and no wall clock. Time comes in as a [`clock::Timestamp`]; storage is
//! reached only through the [`store`] ports, which other crates implement.
//! May depend on nothing else in the workspace.

pub mod access;
pub mod approvals;
pub mod audit;
pub mod cases;
pub mod clock;
pub mod emergency;
pub mod factors;
pub mod forward_auth;
pub mod identity;
pub mod mail;
pub mod oidc;
pub mod outbox;
pub mod rollout;
pub mod sealed;
pub mod secret;
pub mod signin;
pub mod spreadsheet;
pub mod store;
pub mod validation;

pub use clock::{Clock, Timestamp};
pub use validation::{FieldError, ValidationErrors};
