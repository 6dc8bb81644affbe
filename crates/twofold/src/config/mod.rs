//! Configuration: defaults, then a TOML file, then `TWOFOLD_*` environment variables, then
//! flags. `twofold config check` walks a file and reports every problem with its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use twofold_core::identity::password::{HashParams, check_params};
use twofold_core::signin::session::SessionPolicy;

use crate::cli::{GlobalArgs, LogFormat, ServeArgs};

mod forward_auth;

/// Everything the server and the admin verbs run with, after layering.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub master_key_file: PathBuf,
    pub log_format: LogFormat,
    pub hash_params: HashParams,
    pub session_policy: SessionPolicy,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub fallback: twofold_core::factors::one_time_codes::FallbackPolicy,
    pub sms_webhook_url: Option<String>,
    pub sms_webhook_authorization: Option<String>,
    pub attestation: twofold_app::factors::passkeys::AttestationPolicy,
    pub forward_auth: twofold_core::forward_auth::Policy,
    /// A MaxMind-format GeoIP database.
    pub geoip_database: Option<PathBuf>,
    /// The longest a campaign exception may run, in days.
    pub exception_max_days: u32,
    /// HTTPS with these PEM files: (certificate chain, key, client CA for mutual TLS).
    pub tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
    /// The bearer token `/metrics` asks for (redacted in `Debug`); `None` leaves it open.
    pub metrics_token: Option<twofold_http::MetricsToken>,
    /// Failures allowed per trusted verify-API caller (by caller name) before it is delayed.
    pub verify_caller_limits: std::collections::HashMap<String, i64>,
}

/// The file's contents, every key optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    master_key_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    geoip_database: Option<PathBuf>,
    exception_max_days: Option<u32>,
    metrics_token: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    password: PasswordSection,
    #[serde(default)]
    session: SessionSection,
    #[serde(default)]
    email_otp: ChannelSection,
    #[serde(default)]
    sms_otp: ChannelSection,
    #[serde(default)]
    webauthn: WebauthnSection,
    #[serde(default)]
    forward_auth: forward_auth::ForwardAuthSection,
    #[serde(default)]
    verify: VerifySection,
}

/// `[verify]`: the verify API's callers trusted with more failures than one browser (a
/// gateway verifying codes for many people).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifySection {
    #[serde(default)]
    trusted_callers: Vec<TrustedCallerSection>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustedCallerSection {
    /// `api_key:NAME` or `service:NAME`, as the audit log names the caller.
    caller: String,
    /// Failures allowed before its calls are delayed (the default is 50 per source).
    free_failures: i64,
}

/// `[webauthn]`: which tiers must register attested hardware keys, and whose keys count.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WebauthnSection {
    attested_tiers: Option<Vec<String>>,
    #[serde(default)]
    trusted_key_makers: Vec<KeyMakerSection>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyMakerSection {
    description: String,
    ca_file: PathBuf,
    aaguids: Vec<uuid::Uuid>,
}

