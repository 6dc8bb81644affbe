//! Conditional access as sign-in and every entry point ask it: the facts of one attempt or
//! request (who, which app, from where, on which device, at what risk), the policy in
//! force's decision on them, and the record of both kept on the sign-in event.

pub mod policies;
pub mod reports;
mod service_accounts;

use std::sync::Arc;

use twofold_core::access::risk::{Place, Signals};
use twofold_core::access::{self, Action, Decision, Device, Mode, Policy, Risk, SignInNeed, TWOFOLD_APP};
use twofold_core::identity::User;
use twofold_core::signin::{PolicyRecord, RuleRecord, SignInContext};
use twofold_core::store::SignInHistory;

use crate::{AppResult, RequestMeta};

/// The conditional-access capability: the facts of a request and the policy in force's
/// decision on them, policy versions and what-if, simulation and the report.
pub struct ConditionalAccess {
    pub(crate) shared: Arc<crate::Shared>,
    pub(crate) identity: Arc<crate::identity::Identities>,
    pub(crate) factors: Arc<crate::factors::Factors>,
    pub(crate) rollout: Arc<crate::rollout::Rollout>,
    pub(crate) attempts: Arc<crate::signin::Attempts>,
    /// Support cases: a help-desk change raises the risk, and a risky use after one is told.
    pub(crate) cases: Arc<crate::cases::Cases>,
    /// Locates addresses for country rules and impossible travel; absent without a GeoIP database.
    pub(crate) geo: Option<Arc<dyn twofold_core::access::geo::Geolocator>>,
    /// The policy in force as last read (when read, the policy); see `oidc::CACHE_MS`.
    pub(crate) policy_cache: std::sync::Mutex<Option<(twofold_core::Timestamp, Option<policies::VersionInForce>)>>,
}

crate::reads_shared!(ConditionalAccess);

/// What a request is for and where it comes from, as conditional access sees it.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    /// The app: an OpenID Connect `client_id`, or `twofold` for Twofold's own pages.
    pub(crate) app: Option<&'a str>,
    /// The forward-auth host and path.
    pub(crate) host_path: Option<(&'a str, &'a str)>,
    /// What it does.
    pub(crate) action: Action,
    /// From where.
    pub(crate) ip: Option<std::net::IpAddr>,
    /// The browser's device cookie id, when it has one of ours.
    pub(crate) device_id: Option<&'a str>,
    /// Whether that device is trusted for the person, when the caller has already read it
    /// (the sign-in pipeline reads it once per attempt).
    pub(crate) trusted: Option<bool>,
}

impl<'a> Target<'a> {
    /// A sign-in for the app `meta` names (Twofold's own pages when it names none): a
    /// forward-auth target is written `host/path`, anything else is a `client_id`.
    pub(crate) fn sign_in(meta: &'a RequestMeta) -> Self {
        let named = meta.app.as_deref().unwrap_or(TWOFOLD_APP);
        let (app, host_path) = match named.find('/') {
            Some(i) => (None, Some((&named[..i], &named[i..]))),
            None => (Some(named), None),
        };
        Self {
            app,
            host_path,
            action: Action::Read,
            ip: meta.ip.as_deref().and_then(|ip| ip.parse().ok()),
            device_id: meta.device_id.as_deref(),
            trusted: None,
        }
    }
}

/// The policy's answer for one sign-in, and what to record on its event.
#[derive(Debug, Clone)]
pub(crate) struct SignInCheck {
    /// What the sign-in must prove (the default when no policy is in force).
    pub(crate) need: SignInNeed,
    /// The enforced rules that decided, for messages.
    pub(crate) rules: String,
    /// For the sign-in event.
    pub(crate) context: SignInContext,
    /// The policy asked, to judge custom strengths.
    pub(crate) policy: Option<Arc<Policy>>,
}

/// The decision as kept on a sign-in event.
pub(crate) fn record(version: i64, decision: &Decision) -> PolicyRecord {
    PolicyRecord {
        version,
        outcome: access::outcome_words(&decision.outcome),
        would_be: access::outcome_words(&decision.would_be),
        rules: decision
            .hits
            .iter()
            .map(|h| RuleRecord { rule: h.rule.clone(), mode: h.mode, outcome: access::outcome_words(&h.outcome) })
            .collect(),
    }
}

