//! HR attestation by a signed call from the HR system, beside a person with the `hr` role
//! answering on the review page: the HR system posts what it attests about the caller of one
//! case, signed with its own Ed25519 key, whose public half alone is in Twofold's
//! configuration (so nothing Twofold holds can forge an attestation).
//!
//! THREATS: social engineering of the help desk. The call answers only a step the operator
//! asked for and nobody answered yet, names the case and the person (a signature for one
//! case answers no other), is at most [`MAX_SKEW_SECS`] old, and the same signed call is
//! never counted twice.

use serde::Deserialize;
use uuid::Uuid;

use super::verification::Channel;
use super::{Case, CaseEvent, CaseState};
use crate::Timestamp;

/// How far from Twofold's clock an attestation's `issued_at` may be, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

/// What the HR system attests, as it signs it (JSON; the signature covers these exact bytes).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HrSystemAttestation {
    /// The case it answers.
    pub case: Uuid,
    /// The person the case is about, by username.
    pub username: String,
    /// True when HR confirms the caller's request; false when HR does not recognise it.
    pub attested: bool,
    /// Who at HR answered (for the evidence).
    pub attested_by: String,
    /// The HR system's own reference for its answer.
    pub reference: String,
    /// When the HR system signed it, in seconds since 1970.
    pub issued_at: i64,
}

/// Why a signed attestation is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HrSystemRefusal {
    /// The body is not an attestation.
    #[error("the attestation is not valid: {0}")]
    Malformed(String),
    /// It names another case than the one it was posted to.
    #[error("the attestation names another case")]
    OtherCase,
    /// It names another person than the case's.
    #[error("the attestation names someone other than the case's person")]
    OtherPerson,
    /// Signed too long ago (or in the future).
    #[error("the attestation was signed more than {MAX_SKEW_SECS} seconds from now")]
    Stale,
    /// The operator did not ask HR on this case, or HR answered already.
    #[error("nobody asked HR to attest on this case, or it was answered already")]
    NotAsked,
    /// This signed call was counted before.
    #[error("this attestation was received before")]
    Replayed,
    /// The case is closed.
    #[error("the case is closed")]
    Closed,
}

impl HrSystemAttestation {
    /// Reads an attestation from the body the HR system signed.
    ///
    /// # Errors
    /// [`HrSystemRefusal::Malformed`] naming what is wrong.
    pub fn parse(body: &[u8]) -> Result<Self, HrSystemRefusal> {
        let parsed: Self = serde_json::from_slice(body).map_err(|e| HrSystemRefusal::Malformed(e.to_string()))?;
        for (field, value, max) in [
            ("username", &parsed.username, 200),
            ("attested_by", &parsed.attested_by, 200),
            ("reference", &parsed.reference, 200),
        ] {
            if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
                return Err(HrSystemRefusal::Malformed(format!("{field} must be 1 to {max} printable characters")));
            }
        }
        Ok(parsed)
    }

    /// Whether this attestation, posted to case `posted_to` and signed with the signature
    /// whose digest is `signature_digest`, answers `case` at `now`.
    ///
    /// # Errors
    /// The first rule it breaks.
    pub fn check(
        &self,
        case: &Case,
        posted_to: Uuid,
        signature_digest: &str,
        now: Timestamp,
    ) -> Result<(), HrSystemRefusal> {
        if self.case != posted_to || case.id != posted_to {
            return Err(HrSystemRefusal::OtherCase);
        }
        if crate::identity::normalize_username(&self.username) != case.target.username {
            return Err(HrSystemRefusal::OtherPerson);
        }
        if self.issued_at.saturating_mul(1000).abs_diff(now.millis()) > (MAX_SKEW_SECS as u64) * 1000 {
            return Err(HrSystemRefusal::Stale);
        }
        if case.state == CaseState::Closed {
            return Err(HrSystemRefusal::Closed);
        }
        let marker = signature_marker(signature_digest);
        let seen = case.timeline.iter().any(|e| match &e.event {
            CaseEvent::Verified { evidence: text, .. } | CaseEvent::VerificationFailed { reason: text, .. } => {
                text.contains(&marker)
            }
            _ => false,
        });
        if seen {
            return Err(HrSystemRefusal::Replayed);
        }
        if !case.awaiting(Channel::HrAttestation) {
            return Err(HrSystemRefusal::NotAsked);
        }
        Ok(())
    }

    /// The case entry this attestation makes, naming who answered, the HR system's
    /// reference and the signature (so the same call is recognised if it comes again).
    #[must_use]
    pub fn event(&self, signature_digest: &str) -> CaseEvent {
        let channel = Channel::HrAttestation;
        let source = format!(
            "the HR system ({}, reference {}, {})",
            self.attested_by.trim(),
            self.reference.trim(),
            signature_marker(signature_digest)
        );
        if self.attested {
            CaseEvent::Verified { channel, evidence: format!("{source} attested the request") }
        } else {
            CaseEvent::VerificationFailed { channel, reason: format!("{source} did not recognise the request") }
        }
    }
}

