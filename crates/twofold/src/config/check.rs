//! `twofold config check`: every problem in a file, each with its key — unknown keys, wrong
//! types, then values that do not parse or are unsafe (weak hashing, open-ended exceptions).

use std::net::SocketAddr;

use twofold_core::identity::password::{HashParams, check_params};
use twofold_core::signin::session::SessionPolicy;

use super::channels::date_start;
use super::{branding, emergency, forward_auth, helpdesk};

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
    ("session.cookie_domain", "string"),
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
    ("enrolment", "table"),
    ("enrolment.first_method", "string"),
    ("enrolment.networks", "array"),
    ("helpdesk", "table"),
    ("helpdesk.tiers", "array"),
    ("helpdesk.departments", "array"),
    ("helpdesk.groups", "array"),
    ("helpdesk.operator_fresh_minutes", "integer"),
    ("helpdesk.access_pass_default_minutes", "integer"),
    ("helpdesk.access_pass_max_minutes", "integer"),
    ("helpdesk.team_lead", "string"),
    ("helpdesk.hr_email", "string"),
    ("helpdesk.operators", "array"),
    ("helpdesk.verification", "array"),
    ("helpdesk.hr_system_public_key", "string"),
    ("branding", "table"),
    ("branding.name", "string"),
    ("branding.logo_file", "string"),
    ("emergency", "table"),
    ("emergency.max_hours", "integer"),
    ("emergency.security_team", "string"),
    ("emergency.break_glass_test_every_days", "integer"),
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
                let a = |kind: &str| if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
                let found = type_name(value);
                problems.push(Problem {
                    key,
                    message: format!("must be {} {expected}, not {} {found}", a(expected), a(found)),
                });
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
    for (key, message) in
        helpdesk::check(table).into_iter().chain(emergency::check(table)).chain(branding::check(table))
    {
        add(&key, message);
    }
    let session_defaults = SessionPolicy::default();
    let idle = int("session", "idle_timeout_secs").unwrap_or(session_defaults.idle_timeout_secs);
    let absolute = int("session", "absolute_timeout_secs").unwrap_or(session_defaults.absolute_timeout_secs);
    if idle < 60 {
        add("session.idle_timeout_secs", format!("{idle} is too short; at least 60"));
    }
    if absolute < 300 {
        add("session.absolute_timeout_secs", format!("{absolute} is too short; at least 300 (5 minutes)"));
    } else if absolute < idle {
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
    // The values too, whatever else is wrong: one run lists every problem (a value of the
    // wrong type is left to its type's problem).
    check_values(&table, &mut problems);
    problems
}
