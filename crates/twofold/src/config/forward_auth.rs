//! `[forward_auth]`: which hosts and paths behind a reverse proxy need what.
//!
//! ```toml
//! [forward_auth]
//! default = "deny"                      # none | pwd | mfa | phr | phrh | deny
//! [[forward_auth.rules]]
//! host = "wiki.example.com"             # or "*.example.com", or "*"
//! path = "/"                            # a prefix of whole segments
//! require = "mfa"
//! [[forward_auth.rules]]
//! host = "wiki.example.com"
//! path = "/admin"
//! require = "phr"
//! max_age_secs = 900                    # the sign-in must be this fresh
//! groups = ["wiki-admins"]              # others get 403
//! ```

use twofold_core::forward_auth::{Policy, Requirement, Rule};

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ForwardAuthSection {
    default: Option<String>,
    #[serde(default)]
    rules: Vec<RuleSection>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSection {
    host: String,
    #[serde(default = "root")]
    path: String,
    require: String,
    max_age_secs: Option<i64>,
    #[serde(default)]
    groups: Vec<String>,
}

fn root() -> String {
    "/".into()
}

impl ForwardAuthSection {
    /// The policy, or every problem as (key, message).
    pub(super) fn policy(&self) -> Result<Policy, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut requirement = |key: String, text: &str| {
            Requirement::parse(text).map_err(|e| problems.push((key, e))).unwrap_or(Requirement::Deny)
        };
        let default = requirement("forward_auth.default".into(), self.default.as_deref().unwrap_or("deny"));
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| Rule {
                host: r.host.clone(),
                path_prefix: r.path.clone(),
                require: requirement(format!("forward_auth.rules[{i}].require"), &r.require),
                max_age_secs: r.max_age_secs,
                groups: r.groups.clone(),
            })
            .collect();
        let policy = Policy { rules, default };
        if let Err(errors) = policy.check() {
            problems.extend(errors.0.into_iter().map(|e| (format!("forward_auth.{}", e.field), e.message)));
        }
        if problems.is_empty() { Ok(policy) } else { Err(problems) }
    }
}

/// Problems in the `[forward_auth]` table of a file, for `twofold config check`.
pub(super) fn check(value: &toml::Value) -> Vec<(String, String)> {
    match ForwardAuthSection::deserialize_value(value) {
        Ok(section) => section.policy().err().unwrap_or_default(),
        Err(e) => vec![("forward_auth".into(), e)],
    }
}

impl ForwardAuthSection {
    fn deserialize_value(value: &toml::Value) -> Result<Self, String> {
        serde::Deserialize::deserialize(value.clone()).map_err(|e: toml::de::Error| e.message().to_owned())
    }
}
