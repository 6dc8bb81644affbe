//! Rollout: campaigns (apply, status, compliance), the scheduler's jobs (transitions,
//! snapshots, reminders), exceptions, coverage of apps and identities, and gaps.

pub mod campaigns;
pub mod coverage;
pub mod exceptions;
pub mod gaps;
pub mod jobs;
