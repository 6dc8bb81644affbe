//! Conditional access: the applied policy versions ([`twofold_core::store::PolicyStore`] on
//! [`crate::SqlStore`]), and the versioned-file tables it shares with approval rules
//! (`versions.rs`).

mod policies;
pub(crate) mod versions;
