//! Forward-auth for apps behind a reverse proxy: the proxy asks, for each request, whether
//! the browser's Twofold session may pass, and learns who it is.

use twofold_core::forward_auth::{self, Decision, Policy, Presented};

use crate::access::Target;
use crate::access::policies::Verdict;

use crate::AppResult;
use crate::signin::Authenticated;

/// The forward-auth capability: what a reverse proxy asks about a request.
pub struct ForwardAuth {
    pub(crate) shared: std::sync::Arc<crate::Shared>,
    pub(crate) factors: std::sync::Arc<crate::factors::Factors>,
    pub(crate) access: std::sync::Arc<crate::access::ConditionalAccess>,
    /// Forward-auth rules (hosts and paths behind a reverse proxy).
    pub(crate) policy: Policy,
}

crate::reads_shared!(ForwardAuth);

/// Who passed, for the identity headers the proxy hands to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `username`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address, when known.
    pub email: Option<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// Strength the session reached.
    pub acr: String,
    /// Methods used (RFC 8176).
    pub amr: Vec<String>,
}

/// One request a reverse proxy asks about.
#[derive(Debug, Clone)]
pub struct ForwardRequest<'a> {
    /// The original method (`GET` when the proxy does not say).
    pub method: &'a str,
    /// Host (with port, lower case).
    pub host: &'a str,
    /// Path with query.
    pub path: &'a str,
    /// The browser's address, when known.
    pub ip: Option<std::net::IpAddr>,
    /// The browser's device cookie id, when it carries one of ours.
    pub device_id: Option<&'a str>,
}

/// The answer to one forwarded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardOutcome {
    /// Let it through; `None` for a public path reached without a session.
    Allow(Option<Identity>),
    /// Sign in first.
    SignIn,
    /// A (fresh) second factor of at least this strength first.
    StepUp(String),
    /// Refused (the reason is for the page and the log, never secret).
    Deny(String),
}

impl ForwardAuth {
    /// Whether a browser may be sent back to `host` after signing in for forward-auth.
    #[must_use]
    pub fn forward_auth_knows_host(&self, host: &str) -> bool {
        self.policy.knows_host(host)
    }

    /// Decides a request (`method` on `host` and `path` with query) that carries `session`:
    /// the forward-auth rules first, then, for a signed-in person they let through, the
    /// conditional-access policy in force (strictest wins; an unusable policy refuses).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn decide(
        &self,
        session: Option<&Authenticated>,
        request: &ForwardRequest<'_>,
    ) -> AppResult<ForwardOutcome> {
        let (host, path) = (request.host, request.path);
        let full = session.filter(|s| s.session.opens_apps());
        let groups = match full {
            Some(current) => self.store.user_groups(current.user.id).await?,
            None => Vec::new(),
        };
        let presented = full.map(|s| Presented { auth: &s.session.auth, groups: &groups });
        let decision = forward_auth::decide(&self.policy, host, path, presented.as_ref(), self.now());
        if let (Decision::Allow, Some(current)) = (&decision, full) {
            // What the request does: a path the policy names ([[action]]), else its method.
            let policy = match self.access.policy_in_force().await {
                Ok(policy) => policy.unwrap_or_default(),
                Err(e) => {
                    tracing::error!(error = %e, "conditional access unavailable: refusing");
                    return Ok(ForwardOutcome::Deny("access cannot be checked right now".into()));
                }
            };
            let (action, _) = twofold_core::access::paths::forward_action(&policy, host, path, request.method);
            let target = Target {
                app: None,
                host_path: Some((request.host, request.path)),
                action,
                ip: request.ip,
                device_id: request.device_id,
                trusted: None,
            };
            match self.access.conditional_access(current, &groups, &target).await? {
                Verdict::Satisfied => {}
                Verdict::Refused(reason) | Verdict::Unreachable(reason) => return Ok(ForwardOutcome::Deny(reason)),
                Verdict::StepUp(acr) => return Ok(ForwardOutcome::StepUp(acr)),
            }
        }
        Ok(match decision {
            Decision::Allow => ForwardOutcome::Allow(full.map(|current| Identity {
                username: current.user.username.clone(),
                name: current.user.display_name.clone(),
                email: current.user.email.clone(),
                groups,
                acr: current.session.auth.acr.clone(),
                amr: current.session.auth.amr.clone(),
            })),
            Decision::SignIn => ForwardOutcome::SignIn,
            Decision::StepUp(acr) => match full {
                // Asking for a factor the person does not have would only loop.
                Some(current) if !self.factors.can_reach(&current.user, &acr).await? => ForwardOutcome::Deny(format!(
                    "this page needs a sign-in of strength {acr}, which none of your methods reaches"
                )),
                _ => ForwardOutcome::StepUp(acr),
            },
            Decision::Deny(reason) => ForwardOutcome::Deny(reason),
        })
    }
}
