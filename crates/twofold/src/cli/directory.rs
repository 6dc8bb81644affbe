//! `twofold user ...`, `twofold group ...`, `twofold token ...` and `twofold apikey ...`: people,
//! groups, hardware tokens and admin API keys.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct UserFields {
    /// Email address
    #[arg(long)]
    pub email: Option<String>,
    /// Name shown to people
    #[arg(long)]
    pub display_name: Option<String>,
    /// Phone number in E.164 form (+441632960000)
    #[arg(long)]
    pub phone: Option<String>,
    /// Department
    #[arg(long)]
    pub department: Option<String>,
    /// Manager's username
    #[arg(long)]
    pub manager: Option<String>,
    /// privileged, standard, external, service or break_glass
    #[arg(long)]
    pub tier: Option<String>,
    /// Role (repeatable): admin, helpdesk, auditor, approver, hr, user
    #[arg(long = "role")]
    pub roles: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user
    Add {
        username: String,
        #[command(flatten)]
        fields: UserFields,
        /// Group to join (repeatable)
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Read the initial password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        tier: Option<String>,
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        department: Option<String>,
        /// At most this many (1-10000)
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
        /// Skip this many first (for the next page)
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
        offset: i64,
    },
    /// Show one user (username or id)
    Show { user: String },
    /// Change a user; an empty value ("") clears an optional field
    Update {
        user: String,
        #[command(flatten)]
        fields: UserFields,
        /// active, suspended or deprovisioned
        #[arg(long)]
        status: Option<String>,
    },
    /// Suspend a user and end their sessions
    Disable { user: String },
    /// Set a user's password, read from standard input
    SetPassword {
        user: String,
        /// Read the password from the first line of standard input
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// End every session of a user
    RevokeSessions { user: String },
    /// Import users from CSV: username,email,display_name,phone,department,manager,tier,roles,groups
    Import {
        file: PathBuf,
        /// Apply the valid rows even when some rows are refused
        #[arg(long)]
        skip_invalid: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group
    Add {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List groups with member counts
    List,
    /// List a group's members
    Members { group: String },
    /// Add a user to a group
    AddMember { group: String, user: String },
    /// Remove a user from a group
    RemoveMember { group: String, user: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Import tokens from CSV: serial,secret,type,digits,period,username (refused whole on any bad row)
    Import { file: PathBuf },
    /// List tokens and who holds them
    List,
    /// Give a free token to a user
    Assign { serial: String, user: String },
    /// Take a token back from its user
    Unassign { serial: String },
    /// Resynchronise a drifting token with two consecutive codes
    Resync { serial: String, first_code: String, second_code: String },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; the token is shown once
    Create {
        /// What the key is for
        #[arg(long, default_value = "admin")]
        name: String,
        /// admin, helpdesk or auditor
        #[arg(long)]
        role: String,
        /// Expiry (2026-12-31 or RFC 3339)
        #[arg(long)]
        expires: Option<String>,
    },
    /// List keys (never their secrets)
    List,
    /// Revoke a key by id
    Revoke { id: String },
}
