//! Evaluating a policy for one sign-in or request: which rules match, and the strictest
//! combination of what they say.

use std::net::IpAddr;

use serde::Serialize;

use super::{Action, Device, Mode, Outcome, Policy, Risk, Rule, TWOFOLD_APP, What, When, Who};
use crate::Timestamp;
use crate::identity::{Role, Tier};
use crate::oidc::STRENGTHS;

/// The facts of one sign-in or request, gathered by the caller.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The person's username (a service account's `client_id`).
    pub username: &'a str,
    /// Their groups.
    pub groups: &'a [String],
    /// Their tier.
    pub tier: Tier,
    /// Their roles.
    pub roles: &'a [Role],
    /// Set when the subject is a service account.
    pub service_account: bool,
    /// The OpenID Connect client, if the request is a sign-in to one.
    pub app: Option<&'a str>,
    /// The forward-auth host and path, if the request comes through a proxy.
    pub host_path: Option<(&'a str, &'a str)>,
    /// What the request does.
    pub action: Action,
    /// Where it comes from.
    pub ip: Option<IpAddr>,
    /// How well the device is known.
    pub device: Device,
    /// The country of `ip`, when a GeoIP database knows it.
    pub country: Option<&'a str>,
    /// Computed risk.
    pub risk: Risk,
    /// A rollout campaign holding the person to account: they missed its registration
    /// deadline.
    pub overdue: Option<Overdue<'a>>,
    /// When.
    pub now: Timestamp,
}

/// A campaign's enforcement on someone who missed its registration deadline: within the
/// grace period `limit` (low-sensitivity apps only), after it `block` everything but
/// Twofold's own pages, where they set up what they lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overdue<'a> {
    /// The campaign.
    pub campaign: &'a str,
    /// Past the grace period.
    pub blocked: bool,
}

/// One rule that matched, what it said, and why it matched, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The rule's name.
    pub rule: String,
    /// Its mode (`enforce` or `report_only`).
    pub mode: Mode,
    /// What it says.
    pub outcome: Outcome,
    /// Why it matched.
    pub because: String,
}

/// The combined answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// What applies: the strictest of the enforced rules (`allow` when none matched).
    pub outcome: Outcome,
    /// Strengths that must all be met (several only when custom strengths cannot be ranked
    /// against each other); empty unless `outcome` is `require`.
    pub strengths: Vec<String>,
    /// What would apply if the report-only rules were enforced too.
    pub would_be: Outcome,
    /// Every matching rule, enforced and report-only.
    pub hits: Vec<Hit>,
    /// Set when a `limit` matched but let the request through (reading a low-sensitivity app).
    pub limit_let_through: bool,
}

/// An outcome in an administrator's words: `allow`, `require mfa within 15 minutes`, ...
#[must_use]
pub fn outcome_words(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Allow => "allow".to_owned(),
        Outcome::Limit => "limit to low-sensitivity apps".to_owned(),
        Outcome::Block => "block".to_owned(),
        Outcome::Require { strength, within_minutes: Some(m) } => format!("require {strength} within {m} minutes"),
        Outcome::Require { strength, within_minutes: None } => format!("require {strength}"),
    }
}

/// What a sign-in must prove, as the policy's decision says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInNeed {
    /// No enforced rule matched: Twofold's default applies (whoever has a second factor
    /// proves it at sign-in; a trusted device stands in for it).
    Default,
    /// An enforced rule said `allow`, and none asked for more: the password is enough.
    PasswordOnly,
    /// These strengths (all of them), the sign-in at most this many minutes old.
    Strengths(Vec<String>, Option<u32>),
    /// Refused.
    Blocked,
}

impl Decision {
    /// What a sign-in must prove. `limit` is decided per app after sign-in, so here it asks
    /// what the default asks.
    #[must_use]
    pub fn sign_in_need(&self) -> SignInNeed {
        match &self.outcome {
            Outcome::Block => SignInNeed::Blocked,
            Outcome::Require { within_minutes, .. } => SignInNeed::Strengths(self.strengths.clone(), *within_minutes),
            Outcome::Allow if self.hits.iter().any(|h| h.mode == Mode::Enforce && h.outcome == Outcome::Allow) => {
                SignInNeed::PasswordOnly
            }
            Outcome::Allow | Outcome::Limit => SignInNeed::Default,
        }
    }

