//! Identity verification on a support case: the independent channels a caller's identity is
//! checked through, which of them a target's tier requires, and whether a case's results
//! meet the requirement.
//!
//! THREATS: social engineering of the help desk. Nothing the caller says counts: knowledge
//! answers are not a channel at all. Each channel reaches something the person held before
//! the call (a contact on file, a method they still have, their manager, HR).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::CaseKind;
use crate::identity::Tier;

/// An independent channel through which a caller's identity is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A one-time code sent to the email address on file before the case opened, read back
    /// by the caller.
    EmailCode,
    /// A one-time code sent by text to the phone number on file, read back by the caller.
    SmsCode,
    /// A code from a method the person still has (authenticator app, hardware token).
    FactorProof,
    /// The person's manager approves through a link that needs the manager's own MFA.
    ManagerApproval,
    /// HR attests the request (a person with the `hr` role, or a signed call from HR).
    HrAttestation,
}

impl Channel {
    /// Every channel, in declaration order.
    pub const ALL: &'static [Self] =
        &[Self::EmailCode, Self::SmsCode, Self::FactorProof, Self::ManagerApproval, Self::HrAttestation];

    /// The stored and displayed name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EmailCode => "email_code",
            Self::SmsCode => "sms_code",
            Self::FactorProof => "factor_proof",
            Self::ManagerApproval => "manager_approval",
            Self::HrAttestation => "hr_attestation",
        }
    }

    /// What the channel is, for people.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::EmailCode => "code to the email address on file",
            Self::SmsCode => "code to the phone number on file",
            Self::FactorProof => "code from a method the person still has",
            Self::ManagerApproval => "approval by the person's manager",
            Self::HrAttestation => "attestation from HR",
        }
    }

    /// Parses a name.
    ///
    /// # Errors
    /// A message naming the accepted values.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL.iter().copied().find(|c| c.as_str() == text.trim()).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|c| c.as_str()).collect();
            format!("'{text}' is not one of: {}", names.join(", "))
        })
    }

    /// How long a started step of this channel may take before it is overdue and the team
    /// lead is told: minutes for a code read back on the call, hours for people to answer.
    #[must_use]
    pub const fn deadline_secs(self) -> i64 {
        match self {
            Self::EmailCode | Self::SmsCode | Self::FactorProof => 10 * 60,
            Self::ManagerApproval => 4 * 60 * 60,
            Self::HrAttestation => 24 * 60 * 60,
        }
    }
}

/// What verifying one target takes: every step met, each by a different channel, and for
/// some tiers a second operator's approval (two-person rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// Each step lists the channels that may meet it; one distinct channel per step.
    pub steps: Vec<Vec<Channel>>,
    /// Whether a second operator must approve before any change.
    pub second_operator: bool,
}

impl Requirement {
    fn new(steps: &[&[Channel]], second_operator: bool) -> Self {
        Self { steps: steps.iter().map(|step| step.to_vec()).collect(), second_operator }
    }
}

/// The organisation's verification rules, per tier, with the stronger ones for resetting
/// every method (nothing of the person's own is left to prove with).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationPolicy {
    /// For ordinary cases.
    pub per_tier: BTreeMap<Tier, Requirement>,
    /// For all-methods-lost cases and any reset of every method.
    pub reset_all: BTreeMap<Tier, Requirement>,
}

impl Default for VerificationPolicy {
    /// Standard and external people: one independent channel; privileged people: two, and a
    /// second operator. Resetting every method: a contact on file and a person who knows
    /// them (manager or HR); privileged people need both of those and a second operator.
    /// Service and break-glass identities are not served by the help desk at all.
    fn default() -> Self {
        use Channel::*;
        let one = Requirement::new(&[&[FactorProof, EmailCode, SmsCode, ManagerApproval]], false);
        let privileged = Requirement::new(
            &[&[FactorProof, ManagerApproval, HrAttestation], &[FactorProof, EmailCode, SmsCode]],
            true,
        );
        let reset = Requirement::new(&[&[EmailCode, SmsCode], &[ManagerApproval, HrAttestation]], false);
        let reset_privileged = Requirement::new(&[&[EmailCode, SmsCode], &[ManagerApproval], &[HrAttestation]], true);
        Self {
            per_tier: BTreeMap::from([
                (Tier::Standard, one.clone()),
                (Tier::External, one),
                (Tier::Privileged, privileged),
            ]),
            reset_all: BTreeMap::from([
                (Tier::Standard, reset.clone()),
                (Tier::External, reset),
                (Tier::Privileged, reset_privileged),
            ]),
        }
    }
}

