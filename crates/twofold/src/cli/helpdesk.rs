//! `twofold case ...`: help-desk support cases worked from the machine's own console. The
//! same rules hold as on the operator pages: nothing changes before the caller is verified,
//! privileged people need a second operator, and every step is recorded on the case.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case for a caller
    Open {
        /// Whom it is about (username)
        #[arg(long)]
        user: String,
        /// lost_device, new_phone, locked_out, totp_drift, token_replacement, all_methods_lost,
        /// suspicious_activity
        #[arg(long)]
        kind: String,
        /// What the caller asks for
        #[arg(long)]
        summary: String,
    },
    /// Show a case: its timeline and what verification still needs
    Show {
        /// The case's id
        id: String,
    },
    /// List cases, newest first
    List {
        /// open or closed
        #[arg(long)]
        state: Option<String>,
        /// Only cases about this person (username)
        #[arg(long)]
        user: Option<String>,
        /// Show at most this many [default: 100]
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Skip this many first
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
    /// Verify the caller: without --code, send a code to the contact on file (email_code);
    /// with --code, check what the caller read out (email_code, factor_proof)
    Verify {
        /// The case's id
        id: String,
        /// email_code or factor_proof
        #[arg(long)]
        channel: String,
        /// The code the caller read out; `-` reads it from standard input (kept out of the
        /// shell's history)
        #[arg(long)]
        code: Option<String>,
    },
    /// Ask the person's manager (on record) or HR to confirm the request: they answer on the
    /// case's review page, signed in with their own second factor
    Ask {
        /// The case's id
        id: String,
        /// manager or hr
        #[arg(long)]
        reviewer: String,
    },
    /// Mark verification steps past their deadline and tell the team lead (the server does
    /// this every minute)
    RunJobs,
    /// Approve a case's changes as the second operator (refused here: a second operator
    /// approves on the help-desk pages, signed in with their own passkey)
    Approve {
        /// The case's id
        id: String,
    },
    /// Add a note to a case (notes never count as verification)
    Note {
        /// The case's id
        id: String,
        /// The note
        text: String,
    },
    /// Issue a temporary access pass on a verified case; the passcode is shown once
    Pass {
        /// The case's id
        id: String,
        /// How long it lives, in minutes (10 to the policy's maximum) [default: 60]
        #[arg(long)]
        minutes: Option<i64>,
        /// Let it sign in more than once until it ends (default: once)
        #[arg(long)]
        multi_use: bool,
    },
    /// Revoke the person's temporary access passes (closing the case does too)
    RevokePass {
        /// The case's id
        id: String,
    },
    /// Retire the methods of a lost or replaced device on a verified case
    Retire {
        /// The case's id
        id: String,
        /// A method's id (see `twofold user show`); repeatable
        #[arg(long = "method", required = true)]
        methods: Vec<uuid::Uuid>,
    },
    /// Remove every method and recovery code on a verified all-methods-lost case
    Reset {
        /// The case's id
        id: String,
    },
    /// Resynchronise a drifting authenticator app or token from two consecutive codes
    Resync {
        /// The case's id
        id: String,
        /// The method's id (see `twofold user show`)
        #[arg(long)]
        method: uuid::Uuid,
        /// The first code
        first_code: String,
        /// The code after it
        second_code: String,
    },
    /// Drift diagnosis: how far one code read out from the person's authenticator app is off
    /// the server's clock (nothing is used; fix it with `resync`)
    Diagnose {
        /// The case's id
        id: String,
        /// The authenticator app's id (see `twofold user show`)
        #[arg(long)]
        method: uuid::Uuid,
        /// A code the caller reads out; `-` reads it from standard input
        #[arg(long)]
        code: String,
    },
    /// Close a case with a resolution and its checklist
    Close {
        /// The case's id
        id: String,
        /// resolved, no_change_needed, verification_failed, withdrawn, escalated_to_security
        #[arg(long)]
        resolution: String,
        /// What was changed, or why nothing was
        #[arg(long)]
        changes: String,
        /// The person confirmed they can sign in again
        #[arg(long)]
        confirmed: bool,
    },
    /// Support metrics: volume, time to close, by kind and tier, verification outcomes
    Metrics {
        /// Only cases opened in the last this many days
        #[arg(long)]
        days: Option<i64>,
    },
}