    /// The enforced rules that decided, by name, comma-separated.
    #[must_use]
    pub fn enforced_rules(&self) -> String {
        self.hits.iter().filter(|h| h.mode == Mode::Enforce).map(|h| h.rule.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The decision in an administrator's words, naming every contributing rule.
    #[must_use]
    pub fn explain(&self) -> String {
        let said = outcome_words;
        let mut lines = vec![format!("Decision: {}.", said(&self.outcome))];
        if self.hits.is_empty() {
            lines.push(
                "No rule matched, so the policy asks nothing more; at sign-in Twofold's default applies \
                 (whoever has a second factor proves it)."
                    .into(),
            );
        }
        for hit in &self.hits {
            let prefix = if hit.mode == Mode::ReportOnly { "would have (report only)" } else { "says" };
            lines.push(format!("- rule '{}' {prefix} {}, because {}.", hit.rule, said(&hit.outcome), hit.because));
        }
        if self.limit_let_through {
            lines.push("The limit lets this through: the app is low-sensitivity and the request only reads.".into());
        }
        if self.would_be != self.outcome {
            lines.push(format!("With the report-only rules enforced: {}.", said(&self.would_be)));
        }
        lines.join("\n")
    }
}

/// Whether a sign-in that reached `acr` with methods `amr` meets `strength`: a built-in one
/// by rank, a custom one when every method of one of its combinations was used.
#[must_use]
pub fn satisfies(policy: &Policy, strength: &str, acr: &str, amr: &[String]) -> bool {
    if STRENGTHS.contains(&strength) {
        return crate::oidc::strength_meets(acr, strength);
    }
    policy
        .strengths
        .get(strength)
        .is_some_and(|combinations| combinations.iter().any(|combo| combo.iter().all(|m| amr.contains(m))))
}

/// What a sign-in lacks against a requirement of the policy (see [`shortfall`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall<'a> {
    /// The first required strength it does not reach, if any.
    pub strength: Option<&'a String>,
    /// It is older than the requirement allows.
    pub stale: bool,
}

/// Whether a sign-in that proved `auth` meets every one of `strengths` and, when
/// `within_minutes` is set, happened at most that many minutes before `now`: the one rule
/// for "this session (or this trusted device's proof) meets what the policy requires".
/// `None` when it does; otherwise what it lacks.
#[must_use]
pub fn shortfall<'a>(
    policy: &Policy,
    strengths: &'a [String],
    within_minutes: Option<u32>,
    auth: &crate::signin::session::AuthContext,
    now: Timestamp,
) -> Option<Shortfall<'a>> {
    let strength = strengths.iter().find(|s| !satisfies(policy, s, &auth.acr, &auth.amr));
    let stale = within_minutes.is_some_and(|minutes| {
        auth.auth_time.is_none_or(|at| now.millis() - at.millis() > i64::from(minutes) * 60_000)
    });
    (strength.is_some() || stale).then_some(Shortfall { strength, stale })
}

/// Evaluates `policy` for `facts`.
#[must_use]
pub fn evaluate(policy: &Policy, facts: &Facts<'_>) -> Decision {
    // Which named zones the address is in, worked out once for all rules.
    let zones: Vec<&str> = match facts.ip {
        Some(ip) => policy
            .zones
            .iter()
            .filter(|(_, blocks)| {
                blocks.iter().filter_map(|b| b.parse::<ipnet::IpNet>().ok()).any(|net| net.contains(&ip))
            })
            .map(|(name, _)| name.as_str())
            .collect(),
        None => Vec::new(),
    };
    let hits: Vec<Hit> = policy
        .rules
        .iter()
        .filter(|rule| rule.mode != Mode::Off)
        .filter_map(|rule| {
            matches(&zones, rule, facts).map(|because| Hit {
                rule: rule.name.clone(),
                mode: rule.mode,
                outcome: rule.outcome(),
                because,
            })
        })
        .chain(facts.overdue.filter(|_| facts.tier != Tier::BreakGlass).map(|overdue| campaign_hit(overdue, facts)))
        .collect();
    // A limit leaves low-sensitivity apps open for reading.
    let passes = facts.action == Action::Read && low_sensitivity(policy, facts);
    fn applied(hit: &Hit, passes: bool) -> &Outcome {
        if passes && hit.outcome == Outcome::Limit { &Outcome::Allow } else { &hit.outcome }
    }
    let (outcome, strengths) = combine(hits.iter().filter(|h| h.mode == Mode::Enforce).map(|h| applied(h, passes)));
    let (would_be, _) = combine(hits.iter().map(|h| applied(h, passes)));
    let limit_let_through = passes && hits.iter().any(|h| h.outcome == Outcome::Limit);
    Decision { outcome, strengths, would_be, hits, limit_let_through }
}

