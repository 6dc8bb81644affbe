//! `twofold report ...` and `twofold audit ...`: what the security team and auditors read.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Coverage: people registered, the share of sign-ins protected by MFA, failures by
    /// reason and method, exceptions by state
    Coverage {
        /// Sign-ins of the last N days
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Gap analysis: no or weak second factors, admins without keys, risky service accounts,
    /// password-only sign-ins, untested break-glass accounts
    Gaps {
        /// Sign-ins of the last N days
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Break-glass accounts must have signed in within this many days
        #[arg(long, default_value_t = 90)]
        break_glass_days: i64,
        /// Report service accounts that got no token for this many days
        #[arg(long, default_value_t = 30)]
        unused_days: i64,
        /// Report service-account secrets older than this many days
        #[arg(long, default_value_t = 90)]
        secret_max_age_days: i64,
        /// Name everyone in each gap (by default a count and the first few names)
        #[arg(long)]
        details: bool,
    },
    /// Campaign compliance: every in-scope identity's state, methods and days left
    Compliance {
        /// Only this campaign
        #[arg(long)]
        campaign: Option<String>,
        /// Only this state: compliant, pending, overdue, exempt, limited or blocked
        #[arg(long)]
        state: Option<String>,
    },
    /// Conditional access: what each rule matched, and what the report-only rules would have done
    Policy {
        /// Sign-ins of the last N days
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Service accounts: last use, secret age, and those unused or with old secrets
    ServiceAccounts {
        /// Report accounts that got no token for this many days
        #[arg(long, default_value_t = 30)]
        unused_days: i64,
        /// Report secrets older than this many days
        #[arg(long, default_value_t = 90)]
        secret_max_age_days: i64,
    },
    /// Break-glass accounts: each one's last control test (a sign-in reviewed as a test), who
    /// reviewed it, when the next is due; exit 1 when one is overdue
    BreakGlass,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exits 2 at the first broken link
    Verify,
    /// Write events to standard output
    Export {
        /// Only events at or after this time (2026-11-01 or RFC 3339)
        #[arg(long)]
        since: Option<String>,
    },
}