impl ConditionalAccess {
    /// What GeoIP knows of `ip`.
    fn locate(&self, ip: Option<std::net::IpAddr>) -> Option<twofold_core::access::geo::Located> {
        self.geo.as_ref().zip(ip).and_then(|(geo, ip)| geo.locate(ip))
    }

    /// How well the device is known to `user` — trusted (a valid trust record), known (it
    /// signed them in before) or new — and their sign-in history.
    async fn device_state(
        &self,
        user: &User,
        target: &Target<'_>,
        here: Option<&twofold_core::access::geo::Located>,
    ) -> AppResult<(Device, SignInHistory)> {
        let device_id = target.device_id;
        // The country and the last place are asked for only where GeoIP locates sign-ins.
        let country = here.and_then(|h| h.country.as_deref());
        let history = self.store.sign_in_history(user.id, device_id, country, self.geo.is_some()).await?;
        let trusted = match (target.trusted, device_id) {
            (Some(known), _) => known,
            (None, Some(id)) if twofold_core::signin::device_trust::tier_may_trust_devices(user.tier) => {
                self.store.trusted_device(id, user.id).await?.is_some_and(|d| d.is_valid(self.now()))
            }
            (None, _) => false,
        };
        let device = if trusted {
            Device::Trusted
        } else if history.device_seen {
            Device::Known
        } else {
            Device::New
        };
        Ok((device, history))
    }

    /// The risk of `user` acting now from `here`: their failures since their last success
    /// and, with their history, a country never seen for them and impossible travel since
    /// their latest successful sign-in.
    async fn risk(
        &self,
        user: &User,
        recent_failures: Option<i64>,
        here: Option<&twofold_core::access::geo::Located>,
        history: Option<&SignInHistory>,
        target: &Target<'_>,
    ) -> AppResult<Risk> {
        let recent_failures = match recent_failures {
            Some(count) => count,
            None => {
                let since = self.now().plus_seconds(-twofold_core::signin::throttle::WINDOW_SECS);
                self.store.sign_in_failures(&user.username, None, since).await?.0.count
            }
        };
        let country = here.and_then(|h| h.country.as_deref());
        let new_country = country.is_some() && history.is_some_and(|h| h.new_country);
        let place = |coordinates: Option<(f64, f64)>, at| {
            coordinates.map(|(latitude, longitude)| Place { latitude, longitude, at })
        };
        let travel = history
            .and_then(|h| h.last_success.clone())
            .and_then(|(at, ip)| place(self.locate(ip?.parse().ok())?.coordinates, at))
            .zip(place(here.and_then(|h| h.coordinates), self.now()));
        let change = self.cases.recent_change(user.id).await?;
        let help_desk_change = change.is_some();
        if let Some(case) = change {
            if new_country {
                let detail = format!("country {}", country.unwrap_or("?"));
                self.watch(case.clone(), twofold_core::cases::UseAfterChange::NewCountry, detail).await;
            }
            self.watch_sensitive(case, target).await;
        }
        let (risk, reasons) = access::risk::assess(&Signals { recent_failures, new_country, travel, help_desk_change });
        if risk != Risk::Low {
            tracing::info!(user = %user.username, risk = ?risk, reasons = %reasons.join("; "), "risky sign-in");
        }
        Ok(risk)
    }

    /// Tells the security team of a sensitive action (modify, export, approve, admin) soon
    /// after the help-desk change of `case`.
    async fn watch_sensitive(&self, case: twofold_core::cases::Case, target: &Target<'_>) {
        if !matches!(target.action, Action::Modify | Action::Export | Action::Approve | Action::Admin) {
            return;
        }
        // The host and path only (never a query string, which may carry a secret), short.
        let on = target.app.map(str::to_owned).or_else(|| {
            target.host_path.map(|(h, p)| {
                let path = p.split(['?', '#']).next().unwrap_or_default();
                format!("{h}{path}").chars().filter(|c| !c.is_control()).take(120).collect()
            })
        });
        let detail = format!("{:?} on {}", target.action, on.as_deref().unwrap_or("?")).to_lowercase();
        self.watch(case, twofold_core::cases::UseAfterChange::SensitiveAction, detail).await;
    }

