//! Audit: the log's port ([`twofold_core::store::AuditStore`] on [`crate::SqlStore`]) and the
//! chainer that links pending events into the hash chain. Events of changes are written by
//! the other modules through [`crate::tx::AuditedTx`], in their changes' transactions.

mod chain;
mod events;