impl WebauthnSection {
    fn policy(&self) -> anyhow::Result<twofold_app::factors::passkeys::AttestationPolicy> {
        let tiers = match &self.attested_tiers {
            Some(names) => names
                .iter()
                .map(|n| twofold_core::identity::Tier::parse(n))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("webauthn.attested_tiers: {e}"))?,
            None => vec![twofold_core::identity::Tier::Privileged],
        };
        let makers = self
            .trusted_key_makers
            .iter()
            .map(|m| {
                let ca_pem = std::fs::read(&m.ca_file).with_context(|| {
                    format!("webauthn.trusted_key_makers: cannot read {} ({})", m.ca_file.display(), m.description)
                })?;
                Ok(twofold_app::factors::passkeys::TrustedKeyMaker {
                    ca_pem,
                    aaguids: m.aaguids.clone(),
                    description: m.description.clone(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(twofold_app::factors::passkeys::AttestationPolicy { makers, tiers })
    }
}

/// `[email_otp]` and `[sms_otp]`: the transitional fallbacks, off unless enabled.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelSection {
    #[serde(default)]
    enabled: bool,
    until: Option<toml::value::Datetime>,
    forbidden_tiers: Option<Vec<String>>,
    /// SMS only: calling codes text messages may go to (empty or absent: any but premium ranges).
    allowed_calling_codes: Option<Vec<String>>,
    webhook_url: Option<String>,
    webhook_authorization: Option<String>,
}

/// Tiers that may not use email or SMS codes unless the file says otherwise.
const DEFAULT_FORBIDDEN_TIERS: &[twofold_core::identity::Tier] =
    &[twofold_core::identity::Tier::Privileged, twofold_core::identity::Tier::BreakGlass];

/// The start (00:00 UTC) of a TOML date, as a timestamp.
fn date_start(value: &toml::value::Datetime) -> Result<twofold_core::Timestamp, String> {
    let date = value.date.filter(|_| value.time.is_none()).ok_or("must be a date like 2027-06-30")?;
    let month = time::Month::try_from(date.month).map_err(|e| e.to_string())?;
    let day = time::Date::from_calendar_date(i32::from(date.year), month, date.day).map_err(|e| e.to_string())?;
    let seconds = day.midnight().assume_utc().unix_timestamp();
    Ok(twofold_core::Timestamp(seconds * 1000))
}

impl ChannelSection {
    fn policy(&self) -> Result<twofold_core::factors::one_time_codes::ChannelPolicy, String> {
        let forbidden_tiers = match &self.forbidden_tiers {
            Some(names) => {
                names.iter().map(|n| twofold_core::identity::Tier::parse(n)).collect::<Result<Vec<_>, _>>()?
            }
            None => DEFAULT_FORBIDDEN_TIERS.to_vec(),
        };
        Ok(twofold_core::factors::one_time_codes::ChannelPolicy {
            enabled: self.enabled,
            until: self.until.as_ref().map(date_start).transpose()?,
            forbidden_tiers,
            allowed_calling_codes: {
                let codes = self.allowed_calling_codes.clone().unwrap_or_default();
                for code in &codes {
                    twofold_core::factors::one_time_codes::check_calling_code(code)
                        .map_err(|e| format!("allowed_calling_codes: {e}"))?;
                }
                codes
            },
        })
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordSection {
    memory_kib: Option<u32>,
    iterations: Option<u32>,
    parallelism: Option<u32>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionSection {
    idle_timeout_secs: Option<i64>,
    absolute_timeout_secs: Option<i64>,
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The keys a file may hold: (key, expected type).
const KEYS: &[(&str, &str)] = &[
    ("listen", "string"),
    ("public_url", "string"),
    ("data_dir", "string"),
    ("database_url", "string"),
    ("master_key_file", "string"),
    ("log_format", "string"),
    ("smtp_url", "string"),
    ("geoip_database", "string"),
    ("exception_max_days", "integer"),
    ("metrics_token", "string"),
    ("mail_from", "string"),
    ("trusted_proxies", "array"),
    ("password", "table"),
    ("password.memory_kib", "integer"),
    ("password.iterations", "integer"),
    ("password.parallelism", "integer"),
    ("session", "table"),
    ("session.idle_timeout_secs", "integer"),
    ("session.absolute_timeout_secs", "integer"),
    ("email_otp", "table"),
    ("email_otp.enabled", "boolean"),
    ("email_otp.until", "datetime"),
    ("email_otp.forbidden_tiers", "array"),
    ("sms_otp", "table"),
    ("sms_otp.enabled", "boolean"),
    ("sms_otp.until", "datetime"),
    ("sms_otp.forbidden_tiers", "array"),
    ("sms_otp.allowed_calling_codes", "array"),
    ("sms_otp.webhook_url", "string"),
    ("sms_otp.webhook_authorization", "string"),
    ("webauthn", "table"),
    ("webauthn.attested_tiers", "array"),
    ("webauthn.trusted_key_makers", "array"),
    ("forward_auth", "table"),
    ("forward_auth.default", "string"),
    ("forward_auth.rules", "array"),
    ("verify", "table"),
    ("verify.trusted_callers", "array"),
];

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "string",
        toml::Value::Integer(_) => "integer",
        toml::Value::Float(_) => "float",
        toml::Value::Boolean(_) => "boolean",
        toml::Value::Datetime(_) => "datetime",
        toml::Value::Array(_) => "array",
        toml::Value::Table(_) => "table",
    }
}

fn walk(table: &toml::Table, prefix: &str, problems: &mut Vec<Problem>) {
    for (name, value) in table {
        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        match KEYS.iter().find(|(k, _)| *k == key) {
            None => {
                let known: Vec<_> = KEYS.iter().map(|(k, _)| *k).filter(|k| k.starts_with(prefix)).collect();
                problems.push(Problem { key, message: format!("unknown key; known keys are: {}", known.join(", ")) });
            }
            Some((_, expected)) if *expected != type_name(value) => {
                problems.push(Problem { key, message: format!("must be a {expected}, not a {}", type_name(value)) });
            }
            Some(_) => {
                if let toml::Value::Table(inner) = value {
                    walk(inner, &key, problems);
                }
            }
        }
    }
}

fn check_values(table: &toml::Table, problems: &mut Vec<Problem>) {
    let text = |key: &str| table.get(key).and_then(toml::Value::as_str);
    let int = |section: &str, key: &str| table.get(section).and_then(|s| s.get(key)).and_then(toml::Value::as_integer);
    let mut add = |key: &str, message: String| problems.push(Problem { key: key.into(), message });
    if let Some(listen) = text("listen")
        && listen.parse::<SocketAddr>().is_err()
    {
        add("listen", format!("'{listen}' is not an address like 127.0.0.1:8080"));
    }
    if let Some(url) = text("public_url")
        && (!(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/'))
    {
        add("public_url", format!("'{url}' must start with http:// or https:// and not end with /"));
    }
    if let Some(url) = text("database_url")
        && let Err(e) = twofold_store::Backend::from_url(url)
    {
        add("database_url", e.to_string());
    }
    if let Some(url) = text("smtp_url")
        && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
    {
        add("smtp_url", format!("'{url}' must start with smtp:// or smtps://"));
    }
    if let Some(proxies) = table.get("trusted_proxies").and_then(toml::Value::as_array) {
        for proxy in proxies {
            if proxy.as_str().is_none_or(|p| p.parse::<ipnet::IpNet>().is_err()) {
                add("trusted_proxies", format!("{proxy} is not a network like \"10.0.0.0/8\""));
            }
        }
    }
    if let Some(days) = table.get("exception_max_days").and_then(toml::Value::as_integer)
        && !(1..=366).contains(&days)
    {
        add("exception_max_days", format!("{days} is not 1–366: an exception is never open-ended"));
    }
    if let Some(token) = text("metrics_token")
        && let Err(e) = twofold_http::MetricsToken::new(token)
    {
        add("metrics_token", e.to_string());
    }
    if let Some(format) = text("log_format")
        && !["pretty", "json"].contains(&format)
    {
        add("log_format", format!("'{format}' is not one of: pretty, json"));
    }
    let defaults = HashParams::default();
    let params = |key, default: u32| int("password", key).map_or(Some(default), |v| u32::try_from(v).ok());
    match (
        params("memory_kib", defaults.memory_kib),
        params("iterations", defaults.iterations),
        params("parallelism", defaults.parallelism),
    ) {
        (Some(memory_kib), Some(iterations), Some(parallelism)) => {
            if let Err(e) = check_params(HashParams { memory_kib, iterations, parallelism }) {
                add("password", e.to_string());
            } else if memory_kib < 7 * 1024 || (memory_kib < 19 * 1024 && iterations < 5) {
                add("password", "weaker than OWASP's minimum (19 MiB with 2 iterations, or 7 MiB with 5)".into());
            }
        }
        _ => add("password", "memory_kib, iterations and parallelism must be positive 32-bit integers".into()),
    }
    for channel in ["email_otp", "sms_otp"] {
        let Some(section) = table.get(channel) else { continue };
        if let Some(until) = section.get("until").and_then(toml::Value::as_datetime)
            && let Err(e) = date_start(until)
        {
            add(&format!("{channel}.until"), e);
        }
        for tier in section.get("forbidden_tiers").and_then(toml::Value::as_array).into_iter().flatten() {
            if let Err(e) =
                tier.as_str().map_or(Err(format!("{tier} is not a string")), twofold_core::identity::Tier::parse)
            {
                add(&format!("{channel}.forbidden_tiers"), e);
            }
        }
    }
    if let Some(url) = table.get("sms_otp").and_then(|s| s.get("webhook_url")).and_then(toml::Value::as_str)
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        add("sms_otp.webhook_url", format!("'{url}' must start with http:// or https://"));
    }
    if table.get("sms_otp").and_then(|s| s.get("enabled")).and_then(toml::Value::as_bool) == Some(true)
        && table.get("sms_otp").and_then(|s| s.get("webhook_url")).is_none()
    {
        add("sms_otp.webhook_url", "is needed when sms_otp is enabled: it is how codes are sent".into());
    }
    if let Some(section) = table.get("forward_auth") {
        for (key, message) in forward_auth::check(section) {
            add(&key, message);
        }
    }
    let session_defaults = SessionPolicy::default();
    let idle = int("session", "idle_timeout_secs").unwrap_or(session_defaults.idle_timeout_secs);
    let absolute = int("session", "absolute_timeout_secs").unwrap_or(session_defaults.absolute_timeout_secs);
    if idle < 60 {
        add("session.idle_timeout_secs", format!("{idle} is too short; at least 60"));
    }
    if absolute < idle {
        add("session.absolute_timeout_secs", format!("{absolute} is shorter than the idle timeout ({idle})"));
    }
}

/// Every problem in the TOML text `source`, each with its key and why.
pub fn check(source: &str) -> Vec<Problem> {
    let table: toml::Table = match source.parse() {
        Ok(t) => t,
        Err(e) => {
            let key = e
                .span()
                .map_or_else(|| "(file)".to_owned(), |span| twofold_core::validation::line_col(source, span.start));
            return vec![Problem { key, message: e.message().to_owned() }];
        }
    };
    let mut problems = Vec::new();
    walk(&table, "", &mut problems);
    if problems.is_empty() {
        check_values(&table, &mut problems);
    }
    problems
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    let problems = check(&source);
    if !problems.is_empty() {
        let list: Vec<_> = problems.iter().map(ToString::to_string).collect();
        bail!("config file {} has problems: {}", path.display(), list.join("; "));
    }
    toml::from_str(&source).with_context(|| format!("config file {}", path.display()))
}

/// The environment variables Twofold reads; any other `TWOFOLD_*` gets a warning.
const KNOWN_ENV: &[&str] = &[
    "TWOFOLD_LISTEN",
    "TWOFOLD_DATA_DIR",
    "TWOFOLD_DATABASE_URL",
    "TWOFOLD_PUBLIC_URL",
    "TWOFOLD_CONFIG",
    "TWOFOLD_MASTER_KEY_FILE",
    "TWOFOLD_LOG_FORMAT",
    "TWOFOLD_SMTP_URL",
    "TWOFOLD_GEOIP_DATABASE",
    "TWOFOLD_MAIL_FROM",
    "TWOFOLD_TLS_CERT",
    "TWOFOLD_TLS_KEY",
    "TWOFOLD_CLIENT_CA",
    "TWOFOLD_TRUSTED_PROXIES",
    "TWOFOLD_LOG",
    "TWOFOLD_SMS_WEBHOOK_AUTHORIZATION",
    "TWOFOLD_METRICS_TOKEN",
    "TWOFOLD_METRICS_TOKEN_FILE",
    "TWOFOLD_TEST_DATABASE_URL",
];

/// Names of set `TWOFOLD_*` variables that Twofold does not read (likely typos).
pub fn unknown_env_vars() -> Vec<String> {
    std::env::vars().map(|(k, _)| k).filter(|k| k.starts_with("TWOFOLD_") && !KNOWN_ENV.contains(&k.as_str())).collect()
}

/// Layers defaults, file, environment and flags.
pub fn resolve(global: &GlobalArgs, serve: Option<&ServeArgs>) -> anyhow::Result<Settings> {
    let file = match &global.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    let data_dir = global.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("twofold-data"));
    let listen_text = serve.and_then(|s| s.listen.clone()).or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_text
        .parse()
        .with_context(|| format!("--listen '{listen_text}' is not an address like 127.0.0.1:8080"))?;
    let public_url = serve
        .and_then(|s| s.public_url.clone())
        .or(file.public_url)
        .unwrap_or_else(|| format!("http://localhost:{}", listen.port()))
        .trim_end_matches('/')
        .to_owned();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        bail!("--public-url '{public_url}' must start with http:// or https://");
    }
    let database_url = global
        .database_url
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("twofold.db").display()));
    let master_key_file =
        global.master_key_file.clone().or(file.master_key_file).unwrap_or_else(|| data_dir.join("master.key"));
    let defaults = HashParams::default();
    let hash_params = HashParams {
        memory_kib: file.password.memory_kib.unwrap_or(defaults.memory_kib),
        iterations: file.password.iterations.unwrap_or(defaults.iterations),
        parallelism: file.password.parallelism.unwrap_or(defaults.parallelism),
    };
    let session_defaults = SessionPolicy::default();
    let session_policy = SessionPolicy {
        idle_timeout_secs: file.session.idle_timeout_secs.unwrap_or(session_defaults.idle_timeout_secs),
        absolute_timeout_secs: file.session.absolute_timeout_secs.unwrap_or(session_defaults.absolute_timeout_secs),
    };
    // Admin verbs that send mail (campaign run-jobs) read the variable too.
    let smtp_url =
        serve.and_then(|s| s.smtp_url.clone()).or_else(|| std::env::var("TWOFOLD_SMTP_URL").ok()).or(file.smtp_url);
    let geoip_database = serve.and_then(|s| s.geoip_database.clone()).or(file.geoip_database);
    let mail_from = serve
        .and_then(|s| s.mail_from.clone())
        .or(file.mail_from)
        .unwrap_or_else(|| "Twofold <twofold@localhost>".into());
    let proxy_texts = match serve.map(|s| s.trusted_proxies.clone()).filter(|p| !p.is_empty()) {
        Some(flags) => flags,
        None => file.trusted_proxies,
    };
    let trusted_proxies = proxy_texts
        .iter()
        .map(|p| {
            p.trim()
                .parse::<ipnet::IpNet>()
                .with_context(|| format!("--trusted-proxy '{p}' is not a network like 10.0.0.0/8"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let fallback = twofold_core::factors::one_time_codes::FallbackPolicy {
        email: file.email_otp.policy().map_err(|e| anyhow::anyhow!("email_otp: {e}"))?,
        sms: file.sms_otp.policy().map_err(|e| anyhow::anyhow!("sms_otp: {e}"))?,
    };
    let sms_webhook_authorization =
        std::env::var("TWOFOLD_SMS_WEBHOOK_AUTHORIZATION").ok().or_else(|| file.sms_otp.webhook_authorization.clone());
    let attestation = file.webauthn.policy()?;
    let forward_auth = file.forward_auth.policy().map_err(|problems| {
        let list: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        anyhow::anyhow!("{}", list.join("; "))
    })?;
    let tls = serve.and_then(|s| Some((s.tls_cert.clone()?, s.tls_key.clone()?, s.client_ca.clone())));
    let metrics_token = match serve {
        Some(serve) => metrics_token(serve, file.metrics_token.as_deref())?,
        None => None,
    };
    let exception_max_days = file.exception_max_days.unwrap_or(twofold_core::rollout::exception::DEFAULT_MAX_DAYS);
    anyhow::ensure!((1..=366).contains(&exception_max_days), "exception_max_days must be 1–366");
    let mut verify_caller_limits = std::collections::HashMap::new();
    for caller in &file.verify.trusted_callers {
        anyhow::ensure!(
            (1..=100_000).contains(&caller.free_failures),
            "verify.trusted_callers: free_failures for {} must be 1–100000",
            caller.caller
        );
        verify_caller_limits.insert(caller.caller.clone(), caller.free_failures);
    }
    Ok(Settings {
        metrics_token,
        verify_caller_limits,
        exception_max_days,
        geoip_database,
        tls,
        attestation,
        forward_auth,
        fallback,
        sms_webhook_url: file.sms_otp.webhook_url.clone(),
        sms_webhook_authorization,
        trusted_proxies,
        smtp_url,
        mail_from,
        listen,
        public_url,
        data_dir,
        database_url,
        master_key_file,
        log_format: global.log_format.or(file.log_format).unwrap_or(LogFormat::Pretty),
        hash_params,
        session_policy,
    })
}

/// The `/metrics` token: `--metrics-token-file` (`TWOFOLD_METRICS_TOKEN_FILE`), else
/// `TWOFOLD_METRICS_TOKEN`, else the file's `metrics_token`. Its value is never in an error.
fn metrics_token(serve: &ServeArgs, from_file: Option<&str>) -> anyhow::Result<Option<twofold_http::MetricsToken>> {
    let (text, source) = if let Some(path) = &serve.metrics_token_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --metrics-token-file {}", path.display()))?;
        (text, "--metrics-token-file")
    } else if let Ok(text) = std::env::var("TWOFOLD_METRICS_TOKEN") {
        (text, "TWOFOLD_METRICS_TOKEN")
    } else if let Some(text) = from_file {
        (text.to_owned(), "metrics_token")
    } else {
        return Ok(None);
    };
    twofold_http::MetricsToken::new(&text).map(Some).map_err(|e| anyhow::anyhow!("{source}: {e}"))
}

/// A commented example file with the defaults.
pub const EXAMPLE: &str = r#"# Twofold configuration. Every key is optional; flags and TWOFOLD_* variables override.
listen = "127.0.0.1:8080"              # TWOFOLD_LISTEN
# public_url = "https://mfa.example.com" # TWOFOLD_PUBLIC_URL (default http://localhost:PORT)
data_dir = "twofold-data"               # TWOFOLD_DATA_DIR
# database_url = "postgres://twofold@db/twofold" # TWOFOLD_DATABASE_URL (default SQLite in data_dir)
# master_key_file = "/etc/twofold/master.key"    # TWOFOLD_MASTER_KEY_FILE
log_format = "pretty"                   # or "json"; TWOFOLD_LOG_FORMAT
# smtp_url = "smtp://mail.example.com:587?tls=required"  # TWOFOLD_SMTP_URL; notifications are only logged without it
# mail_from = "Twofold <mfa@example.com>"               # TWOFOLD_MAIL_FROM
# trusted_proxies = ["10.0.0.0/8"]                      # TWOFOLD_TRUSTED_PROXIES; X-Forwarded-For is ignored from others
# geoip_database = "/var/lib/GeoIP/GeoLite2-City.mmdb"  # TWOFOLD_GEOIP_DATABASE; country rules and impossible travel
# exception_max_days = 30                               # the longest a campaign exception may run (1–366)
# metrics_token = "..."                                 # /metrics then asks for Authorization: Bearer <it> (16+ characters);
#                                                       # or TWOFOLD_METRICS_TOKEN, or serve --metrics-token-file FILE

[password]        # argon2id cost (OWASP: 19 MiB, 2 iterations, 1 lane)
memory_kib = 19456
iterations = 2
parallelism = 1

[session]
idle_timeout_secs = 1800       # 30 minutes without a request
absolute_timeout_secs = 43200  # 12 hours after sign-in

# Email and SMS codes are transitional fallbacks: off unless enabled, forbidden for the
# privileged and break_glass tiers unless forbidden_tiers says otherwise, and ended on a date.
[email_otp]
enabled = false
# until = 2027-06-30                   # from this date (00:00 UTC) email codes stop working
# forbidden_tiers = ["privileged", "break_glass"]

[sms_otp]
enabled = false
# until = 2027-03-31
# forbidden_tiers = ["privileged", "break_glass"]
# allowed_calling_codes = ["44", "1"]  # text only these countries; absent: any but premium ranges (+881, +882, ...)
# webhook_url = "https://sms-relay.example.com/send"   # POST {"to": "+44...", "text": "..."}
# webhook_authorization = "Bearer ..."                 # or TWOFOLD_SMS_WEBHOOK_AUTHORIZATION; never logged

# Tiers whose new passkeys must be hardware security keys with attestation from a trusted
# maker (their sign-ins then reach strength phrh). Without makers, nobody is held to it.
[webauthn]
attested_tiers = ["privileged"]
# [[webauthn.trusted_key_makers]]
# description = "YubiKey 5 Series"
# ca_file = "/etc/twofold/yubico-u2f-root.pem"
# aaguids = ["cb69481e-8ff7-4039-93ec-0a2729a154a8", "ee882879-721c-4913-9775-3dfcce97072a"]

# The verify API throttles per person and per calling client. A gateway that verifies codes
# for many people may be allowed more failures than the default 50 before it is delayed.
# [[verify.trusted_callers]]
# caller = "api_key:vpn-gateway"      # or "service:NAME" for a service account
# free_failures = 500

# Forward-auth (GET /api/v1/forward-auth) for apps behind nginx auth_request, Traefik
# ForwardAuth or Caddy forward_auth. The most specific rule decides (exact host before
# *.domain before *, longer path first); requests no rule matches get the default.
[forward_auth]
default = "deny"                       # none | pwd | mfa | phr | phrh | deny
# [[forward_auth.rules]]
# host = "wiki.example.com"
# path = "/"
# require = "mfa"
# [[forward_auth.rules]]
# host = "wiki.example.com"
# path = "/admin"
# require = "phr"
# max_age_secs = 900                   # the sign-in must be at most 15 minutes old
# groups = ["wiki-admins"]             # anyone else gets 403
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_has_no_problems() {
        assert_eq!(check(EXAMPLE), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let source = "listen = \"nowhere\"\ncolour = 1\n[password]\nmemory_kib = \"lots\"\n[session]\nidle = 5\n";
        let keys: Vec<_> = check(source).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["colour", "password.memory_kib", "session.idle"]);
        let values = "listen = \"nowhere\"\npublic_url = \"ftp://x\"\ndatabase_url = \"mysql://x\"\n[session]\nidle_timeout_secs = 10\n";
        let keys: Vec<_> = check(values).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["listen", "public_url", "database_url", "session.idle_timeout_secs"]);
    }

    #[test]
    fn fallback_channels_are_checked() {
        let source = "[email_otp]\nenabled = true\nuntil = 2027-02-20T10:00:00Z\nforbidden_tiers = [\"admins\"]\n[sms_otp]\nenabled = true\n";
        let keys: Vec<_> = check(source).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["email_otp.until", "email_otp.forbidden_tiers", "sms_otp.webhook_url"]);
        let good = "[sms_otp]\nenabled = true\nuntil = 2027-03-31\nwebhook_url = \"https://sms.example.com/send\"\n";
        assert_eq!(check(good), vec![]);
        let file: FileConfig = toml::from_str(good).unwrap();
        let policy = file.sms_otp.policy().unwrap();
        assert_eq!(policy.until, Some(twofold_core::Timestamp(1_806_451_200_000)), "00:00 UTC on the date");
        assert_eq!(policy.forbidden_tiers, DEFAULT_FORBIDDEN_TIERS);
    }

    #[test]
    fn forward_auth_rules_are_checked() {
        let source = "[forward_auth]\ndefault = \"two_factor\"\n[[forward_auth.rules]]\nhost = \"Wiki\"\nrequire = \"mfa\"\n[[forward_auth.rules]]\nhost = \"a\"\npath = \"admin\"\nrequire = \"phr\"\n";
        let keys: Vec<_> = check(source).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["forward_auth.default", "forward_auth.rules[0].host", "forward_auth.rules[1].path"]);
        let typo = "[[forward_auth.rules]]\nhost = \"a\"\nrequire = \"mfa\"\ngroup = [\"x\"]\n";
        let problems = check(typo);
        assert_eq!(problems[0].key, "forward_auth");
        assert!(problems[0].message.contains("group"), "{problems:?}");
    }

    #[test]
    fn a_weak_metrics_token_is_refused_without_being_repeated() {
        let problems = check("metrics_token = \"hunter2\"\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "metrics_token");
        assert!(!problems[0].message.contains("hunter2"), "{problems:?}");
        assert_eq!(check("metrics_token = \"a-long-enough-scrape-token\"\n"), vec![]);
    }

    #[test]
    fn weak_password_hashing_is_refused() {
        let problems = check("[password]\nmemory_kib = 1024\niterations = 1\n");
        assert_eq!(problems[0].key, "password");
    }

    #[test]
    fn a_syntax_error_names_line_and_column() {
        let problems = check("listen = \"a\"\nbroken = = 1\n");
        assert!(problems[0].key.starts_with("line 2"), "{problems:?}");
    }
}
