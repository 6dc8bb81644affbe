//! Command-line definitions. Every global option is also an environment variable, so the
//! admin verbs work on the same database as the server. This file holds the global options,
//! the verbs and `serve`'s options; each group of admin verbs has its own file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod approvals;
mod apps;
mod directory;
mod emergency;
mod helpdesk;
mod policy;
mod reports;
mod rollout;

pub use approvals::{ApprovalRulesCommand, ApprovalsCommand};
pub use apps::{ClientCommand, KeysCommand, ServiceAccountCommand};
pub use directory::{ApiKeyCommand, GroupCommand, TokenCommand, UserCommand, UserFields};
pub use emergency::{EmergencyCommand, ReviewCommand};
pub use helpdesk::CaseCommand;
pub use policy::PolicyCommand;
pub use reports::{AuditCommand, ReportCommand};
pub use rollout::{CampaignCommand, ExceptionCommand};

/// Twofold: MFA enforcement server and its admin CLI.
#[derive(Debug, Parser)]
#[command(name = "twofold", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Directory for keys and the SQLite file [default: ./twofold-data]
    #[arg(long, env = "TWOFOLD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://FILE or postgres://... [default: SQLite file in the data directory]
    #[arg(long, env = "TWOFOLD_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Optional TOML configuration file
    #[arg(long, env = "TWOFOLD_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// File holding the key that encrypts secrets at rest [default: DATA_DIR/master.key]
    #[arg(long, env = "TWOFOLD_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// Output of admin verbs: table or json; `audit export` writes jsonl (default) or csv
    #[arg(long, value_enum, global = true)]
    pub format: Option<OutputFormat>,
    /// Log format
    #[arg(long, env = "TWOFOLD_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server
    Serve(ServeArgs),
    /// Apply pending database migrations and exit
    Migrate,
    /// Check or generate configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage hardware OATH tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage admin API keys
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Verify and export the audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Register OpenID Connect clients (apps that sign in through Twofold)
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage token-signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Machine identities with OAuth2 client credentials
    #[command(subcommand, name = "service-account")]
    ServiceAccount(ServiceAccountCommand),
    /// Reports for the security team
    #[command(subcommand)]
    Report(ReportCommand),
    /// Conditional-access policy files: check one, or explain a hypothetical sign-in
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Rollout campaigns: phased MFA registration with deadlines, grace and enforcement
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Exceptions: time-boxed, approved waivers from a campaign's requirement
    #[command(subcommand)]
    Exception(ExceptionCommand),
    /// Help-desk support cases: verify the caller, then issue a pass, retire or reset methods
    #[command(subcommand)]
    Case(CaseCommand),
    /// Emergency access: a time-boxed, approved, monitored bypass of the second step
    #[command(subcommand)]
    Emergency(EmergencyCommand),
    /// Review tasks after emergency access and break-glass sign-ins
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Maker–checker approvals apps raise: the rules, callback URLs and requests
    #[command(subcommand)]
    Approvals(ApprovalsCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "TWOFOLD_LISTEN")]
    pub listen: Option<String>,
    /// Public base URL, the issuer [default: http://localhost:PORT]
    #[arg(long, env = "TWOFOLD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seed a demo organisation (users, groups) to look around with
    #[arg(long)]
    pub demo: bool,
    /// SMTP relay for notifications: smtp://host:25, smtp://host:587?tls=required, smtps://host:465
    #[arg(long, env = "TWOFOLD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// A MaxMind-format GeoIP database (GeoLite2-City or -Country) for country rules and
    /// impossible travel
    #[arg(long, env = "TWOFOLD_GEOIP_DATABASE")]
    pub geoip_database: Option<PathBuf>,
    /// Reverse proxy (CIDR) whose X-Forwarded-For is believed; repeatable
    #[arg(long = "trusted-proxy", env = "TWOFOLD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Sender of notifications [default: Twofold <twofold@localhost>]
    #[arg(long, env = "TWOFOLD_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key)
    #[arg(long, env = "TWOFOLD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, env = "TWOFOLD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Ask clients for a certificate issued by this PEM CA (mutual TLS; optional for browsers)
    #[arg(long, env = "TWOFOLD_CLIENT_CA", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// A file holding the bearer token /metrics asks for (else TWOFOLD_METRICS_TOKEN or the
    /// config file's metrics_token; without any, /metrics is open)
    #[arg(long, env = "TWOFOLD_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Report every problem in a configuration file, with its key and why
    Check {
        /// The file [default: --config]
        file: Option<PathBuf>,
    },
    /// Print a commented configuration file with the defaults
    Generate,
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_verb_is_well_formed() {
        // clap's own consistency checks (e.g. an argument clashing with --version).
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
