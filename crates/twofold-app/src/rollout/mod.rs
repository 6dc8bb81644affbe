//! Rollout: campaigns (apply, status, compliance), the scheduler's jobs (transitions,
//! snapshots, reminders), exceptions, coverage of apps and identities, and gaps.

pub mod campaigns;
pub mod coverage;
pub mod exceptions;
pub mod jobs;

use std::sync::Arc;

use crate::Shared;
use crate::factors::Factors;
use crate::identity::Identities;
use crate::signin::Attempts;

/// The rollout capability: campaigns, the scheduler's jobs, exceptions and coverage.
pub struct Rollout {
    pub(crate) shared: Arc<Shared>,
    pub(crate) identity: Arc<Identities>,
    pub(crate) factors: Arc<Factors>,
    pub(crate) attempts: Arc<Attempts>,
    /// The longest a campaign exception may run, in days.
    pub(crate) exception_max_days: u32,
}

crate::reads_shared!(Rollout);
