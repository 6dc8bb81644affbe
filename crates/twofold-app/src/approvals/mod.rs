//! Maker–checker approvals (rules in `twofold_core::approvals`): the rules files and the
//! callback URLs an administrator registers (`mod.rs`), what apps do — raise a request for
//! their signed-in person and read its result (`requests.rs`) —, what approvers do — see
//! their queue and decide with a fresh second factor (`decisions.rs`) —, and what follows a
//! decision: the signed receipt, its delivery through the outbox, expiry (`results.rs`).

mod decisions;
mod requests;
mod results;

pub use decisions::QueueEntry;
pub use requests::RaisedRequest;
pub use results::DeliveryReport;

use std::sync::Arc;

use twofold_core::ValidationErrors;
use twofold_core::access::PolicyVersion;
use twofold_core::access::file::Problem;
use twofold_core::approvals::ApprovalRefusal;
use twofold_core::approvals::rules::{self, ApprovalRules};
use twofold_core::outbox::Deliverer;

use crate::oidc::Provider;
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta, Shared};

/// The approvals capability.
pub struct Approvals {
    pub(crate) shared: Arc<Shared>,
    pub(crate) oidc: Arc<Provider>,
    /// Posts results to callback URLs; absent for admin verbs (the server delivers).
    pub(crate) deliverer: Option<Arc<dyn Deliverer>>,
}

crate::reads_shared!(Approvals);

fn refused(refusal: ApprovalRefusal) -> AppError {
    AppError::Refused(Refusal::Approval(refusal))
}

impl Approvals {
    /// Checks an approval rules file against the directory's groups; the rules, or every
    /// problem.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn check_rules(&self, source: &str) -> AppResult<Result<ApprovalRules, Vec<Problem>>> {
        let groups: Vec<String> = self.store.list_groups().await?.into_iter().map(|g| g.group.name).collect();
        Ok(rules::load(source, &groups))
    }

    /// Applies a rules file as the next version (audited `approval_rules.apply`); a file with
    /// any problem is refused whole and changes nothing. Open requests keep the rule they
    /// were raised under.
    ///
    /// # Errors
    /// [`AppError::Invalid`] with every problem keyed by where it is; storage failures.
    pub async fn apply_rules(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        source: &str,
        note: Option<&str>,
    ) -> AppResult<i64> {
        if let Err(problems) = self.check_rules(source).await? {
            return Err(twofold_core::access::file::into_errors(problems).into());
        }
        Ok(self.store.put_approval_rules(source, note, self.now(), &self.audit_context(actor, meta)).await?)
    }

    /// Every applied rules version, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn rules_versions(&self) -> AppResult<Vec<PolicyVersion>> {
        Ok(self.store.approval_rules_versions().await?)
    }

    /// The rules in force (the newest version) and its number; none applied yet is no rules.
    ///
    /// # Errors
    /// Storage failures; a stored version that no longer checks (a group it names was
    /// deleted) is an error rather than a silently different rule.
    pub async fn current_rules(&self) -> AppResult<(i64, ApprovalRules)> {
        let Some(current) = self.rules_versions().await?.into_iter().next() else {
            return Ok((0, ApprovalRules::default()));
        };
        match self.check_rules(&current.source).await? {
            Ok(rules) => Ok((current.version, rules)),
            Err(problems) => Err(AppError::Internal(format!(
                "approval rules version {} no longer checks: {}",
                current.version,
                problems.iter().map(|p| format!("{} {}", p.at, p.message)).collect::<Vec<_>>().join("; ")
            ))),
        }
    }

    /// Registers the callback URLs an app's requests may name (replacing the ones before),
    /// audited `client.update`. Each must be `https://`, or `http://` to a loopback host.
    ///
    /// # Errors
    /// An unknown app; a URL that is not absolute http(s), has a fragment, or is plain http
    /// to another host.
    pub async fn set_callbacks(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        client_id: &str,
        urls: &[String],
    ) -> AppResult<()> {
        let mut errors = ValidationErrors::default();
        for (i, url) in urls.iter().enumerate() {
            if let Err(why) = callback_url_problem(url) {
                errors.add(format!("callback[{i}]"), why);
            }
        }
        errors.into_result()?;
        if self.store.set_approval_callbacks(client_id, urls, &self.audit_context(actor, meta)).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("client"))
        }
    }

    /// The callback URLs registered for an app.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn callbacks(&self, client_id: &str) -> AppResult<Vec<String>> {
        Ok(self.store.approval_callbacks(client_id).await?)
    }
}

/// Why `url` cannot be a callback URL: results carry receipts, so they go over TLS except to
/// an app on the same machine.
fn callback_url_problem(url: &str) -> Result<(), &'static str> {
    let (scheme, rest) = url.split_once("://").ok_or("must be an absolute http(s) URL")?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.contains('@') {
        // A password in the URL would reach logs, audit events and alerts.
        return Err("must not carry a user name or password: authenticate the receipt by its signature");
    }
    if url.contains('#') || host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be an absolute http(s) URL with a host and no fragment");
    }
    let name = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    let loopback = name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("must be https (plain http only to localhost)"),
        _ => Err("must be an absolute http(s) URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::callback_url_problem;

    #[test]
    fn callbacks_go_over_tls_except_to_the_same_machine() {
        assert!(callback_url_problem("https://forecast.example.com/approvals/callback").is_ok());
        assert!(callback_url_problem("http://localhost:8000/cb").is_ok());
        assert!(callback_url_problem("http://127.0.0.1:8000/cb").is_ok());
        assert!(callback_url_problem("http://[::1]:8000/cb").is_ok());
        assert!(callback_url_problem("http://forecast.example.com/cb").is_err());
        assert!(callback_url_problem("http://localhost.evil.example/cb").is_err());
        assert!(callback_url_problem("https://a.example/cb#x").is_err());
        assert!(callback_url_problem("ftp://a.example/cb").is_err());
        assert!(callback_url_problem("/cb").is_err());
        assert!(callback_url_problem("https://user:secret@a.example/cb").is_err(), "no credentials in URLs");
    }
}
