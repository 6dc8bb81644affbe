//! The policy's word on a service account asking for a token: rules naming
//! `service_accounts` hold an integration to its networks, hours and dates at the token
//! endpoint, where it gets what it reaches everything else with.

use twofold_core::access::{self, Action, Device, Outcome, Policy, Risk};
use twofold_core::identity::Tier;

use super::ConditionalAccess;
use crate::AppResult;

impl ConditionalAccess {
    /// Whether service account `client_id`, asking from `ip`, may be given a token now under
    /// the policy in force. Only rules that list it (or `service_accounts = ["*"]`) match it,
    /// with their `when`: zones, hours, dates, and countries where a GeoIP database knows the
    /// address. `allow`, or no rule, lets it; `block` refuses, and so do `require` and
    /// `limit`, which a machine cannot meet (it proves no second factor and has no
    /// low-sensitivity reading to be held to). A policy that cannot be read refuses.
    ///
    /// `Ok(Err(reason))` names the rules that refused.
    ///
    /// # Errors
    /// None beyond the signature's: storage failures while reading the policy refuse instead.
    pub(crate) async fn service_account_access(
        &self,
        client_id: &str,
        ip: Option<std::net::IpAddr>,
    ) -> AppResult<Result<(), String>> {
        let policy = match self.policy_version_in_force().await {
            Ok(Some((_, policy))) => policy,
            Ok(None) => return Ok(Ok(())),
            Err(e) => {
                tracing::error!(error = %e, "conditional access unavailable: refusing a service token");
                return Ok(Err("access cannot be checked right now".into()));
            }
        };
        Ok(decide_for_service_account(&policy, client_id, ip, self.locate(ip).and_then(|l| l.country), self.now()))
    }
}

/// The rules' answer for service account `client_id` from `ip` (in `country`) at `now`.
fn decide_for_service_account(
    policy: &Policy,
    client_id: &str,
    ip: Option<std::net::IpAddr>,
    country: Option<String>,
    now: twofold_core::Timestamp,
) -> Result<(), String> {
    let facts = access::Facts {
        username: client_id,
        groups: &[],
        tier: Tier::Standard,
        roles: &[],
        service_account: true,
        app: None,
        host_path: None,
        action: Action::Read,
        ip,
        device: Device::Known,
        country: country.as_deref(),
        risk: Risk::Low,
        overdue: None,
        now,
    };
    let decision = access::evaluate(policy, &facts);
    match decision.outcome {
        Outcome::Allow => Ok(()),
        Outcome::Block => Err(format!("refused by conditional access ({})", decision.enforced_rules())),
        Outcome::Require { .. } | Outcome::Limit => Err(format!(
            "conditional access asks more than a service account can prove ({})",
            decision.enforced_rules()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        access::file::load(text, &[]).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn an_integration_is_held_to_its_network_and_hours() {
        let policy = policy(
            r#"
[zones]
integration = ["10.20.0.0/16"]

[[rule]]
name = "nightly upload only from the integration network"
who = { service_accounts = ["svc_upload"] }
when = { outside_zones = ["integration"] }
outcome = "block"
"#,
        );
        let now = twofold_core::Timestamp(1_800_000_000_000);
        let inside = Some("10.20.3.4".parse().unwrap());
        let outside = Some("203.0.113.9".parse().unwrap());
        assert_eq!(decide_for_service_account(&policy, "svc_upload", inside, None, now), Ok(()));
        let refused = decide_for_service_account(&policy, "svc_upload", outside, None, now).unwrap_err();
        assert!(refused.contains("nightly upload only from the integration network"), "{refused}");
        assert_eq!(decide_for_service_account(&policy, "svc_other", outside, None, now), Ok(()), "not listed");
        assert!(decide_for_service_account(&policy, "svc_upload", None, None, now).is_err(), "no address is outside");
    }

    #[test]
    fn a_rule_for_people_never_touches_a_service_account_and_require_refuses_one() {
        let policy = policy(
            r#"
[[rule]]
name = "everyone proves a second factor"
who = {}
outcome = "require"
strength = "mfa"

[[rule]]
name = "machines too"
who = { service_accounts = ["*"] }
outcome = "require"
strength = "mfa"
"#,
        );
        let now = twofold_core::Timestamp(1_800_000_000_000);
        let refused = decide_for_service_account(&policy, "svc_any", None, None, now).unwrap_err();
        assert!(refused.contains("machines too") && !refused.contains("everyone"), "{refused}");
    }
}
