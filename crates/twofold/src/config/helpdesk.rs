//! `[enrolment]`: what someone with no method needs to enrol a first one; `[helpdesk]`: whom
//! operators serve, how fresh their own proof must be, and how long temporary access passes
//! may live.
//!
//! ```toml
//! [enrolment]
//! first_method = "email_code"           # email_code | network | access_pass | password (demo only)
//! networks = ["10.0.0.0/8"]             # from here the password is enough (email_code, network)
//!
//! [helpdesk]
//! tiers = ["standard", "external"]      # privileged too, for operators of the privileged tier
//! departments = []                      # when not empty, only people of these departments
//! groups = []                           # when not empty, only members of these groups
//! operator_fresh_minutes = 15           # operators' own passkey or security key, this recent
//! access_pass_default_minutes = 60
//! access_pass_max_minutes = 480         # 10 to 480
//! team_lead = "helpdesk-lead@example.com"  # told of overdue verification steps
//! hr_email = "hr@example.com"           # asked to attest callers (people with the hr role answer)
//! hr_system_public_key = "MCowBQYDK2VwAyEA..."  # the HR system's Ed25519 key: it may attest by a signed call
//!
//! [[helpdesk.verification]]             # what verifying one tier takes (replaces its default)
//! tier = "standard"
//! steps = [["factor_proof", "email_code"], ["manager_approval"]]
//! second_operator = false
//! reset_steps = [["email_code", "sms_code"], ["manager_approval"], ["hr_attestation"]]
//!
//! [[helpdesk.operators]]                # an operator with a scope of their own (replaces the above)
//! username = "lead"
//! tiers = ["standard", "external", "privileged"]
//! ```

use twofold_app::cases::HelpDeskPolicy;
use twofold_core::cases::scope::{OperatorScope, Scopes};
use twofold_core::cases::verification::{Channel, Requirement, VerificationPolicy};
use twofold_core::factors::access_pass::AccessPassPolicy;
use twofold_core::factors::first_enrolment::{FirstEnrolmentPolicy, FirstMethodRule};
use twofold_core::identity::Tier;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnrolmentSection {
    first_method: Option<String>,
    #[serde(default)]
    networks: Vec<String>,
}

impl EnrolmentSection {
    /// The first-method rule, or every problem as (key, message).
    pub(super) fn policy(&self) -> Result<FirstEnrolmentPolicy, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let rule = match self.first_method.as_deref().map(FirstMethodRule::parse) {
            None => FirstMethodRule::default(),
            Some(Ok(rule)) => rule,
            Some(Err(e)) => {
                problems.push(("enrolment.first_method".to_owned(), e));
                FirstMethodRule::default()
            }
        };
        let mut networks = Vec::new();
        for net in &self.networks {
            match net.trim().parse::<ipnet::IpNet>() {
                Ok(net) => networks.push(net),
                Err(_) => {
                    problems.push(("enrolment.networks".into(), format!("'{net}' is not a network like 10.0.0.0/8")))
                }
            }
        }
        if rule == FirstMethodRule::Network && networks.is_empty() {
            problems.push((
                "enrolment.networks".into(),
                "first_method = \"network\" needs at least one network (else only passes could enrol)".into(),
            ));
        }
        if problems.is_empty() { Ok(FirstEnrolmentPolicy { rule, networks }) } else { Err(problems) }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HelpdeskSection {
    tiers: Option<Vec<String>>,
    #[serde(default)]
    departments: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    operator_fresh_minutes: Option<i64>,
    access_pass_default_minutes: Option<i64>,
    access_pass_max_minutes: Option<i64>,
    team_lead: Option<String>,
    hr_email: Option<String>,
    hr_system_public_key: Option<String>,
    #[serde(default)]
    operators: Vec<OperatorSection>,
    #[serde(default)]
    verification: Vec<VerificationSection>,
}

/// `[[helpdesk.verification]]`: what verifying a person of one tier takes, replacing the
/// default for that tier.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VerificationSection {
    tier: String,
    /// Each step: the channels that may meet it (one distinct channel per step).
    steps: Vec<Vec<String>>,
    #[serde(default)]
    second_operator: bool,
    /// For resetting every method (all methods lost); the default's when absent.
    reset_steps: Option<Vec<Vec<String>>>,
    reset_second_operator: Option<bool>,
}

