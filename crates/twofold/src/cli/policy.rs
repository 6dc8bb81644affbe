//! `twofold policy ...`: conditional-access policy files, their versions, what-if and replay.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy file; every problem with its line, exit 1 if any
    Check {
        /// The policy file (TOML or YAML)
        file: PathBuf,
    },
    /// Apply a policy file as the next version (refused whole if it has any problem)
    Apply {
        /// The policy file (TOML or YAML)
        file: PathBuf,
        /// Why (kept with the version)
        #[arg(long)]
        note: Option<String>,
    },
    /// List the applied versions, newest first
    Versions,
    /// Print a version's file [default: the one in force]
    Show {
        /// Version number
        #[arg(value_name = "VERSION")]
        number: Option<i64>,
    },
    /// What changed between two versions
    Diff {
        /// The older version
        from: i64,
        /// The newer version
        to: i64,
    },
    /// Apply an earlier version's file again, as a new version
    Rollback {
        /// The version to go back to
        #[arg(value_name = "VERSION")]
        number: i64,
    },
    /// Explain what the policy in force (or a file) decides for one hypothetical sign-in
    Whatif {
        /// A policy file (TOML or YAML) to try instead of the policy in force
        #[arg(long)]
        file: Option<PathBuf>,
        /// Who signs in (username)
        #[arg(long)]
        user: String,
        /// To which OpenID Connect client (client_id)
        #[arg(long)]
        app: Option<String>,
        /// Or to which forward-auth host and path (wiki.example.com/admin)
        #[arg(long)]
        host: Option<String>,
        /// From which address
        #[arg(long)]
        ip: Option<String>,
        /// new, known or trusted
        #[arg(long, default_value = "new")]
        device: String,
        /// read, modify, export, approve or admin
        #[arg(long, default_value = "read")]
        action: String,
        /// Country code (ISO 3166 alpha-2)
        #[arg(long)]
        country: Option<String>,
        /// low, medium or high
        #[arg(long, default_value = "low")]
        risk: String,
    },
    /// Replay the recorded sign-ins of the last N days against a draft policy: how many
    /// sign-ins and people it would allow, challenge, limit or block, and whom it would lock out
    Simulate {
        /// The draft policy file (TOML or YAML)
        file: PathBuf,
        /// How many days of sign-ins to replay
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}
