//! How someone with no sign-in method yet may enrol their first one.
//!
//! THREATS: enrolment hijack. With the password alone, an attacker who phished it enrols
//! their own phone and owns the account from then on. So the first method needs one more
//! proof, chosen by the organisation: a code emailed to the address already on file, a
//! request from a named network, or a temporary access pass from the help desk. Password
//! alone remains possible (the demo uses it so a newcomer can try Twofold), never the default.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::factors::access_pass::ACCESS_PASS_AMR;
use crate::signin::session::AuthContext;

/// The `amr` entry a session gains when its person proves a code emailed to the address on
/// file before enrolling a first method. It proves the mailbox, not a second factor: the
/// session's `acr` stays `pwd`.
pub const EMAILED_CODE_AMR: &str = "email_on_file";

/// What, besides the password, lets a person enrol their first method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstMethodRule {
    /// The password alone (the demo; not for real deployments).
    Password,
    /// A code emailed to the address on file, a named network, or a temporary access pass.
    #[default]
    EmailCode,
    /// A named network or a temporary access pass.
    Network,
    /// A temporary access pass only.
    AccessPass,
}

impl FirstMethodRule {
    /// Every rule, in configuration spelling.
    pub const ALL: &'static [Self] = &[Self::Password, Self::EmailCode, Self::Network, Self::AccessPass];

    /// The configuration spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::EmailCode => "email_code",
            Self::Network => "network",
            Self::AccessPass => "access_pass",
        }
    }

    /// Parses the configuration spelling.
    ///
    /// # Errors
    /// A message naming the accepted values.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL.iter().copied().find(|r| r.as_str() == text.trim()).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|r| r.as_str()).collect();
            format!("'{text}' is not one of: {}", names.join(", "))
        })
    }
}

/// The organisation's rule for first methods, with its named networks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FirstEnrolmentPolicy {
    /// What is needed besides the password.
    pub rule: FirstMethodRule,
    /// Networks from which the password is enough (for [`FirstMethodRule::EmailCode`] and
    /// [`FirstMethodRule::Network`]).
    pub networks: Vec<ipnet::IpNet>,
}

/// The proofs a person may still give to enrol a first method, so a page can offer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstEnrolmentNeeds {
    /// A code to the email address on file would do (and the person has one on file).
    pub email_code: bool,
    /// Signing in from a named network would do.
    pub network: bool,
}

impl FirstEnrolmentPolicy {
    /// Whether a session with `auth`, asking from `ip`, of a person with no method yet, may
    /// enrol one. A temporary access pass always suffices.
    ///
    /// # Errors
    /// What would suffice instead.
    pub fn allows(&self, auth: &AuthContext, ip: Option<IpAddr>, has_email: bool) -> Result<(), FirstEnrolmentNeeds> {
        let proved = |marker: &str| auth.amr.iter().any(|m| m == marker);
        let from_named_network = ip.is_some_and(|ip| self.networks.iter().any(|net| net.contains(&ip)));
        let allowed = proved(ACCESS_PASS_AMR)
            || match self.rule {
                FirstMethodRule::Password => true,
                FirstMethodRule::EmailCode => proved(EMAILED_CODE_AMR) || from_named_network,
                FirstMethodRule::Network => from_named_network,
                FirstMethodRule::AccessPass => false,
            };
        if allowed {
            return Ok(());
        }
        Err(FirstEnrolmentNeeds {
            email_code: self.rule == FirstMethodRule::EmailCode && has_email,
            network: matches!(self.rule, FirstMethodRule::EmailCode | FirstMethodRule::Network)
                && !self.networks.is_empty(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    fn session(amr: &[&str]) -> AuthContext {
        AuthContext {
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
            acr: "pwd".into(),
            auth_time: Some(Timestamp(0)),
        }
    }

    fn policy(rule: FirstMethodRule) -> FirstEnrolmentPolicy {
        FirstEnrolmentPolicy { rule, networks: vec!["10.0.0.0/8".parse().unwrap()] }
    }

    const OFFICE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 2, 3)));
    const CAFE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 9)));

    /// THREATS: enrolment hijack — by default a phished password alone, from anywhere, never
    /// enrols a first method.
    #[test]
    fn by_default_a_password_alone_enrols_nothing() {
        let default = FirstEnrolmentPolicy::default();
        assert_eq!(default.rule, FirstMethodRule::EmailCode);
        assert_eq!(
            default.allows(&session(&["pwd"]), CAFE, true),
            Err(FirstEnrolmentNeeds { email_code: true, network: false })
        );
        assert!(default.allows(&session(&["pwd", EMAILED_CODE_AMR]), CAFE, true).is_ok());
        assert!(default.allows(&session(&[ACCESS_PASS_AMR]), CAFE, false).is_ok());
    }

    #[test]
    fn each_rule_accepts_exactly_its_proofs() {
        let pwd = session(&["pwd"]);
        let emailed = session(&["pwd", EMAILED_CODE_AMR]);
        let tap = session(&[ACCESS_PASS_AMR]);
        let cases = [
            (FirstMethodRule::Password, [true, true, true, true]),
            (FirstMethodRule::EmailCode, [false, true, true, true]),
            (FirstMethodRule::Network, [false, false, true, true]),
            (FirstMethodRule::AccessPass, [false, false, false, true]),
        ];
        for (rule, [bare, by_email, from_office, by_pass]) in cases {
            let p = policy(rule);
            assert_eq!(p.allows(&pwd, CAFE, true).is_ok(), bare, "{rule:?}: password from outside");
            assert_eq!(p.allows(&emailed, CAFE, true).is_ok(), by_email, "{rule:?}: emailed code");
            assert_eq!(p.allows(&pwd, OFFICE, true).is_ok(), from_office, "{rule:?}: named network");
            assert_eq!(p.allows(&tap, CAFE, true).is_ok(), by_pass, "{rule:?}: access pass");
        }
    }

    #[test]
    fn the_refusal_offers_only_what_would_work() {
        let no_email = policy(FirstMethodRule::EmailCode).allows(&session(&["pwd"]), CAFE, false);
        assert_eq!(no_email, Err(FirstEnrolmentNeeds { email_code: false, network: true }));
        let pass_only = policy(FirstMethodRule::AccessPass).allows(&session(&["pwd"]), OFFICE, true);
        assert_eq!(pass_only, Err(FirstEnrolmentNeeds { email_code: false, network: false }));
    }

    #[test]
    fn rules_parse_from_their_configuration_spelling() {
        for rule in FirstMethodRule::ALL {
            assert_eq!(FirstMethodRule::parse(rule.as_str()), Ok(*rule));
        }
        let Err(message) = FirstMethodRule::parse("sms") else { panic!("sms is not a rule") };
        assert!(message.contains("password, email_code, network, access_pass"), "{message}");
    }
}
