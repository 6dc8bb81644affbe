//! `twofold emergency ...` and `twofold review ...`: emergency access (a time-boxed,
//! approved, monitored bypass) and the review tasks that follow it and break-glass sign-ins.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum EmergencyCommand {
    /// Ask for emergency access for an enrolled person who cannot use their methods
    Request {
        /// Whom it lets in (username)
        #[arg(long)]
        user: String,
        /// Why
        #[arg(long)]
        reason: String,
        /// How many hours (1 to [emergency] max_hours, default 8)
        #[arg(long)]
        hours: i64,
    },
    /// Approve a request: an admin other than the requester, with a code from their own authenticator
    Approve {
        /// The emergency access's id
        id: uuid::Uuid,
        /// The approving admin (username)
        #[arg(long)]
        approver: String,
        /// A one-time code from the approver's authenticator app or token
        #[arg(long)]
        code: String,
    },
    /// Refuse a request (the admin proves it as for approve)
    Reject {
        /// The emergency access's id
        id: uuid::Uuid,
        /// The admin (username)
        #[arg(long)]
        approver: String,
        /// A one-time code from the admin's authenticator app or token
        #[arg(long)]
        code: String,
    },
    /// End a running emergency access now (its review opens)
    Revoke {
        /// The emergency access's id
        id: uuid::Uuid,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// List emergency accesses, newest first
    List {
        /// Only this person's (username)
        #[arg(long)]
        user: Option<String>,
    },
    /// Record the end of accesses whose time ran out and open their reviews (the server does
    /// this every minute)
    RunJobs,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List review tasks, oldest first
    List {
        /// Only those still open
        #[arg(long)]
        open: bool,
    },
    /// Complete a review with its findings
    Complete {
        /// The review's id
        id: uuid::Uuid,
        /// What the review found
        #[arg(long)]
        findings: String,
        /// This break-glass sign-in was a scheduled control test (its evidence)
        #[arg(long)]
        control_test: bool,
    },
}