/// Steps as channels, with problems reported under `key`.
fn steps(key: &str, steps: &[Vec<String>], problems: &mut Vec<(String, String)>) -> Vec<Vec<Channel>> {
    steps
        .iter()
        .map(|step| {
            step.iter()
                .filter_map(|name| Channel::parse(name).map_err(|e| problems.push((key.to_owned(), e))).ok())
                .collect()
        })
        .collect()
}

/// The default verification with the configured tiers replaced, or problems.
fn verification(sections: &[VerificationSection], problems: &mut Vec<(String, String)>) -> VerificationPolicy {
    let mut policy = VerificationPolicy::default();
    for section in sections {
        let key = "helpdesk.verification";
        let tier = match Tier::parse(&section.tier) {
            Ok(tier) => tier,
            Err(e) => {
                problems.push((format!("{key}.tier"), e));
                continue;
            }
        };
        let ordinary = Requirement {
            steps: steps(&format!("{key}.steps"), &section.steps, problems),
            second_operator: section.second_operator,
        };
        let reset = match &section.reset_steps {
            Some(reset) => Requirement {
                steps: steps(&format!("{key}.reset_steps"), reset, problems),
                second_operator: section.reset_second_operator.unwrap_or(section.second_operator),
            },
            None => {
                let mut reset = policy.reset_all.get(&tier).cloned().unwrap_or_else(|| ordinary.clone());
                reset.second_operator |= section.reset_second_operator.unwrap_or(section.second_operator);
                reset
            }
        };
        policy.per_tier.insert(tier, ordinary);
        policy.reset_all.insert(tier, reset);
    }
    if let Err(found) = policy.check() {
        problems.extend(found.into_iter().map(|p| ("helpdesk.verification".to_owned(), p)));
    }
    policy
}

/// `[[helpdesk.operators]]`: one operator's own scope.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorSection {
    username: String,
    tiers: Option<Vec<String>>,
    #[serde(default)]
    departments: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// A scope from its tiers (the default ones when absent), departments and groups, with
/// problems reported under `key`.
fn scope(
    key: &str,
    tiers: Option<&Vec<String>>,
    departments: &[String],
    groups: &[String],
    problems: &mut Vec<(String, String)>,
) -> OperatorScope {
    let mut scope = OperatorScope::default();
    if let Some(tiers) = tiers {
        scope.tiers.clear();
        for tier in tiers {
            match Tier::parse(tier) {
                Ok(Tier::Service | Tier::BreakGlass) => {
                    problems.push((format!("{key}.tiers"), format!("the help desk never serves {tier} accounts")))
                }
                Ok(tier) => scope.tiers.push(tier),
                Err(e) => problems.push((format!("{key}.tiers"), e)),
            }
        }
    }
    scope.departments = departments.to_vec();
    scope.groups = groups.iter().map(|g| g.to_lowercase()).collect();
    scope
}

