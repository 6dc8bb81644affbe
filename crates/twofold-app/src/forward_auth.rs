//! Forward-auth for apps behind a reverse proxy: the proxy asks, for each request, whether
//! the browser's Twofold session may pass, and learns who it is.

use twofold_core::forward_auth::{self, Decision, Policy, Presented};
use twofold_core::policy::{self, Action, Device, Mode, Outcome, Risk};

use crate::auth::Authenticated;
use crate::{App, AppResult};

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
    /// Whether the browser carries a device cookie of ours.
    pub device_known: bool,
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

impl App {
    /// Uses `policy` for forward-auth requests (the default refuses every request).
    #[must_use]
    pub fn with_forward_auth(mut self, policy: Policy) -> Self {
        self.forward_auth = policy;
        self
    }

    /// Whether a browser may be sent back to `host` after signing in for forward-auth.
    #[must_use]
    pub fn forward_auth_knows_host(&self, host: &str) -> bool {
        self.forward_auth.knows_host(host)
    }

    /// Decides a request (`method` on `host` and `path` with query) that carries `session`:
    /// the forward-auth rules first, then, for a signed-in person they let through, the
    /// conditional-access policy in force (strictest wins; an unusable policy refuses).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn forward_auth(
        &self,
        session: Option<&Authenticated>,
        request: &ForwardRequest<'_>,
    ) -> AppResult<ForwardOutcome> {
        let (host, path) = (request.host, request.path);
        let full = session.filter(|s| !s.session.mfa_pending);
        let groups = match full {
            Some(current) => self.store.user_groups(current.user.id).await?,
            None => Vec::new(),
        };
        let presented = full.map(|s| Presented { auth: &s.session.auth, groups: &groups });
        let decision = forward_auth::decide(&self.forward_auth, host, path, presented.as_ref(), self.now());
        if let (Decision::Allow, Some(current)) = (&decision, full)
            && let Some(refused) = self.conditional_access(current, &groups, request).await?
        {
            return Ok(refused);
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
                Some(current) if !self.can_reach(&current.user, &acr).await? => ForwardOutcome::Deny(format!(
                    "this page needs a sign-in of strength {acr}, which none of your methods reaches"
                )),
                _ => ForwardOutcome::StepUp(acr),
            },
            Decision::Deny(reason) => ForwardOutcome::Deny(reason),
        })
    }

    /// What the conditional-access policy in force asks of this signed-in request beyond what
    /// the session has: `None` when it is satisfied (or there is no policy).
    async fn conditional_access(
        &self,
        current: &Authenticated,
        groups: &[String],
        request: &ForwardRequest<'_>,
    ) -> AppResult<Option<ForwardOutcome>> {
        let policy = match self.policy_in_force().await {
            Ok(Some(policy)) => policy,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::error!(error = %e, "conditional access unavailable: refusing");
                return Ok(Some(ForwardOutcome::Deny("access cannot be checked right now".into())));
            }
        };
        let user = &current.user;
        let now = self.now();
        let facts = policy::Facts {
            username: &user.username,
            groups,
            tier: user.tier,
            roles: &user.roles,
            service_account: false,
            app: None,
            host_path: Some((request.host, request.path)),
            action: if matches!(request.method, "GET" | "HEAD" | "OPTIONS") { Action::Read } else { Action::Modify },
            ip: request.ip,
            device: if request.device_known { Device::Known } else { Device::New },
            country: None,
            risk: Risk::Low,
            now,
        };
        let decision = policy::evaluate(&policy, &facts);
        let rules = || {
            decision
                .hits
                .iter()
                .filter(|h| h.mode == Mode::Enforce)
                .map(|h| h.rule.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let auth = &current.session.auth;
        Ok(match &decision.outcome {
            Outcome::Allow => None,
            Outcome::Block => Some(ForwardOutcome::Deny(format!("refused by conditional access ({})", rules()))),
            Outcome::Limit => {
                Some(ForwardOutcome::Deny(format!("only low-sensitivity apps are open to you now ({})", rules())))
            }
            Outcome::Require { within_minutes, .. } => {
                let unmet = decision.strengths.iter().find(|s| !policy::satisfies(&policy, s, &auth.acr, &auth.amr));
                let stale = within_minutes
                    .is_some_and(|m| auth.auth_time.is_none_or(|t| now.millis() - t.millis() > i64::from(m) * 60_000));
                let wanted = unmet.or(decision.strengths.first()).cloned().unwrap_or_else(|| "mfa".into());
                // A custom strength is asked for as a fresh second factor.
                let acr = if twofold_core::oidc::STRENGTHS.contains(&wanted.as_str()) { wanted } else { "mfa".into() };
                if unmet.is_none() && !stale {
                    None
                } else if !self.can_reach(user, &acr).await? {
                    Some(ForwardOutcome::Deny(format!(
                        "conditional access ({}) needs a sign-in of strength {acr}, which none of your methods reaches",
                        rules()
                    )))
                } else {
                    Some(ForwardOutcome::StepUp(acr))
                }
            }
        })
    }
}