    /// Records and reports a use after a help-desk change; a failure to do so is logged and
    /// never stands in the request's way.
    async fn watch(&self, case: twofold_core::cases::Case, kind: twofold_core::cases::UseAfterChange, detail: String) {
        if let Err(e) = self.cases.watch_use_after_change(case, kind, detail).await {
            tracing::warn!(error = %e, "could not record a use after a help-desk change");
        }
    }

    /// Evaluates `policy` for `user` at `target`; looks the device, history and risk up only
    /// when the policy asks about them, unless `always` (sign-ins record them).
    pub(crate) async fn decide(
        &self,
        policy: &Policy,
        user: &User,
        groups: &[String],
        target: &Target<'_>,
        recent_failures: Option<i64>,
        always: bool,
    ) -> AppResult<(Decision, SignInContext)> {
        let here = self.locate(target.ip);
        let (device, history) = if always || policy.uses_devices() || policy.uses_risk() {
            let (device, history) = self.device_state(user, target, here.as_ref()).await?;
            (device, Some(history))
        } else if target.device_id.is_some() {
            (Device::Known, None)
        } else {
            (Device::New, None)
        };
        let risk = if always || policy.uses_risk() {
            self.risk(user, recent_failures, here.as_ref(), history.as_ref(), target).await?
        } else {
            if matches!(target.action, Action::Modify | Action::Export | Action::Approve | Action::Admin) {
                // Detection only: a failure to look is logged, never refuses the request.
                match self.cases.recent_change(user.id).await {
                    Ok(Some(case)) => self.watch_sensitive(case, target).await,
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not look for a recent help-desk change"),
                }
            }
            Risk::Low
        };
        let country = here.and_then(|h| h.country);
        let overdue = self.campaign_enforcement(user.id).await?;
        let facts = access::Facts {
            username: &user.username,
            groups,
            tier: user.tier,
            roles: &user.roles,
            service_account: false,
            app: target.app,
            host_path: target.host_path,
            action: target.action,
            ip: target.ip,
            device,
            country: country.as_deref(),
            risk,
            overdue: overdue.as_ref().map(|(campaign, blocked)| access::Overdue { campaign, blocked: *blocked }),
            now: self.now(),
        };
        let context = SignInContext {
            device: Some(device),
            device_id: target.device_id.map(str::to_owned),
            risk: Some(risk),
            ..SignInContext::default()
        };
        let decision = access::evaluate(policy, &facts);
        Ok((decision, SignInContext { country: country.clone(), ..context }))
    }

    /// The first-method rule the policy in force sets for `user` asking from `ip`, when one
    /// of its enforced rules about `enrol_first_method` matches (`None` leaves it to
    /// `[enrolment] first_method`).
    ///
    /// # Errors
    /// A policy that cannot be read (the enrolment is then refused, not let through).
    pub(crate) async fn first_method_rule(
        &self,
        user: &User,
        ip: Option<std::net::IpAddr>,
    ) -> AppResult<Option<twofold_core::factors::first_enrolment::FirstMethodRule>> {
        let Some(policy) = self.policy_in_force().await? else { return Ok(None) };
        if !access::first_method::asks_about_first_methods(&policy) {
            return Ok(None);
        }
        let groups = self.store.user_groups(user.id).await?;
        let target = Target {
            app: Some(TWOFOLD_APP),
            host_path: None,
            action: Action::EnrolFirstMethod,
            ip,
            device_id: None,
            trusted: Some(false),
        };
        let (decision, _) = self.decide(&policy, user, &groups, &target, None, false).await?;
        Ok(access::first_method::rule_from(&policy, &decision))
    }

