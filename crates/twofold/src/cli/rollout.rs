//! `twofold campaign ...` and `twofold exception ...`: rollout campaigns and their time-boxed,
//! approved exceptions.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ExceptionCommand {
    /// Ask for an exception for someone until a date (at most 30 days away)
    Request {
        /// Whom it covers (username)
        #[arg(long)]
        user: String,
        /// Why
        #[arg(long)]
        reason: String,
        /// When it ends (2027-01-31 or an RFC 3339 time)
        #[arg(long)]
        until: String,
        /// Who asks (username): the person the approver may not be
        #[arg(long, required = true)]
        requested_by: String,
    },
    /// Approve a requested exception: the approver proves it with a code from their authenticator
    Approve {
        /// The exception's id (or the start of it)
        id: String,
        /// The approver (username; holds the approver role; not the requester nor the person covered)
        #[arg(long)]
        approver: String,
        /// A one-time code from the approver's authenticator app or token
        #[arg(long)]
        code: String,
    },
    /// Reject a requested exception (the approver proves it as for approve)
    Reject {
        /// The exception's id (or the start of it)
        id: String,
        /// The approver (username)
        #[arg(long)]
        approver: String,
        /// A one-time code from the approver's authenticator app or token
        #[arg(long)]
        code: String,
    },
    /// Confirm a running exception still holds (the quarterly question to the person's manager)
    Confirm {
        /// The exception's id (or the start of it)
        id: String,
        /// The manager of the person it covers (username)
        #[arg(long)]
        manager: String,
        /// A one-time code from the manager's authenticator app or token
        #[arg(long)]
        code: String,
    },
    /// Withdraw an exception before its end (it stops covering at once)
    Revoke {
        /// The exception's id (or the start of it)
        id: String,
        /// Why (recorded as its end reason) [default: revoked]
        #[arg(long)]
        reason: Option<String>,
    },
    /// List exceptions, newest first
    List,
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Check a campaign file; every problem with its line, exit 1 if any
    Check {
        /// The TOML campaign file
        file: PathBuf,
    },
    /// Apply a campaign file: a new campaign (as a draft) or a new file for the one of its name
    Apply {
        /// The TOML campaign file
        file: PathBuf,
    },
    /// Start a campaign: its phases report and enforce on their dates
    Start {
        /// The campaign's name
        name: String,
    },
    /// Pause a campaign: nothing is enforced until it is started again
    Pause {
        /// The campaign's name
        name: String,
    },
    /// Move a campaign on: its first started phase that only reports enforces from today
    Advance {
        /// The campaign's name
        name: String,
    },
    /// List campaigns
    List,
    /// Run the campaign jobs once now (the server runs them every minute): transitions,
    /// the day's snapshot, reminders by mail
    RunJobs,
    /// A campaign's progress: phases, states, the adoption curve and the projected completion
    Status {
        /// The campaign's name
        name: String,
    },
}
