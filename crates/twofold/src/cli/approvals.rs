//! `twofold approvals ...`: maker–checker approval rules, apps' callback URLs, and the
//! requests raised.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Approval rules files: who approves which requests
    #[command(subcommand)]
    Rules(ApprovalRulesCommand),
    /// Register the callback URLs an app's approval results may be sent to (replacing the
    /// ones before; none to clear)
    Callbacks {
        /// The app (client_id)
        client_id: String,
        /// https URLs (plain http only to localhost)
        urls: Vec<String>,
    },
    /// List approval requests, newest first
    List {
        /// Only those in this state: pending, approved, rejected or expired
        #[arg(long)]
        state: Option<String>,
        /// Only this app's (client_id)
        #[arg(long)]
        app: Option<String>,
    },
    /// Show one request: what changes, who asked, who decided, its receipt and deliveries
    Show {
        /// The request's id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApprovalRulesCommand {
    /// Check a rules file; every problem with its line, exit 1 if any
    Check {
        /// The rules file (TOML or YAML)
        file: PathBuf,
    },
    /// Apply a rules file as the next version (refused whole if it has any problem)
    Apply {
        /// The rules file (TOML or YAML)
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
}
