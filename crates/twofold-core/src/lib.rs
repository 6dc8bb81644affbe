//! Twofold domain core: the rules of identities, passwords, sessions and the audit chain.
//!
//! Pure: no I/O and no wall clock. Time comes in as a [`clock::Timestamp`]; storage is
//! reached only through the [`store::Store`] port, which other crates implement.
//! May depend on nothing else in the workspace.

pub mod apikey;
pub mod audit;
pub mod authenticator;
pub mod campaign;
pub mod client_assertion;
pub mod clock;
pub mod device;
pub mod device_trust;
pub mod fallback;
pub mod forward_auth;
pub mod geo;
pub mod identity;
pub mod mail;
pub mod oidc;
pub mod otp;
pub mod password;
pub mod policy;
pub mod recovery;
pub mod sealed;
pub mod secret;
pub mod service_account;
pub mod session;
pub mod signin;
pub mod spreadsheet;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod validation;

pub use clock::{Clock, Timestamp};
pub use validation::{FieldError, ValidationErrors};
