//! Conditional-access policy versions: apply a checked file, list versions, roll back.

use super::ConditionalAccess;
use twofold_core::ValidationErrors;
use twofold_core::access::{self, Outcome, Policy, PolicyVersion, SignInNeed, file};

use twofold_core::signin::SignInContext;

use crate::access::Target;
use crate::signin::Authenticated;

use crate::{Actor, AppError, AppResult, RequestMeta};

/// The kinds of second step a page may offer for a strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    /// Codes from apps, tokens and email, and recovery codes (`otp`).
    pub codes: bool,
    /// Text messages (`sms`).
    pub sms: bool,
    /// Passkeys and security keys (`hwk`).
    pub passkey: bool,
}

impl Offered {
    /// Every kind.
    pub const ALL: Self = Self { codes: true, sms: true, passkey: true };
}

/// The policy in force and its version number.
pub(crate) type VersionInForce = (i64, std::sync::Arc<Policy>);

/// What the policy in force says of a signed-in request, against what the session has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing more is needed.
    Satisfied,
    /// `block` or `limit`, or the policy could not be read (fail closed); the reason names the rules.
    Refused(String),
    /// A (fresh) second factor of this strength first (built in, or one the policy defines).
    StepUp(String),
    /// A strength none of the person's methods reaches.
    Unreachable(String),
}

/// One hypothetical sign-in or request for [`App::whatif`]; the words are the policy
/// file's (`new`, `export`, `medium`).
#[derive(Debug, Clone, Default)]
pub struct WhatIf {
    /// Who (username).
    pub user: String,
    /// To which OpenID Connect client (`client_id`), or `twofold`.
    pub app: Option<String>,
    /// Or to which forward-auth `host/path`.
    pub host: Option<String>,
    /// From which address.
    pub ip: Option<String>,
    /// `new` (default), `known` or `trusted`.
    pub device: Option<access::Device>,
    /// `read` (default), `modify`, `export`, `approve` or `admin`.
    pub action: Option<access::Action>,
    /// ISO 3166 alpha-2.
    pub country: Option<String>,
    /// `low` (default), `medium` or `high`.
    pub risk: Option<access::Risk>,
}

impl ConditionalAccess {
    /// Explains what `policy` (the one in force when `None`) decides for one hypothetical
    /// sign-in.
    ///
    /// # Errors
    /// [`AppError::Invalid`] for a bad address, no policy at all, an unknown user.
    pub async fn whatif(&self, policy: Option<Policy>, question: &WhatIf) -> AppResult<access::Decision> {
        let policy = match policy {
            Some(policy) => policy,
            None => self.current_policy().await?.map(|(_, policy)| policy).ok_or_else(|| {
                ValidationErrors::one("policy", "no policy has been applied: `twofold policy apply FILE`, or pass one")
            })?,
        };
        let detail = self.identity.user_detail(&question.user).await?;
        let ip = match question.ip.as_deref() {
            Some(ip) => Some(ip.parse().map_err(|_| ValidationErrors::one("ip", format!("'{ip}' is not an address")))?),
            None => None,
        };
        let host_path = question.host.as_deref().map(|h| match h.find('/') {
            Some(i) => (&h[..i], &h[i..]),
            None => (h, "/"),
        });
        let facts = access::Facts {
            username: &detail.user.username,
            groups: &detail.groups,
            tier: detail.user.tier,
            roles: &detail.user.roles,
            service_account: false,
            app: question.app.as_deref(),
            host_path,
            action: question.action.unwrap_or(access::Action::Read),
            ip,
            device: question.device.unwrap_or(access::Device::New),
            country: question.country.as_deref(),
            risk: question.risk.unwrap_or_default(),
            overdue: None,
            now: self.now(),
        };
        Ok(access::evaluate(&policy, &facts))
    }