impl VerificationPolicy {
    /// What a case of `kind` for a target of `tier` requires; `None` when the help desk does
    /// not serve the tier.
    #[must_use]
    pub fn requirement(&self, tier: Tier, kind: CaseKind) -> Option<&Requirement> {
        if kind == CaseKind::AllMethodsLost { self.reset_all.get(&tier) } else { self.per_tier.get(&tier) }
    }

    /// What resetting every method of a target of `tier` requires, whatever the case's kind.
    #[must_use]
    pub fn reset_requirement(&self, tier: Tier) -> Option<&Requirement> {
        self.reset_all.get(&tier)
    }

    /// Checks the policy itself (from configuration): every requirement has a step, no step
    /// is empty, and a reset never asks less than the ordinary case of its tier.
    ///
    /// # Errors
    /// Each problem, named by tier.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for (what, map) in [("verification", &self.per_tier), ("reset verification", &self.reset_all)] {
            for (tier, requirement) in map {
                if requirement.steps.is_empty() || requirement.steps.iter().any(Vec::is_empty) {
                    problems.push(format!("{what} for {tier}: every step needs at least one channel"));
                }
            }
        }
        for (what, map) in [("verification", &self.per_tier), ("reset verification", &self.reset_all)] {
            for (tier, requirement) in map {
                if matches!(tier, Tier::Service | Tier::BreakGlass) {
                    problems.push(format!("{what} for {tier}: the help desk never serves {tier} accounts"));
                }
                // The two-person rule for privileged people is not the organisation's to drop.
                if *tier == Tier::Privileged && !requirement.second_operator {
                    problems.push(format!("{what} for privileged: a second operator is always needed"));
                }
            }
        }
        for (tier, ordinary) in &self.per_tier {
            match self.reset_all.get(tier) {
                Some(reset) if reset.steps.len() < ordinary.steps.len() => {
                    problems.push(format!("reset verification for {tier} asks fewer steps than an ordinary case"));
                }
                Some(reset) if ordinary.second_operator && !reset.second_operator => {
                    problems.push(format!("reset verification for {tier} drops the second operator"));
                }
                Some(_) => {}
                None => problems.push(format!("reset verification for {tier} is missing")),
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

/// How far a case's verification has come against its requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationStatus {
    /// Every step is met by a distinct verified channel.
    pub steps_met: bool,
    /// The steps still open (each as its acceptable channels), for the operator to run.
    pub missing: Vec<Vec<Channel>>,
    /// A second operator must still approve.
    pub second_operator_missing: bool,
}

impl VerificationStatus {
    /// Whether the case may change anything.
    #[must_use]
    pub const fn complete(&self) -> bool {
        self.steps_met && !self.second_operator_missing
    }

    /// What is still needed, for people: "still needed: a code to the email address on file
    /// or ...; a second operator's approval".
    #[must_use]
    pub fn describe(&self) -> String {
        let mut needed: Vec<String> =
            self.missing.iter().map(|step| step.iter().map(|c| c.label()).collect::<Vec<_>>().join(" or ")).collect();
        if self.second_operator_missing {
            needed.push("a second operator's approval".into());
        }
        if needed.is_empty() { "nothing more is needed".into() } else { format!("still needed: {}", needed.join("; ")) }
    }
}

/// Matches `verified` channels to `requirement`'s steps, each channel used once, and says
/// which steps stay open; `approved` says a second operator has approved.
#[must_use]
pub fn status(requirement: &Requirement, verified: &[Channel], approved: bool) -> VerificationStatus {
    let mut verified: Vec<Channel> = verified.to_vec();
    verified.sort();
    verified.dedup();
    let best = best_assignment(&requirement.steps, &verified);
    let missing: Vec<Vec<Channel>> =
        requirement.steps.iter().zip(&best).filter(|(_, met)| !**met).map(|(step, _)| step.clone()).collect();
    VerificationStatus {
        steps_met: missing.is_empty(),
        missing,
        second_operator_missing: requirement.second_operator && !approved,
    }
}

/// Which steps can be met at once with distinct channels, maximising how many are met
/// (backtracking: a requirement has a handful of steps and channels).
fn best_assignment(steps: &[Vec<Channel>], available: &[Channel]) -> Vec<bool> {
    fn go(steps: &[Vec<Channel>], used: &mut Vec<Channel>, available: &[Channel]) -> Vec<bool> {
        let Some((first, rest)) = steps.split_first() else { return Vec::new() };
        let mut best = {
            let mut skipped = vec![false];
            skipped.extend(go(rest, used, available));
            skipped
        };
        let candidates: Vec<Channel> =
            first.iter().copied().filter(|c| available.contains(c) && !used.contains(c)).collect();
        for channel in candidates {
            used.push(channel);
            let mut taken = vec![true];
            taken.extend(go(rest, used, available));
            used.pop();
            if taken.iter().filter(|m| **m).count() > best.iter().filter(|m| **m).count() {
                best = taken;
            }
        }
        best
    }
    go(steps, &mut Vec::new(), available)
}

#[cfg(test)]
mod tests {
    use super::Channel::*;
    use super::*;

    fn policy() -> VerificationPolicy {
        VerificationPolicy::default()
    }

    #[test]
    fn a_standard_person_needs_one_independent_channel() {
        let requirement = policy().requirement(Tier::Standard, CaseKind::LostDevice).cloned().unwrap();
        assert!(!status(&requirement, &[], false).complete());
        for channel in [FactorProof, EmailCode, SmsCode, ManagerApproval] {
            assert!(status(&requirement, &[channel], false).complete(), "{channel:?}");
        }
        assert!(!status(&requirement, &[HrAttestation], false).complete(), "not one of the step's channels");
    }

    /// THREATS: social engineering — a privileged target needs two distinct channels and a
    /// second operator; one channel counted twice is still one.
    #[test]
    fn a_privileged_person_needs_two_distinct_channels_and_a_second_operator() {
        let requirement = policy().requirement(Tier::Privileged, CaseKind::NewPhone).cloned().unwrap();
        let one = status(&requirement, &[FactorProof, FactorProof], true);
        assert!(!one.complete(), "one channel cannot meet both steps");
        assert_eq!(one.missing.len(), 1);
        let two = status(&requirement, &[EmailCode, ManagerApproval], false);
        assert!(two.steps_met);
        assert!(two.second_operator_missing);
        assert!(!two.complete());
        assert!(status(&requirement, &[EmailCode, ManagerApproval], true).complete());
    }

    #[test]
    fn matching_finds_the_assignment_that_meets_every_step() {
        // A greedy match would give FactorProof to the first step and leave the second open;
        // HR meets the first, so both are met.
        let requirement = Requirement::new(&[&[FactorProof, HrAttestation], &[FactorProof, EmailCode]], false);
        assert!(status(&requirement, &[FactorProof, HrAttestation], false).complete());
        assert!(status(&requirement, &[EmailCode, FactorProof], false).complete());
        let Requirement { steps, .. } = &requirement;
        assert_eq!(status(&requirement, &[FactorProof], false).missing.len(), 1, "{steps:?}");
    }

    #[test]
    fn resetting_every_method_needs_more_than_a_factor_proof() {
        let p = policy();
        let reset = p.requirement(Tier::Standard, CaseKind::AllMethodsLost).cloned().unwrap();
        assert_eq!(Some(&reset), p.reset_requirement(Tier::Standard));
        assert!(!status(&reset, &[FactorProof], false).complete());
        assert!(!status(&reset, &[EmailCode], false).complete());
        assert!(status(&reset, &[EmailCode, ManagerApproval], false).complete());
        let privileged = p.reset_requirement(Tier::Privileged).cloned().unwrap();
        assert!(!status(&privileged, &[EmailCode, ManagerApproval], true).complete(), "HR too");
        assert!(status(&privileged, &[EmailCode, ManagerApproval, HrAttestation], true).complete());
    }

    #[test]
    fn service_and_break_glass_identities_are_not_served() {
        assert!(policy().requirement(Tier::Service, CaseKind::LockedOut).is_none());
        assert!(policy().requirement(Tier::BreakGlass, CaseKind::AllMethodsLost).is_none());
    }

    #[test]
    fn the_default_policy_is_sound_and_a_weakened_reset_is_refused() {
        assert_eq!(policy().check(), Ok(()));
        let mut weak = policy();
        weak.reset_all.insert(Tier::Privileged, Requirement::new(&[&[EmailCode], &[FactorProof]], false));
        let problems = weak.check().unwrap_err();
        assert!(problems.contains(&"reset verification for privileged drops the second operator".to_owned()));
        assert_eq!(problems.len(), 2, "{problems:?}");
        weak.per_tier.insert(Tier::Standard, Requirement::new(&[&[]], false));
        assert_eq!(weak.check().unwrap_err().len(), 3);
    }

    #[test]
    fn every_channel_has_a_deadline_and_parses_by_name() {
        for channel in Channel::ALL {
            assert!(channel.deadline_secs() >= 600);
            assert_eq!(Channel::parse(channel.as_str()), Ok(*channel));
        }
        assert!(Channel::parse("security_question").unwrap_err().contains("email_code, sms_code"));
    }
}
