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
    /// audited `client.update`. Each is checked as every registered app URI is
    /// ([`twofold_core::oidc::check_app_uri`]).
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
            if let Err(problem) = twofold_core::oidc::check_app_uri(url, &format!("callback[{i}]")) {
                errors.0.extend(problem.0);
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

#[cfg(test)]
mod tests {
    use twofold_core::oidc::check_app_uri;

    #[test]
    fn callbacks_go_over_tls_except_to_the_same_machine() {
        let ok = |url: &str| check_app_uri(url, "callback").is_ok();
        assert!(ok("https://forecast.example.com/approvals/callback"));
        assert!(ok("http://localhost:8000/cb"));
        assert!(ok("http://127.0.0.1:8000/cb"));
        assert!(ok("http://[::1]:8000/cb"));
        assert!(!ok("http://forecast.example.com/cb"));
        assert!(!ok("http://localhost.evil.example/cb"));
        assert!(!ok("https://a.example/cb#x"));
        assert!(!ok("ftp://a.example/cb"));
        assert!(!ok("/cb"));
        assert!(!ok("https://user:secret@a.example/cb"), "no credentials in URLs");
        assert!(!ok("https:///cb"), "a host");
    }
}