    /// Checks a policy file against the directory's groups; the policy, or every problem.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn check_policy(&self, source: &str) -> AppResult<Result<Policy, Vec<file::Problem>>> {
        let groups: Vec<String> = self.store.list_groups().await?.into_iter().map(|g| g.group.name).collect();
        Ok(file::load(source, &groups))
    }

    /// Applies a policy file as the next version (audited `policy.apply`); a file with any
    /// problem is refused whole and changes nothing.
    ///
    /// # Errors
    /// [`AppError::Validation`] with every problem keyed by where it is; storage failures.
    pub async fn apply_policy(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        source: &str,
        note: Option<&str>,
    ) -> AppResult<i64> {
        if let Err(problems) = self.check_policy(source).await? {
            return Err(file::into_errors(problems).into());
        }
        let ctx = self.audit_context(actor, meta);
        let version = self.store.put_policy_version(source, note, self.now(), &ctx).await?;
        // This node uses the new version at once; others within their cache's few seconds.
        if let Ok(mut cache) = self.policy_cache.lock() {
            *cache = None;
        }
        Ok(version)
    }

    /// Every applied version, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn policy_versions(&self) -> AppResult<Vec<PolicyVersion>> {
        Ok(self.store.policy_versions().await?)
    }

    /// The policy in force (the newest version), if one was ever applied.
    ///
    /// # Errors
    /// Storage failures; a stored version that no longer checks (a group it names was
    /// deleted) is an error rather than a silently weaker policy.
    pub async fn current_policy(&self) -> AppResult<Option<(PolicyVersion, Policy)>> {
        let Some(current) = self.policy_versions().await?.into_iter().next() else { return Ok(None) };
        match self.check_policy(&current.source).await? {
            Ok(policy) => Ok(Some((current, policy))),
            Err(problems) => Err(AppError::Internal(format!(
                "policy version {} no longer checks: {}",
                current.version,
                problems.iter().map(|p| format!("{}: {}", p.at, p.message)).collect::<Vec<_>>().join("; ")
            ))),
        }
    }

    /// The policy in force, read at most every few seconds (an apply on another node takes
    /// effect here within that time).
    ///
    /// # Errors
    /// As [`App::current_policy`]: callers must then refuse (fail closed), never allow.
    pub(crate) async fn policy_in_force(&self) -> AppResult<Option<std::sync::Arc<Policy>>> {
        Ok(self.policy_version_in_force().await?.map(|(_, policy)| policy))
    }

    /// The policy in force with its version number; see [`App::policy_in_force`].
    pub(crate) async fn policy_version_in_force(&self) -> AppResult<Option<VersionInForce>> {
        let now = self.now();
        if let Ok(cache) = self.policy_cache.lock()
            && let Some((read_at, policy)) = cache.as_ref()
            && now.millis() - read_at.millis() < crate::oidc::CACHE_MS
        {
            return Ok(policy.clone());
        }
        let policy =
            self.current_policy().await?.map(|(version, policy)| (version.version, std::sync::Arc::new(policy)));
        if let Ok(mut cache) = self.policy_cache.lock() {
            *cache = Some((now, policy.clone()));
        }
        Ok(policy)
    }

    /// Applies version `version`'s text again as a new version (so the history shows the
    /// rollback); checked again against today's directory.
    ///
    /// # Errors
    /// [`AppError::NotFound`] for an unknown version; as [`App::apply_policy`].
    pub async fn rollback_policy(&self, actor: &Actor, meta: &RequestMeta, version: i64) -> AppResult<i64> {
        let old = self
            .policy_versions()
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or(AppError::NotFound("policy version"))?;
        self.apply_policy(actor, meta, &old.source, Some(&format!("rollback to version {version}"))).await
    }

    /// Which kinds of second step may be offered for `strength` (built in, or one the policy
    /// in force defines), so the page never offers a method that would not do — nor one an
    /// attacker would downgrade to. Everything, when no strength is named or it is unknown.
    pub async fn offered_methods(&self, strength: Option<&str>) -> Offered {
        let Some(strength) = strength else { return Offered::ALL };
        let policy = self.policy_in_force().await.ok().flatten().unwrap_or_default();
        let known = twofold_core::oidc::STRENGTHS.contains(&strength) || policy.strengths.contains_key(strength);
        if !known {
            return Offered::ALL;
        }
        let meets = |acr: &str, method: &str| {
            access::satisfies(&policy, strength, acr, &["pwd".to_owned(), method.to_owned(), "mfa".to_owned()])
        };
        Offered { codes: meets("mfa", "otp"), sms: meets("mfa", "sms"), passkey: meets("phrh", "hwk") }
    }

    /// Asks the policy in force whether `current` may use Twofold's own pages (the app
    /// `twofold`): `read` to look, `modify` to change sign-in methods.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn own_pages_access(
        &self,
        current: &Authenticated,
        action: access::Action,
        meta: &RequestMeta,
    ) -> AppResult<Verdict> {
        let groups = self.store.user_groups(current.user.id).await?;
        let mut target = Target::sign_in(meta);
        target.app = Some(access::TWOFOLD_APP);
        target.host_path = None;
        target.action = action;
        self.conditional_access(current, &groups, &target).await
    }

    /// Asks the policy in force about a signed-in request and compares its answer with the
    /// session's strength and freshness.
    pub(crate) async fn conditional_access(
        &self,
        current: &Authenticated,
        groups: &[String],
        target: &Target<'_>,
    ) -> AppResult<Verdict> {
        Ok(self.conditional_access_recorded(current, groups, target).await?.0)
    }

    /// As [`App::conditional_access`], with what a sign-in event records of it (the facts and,
    /// with a policy in force, its decision).
    pub(crate) async fn conditional_access_recorded(
        &self,
        current: &Authenticated,
        groups: &[String],
        target: &Target<'_>,
    ) -> AppResult<(Verdict, SignInContext)> {
        let bare = SignInContext { device_id: target.device_id.map(str::to_owned), ..SignInContext::default() };
        // With no policy in force, an empty one: a campaign's enforcement still applies.
        let (version, policy) = match self.policy_version_in_force().await {
            Ok(Some(in_force)) => in_force,
            Ok(None) => (0, std::sync::Arc::new(Policy::default())),
            Err(e) => {
                tracing::error!(error = %e, "conditional access unavailable: refusing");
                return Ok((Verdict::Refused("access cannot be checked right now".into()), bare));
            }
        };
        let user = &current.user;
        let now = self.now();
        let (decision, facts) = self.decide(&policy, user, groups, target, None, false).await?;
        let record = (version > 0).then(|| crate::access::record(version, &decision));
        let context = SignInContext { policy: record, ..facts };
        let rules = || decision.enforced_rules();
        let auth = &current.session.auth;
        let verdict = match &decision.outcome {
            // Twofold's default (no enforced rule said `allow`): whoever has a second factor
            // proves it, so a session that proved none — opened before the person set one up,
            // perhaps by someone holding only the password — must step up once one exists.
            Outcome::Allow if decision.sign_in_need() == SignInNeed::Default && auth.acr == "pwd" => {
                if self.factors.has_second_factor(user).await? {
                    Verdict::StepUp("mfa".into())
                } else if needs_second_factor_always(user)
                    && !self.store.user_exceptions(user.id).await?.iter().any(|e| e.covers(now))
                {
                    // Privileged people, and anyone holding a role over Twofold, never get a
                    // password-only session that reaches more than Security info, whatever the
                    // policy leaves unsaid (the demo's included) — unless an approved
                    // exception, decided by someone else with their own second factor, says
                    // so for now.
                    Verdict::Unreachable(
                        "rules ask a second sign-in method of accounts with privileges like yours".into(),
                    )
                } else {
                    Verdict::Satisfied
                }
            }
            Outcome::Allow => Verdict::Satisfied,
            Outcome::Block => Verdict::Refused(format!("refused by conditional access ({})", rules())),
            Outcome::Limit => Verdict::Refused(format!("only low-sensitivity apps are open to you now ({})", rules())),
            Outcome::Require { within_minutes, .. } => {
                let short = access::shortfall(&policy, &decision.strengths, *within_minutes, auth, now);
                let unmet = short.and_then(|s| s.strength);
                let wanted = unmet.or(decision.strengths.first()).cloned().unwrap_or_else(|| "mfa".into());
                // A custom strength is reached by a second factor of one of its methods.
                let acr: String = if twofold_core::oidc::STRENGTHS.contains(&wanted.as_str()) {
                    wanted.clone()
                } else {
                    "mfa".into()
                };
                if short.is_none() {
                    Verdict::Satisfied
                } else if !self.factors.can_reach(user, &acr).await? {
                    Verdict::Unreachable(format!(
                        "conditional access ({}) needs a sign-in of strength {acr}, which none of your methods reaches",
                        rules()
                    ))
                } else {
                    Verdict::StepUp(wanted)
                }
            }
        };
        Ok((verdict, context))
    }
}

