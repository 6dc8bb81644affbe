//! Conditional access: the applied policy versions ([`twofold_core::store::PolicyStore`] on
//! [`crate::SqlStore`]).

mod policies;
