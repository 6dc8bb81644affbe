//! Command-line definitions. Every global option is also an environment variable, so the
//! admin verbs work on the same database as the server.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
}

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
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Create a service account; prints its client_id and client_secret (once, unless it uses keys)
    Add {
        /// What the account is for
        name: String,
        /// Scope granted (e.g. reports:read, mfa:verify); repeatable, at least one
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Access-token lifetime in seconds (60-3600) [default: 3600]
        #[arg(long)]
        token_lifetime: Option<i64>,
        /// A file with the public JWK or JWK Set (RSA 2048+ or P-256) the account signs its
        /// client assertions with (private_key_jwt, RFC 7523); no secret is made
        #[arg(long)]
        jwks_file: Option<std::path::PathBuf>,
        /// A PEM client certificate (issued under --client-ca) the account authenticates
        /// with over mutual TLS (tls_client_auth, RFC 8705); its tokens are bound to it
        #[arg(long)]
        tls_client_cert: Option<std::path::PathBuf>,
        /// How the account authenticates with its secret: client_secret_basic (default) or
        /// client_secret_post; only that method is accepted
        #[arg(long)]
        token_endpoint_auth_method: Option<String>,
        /// Let the account introspect (RFC 7662) tokens issued to other clients, as a
        /// resource server does; without it, it learns only about its own tokens
        #[arg(long)]
        may_introspect: bool,
    },
    /// Give an account a new secret; the old one keeps working for the overlap
    RotateSecret {
        /// The account's client_id
        client_id: String,
        /// Seconds the old secret keeps working (0-2592000)
        #[arg(long, default_value_t = 86_400)]
        overlap: i64,
    },
    /// List service accounts
    List,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an app; prints its client_id and, for a confidential client, the client_secret once
    Add {
        /// What people call the app
        name: String,
        /// Redirect URI (exact match); repeatable
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE required
        #[arg(long)]
        public: bool,
        /// Scope the app may ask for; repeatable [default: openid profile email groups]
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The weakest strength every sign-in to this app must reach: mfa, phr or phrh
        #[arg(long)]
        min_acr: Option<String>,
        /// Someone else's app: people see a consent screen before it gets their data
        /// (first-party apps, the default, skip it)
        #[arg(long)]
        third_party: bool,
        /// How its ID tokens are signed: RS256 (default), ES256 or EdDSA
        #[arg(long)]
        id_token_alg: Option<String>,
        /// How it authenticates: client_secret_basic (default) or client_secret_post, none
        /// for a public client; only that method is accepted
        #[arg(long)]
        token_endpoint_auth_method: Option<String>,
        /// Let it introspect (RFC 7662) tokens issued to other clients, as a resource
        /// server does; without it, it learns only about its own tokens
        #[arg(long)]
        may_introspect: bool,
    },
    /// List registered clients
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new token-signing key; the old one stays in the JWKS until its tokens expire
    Rotate,
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
    /// Role (repeatable): admin, helpdesk, auditor, approver, user
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_verb_is_well_formed() {
        // clap's own consistency checks (e.g. an argument clashing with --version).
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