/// What a campaign's enforcement says, as a rule would.
fn campaign_hit(overdue: Overdue<'_>, facts: &Facts<'_>) -> Hit {
    let own_pages = facts.app == Some(TWOFOLD_APP);
    let (outcome, because) = if overdue.blocked && !own_pages {
        (Outcome::Block, "the grace period to set up two-step sign-in is over: only Security info is open")
    } else {
        (Outcome::Limit, "the deadline to set up two-step sign-in has passed: only low-sensitivity apps are open")
    };
    Hit { rule: format!("campaign '{}'", overdue.campaign), mode: Mode::Enforce, outcome, because: because.into() }
}

/// Whether the request is for an app or host the policy lists as low-sensitivity (or
/// Twofold's own pages, where a limited person sets up what they lack).
fn low_sensitivity(policy: &Policy, facts: &Facts<'_>) -> bool {
    let low = &policy.low_sensitivity;
    facts.app.is_some_and(|app| app == TWOFOLD_APP || low.apps.iter().any(|a| a == app))
        || facts.host_path.is_some_and(|(h, p)| low.hosts.iter().any(|x| host_matches(x, h, p)))
}

fn severity(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Allow => 0,
        Outcome::Require { .. } => 1,
        Outcome::Limit => 2,
        Outcome::Block => 3,
    }
}