fn signature_marker(digest: &str) -> String {
    format!("signature {digest}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::CaseKind;
    use crate::cases::scope::Operator;
    use crate::identity::{Role, Tier, User, UserStatus};

    fn case(now: Timestamp) -> Case {
        let person = User {
            id: Uuid::from_u128(2),
            username: "bob".into(),
            email: Some("bob@example.com".into()),
            display_name: "Bob".into(),
            phone: None,
            department: None,
            manager: None,
            status: UserStatus::Active,
            tier: Tier::Standard,
            roles: vec![Role::User],
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let op = Operator { id: None, key: "cli:root".into(), name: "cli:root".into(), tier: None, roles: Vec::new() };
        Case::open(CaseKind::AllMethodsLost, &person, &op, "lost everything", now).expect("a case")
    }

    fn asked(mut case: Case, now: Timestamp) -> Case {
        let due = now.plus_seconds(3600);
        case.record("op", None, now, CaseEvent::StepStarted { channel: Channel::HrAttestation, to: "HR".into(), due });
        case
    }

    fn attestation(case: &Case, now: Timestamp) -> HrSystemAttestation {
        HrSystemAttestation {
            case: case.id,
            username: "Bob".into(),
            attested: true,
            attested_by: "Hanna from HR".into(),
            reference: "HR-77".into(),
            issued_at: now.millis() / 1000,
        }
    }

    #[test]
    fn an_attestation_answers_only_the_step_asked_on_its_own_case() {
        let now = Timestamp(1_800_000_000_000);
        let not_asked = case(now);
        let a = attestation(&not_asked, now);
        assert_eq!(a.check(&not_asked, not_asked.id, "d1", now), Err(HrSystemRefusal::NotAsked));
        let open = asked(not_asked, now);
        assert_eq!(a.check(&open, open.id, "d1", now), Ok(()));
        assert_eq!(a.check(&open, Uuid::from_u128(9), "d1", now), Err(HrSystemRefusal::OtherCase));
        let other = HrSystemAttestation { username: "mallory".into(), ..a.clone() };
        assert_eq!(other.check(&open, open.id, "d1", now), Err(HrSystemRefusal::OtherPerson));
    }

    #[test]
    fn an_old_or_replayed_attestation_is_refused() {
        let now = Timestamp(1_800_000_000_000);
        let mut open = asked(case(now), now);
        let a = attestation(&open, now);
        assert_eq!(a.check(&open, open.id, "d1", now.plus_seconds(MAX_SKEW_SECS + 1)), Err(HrSystemRefusal::Stale));
        assert_eq!(a.check(&open, open.id, "d1", now.plus_seconds(-MAX_SKEW_SECS - 1)), Err(HrSystemRefusal::Stale));
        // Denied once, asked again: the same signed denial does not count a second time.
        let denial = HrSystemAttestation { attested: false, ..a };
        open.record("hr-system", None, now, denial.event("d1"));
        open = asked(open, now);
        assert_eq!(denial.check(&open, open.id, "d1", now), Err(HrSystemRefusal::Replayed));
        assert_eq!(denial.check(&open, open.id, "d2", now), Ok(()));
    }

    #[test]
    fn the_entry_says_who_answered_and_verifies_only_when_attested() {
        let now = Timestamp(1_800_000_000_000);
        let open = asked(case(now), now);
        let a = attestation(&open, now);
        match a.event("abc") {
            CaseEvent::Verified { channel, evidence } => {
                assert_eq!(channel, Channel::HrAttestation);
                assert!(evidence.contains("Hanna from HR") && evidence.contains("HR-77") && evidence.contains("abc"));
            }
            other => panic!("expected a verification, got {other:?}"),
        }
        assert!(matches!(
            HrSystemAttestation { attested: false, ..a }.event("abc"),
            CaseEvent::VerificationFailed { .. }
        ));
    }

    #[test]
    fn malformed_bodies_are_refused_with_the_reason() {
        assert!(matches!(HrSystemAttestation::parse(b"{}"), Err(HrSystemRefusal::Malformed(_))));
        let id = Uuid::from_u128(1);
        let body = format!(
            r#"{{"case":"{id}","username":"bob","attested":true,"attested_by":"","reference":"r","issued_at":1}}"#
        );
        assert!(
            matches!(HrSystemAttestation::parse(body.as_bytes()), Err(HrSystemRefusal::Malformed(m)) if m.contains("attested_by"))
        );
        let extra = format!(
            r#"{{"case":"{id}","username":"bob","attested":true,"attested_by":"a","reference":"r","issued_at":1,"x":1}}"#
        );
        assert!(HrSystemAttestation::parse(extra.as_bytes()).is_err());
    }
}