impl ConditionalAccess {
    /// Whether a grant from a password-only sign-in of `user` to app `client_id` may go on
    /// being refreshed: always for people [`needs_second_factor_always`] does not cover; for
    /// those it does, only while an approved exception covers them or an enforced rule of the
    /// policy in force allows them that app (asked with no address or device, so a rule for
    /// the office network does not keep it).
    ///
    /// # Errors
    /// Storage failures.
    pub(crate) async fn password_only_grant_stands(
        &self,
        user: &twofold_core::identity::User,
        client_id: &str,
    ) -> AppResult<bool> {
        if !needs_second_factor_always(user) {
            return Ok(true);
        }
        let now = self.now();
        if self.store.user_exceptions(user.id).await?.iter().any(|e| e.covers(now)) {
            return Ok(true);
        }
        let policy = self.policy_in_force().await?.unwrap_or_default();
        let groups = self.store.user_groups(user.id).await?;
        let target = Target {
            app: Some(client_id),
            host_path: None,
            action: access::Action::Read,
            ip: None,
            device_id: None,
            trusted: None,
        };
        let (decision, _) = self.decide(&policy, user, &groups, &target, None, false).await?;
        Ok(decision.outcome == Outcome::Allow && decision.sign_in_need() != SignInNeed::Default)
    }
}

/// Whether `user` needs a second factor even where no rule says so: privileged and
/// break-glass identities, and anyone whose roles make them privileged (admin, help desk,
/// HR, auditor).
fn needs_second_factor_always(user: &twofold_core::identity::User) -> bool {
    matches!(
        twofold_core::cases::scope::effective_tier(user),
        twofold_core::identity::Tier::Privileged | twofold_core::identity::Tier::BreakGlass
    )
}
