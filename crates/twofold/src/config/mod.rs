//! Configuration: defaults, then a TOML file, then `TWOFOLD_*` environment variables, then
//! flags. `twofold config check` walks a file and reports every problem with its key. The file's
//! shape is `file.rs` (email and SMS codes `channels.rs`, forward-auth `forward_auth.rs`), its
//! checks `check.rs`, the commented example `example.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use twofold_core::identity::password::HashParams;
use twofold_core::signin::session::SessionPolicy;

use crate::cli::{GlobalArgs, LogFormat, ServeArgs};

mod branding;
mod channels;
mod check;
mod emergency;
mod example;
mod file;
mod forward_auth;
mod helpdesk;

pub use check::check;
pub use example::EXAMPLE;
use file::{FileConfig, read_file};

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
    /// The organisation's name and logo on every page.
    pub branding: twofold_http::pages::chrome::Branding,
    /// The domain the session cookie is shared across (`[session] cookie_domain`), checked
    /// against the public URL when the server starts.
    pub cookie_domain: Option<String>,
    /// Failures allowed per trusted verify-API caller (by caller name) before it is delayed.
    pub verify_caller_limits: std::collections::HashMap<String, i64>,
    /// What someone with no method needs besides the password to enrol a first one.
    pub first_enrolment: twofold_core::factors::first_enrolment::FirstEnrolmentPolicy,
    /// Whom operators serve and how fresh their own proof must be.
    pub helpdesk: twofold_app::cases::HelpDeskPolicy,
    /// How long temporary access passes may live.
    pub access_passes: twofold_core::factors::access_pass::AccessPassPolicy,
    /// Emergency access and the break-glass watch.
    pub emergency: twofold_app::emergency::EmergencyPolicy,
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

/// Names of set `TWOFOLD_*` variables that Twofold does not read (likely typos). The test
/// clock's variable is read by debug builds only, so a release build warns about it too.
pub fn unknown_env_vars() -> Vec<String> {
    let known =
        |name: &str| KNOWN_ENV.contains(&name) || (cfg!(debug_assertions) && name == crate::clock::TEST_CLOCK_VAR);
    std::env::vars().map(|(k, _)| k).filter(|k| k.starts_with("TWOFOLD_") && !known(k)).collect()
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
    let listed = |problems: Vec<(String, String)>| {
        let list: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        anyhow::anyhow!("{}", list.join("; "))
    };
    let first_enrolment = file.enrolment.policy().map_err(listed)?;
    let (helpdesk, access_passes) = file.helpdesk.policy().map_err(listed)?;
    let emergency = file.emergency.policy().map_err(listed)?;
    let branding = file.branding.branding().map_err(listed)?;
    Ok(Settings {
        branding,
        emergency,
        first_enrolment,
        helpdesk,
        access_passes,
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
        cookie_domain: file.session.cookie_domain.clone(),
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

#[cfg(test)]
mod tests {
    use super::channels::DEFAULT_FORBIDDEN_TIERS;
    use super::file::FileConfig;
    use super::{EXAMPLE, check};

    #[test]
    fn the_example_has_no_problems() {
        assert_eq!(check(EXAMPLE), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let source = "listen = \"nowhere\"\ncolour = 1\n[password]\nmemory_kib = \"lots\"\n[session]\nidle = 5\n";
        let keys: Vec<_> = check(source).into_iter().map(|p| p.key).collect();
        // The bad value beside them is reported in the same run (it used to wait for the next).
        assert_eq!(keys, ["colour", "password.memory_kib", "session.idle", "listen"]);
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
    fn enrolment_and_helpdesk_sections_are_checked() {
        let source = "[enrolment]\nfirst_method = \"sms\"\nnetworks = [\"office\"]\n[helpdesk]\ntiers = [\"break_glass\"]\noperator_fresh_minutes = 0\naccess_pass_max_minutes = 600\n";
        let keys: Vec<_> = check(source).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "enrolment.first_method",
                "enrolment.networks",
                "helpdesk.tiers",
                "helpdesk.operator_fresh_minutes",
                "helpdesk.access_pass_max_minutes"
            ]
        );
        let network_without_networks = "[enrolment]\nfirst_method = \"network\"\n";
        assert_eq!(check(network_without_networks)[0].key, "enrolment.networks");
        let good = "[enrolment]\nfirst_method = \"access_pass\"\n[helpdesk]\ntiers = [\"standard\", \"privileged\"]\naccess_pass_max_minutes = 120\n";
        assert_eq!(check(good), vec![]);
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
