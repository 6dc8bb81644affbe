//! Support metrics from cases: volume, time to resolve, by kind and tier, verification
//! failures — for reports, the API and the console.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Case, CaseEvent, CaseState};

/// Counts over a set of cases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaseMetrics {
    /// Cases in the set.
    pub opened: usize,
    /// Of those, closed.
    pub closed: usize,
    /// Of those, still open.
    pub open: usize,
    /// By kind (`lost_device`: 3).
    pub by_kind: BTreeMap<String, usize>,
    /// By the target's tier.
    pub by_tier: BTreeMap<String, usize>,
    /// Closed cases by resolution.
    pub by_resolution: BTreeMap<String, usize>,
    /// Median minutes from opening to closing, over closed cases (the upper of the two
    /// middle values when their count is even).
    pub median_minutes_to_close: Option<i64>,
    /// Failed verification steps, all cases together.
    pub verification_failures: usize,
    /// Passed verification steps, by channel.
    pub verified_by_channel: BTreeMap<String, usize>,
    /// Cases with a step that ran past its deadline.
    pub overdue: usize,
}

/// Metrics of `cases`.
#[must_use]
pub fn metrics(cases: &[Case]) -> CaseMetrics {
    let mut m = CaseMetrics { opened: cases.len(), ..CaseMetrics::default() };
    let mut minutes = Vec::new();
    for case in cases {
        *m.by_kind.entry(case.kind.as_str().to_owned()).or_default() += 1;
        *m.by_tier.entry(case.target.tier.as_str().to_owned()).or_default() += 1;
        match (case.state, case.closed_at, case.resolution) {
            (CaseState::Closed, Some(closed_at), Some(resolution)) => {
                m.closed += 1;
                *m.by_resolution.entry(resolution.as_str().to_owned()).or_default() += 1;
                minutes.push((closed_at.millis() - case.opened_at.millis()) / 60_000);
            }
            _ => m.open += 1,
        }
        let mut overdue = false;
        for entry in &case.timeline {
            match &entry.event {
                CaseEvent::VerificationFailed { .. } => m.verification_failures += 1,
                CaseEvent::Verified { channel, .. } => {
                    *m.verified_by_channel.entry(channel.as_str().to_owned()).or_default() += 1;
                }
                CaseEvent::Overdue { .. } => overdue = true,
                _ => {}
            }
        }
        m.overdue += usize::from(overdue);
    }
    minutes.sort_unstable();
    m.median_minutes_to_close = minutes.get(minutes.len() / 2).copied().filter(|_| !minutes.is_empty());
    m
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::super::scope::Operator;
    use super::super::verification::{Channel, VerificationPolicy};
    use super::super::{CaseKind, Checklist, Resolution};
    use super::*;
    use crate::Timestamp;
    use crate::identity::{NewUser, Tier};

    fn case(kind: CaseKind, opened: i64) -> Case {
        let user = NewUser { username: "ann".into(), ..NewUser::default() }
            .validate(Uuid::from_u128(9), Timestamp(0))
            .unwrap();
        let op = Operator { id: None, key: "cli:root".into(), name: "cli:root".into(), tier: None, roles: vec![] };
        Case::open(kind, &user, &op, "help", Timestamp(opened)).unwrap()
    }

    #[test]
    fn metrics_count_what_the_cases_hold() {
        let policy = VerificationPolicy::default();
        let mut quick = case(CaseKind::LostDevice, 0);
        quick.record(
            "op",
            None,
            Timestamp(1),
            CaseEvent::VerificationFailed { channel: Channel::EmailCode, reason: "wrong".into() },
        );
        quick.record(
            "op",
            None,
            Timestamp(2),
            CaseEvent::Verified { channel: Channel::FactorProof, evidence: "app".into() },
        );
        let done = Checklist { changes: "pass issued".into(), person_confirmed: true };
        quick.close(Resolution::Resolved, done.clone(), "op", None, &policy, Timestamp(10 * 60_000)).unwrap();
        let mut slow = case(CaseKind::LostDevice, 0);
        slow.record(
            "op",
            None,
            Timestamp(2),
            CaseEvent::Verified { channel: Channel::EmailCode, evidence: "mail".into() },
        );
        slow.close(Resolution::Resolved, done, "op", None, &policy, Timestamp(50 * 60_000)).unwrap();
        let mut stuck = case(CaseKind::AllMethodsLost, 0);
        stuck.record("op", None, Timestamp(3), CaseEvent::Overdue { channel: Channel::HrAttestation });

        let m = metrics(&[quick, slow, stuck]);
        assert_eq!((m.opened, m.closed, m.open, m.overdue), (3, 2, 1, 1));
        assert_eq!(m.by_kind["lost_device"], 2);
        assert_eq!(m.by_kind["all_methods_lost"], 1);
        assert_eq!(m.by_tier[Tier::Standard.as_str()], 3);
        assert_eq!(m.by_resolution["resolved"], 2);
        assert_eq!(m.median_minutes_to_close, Some(50), "the upper median of 10 and 50");
        assert_eq!(m.verification_failures, 1);
        assert_eq!(m.verified_by_channel["factor_proof"], 1);
        assert_eq!(m.verified_by_channel["email_code"], 1);
        assert_eq!(metrics(&[]).median_minutes_to_close, None);
    }
}