    /// Audits a sign-in made while an exception waives a campaign's requirement for `user`
    /// (`exception.use`), and counts it among the bypasses. The pipeline calls it once per
    /// completed sign-in (not at a password step a second step follows).
    pub(crate) async fn note_exception_use(&self, user: &User, meta: &RequestMeta) -> AppResult<()> {
        let now = self.now();
        let Some(exception) = self.store.user_exceptions(user.id).await?.into_iter().find(|e| e.covers(now)) else {
            return Ok(());
        };
        let actor = crate::Actor {
            kind: twofold_core::audit::ActorKind::User,
            id: Some(user.id.to_string()),
            name: user.username.clone(),
            auth: twofold_core::signin::session::AuthContext::default(),
        };
        let change = twofold_core::audit::Change::new(
            twofold_core::audit::AuditAction::ExceptionUse,
            Some(exception.id.to_string()),
        )
        .states(None, Some(serde_json::json!({"user": user.username, "ends_at": exception.ends_at})));
        self.store.append_audit(&change, &self.audit_context(&actor, meta)).await?;
        metrics::counter!("twofold_exception_uses_total").increment(1);
        Ok(())
    }

    /// The running campaign that holds `user` to a missed deadline, if any: its name, and
    /// whether the grace period is over too (the strictest first). Read from the recorded
    /// states reconciled with the exceptions as they are now, so an approval or a
    /// revocation takes effect at once on every node.
    async fn campaign_enforcement(&self, user_id: uuid::Uuid) -> AppResult<Option<(String, bool)>> {
        use twofold_core::rollout::compliance::State;
        let mut states = self.rollout.current_states(user_id).await?;
        states.retain(|s| matches!(s.state, State::Limited | State::Blocked));
        states.sort_by_key(|s| std::cmp::Reverse(s.state));
        Ok(states.into_iter().next().map(|s| (s.campaign, s.state == State::Blocked)))
    }

    /// Asks the policy in force what `user`'s sign-in (for the app `meta` names) must prove,
    /// and gathers what its sign-in event records; `trusted` is the device's trust as the
    /// caller read it. A policy that cannot be read blocks the sign-in (fails closed) and is
    /// logged.
    pub(crate) async fn check_sign_in(
        &self,
        user: &User,
        recent_failures: i64,
        trusted: bool,
        meta: &RequestMeta,
    ) -> AppResult<SignInCheck> {
        let target = Target { trusted: Some(trusted), ..Target::sign_in(meta) };
        let mut context = SignInContext {
            app: Some(meta.app.clone().unwrap_or_else(|| TWOFOLD_APP.to_owned())),
            device_id: meta.device_id.clone(),
            ..SignInContext::default()
        };
        let in_force = match self.policy_version_in_force().await {
            Ok(in_force) => in_force,
            Err(e) => {
                tracing::error!(error = %e, user = %user.username, "conditional access unavailable: refusing the sign-in");
                return Ok(SignInCheck {
                    need: SignInNeed::Blocked,
                    rules: "access cannot be checked right now".into(),
                    context,
                    policy: None,
                });
            }
        };
        let Some((version, policy)) = in_force else {
            // No policy: the event still records what a policy would have seen.
            let (_, facts) = self.decide(&Policy::default(), user, &[], &target, Some(recent_failures), true).await?;
            context = SignInContext { app: context.app, ..facts };
            return Ok(SignInCheck { need: SignInNeed::Default, rules: String::new(), context, policy: None });
        };
        let groups = self.store.user_groups(user.id).await?;
        let (decision, facts) = self.decide(&policy, user, &groups, &target, Some(recent_failures), true).await?;
        context = SignInContext { app: context.app, policy: Some(record(version, &decision)), ..facts };
        let report_only = decision.hits.iter().filter(|h| h.mode == Mode::ReportOnly).count();
        if report_only > 0 {
            metrics::counter!("twofold_policy_report_only_hits_total").increment(report_only as u64);
        }
        Ok(SignInCheck {
            need: decision.sign_in_need(),
            rules: decision.enforced_rules(),
            context,
            policy: Some(policy),
        })
    }
}