impl HelpdeskSection {
    /// The help desk's policy and the passes' lifetimes, or every problem as (key, message).
    pub(super) fn policy(&self) -> Result<(HelpDeskPolicy, AccessPassPolicy), Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut scopes = Scopes {
            everyone: scope("helpdesk", self.tiers.as_ref(), &self.departments, &self.groups, &mut problems),
            ..Scopes::default()
        };
        for operator in &self.operators {
            let username = twofold_core::identity::normalize_username(&operator.username);
            if username.is_empty() {
                problems.push(("helpdesk.operators.username".into(), "must name the operator".into()));
                continue;
            }
            let own = scope(
                "helpdesk.operators",
                operator.tiers.as_ref(),
                &operator.departments,
                &operator.groups,
                &mut problems,
            );
            if scopes.by_operator.insert(username.clone(), own).is_some() {
                problems.push(("helpdesk.operators.username".into(), format!("'{username}' is named twice")));
            }
        }
        let fresh = self.operator_fresh_minutes.unwrap_or(15);
        if !(1..=60).contains(&fresh) {
            problems.push(("helpdesk.operator_fresh_minutes".into(), format!("{fresh} is not 1–60")));
        }
        let defaults = AccessPassPolicy::default();
        let passes = AccessPassPolicy {
            max_lifetime_secs: self.access_pass_max_minutes.map_or(defaults.max_lifetime_secs, |m| m * 60),
            default_lifetime_secs: self.access_pass_default_minutes.map_or(defaults.default_lifetime_secs, |m| m * 60),
        };
        if let Err(e) = passes.check() {
            problems.push(("helpdesk.access_pass_max_minutes".into(), e));
        }
        for (key, address) in [("helpdesk.team_lead", &self.team_lead), ("helpdesk.hr_email", &self.hr_email)] {
            if let Some(address) = address
                && !twofold_core::identity::is_email_address(address)
            {
                problems.push((key.to_owned(), format!("'{address}' is not an email address")));
            }
        }
        let hr_system_public_key = match self.hr_system_public_key.as_deref().map(hr_system_key) {
            None => None,
            Some(Ok(key)) => Some(key),
            Some(Err(e)) => {
                problems.push(("helpdesk.hr_system_public_key".into(), e));
                None
            }
        };
        let verification = verification(&self.verification, &mut problems);
        let policy = HelpDeskPolicy {
            verification,
            hr_system_public_key,
            scopes,
            operator_fresh_secs: fresh * 60,
            team_lead: self.team_lead.clone(),
            hr_email: self.hr_email.clone(),
        };
        if problems.is_empty() { Ok((policy, passes)) } else { Err(problems) }
    }
}

/// The HR system's Ed25519 public key: 32 bytes, in base64 (standard or URL-safe), or a PEM
/// `PUBLIC KEY` (SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it).
fn hr_system_key(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let text = text.trim();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().join("");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body.trim()))
        .map_err(|_| "is not base64 or a PEM public key".to_owned())?;
    // SubjectPublicKeyInfo for Ed25519 is a fixed 12-byte prefix and the 32-byte key.
    const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    if text.starts_with("-----") && !text.starts_with("-----BEGIN PUBLIC KEY-----") {
        return Err("is a PEM block but not a PUBLIC KEY (give the public half only)".into());
    }
    let key = match decoded.len() {
        32 => decoded,
        44 if decoded[..12] == SPKI_PREFIX => decoded[12..].to_vec(),
        _ => return Err("is not an Ed25519 public key (32 bytes, or a PEM PUBLIC KEY)".into()),
    };
    if twofold_core::cases::hr_system::is_weak_ed25519_key(&key) {
        return Err(
            "is a weak Ed25519 key (of small order, or not canonical): signatures by anyone would verify".into()
        );
    }
    Ok(key)
}

/// Problems in the `[enrolment]` and `[helpdesk]` tables of a file, for `twofold config check`.
pub(super) fn check(table: &toml::Table) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if let Some(value) = table.get("enrolment") {
        match EnrolmentSection::deserialize(value.clone()) {
            Ok(section) => problems.extend(section.policy().err().unwrap_or_default()),
            Err(e) => problems.push(("enrolment".into(), e.message().to_owned())),
        }
    }
    if let Some(value) = table.get("helpdesk") {
        match HelpdeskSection::deserialize(value.clone()) {
            Ok(section) => problems.extend(section.policy().err().unwrap_or_default()),
            Err(e) => problems.push(("helpdesk".into(), e.message().to_owned())),
        }
    }
    problems
}

use serde::Deserialize;
