//! Help-desk support cases: who called about whom and why, how their identity was verified,
//! what the verification unlocked, and how the case ended.
//!
//! A case is one record with its timeline; every rule about it lives here and is pure:
//! the app loads a case, asks it whether a step is allowed, appends the entry and stores it
//! with compare-and-swap on [`Case::version`], so two operators racing on one case cannot
//! both act on the state they read.
//!
//! THREATS: social engineering of the help desk. Nothing changes until the verification
//! the target's tier requires is complete ([`verification`]), privileged targets need a
//! second operator, and an operator works only inside their scope ([`scope`]).

pub mod hr_system;
pub mod metrics;
mod names;
pub mod scope;
mod timeline;
pub mod verification;

pub use names::{CaseAction, CaseKind, CaseState, Resolution};
pub use timeline::{CaseEvent, Checklist, Entry, UseAfterChange};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::identity::{Tier, User};
use crate::validation::ValidationErrors;
use verification::{Channel, Requirement, VerificationPolicy, VerificationStatus};

/// The person a case is about, as they were when it opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTarget {
    /// Their identity.
    pub id: Uuid,
    /// Their username.
    pub username: String,
    /// Their tier when the case opened; the verification follows the stricter of it and
    /// their tier (and roles) now.
    pub tier: Tier,
    /// The email address on file when the case opened: a code goes there only while it is
    /// still the address on file (an address changed meanwhile is not the person's proof).
    #[serde(default)]
    pub email: Option<String>,
    /// The phone number on file when the case opened, likewise.
    #[serde(default)]
    pub phone: Option<String>,
}

/// One support case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Identifier.
    pub id: Uuid,
    /// Why the person called.
    pub kind: CaseKind,
    /// Whom it is about.
    pub target: CaseTarget,
    /// The operator who opened it (name).
    pub operator: String,
    /// Who opened it for the two-person rule: the person's id, or `cli:<os user>`.
    pub operator_id: Option<String>,
    /// When it opened.
    pub opened_at: Timestamp,
    /// Open or closed.
    pub state: CaseState,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
    /// How it ended.
    pub resolution: Option<Resolution>,
    /// Everything that happened, oldest first.
    pub timeline: Vec<Entry>,
    /// Bumped by every change; the store writes only over the version it read.
    pub version: i64,
}

/// Wrong codes allowed per channel on one case; after that the channel is spent and the case
/// can only end as [`Resolution::VerificationFailed`] or verify another way.
pub const MAX_FAILURES_PER_CHANNEL: usize = 3;

/// Why a case refuses a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseRefusal {
    /// The case is closed.
    #[error("the case is closed")]
    Closed,
    /// The verification the target's tier requires is not complete.
    #[error("the caller's identity is not verified yet ({})", .0.describe())]
    NotVerified(VerificationStatus),
    /// The help desk does not serve the target's tier.
    #[error("the help desk does not serve {0} accounts")]
    TierNotServed(Tier),
    /// The channel failed too often on this case.
    #[error("{} failed {MAX_FAILURES_PER_CHANNEL} times on this case", .0.label())]
    ChannelSpent(Channel),
    /// The channel was verified already on this case.
    #[error("{} is verified already", .0.label())]
    AlreadyVerified(Channel),
    /// A second operator must be someone other than those who opened or worked the case,
    /// and other than its person.
    #[error("the second operator must be someone other than the operators who opened or verified the case")]
    SameOperator,
    /// The second operator's approval comes from a signed-in operator (a person), never from
    /// the console, whose identity is only what its environment says.
    #[error("a second operator approves on the help-desk pages, signed in with their own passkey")]
    ApprovalNeedsPerson,
    /// The approving operator only approves: verifying or changing is for the other.
    #[error("the operator who approved cannot also verify or make the change")]
    ApproverActs,
    /// Approval comes after the verification steps are met.
    #[error("approve once the caller is verified ({})", .0.describe())]
    ApproveAfterVerification(VerificationStatus),
    /// The case needs no second operator, or has one.
    #[error("the case needs no further approval")]
    ApprovalNotNeeded,
    /// Closing needs the checklist complete.
    #[error("the checklist is not complete: {}", .0.join("; "))]
    ChecklistIncomplete(Vec<&'static str>),
}

