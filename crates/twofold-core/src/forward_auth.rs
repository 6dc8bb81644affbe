//! Forward-auth: what a reverse proxy (nginx `auth_request`, Traefik ForwardAuth, Caddy
//! `forward_auth`) is told about one request to an app that speaks no OpenID Connect.
//! Rules pick the request's host and path; the most specific matching rule says which
//! strength the session must have reached, how fresh it must be, and which groups may pass.
//!
//! These per-route rules are the forward-auth entry point's own until the conditional-access
//! engine exists; that engine will then be asked here, with the same decisions.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::oidc::{STRENGTHS, strength_meets};
use crate::signin::session::AuthContext;
use crate::validation::ValidationErrors;

/// What a rule asks of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// Public: no session needed (health checks, static assets).
    None,
    /// A session that reached at least this strength (`pwd`, `mfa`, `phr`, `phrh`).
    Strength(String),
    /// Never, whoever asks.
    Deny,
}

impl Requirement {
    /// Parses `none`, `deny` or a strength name.
    ///
    /// # Errors
    /// Any other word.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(Self::None),
            "deny" => Ok(Self::Deny),
            s if STRENGTHS.contains(&s) => Ok(Self::Strength(s.to_owned())),
            other => Err(format!("'{other}' is not one of: none, pwd, mfa, phr, phrh, deny")),
        }
    }
}

/// One rule: a host (exact, or `*.example.com` for its subdomains) and a path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `app.example.com`, `*.example.com`, or `*` for every host.
    pub host: String,
    /// `/` for the whole site; `/admin` matches `/admin` and `/admin/...`, not `/administer`.
    pub path_prefix: String,
    /// What is needed.
    pub require: Requirement,
    /// The sign-in must be at most this old (seconds), e.g. for an admin area.
    pub max_age_secs: Option<i64>,
    /// When not empty, only members of one of these groups pass (others get 403).
    pub groups: Vec<String>,
}

impl Rule {
    fn host_matches(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        match self.host.strip_prefix("*.") {
            _ if self.host == "*" => true,
            Some(parent) => host.strip_suffix(parent).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => host == self.host,
        }
    }

    fn path_matches(&self, path: &str) -> bool {
        path_under(&self.path_prefix, path)
    }

    /// How specific the rule is: exact hosts before wildcards, longer paths first.
    fn specificity(&self) -> (u8, usize) {
        let host = match self.host.as_str() {
            "*" => 0,
            h if h.starts_with("*.") => 1,
            _ => 2,
        };
        (host, self.path_prefix.trim_end_matches('/').len())
    }
}

/// Whether `path` (with query) is under `prefix` by whole segments: `/admin` covers `/admin`,
/// `/admin/x` and `/admin?x`, not `/administer`; `/` covers everything.
#[must_use]
pub fn path_under(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty() || path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
}

/// The forward-auth rules and what applies where none matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The rules, in any order: the most specific match decides.
    pub rules: Vec<Rule>,
    /// For requests no rule matches (default `deny`: an unlisted app is not protected by accident).
    pub default: Requirement,
}

impl Default for Policy {
    fn default() -> Self {
        Self { rules: Vec::new(), default: Requirement::Deny }
    }
}

impl Policy {
    /// Checks rules as read from configuration: hosts are lower-case names or wildcards,
    /// prefixes start with `/`, freshness is positive, groups are named.
    ///
    /// # Errors
    /// Every problem, keyed `rules[N].field`.
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for (i, rule) in self.rules.iter().enumerate() {
            let field = |name: &str| format!("rules[{i}].{name}");
            let name = rule.host.strip_prefix("*.").unwrap_or(&rule.host);
            let valid_name = name == "*"
                || (!name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b)));
            if !valid_name {
                errors.add(field("host"), format!("'{}' is not a lower-case host name, *.domain or *", rule.host));
            }
            if !rule.path_prefix.starts_with('/') {
                errors.add(field("path"), format!("'{}' must start with /", rule.path_prefix));
            }
            if rule.max_age_secs.is_some_and(|s| s <= 0) {
                errors.add(field("max_age_secs"), "must be positive");
            }
            if rule.require == Requirement::None && (rule.max_age_secs.is_some() || !rule.groups.is_empty()) {
                errors.add(field("require"), "a public rule (none) cannot also ask for freshness or groups");
            }
        }
        errors.into_result()
    }

    /// The rule for a request, if one matches.
    #[must_use]
    pub fn rule_for(&self, host: &str, path: &str) -> Option<&Rule> {
        self.rules.iter().filter(|r| r.host_matches(host) && r.path_matches(path)).max_by_key(|r| r.specificity())
    }

    /// Whether a browser may be sent back to `host` after signing in: only hosts some rule
    /// names (so the sign-in page is no open redirect).
    #[must_use]
    pub fn knows_host(&self, host: &str) -> bool {
        self.rules.iter().any(|r| r.host != "*" && r.host_matches(host))
    }
}

/// The session presented with a forwarded request.
#[derive(Debug, Clone)]
pub struct Presented<'a> {
    /// How it authenticated.
    pub auth: &'a AuthContext,
    /// The user's group names.
    pub groups: &'a [String],
}

/// The answer for one forwarded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let it through.
    Allow,
    /// No (usable) session: sign in, then come back.
    SignIn,
    /// Signed in, but a (fresh) second factor of at least this strength is needed.
    StepUp(String),
    /// Refused whatever the person does; the reason is for the log and the page.
    Deny(String),
}

