//! The configuration file's shape: every key optional, unknown keys refused; the sections
//! for password hashing, sessions, WebAuthn attestation and the verify API's trusted callers.
//! (Email and SMS codes are in `channels.rs`, forward-auth in `forward_auth.rs`.)

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::channels::ChannelSection;
use super::check::check;
use super::forward_auth;
use crate::cli::LogFormat;

/// The file's contents, every key optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) listen: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) database_url: Option<String>,
    pub(super) master_key_file: Option<PathBuf>,
    pub(super) log_format: Option<LogFormat>,
    pub(super) smtp_url: Option<String>,
    pub(super) mail_from: Option<String>,
    pub(super) geoip_database: Option<PathBuf>,
    pub(super) exception_max_days: Option<u32>,
    pub(super) metrics_token: Option<String>,
    #[serde(default)]
    pub(super) trusted_proxies: Vec<String>,
    #[serde(default)]
    pub(super) password: PasswordSection,
    #[serde(default)]
    pub(super) session: SessionSection,
    #[serde(default)]
    pub(super) email_otp: ChannelSection,
    #[serde(default)]
    pub(super) sms_otp: ChannelSection,
    #[serde(default)]
    pub(super) webauthn: WebauthnSection,
    #[serde(default)]
    pub(super) forward_auth: forward_auth::ForwardAuthSection,
    #[serde(default)]
    pub(super) verify: VerifySection,
    #[serde(default)]
    pub(super) enrolment: super::helpdesk::EnrolmentSection,
    #[serde(default)]
    pub(super) helpdesk: super::helpdesk::HelpdeskSection,
    #[serde(default)]
    pub(super) emergency: super::emergency::EmergencySection,
    #[serde(default)]
    pub(super) branding: super::branding::BrandingSection,
}

/// `[verify]`: the verify API's callers trusted with more failures than one browser (a
/// gateway verifying codes for many people).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifySection {
    #[serde(default)]
    pub(super) trusted_callers: Vec<TrustedCallerSection>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrustedCallerSection {
    /// `api_key:NAME` or `service:NAME`, as the audit log names the caller.
    pub(super) caller: String,
    /// Failures allowed before its calls are delayed (the default is 50 per source).
    pub(super) free_failures: i64,
}

/// `[webauthn]`: which tiers must register attested hardware keys, and whose keys count.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebauthnSection {
    pub(super) attested_tiers: Option<Vec<String>>,
    #[serde(default)]
    pub(super) trusted_key_makers: Vec<KeyMakerSection>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyMakerSection {
    pub(super) description: String,
    pub(super) ca_file: PathBuf,
    pub(super) aaguids: Vec<uuid::Uuid>,
}

impl WebauthnSection {
    /// The attestation policy the section describes (each maker's CA read from its file).
    pub(super) fn policy(&self) -> anyhow::Result<twofold_app::factors::passkeys::AttestationPolicy> {
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

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordSection {
    pub(super) memory_kib: Option<u32>,
    pub(super) iterations: Option<u32>,
    pub(super) parallelism: Option<u32>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionSection {
    pub(super) idle_timeout_secs: Option<i64>,
    pub(super) absolute_timeout_secs: Option<i64>,
    pub(super) cookie_domain: Option<String>,
}

/// Reads and checks the file at `path`: any problem refuses the whole file, all of them listed.
pub(super) fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    let problems = check(&source);
    if !problems.is_empty() {
        let list: Vec<_> = problems.iter().map(ToString::to_string).collect();
        bail!("config file {} has problems: {}", path.display(), list.join("; "));
    }
    toml::from_str(&source).with_context(|| format!("config file {}", path.display()))
}
