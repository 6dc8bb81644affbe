//! Rollout: campaigns, snapshots, exceptions, compliance states and reminders
//! ([`twofold_core::store::RolloutStore`] on [`crate::SqlStore`]).

mod campaigns;