/// Decides one forwarded request at `now`.
#[must_use]
pub fn decide(policy: &Policy, host: &str, path: &str, session: Option<&Presented<'_>>, now: Timestamp) -> Decision {
    let rule = policy.rule_for(host, path);
    let (require, max_age, groups) = match rule {
        Some(rule) => (&rule.require, rule.max_age_secs, rule.groups.as_slice()),
        None => (&policy.default, None, &[][..]),
    };
    let wanted = match require {
        Requirement::None => return Decision::Allow,
        Requirement::Deny => return Decision::Deny(format!("no access to {host}{path} is allowed")),
        Requirement::Strength(wanted) => wanted,
    };
    let Some(session) = session else { return Decision::SignIn };
    if !groups.is_empty() && !session.groups.iter().any(|g| groups.contains(g)) {
        return Decision::Deny(format!("{host}{path} is only for members of {}", groups.join(", ")));
    }
    if !strength_meets(&session.auth.acr, wanted) {
        return Decision::StepUp(wanted.clone());
    }
    let stale = max_age.is_some_and(|secs| {
        session.auth.auth_time.is_none_or(|t| now.millis() - t.millis() > secs.saturating_mul(1000))
    });
    if stale {
        // A fresh second factor renews auth_time; with only a password, sign in again.
        return if session.auth.acr == "pwd" { Decision::SignIn } else { Decision::StepUp(wanted.clone()) };
    }
    Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(host: &str, path: &str, require: &str) -> Rule {
        Rule {
            host: host.into(),
            path_prefix: path.into(),
            require: Requirement::parse(require).unwrap(),
            max_age_secs: None,
            groups: Vec::new(),
        }
    }

    fn auth(acr: &str, at: i64) -> AuthContext {
        AuthContext { amr: vec!["pwd".into()], acr: acr.into(), auth_time: Some(Timestamp(at)) }
    }

    #[test]
    fn the_most_specific_rule_decides() {
        let policy = Policy {
            rules: vec![
                rule("*", "/", "mfa"),
                rule("wiki.example.com", "/", "pwd"),
                rule("wiki.example.com", "/admin", "phr"),
                rule("wiki.example.com", "/health", "none"),
                rule("*.example.com", "/", "deny"),
            ],
            default: Requirement::Deny,
        };
        let require = |host, path| policy.rule_for(host, path).map(|r| r.require.clone());
        let strength = |s: &str| Some(Requirement::Strength(s.into()));
        assert_eq!(require("wiki.example.com", "/page"), strength("pwd"));
        assert_eq!(require("WIKI.example.com", "/admin/users"), strength("phr"));
        assert_eq!(require("wiki.example.com", "/administer"), strength("pwd"), "a prefix is a whole segment");
        assert_eq!(require("wiki.example.com", "/health"), Some(Requirement::None));
        assert_eq!(require("crm.example.com", "/"), Some(Requirement::Deny), "wildcard host before *");
        assert_eq!(require("example.com", "/"), strength("mfa"), "*.example.com is subdomains only");
        assert_eq!(require("evilexample.com", "/"), strength("mfa"));
        assert!(policy.knows_host("wiki.example.com") && policy.knows_host("crm.example.com"));
        assert!(!policy.knows_host("evil.com"), "the catch-all names no host to return to");
    }

    fn at<'a>(auth: &'a AuthContext, groups: &'a [String]) -> Presented<'a> {
        Presented { auth, groups }
    }

    #[test]
    fn sessions_need_the_strength_freshness_and_group_of_their_rule() {
        let mut admin = rule("app", "/admin", "phr");
        admin.max_age_secs = Some(300);
        admin.groups = vec!["admins".into()];
        let policy = Policy { rules: vec![rule("app", "/", "mfa"), admin], default: Requirement::Deny };
        let now = Timestamp(1_000_000);
        let admins = vec!["admins".into()];
        let mfa = auth("mfa", 900_000);
        let key = auth("phr", 900_000);
        let old_key = auth("phr", 0);
        assert_eq!(decide(&policy, "app", "/", None, now), Decision::SignIn);
        assert_eq!(decide(&policy, "app", "/", Some(&at(&auth("pwd", 0), &[])), now), Decision::StepUp("mfa".into()));
        assert_eq!(decide(&policy, "app", "/", Some(&at(&mfa, &[])), now), Decision::Allow);
        assert!(matches!(decide(&policy, "app", "/admin", Some(&at(&key, &[])), now), Decision::Deny(_)));
        assert_eq!(decide(&policy, "app", "/admin", Some(&at(&mfa, &admins)), now), Decision::StepUp("phr".into()));
        assert_eq!(decide(&policy, "app", "/admin", Some(&at(&key, &admins)), now), Decision::Allow);
        assert_eq!(
            decide(&policy, "app", "/admin", Some(&at(&old_key, &admins)), now),
            Decision::StepUp("phr".into()),
            "older than five minutes"
        );
        assert!(matches!(decide(&policy, "other", "/", Some(&at(&key, &admins)), now), Decision::Deny(_)));
    }

    #[test]
    fn bad_rules_are_all_reported() {
        let mut public_admin = rule("app", "/", "none");
        public_admin.groups = vec!["admins".into()];
        let policy =
            Policy { rules: vec![rule("App.example.com", "admin", "mfa"), public_admin], default: Requirement::Deny };
        let fields: Vec<String> = policy.check().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["rules[0].host", "rules[0].path", "rules[1].require"]);
        assert!(Requirement::parse("two_factor").is_err());
    }
}