/// The strictest of `outcomes`: block over limit over require over allow; requirements
/// merge to the strongest built-in strength (plus any custom ones) and the shortest freshness.
fn combine<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> (Outcome, Vec<String>) {
    let outcomes: Vec<&Outcome> = outcomes.collect();
    let worst = outcomes.iter().map(|o| severity(o)).max().unwrap_or(0);
    if worst != 1 {
        let outcome = outcomes.iter().find(|o| severity(o) == worst).map_or(Outcome::Allow, |o| (*o).clone());
        return (outcome, Vec::new());
    }
    let rank = |s: &str| STRENGTHS.iter().position(|b| *b == s);
    let mut builtin: Option<&str> = None;
    let mut custom: Vec<String> = Vec::new();
    let mut within: Option<u32> = None;
    for outcome in outcomes {
        if let Outcome::Require { strength, within_minutes } = outcome {
            match rank(strength) {
                Some(r) if builtin.and_then(rank).is_none_or(|current| r > current) => builtin = Some(strength),
                Some(_) => {}
                None if !custom.contains(strength) => custom.push(strength.clone()),
                None => {}
            }
            within = match (within, *within_minutes) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    let mut strengths: Vec<String> = builtin.map(str::to_owned).into_iter().collect();
    strengths.extend(custom);
    let strength = strengths.first().cloned().unwrap_or_else(|| "mfa".into());
    (Outcome::Require { strength, within_minutes: within }, strengths)
}

/// Why `rule` matches `facts`, or `None` when it does not.
fn matches(zones: &[&str], rule: &Rule, facts: &Facts<'_>) -> Option<String> {
    let mut why = Vec::new();
    who_matches(&rule.who, facts, &mut why)?;
    what_matches(&rule.what, facts, &mut why)?;
    when_matches(zones, &rule.when, facts, &mut why)?;
    Some(if why.is_empty() { "it applies to every sign-in".into() } else { why.join("; ") })
}

fn who_matches(who: &Who, f: &Facts<'_>, why: &mut Vec<String>) -> Option<()> {
    if who.exclude_users.iter().any(|u| u == f.username)
        || who.exclude_groups.iter().any(|g| f.groups.contains(g))
        || who.exclude_tiers.contains(&f.tier)
    {
        return None;
    }
    // A break-glass account meets only the rules written for it (naming its tier or the
    // account): a broad rule must never lock out the way in of last resort.
    if f.tier == Tier::BreakGlass
        && !who.tiers.contains(&Tier::BreakGlass)
        && !who.users.iter().any(|u| u == f.username)
    {
        return None;
    }
    if f.service_account {
        let listed = who.service_accounts.iter().any(|s| s == "*" || s == f.username);
        return listed.then(|| why.push(format!("service account {} is listed", f.username)));
    }
    let everyone = who.users.is_empty() && who.groups.is_empty() && who.tiers.is_empty() && who.roles.is_empty();
    if everyone {
        return if who.service_accounts.is_empty() { Some(()) } else { None };
    }
    if who.users.iter().any(|u| u == f.username) {
        why.push(format!("{} is named", f.username));
    } else if let Some(group) = who.groups.iter().find(|g| f.groups.contains(g)) {
        why.push(format!("{} is in group {group}", f.username));
    } else if who.tiers.contains(&f.tier) {
        why.push(format!("{} is in tier {}", f.username, f.tier));
    } else if let Some(role) = who.roles.iter().find(|r| f.roles.contains(r)) {
        why.push(format!("{} has role {role}", f.username));
    } else {
        return None;
    }
    Some(())
}

fn host_matches(pattern: &str, host: &str, path: &str) -> bool {
    let (pattern_host, prefix) = match pattern.find('/') {
        Some(i) => (&pattern[..i], &pattern[i..]),
        None => (pattern, "/"),
    };
    pattern_host.eq_ignore_ascii_case(host) && crate::forward_auth::path_under(prefix, path)
}

fn what_matches(what: &What, f: &Facts<'_>, why: &mut Vec<String>) -> Option<()> {
    if !what.apps.is_empty() || !what.hosts.is_empty() {
        if let Some(app) = f.app.filter(|a| what.apps.iter().any(|x| x == a)) {
            why.push(format!("the app is {app}"));
        } else if let Some((host, path)) = f.host_path.filter(|(h, p)| what.hosts.iter().any(|x| host_matches(x, h, p)))
        {
            why.push(format!("the request is for {host}{path}"));
        } else {
            return None;
        }
    }
    // A first enrolment is decided only by rules that name it: "require mfa of everyone"
    // is about sign-ins, and says nothing of how someone with no method gets one.
    if f.action == Action::EnrolFirstMethod && !what.actions.contains(&f.action) {
        return None;
    }
    if !what.actions.is_empty() {
        if !what.actions.contains(&f.action) {
            return None;
        }
        why.push(format!("the action is {}", action_name(f.action)));
    }
    Some(())
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Read => "read",
        Action::Modify => "modify",
        Action::Export => "export",
        Action::Approve => "approve",
        Action::Admin => "admin",
        Action::EnrolFirstMethod => "enrol_first_method",
    }
}

/// `zones`: the names of the zones the address is in.
fn when_matches(zones: &[&str], when: &When, f: &Facts<'_>, why: &mut Vec<String>) -> Option<()> {
    if !when.zones.is_empty() {
        let zone = when.zones.iter().find(|z| zones.contains(&z.as_str()))?;
        why.push(format!("the address is in zone {zone}"));
    }
    if !when.outside_zones.is_empty() {
        if when.outside_zones.iter().any(|z| zones.contains(&z.as_str())) {
            return None;
        }
        why.push(format!("the address is outside {}", when.outside_zones.join(", ")));
    }
    if !when.devices.is_empty() {
        if !when.devices.contains(&f.device) {
            return None;
        }
        let device = match f.device {
            Device::New => "new",
            Device::Known => "known",
            Device::Trusted => "trusted",
        };
        why.push(format!("the device is {device}"));
    }
    if !when.countries.is_empty() {
        let country = f.country.filter(|c| when.countries.iter().any(|x| x.eq_ignore_ascii_case(c)))?;
        why.push(format!("the sign-in comes from {country}"));
    }
    if let Some(level) = when.risk_at_least {
        if f.risk < level {
            return None;
        }
        why.push(format!("the risk is {:?}", f.risk).to_lowercase());
    }
    if let Some([from, to]) = when.hours {
        let hour = u8::try_from((f.now.millis() / 3_600_000).rem_euclid(24)).unwrap_or(0);
        let inside = if from <= to { (from..to).contains(&hour) } else { hour >= from || hour < to };
        if !inside {
            return None;
        }
        why.push(format!("it is between {from}:00 and {to}:00 UTC"));
    }
    if let Some(from) = &when.from {
        if f.now.millis() < super::check::date_millis(from)? {
            return None;
        }
        why.push(format!("it is {from} or later"));
    }
    if let Some(until) = &when.until {
        let end = super::check::date_millis(until)?;
        if f.now.millis() >= end {
            return None;
        }
        why.push(format!("it is before {until}"));
    }
    Some(())
}