impl Case {
    /// Opens a case of `kind` about `target` by `operator` at `now`.
    ///
    /// # Errors
    /// An empty or over-long summary.
    pub fn open(
        kind: CaseKind,
        target: &User,
        operator: &scope::Operator,
        summary: &str,
        now: Timestamp,
    ) -> Result<Self, ValidationErrors> {
        let summary = summary.trim();
        if summary.is_empty() || summary.chars().count() > 2000 {
            return Err(ValidationErrors::one(
                "summary",
                "must say what the caller asks for, in up to 2000 characters",
            ));
        }
        let operator_id = Some(operator.key.clone());
        Ok(Self {
            id: Uuid::now_v7(),
            kind,
            target: CaseTarget {
                id: target.id,
                username: target.username.clone(),
                tier: scope::effective_tier(target),
                email: target.email.clone(),
                phone: target.phone.clone(),
            },
            operator: operator.name.clone(),
            operator_id: operator_id.clone(),
            opened_at: now,
            state: CaseState::Open,
            closed_at: None,
            resolution: None,
            timeline: vec![Entry {
                at: now,
                by: operator.name.clone(),
                by_id: operator_id,
                event: CaseEvent::Opened { summary: summary.to_owned() },
            }],
            version: 0,
        })
    }

    /// The caller's request as opened.
    #[must_use]
    pub fn summary(&self) -> &str {
        self.timeline
            .iter()
            .find_map(|e| match &e.event {
                CaseEvent::Opened { summary } => Some(summary.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }

    /// The channels verified on this case.
    #[must_use]
    pub fn verified_channels(&self) -> Vec<Channel> {
        self.timeline
            .iter()
            .filter_map(|e| match e.event {
                CaseEvent::Verified { channel, .. } => Some(channel),
                _ => None,
            })
            .collect()
    }

    /// Whether the case changed the person's methods (a pass, a retirement, a reset, a
    /// resynchronisation) at or after `since`.
    #[must_use]
    pub fn changed_since(&self, since: Timestamp) -> bool {
        self.timeline.iter().any(|e| e.at >= since && matches!(e.event, CaseEvent::ActionTaken { .. }))
    }

    /// Whether a use of `kind` at `now` is the first since this case last changed something
    /// within the `window_secs` before: the security team hears of it once per change.
    #[must_use]
    pub fn first_use_after_change(&self, kind: UseAfterChange, window_secs: i64, now: Timestamp) -> bool {
        let Some(changed) =
            self.timeline.iter().rev().find(|e| matches!(e.event, CaseEvent::ActionTaken { .. })).map(|e| e.at)
        else {
            return false;
        };
        changed.plus_seconds(window_secs) >= now
            && !self.timeline.iter().any(|e| {
                e.at >= changed && matches!(&e.event, CaseEvent::UsedAfterChange { kind: k, .. } if *k == kind)
            })
    }

    /// How many verification steps failed at or after `since`.
    #[must_use]
    pub fn failures_since(&self, since: Timestamp) -> usize {
        self.timeline
            .iter()
            .filter(|e| e.at >= since && matches!(e.event, CaseEvent::VerificationFailed { .. }))
            .count()
    }

    /// Whether a second operator has approved.
    #[must_use]
    pub fn approved(&self) -> bool {
        self.timeline.iter().any(|e| matches!(e.event, CaseEvent::Approved { .. }))
    }

    /// How many times `channel` failed on this case.
    #[must_use]
    pub fn failures(&self, channel: Channel) -> usize {
        self.timeline
            .iter()
            .filter(|e| matches!(e.event, CaseEvent::VerificationFailed { channel: c, .. } if c == channel))
            .count()
    }

    /// The actions taken on this case.
    #[must_use]
    pub fn actions(&self) -> Vec<CaseAction> {
        self.timeline
            .iter()
            .filter_map(|e| match e.event {
                CaseEvent::ActionTaken { action, .. } => Some(action),
                _ => None,
            })
            .collect()
    }

    /// Whether a step of `channel` was started (a code sent, an approval asked for) and has
    /// not been answered since.
    #[must_use]
    pub fn awaiting(&self, channel: Channel) -> bool {
        self.timeline.iter().rev().find_map(|e| match &e.event {
            CaseEvent::StepStarted { channel: c, .. } if *c == channel => Some(true),
            CaseEvent::Verified { channel: c, .. } | CaseEvent::VerificationFailed { channel: c, .. }
                if *c == channel =>
            {
                Some(false)
            }
            _ => None,
        }) == Some(true)
    }

    /// The steps past their deadline at `now` that nobody was told of yet: each started step
    /// not answered since, whose `due` has passed, with no overdue mark after it.
    #[must_use]
    pub fn overdue(&self, now: Timestamp) -> Vec<(Channel, Timestamp)> {
        if self.state == CaseState::Closed {
            return Vec::new();
        }
        let mut open: Vec<(Channel, Timestamp)> = Vec::new();
        for entry in &self.timeline {
            match &entry.event {
                CaseEvent::StepStarted { channel, due, .. } => {
                    open.retain(|(c, _)| c != channel);
                    open.push((*channel, *due));
                }
                CaseEvent::Verified { channel, .. }
                | CaseEvent::VerificationFailed { channel, .. }
                | CaseEvent::Overdue { channel } => open.retain(|(c, _)| c != channel),
                _ => {}
            }
        }
        open.retain(|(_, due)| *due <= now);
        open
    }

    /// The requirement for this case: a reset of every method, or a case opened at raised
    /// risk, asks the stronger one.
    fn requirement<'p>(&self, policy: &'p VerificationPolicy, action: Option<CaseAction>) -> Option<&'p Requirement> {
        match action {
            _ if self.risk_raised() => policy.reset_requirement(self.target.tier),
            Some(CaseAction::ResetAllMethods) => policy.reset_requirement(self.target.tier),
            _ => policy.requirement(self.target.tier, self.kind),
        }
    }

    /// Records that the person's risk was raised when the case opened (`reasons`, none when
    /// it was not): from then on it asks the verification for resetting every method.
    pub fn raise_risk(&mut self, reasons: Vec<String>, by: &str, now: Timestamp) {
        if !reasons.is_empty() {
            self.record(by, None, now, CaseEvent::RiskRaised { reasons });
        }
    }

    /// Whether the case asks the reset's verification for every change (risk raised).
    #[must_use]
    pub fn risk_raised(&self) -> bool {
        self.timeline.iter().any(|e| matches!(e.event, CaseEvent::RiskRaised { .. }))
    }

    /// Where verification stands for the case's ordinary changes.
    ///
    /// # Errors
    /// The help desk does not serve the target's tier.
    pub fn verification(&self, policy: &VerificationPolicy) -> Result<VerificationStatus, CaseRefusal> {
        let requirement = self.requirement(policy, None).ok_or(CaseRefusal::TierNotServed(self.target.tier))?;
        Ok(verification::status(requirement, &self.verified_channels(), self.approved()))
    }

    /// Whether `channel` may be tried now by the operator `actor_key`: the case is open, the
    /// channel is not verified yet and not spent by failures, and the operator is not the one
    /// who approved.
    ///
    /// # Errors
    /// Why not.
    pub fn may_try(&self, channel: Channel, actor_key: &str) -> Result<(), CaseRefusal> {
        if self.state == CaseState::Closed {
            return Err(CaseRefusal::Closed);
        }
        if self.approver().as_deref() == Some(actor_key) {
            return Err(CaseRefusal::ApproverActs);
        }
        if self.verified_channels().contains(&channel) {
            return Err(CaseRefusal::AlreadyVerified(channel));
        }
        if self.failures(channel) >= MAX_FAILURES_PER_CHANNEL {
            return Err(CaseRefusal::ChannelSpent(channel));
        }
        Ok(())
    }

    /// Whether the operator `actor_key` may take `action` now: open, verified as the target's
    /// tier (and for a reset of every method, the stronger path) requires, second operator
    /// included, and not by the operator who approved.
    ///
    /// # Errors
    /// [`CaseRefusal::NotVerified`] with what is missing.
    pub fn may_take(
        &self,
        action: CaseAction,
        policy: &VerificationPolicy,
        actor_key: &str,
    ) -> Result<(), CaseRefusal> {
        if self.state == CaseState::Closed {
            return Err(CaseRefusal::Closed);
        }
        if self.approver().as_deref() == Some(actor_key) {
            return Err(CaseRefusal::ApproverActs);
        }
        let requirement = self.requirement(policy, Some(action)).ok_or(CaseRefusal::TierNotServed(self.target.tier))?;
        let status = verification::status(requirement, &self.verified_channels(), self.approved());
        if !status.complete() {
            return Err(CaseRefusal::NotVerified(status));
        }
        Ok(())
    }

    /// Whether `approver` may give the second operator's approval: a signed-in operator
    /// (never the console), other than the case's person, its opener and everyone who worked
    /// a verification step, once the steps are met.
    ///
    /// # Errors
    /// Why not.
    pub fn may_approve(&self, approver: &scope::Operator, policy: &VerificationPolicy) -> Result<(), CaseRefusal> {
        if self.state == CaseState::Closed {
            return Err(CaseRefusal::Closed);
        }
        let needs = [None, Some(CaseAction::ResetAllMethods)]
            .into_iter()
            .filter_map(|action| self.requirement(policy, action))
            .any(|r| r.second_operator);
        if !needs || self.approved() {
            return Err(CaseRefusal::ApprovalNotNeeded);
        }
        if approver.id.is_none() {
            return Err(CaseRefusal::ApprovalNeedsPerson);
        }
        if approver.id == Some(self.target.id) || self.workers().contains(&approver.key) {
            return Err(CaseRefusal::SameOperator);
        }
        let status = self.verification(policy)?;
        if !status.steps_met {
            return Err(CaseRefusal::ApproveAfterVerification(status));
        }
        Ok(())
    }

    /// Who approved as second operator (their key), if anyone did.
    #[must_use]
    pub fn approver(&self) -> Option<String> {
        self.timeline.iter().find_map(|e| match &e.event {
            CaseEvent::Approved { operator_id } => operator_id.clone(),
            _ => None,
        })
    }

    /// Everyone who opened the case or worked a step or change on it (their keys), who may
    /// therefore not be its second operator nor answer for the person as manager or HR.
    #[must_use]
    pub fn workers(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.operator_id.iter().cloned().collect();
        for entry in &self.timeline {
            let worked = matches!(
                entry.event,
                CaseEvent::StepStarted { .. }
                    | CaseEvent::Verified { .. }
                    | CaseEvent::VerificationFailed { .. }
                    | CaseEvent::ActionTaken { .. }
            );
            if let Some(key) = entry.by_id.as_ref().filter(|_| worked)
                && !keys.contains(key)
            {
                keys.push(key.clone());
            }
        }
        keys
    }

    /// Appends an entry by `by` at `now`.
    pub fn record(&mut self, by: &str, by_id: Option<String>, now: Timestamp, event: CaseEvent) {
        self.timeline.push(Entry { at: now, by: by.to_owned(), by_id, event });
    }

    /// Closes the case with `resolution` and `checklist`. A resolution that says something
    /// was fixed needs the verification complete, the changes described and the person's
    /// confirmation; every resolution needs the changes (or why none) described.
    ///
    /// # Errors
    /// Closed already, or what the checklist lacks.
    pub fn close(
        &mut self,
        resolution: Resolution,
        checklist: Checklist,
        by: &str,
        by_id: Option<String>,
        policy: &VerificationPolicy,
        now: Timestamp,
    ) -> Result<(), CaseRefusal> {
        if self.state == CaseState::Closed {
            return Err(CaseRefusal::Closed);
        }
        let mut missing = Vec::new();
        if checklist.changes.trim().is_empty() {
            missing.push("say what was changed, or why nothing was");
        }
        let changed = !self.actions().is_empty();
        match resolution {
            Resolution::Resolved => {
                if !self.verification(policy).is_ok_and(|s| s.complete()) {
                    missing.push("verify the caller's identity");
                }
                if !checklist.person_confirmed {
                    missing.push("confirm with the person that they can sign in");
                }
            }
            Resolution::VerificationFailed | Resolution::Withdrawn | Resolution::NoChangeNeeded if changed => {
                missing.push("a case that changed something ends as resolved or escalated");
            }
            _ => {}
        }
        if !missing.is_empty() {
            return Err(CaseRefusal::ChecklistIncomplete(missing));
        }
        self.state = CaseState::Closed;
        self.closed_at = Some(now);
        self.resolution = Some(resolution);
        self.record(by, by_id, now, CaseEvent::Closed { resolution, checklist });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
