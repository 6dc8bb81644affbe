//! What a security team wants to know about each service account: when it last got a
//! token, how old its secret is, whether a rotated-out secret still works, and which of
//! those deserve attention. Pure: the caller passes the accounts and the time.

use serde::Serialize;

use crate::Timestamp;
use crate::oidc::Client;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Thresholds for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportPolicy {
    /// An account without a token for this many days is reported as unused.
    pub unused_days: i64,
    /// A secret older than this many days is reported as due for rotation.
    pub secret_max_age_days: i64,
}

impl Default for ReportPolicy {
    fn default() -> Self {
        Self { unused_days: 30, secret_max_age_days: 90 }
    }
}

/// One account's line in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    /// `client_id`.
    pub client_id: String,
    /// What it is for.
    pub name: String,
    /// `client_secret_basic` or `private_key_jwt`.
    pub token_endpoint_auth_method: &'static str,
    /// Granted scopes.
    pub scope: String,
    /// When it last got a token (to the minute), if ever.
    pub last_used_at: Option<Timestamp>,
    /// Days since its current secret was made (none for key-only accounts).
    pub secret_age_days: Option<i64>,
    /// Until when the secret before the last rotation still works, if it does.
    pub previous_secret_valid_until: Option<Timestamp>,
    /// What deserves attention, in words; empty when nothing does.
    pub findings: Vec<String>,
}

/// The report line for `account` at `now`.
#[must_use]
pub fn report_line(account: &Client, now: Timestamp, policy: ReportPolicy) -> ReportLine {
    let days_since = |t: Timestamp| (now.millis() - t.millis()) / DAY_MS;
    let mut findings = Vec::new();
    match account.last_used_at {
        None if days_since(account.created_at) >= policy.unused_days => {
            findings.push(format!("never used in the {} days since it was made", days_since(account.created_at)));
        }
        Some(last) if days_since(last) >= policy.unused_days => {
            findings.push(format!("unused for {} days", days_since(last)));
        }
        _ => {}
    }
    let secret_age_days =
        account.secret_hash.as_ref().map(|_| days_since(account.secret_set_at.unwrap_or(account.created_at)));
    if let Some(age) = secret_age_days.filter(|age| *age >= policy.secret_max_age_days) {
        findings.push(format!("secret is {age} days old: rotate it"));
    }
    let previous_secret_valid_until =
        account.previous_secret_expires_at.filter(|until| *until > now && account.previous_secret_hash.is_some());
    if let Some(until) = previous_secret_valid_until {
        findings.push(format!("the previous secret still works until {}", until.to_rfc3339()));
    }
    ReportLine {
        client_id: account.client_id.clone(),
        name: account.name.clone(),
        token_endpoint_auth_method: if account.secret_hash.is_some() {
            "client_secret_basic"
        } else {
            "private_key_jwt"
        },
        scope: account.scopes.join(" "),
        last_used_at: account.last_used_at,
        secret_age_days,
        previous_secret_valid_until,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(created_day: i64) -> Client {
        Client {
            client_id: "tfs_1".into(),
            name: "Nightly".into(),
            secret_hash: Some("h".into()),
            redirect_uris: Vec::new(),
            scopes: vec!["reports:read".into()],
            public: false,
            service: true,
            token_lifetime_secs: None,
            min_acr: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            consent_required: false,
            jwks: None,
            id_token_alg: None,
            tls_cert_thumbprint: None,
            resources: Vec::new(),
            token_endpoint_auth_method: None,
            may_introspect: false,
            last_used_at: None,
            secret_set_at: None,
            created_at: Timestamp(created_day * DAY_MS),
        }
    }

    #[test]
    fn unused_accounts_and_old_or_overlapping_secrets_are_reported() {
        let now = Timestamp(200 * DAY_MS);
        let policy = ReportPolicy::default();
        let fresh = report_line(&account(195), now, policy);
        assert!(fresh.findings.is_empty(), "{:?}", fresh.findings);
        let idle = report_line(&account(100), now, policy);
        assert_eq!(
            idle.findings,
            ["never used in the 100 days since it was made", "secret is 100 days old: rotate it"]
        );
        let mut busy = account(100);
        busy.last_used_at = Some(Timestamp(199 * DAY_MS));
        busy.secret_set_at = Some(Timestamp(150 * DAY_MS));
        busy.previous_secret_hash = Some("old".into());
        busy.previous_secret_expires_at = Some(Timestamp(201 * DAY_MS));
        let line = report_line(&busy, now, policy);
        assert_eq!(line.secret_age_days, Some(50));
        assert_eq!(line.findings.len(), 1, "{:?}", line.findings);
        assert!(line.findings[0].starts_with("the previous secret still works until"));
        let mut stale = busy;
        stale.last_used_at = Some(Timestamp(160 * DAY_MS));
        stale.previous_secret_expires_at = Some(Timestamp(190 * DAY_MS));
        assert_eq!(report_line(&stale, now, policy).findings, ["unused for 40 days"]);
    }
}
