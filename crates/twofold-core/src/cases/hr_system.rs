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

/// How much earlier than the ask an answer's `issued_at` may be (the two clocks differ).
pub const ASKED_SKEW_SECS: i64 = 60;

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
    /// Signed before the step it would answer was asked (an answer to an earlier round).
    #[error("the attestation was signed before HR was asked on this case")]
    BeforeAsked,
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
        let asked = case.timeline.iter().rev().find_map(|e| match e.event {
            CaseEvent::StepStarted { channel: Channel::HrAttestation, .. } => Some(e.at),
            _ => None,
        });
        if asked.is_some_and(|at| self.issued_at.saturating_mul(1000) < at.millis() - ASKED_SKEW_SECS * 1000) {
            return Err(HrSystemRefusal::BeforeAsked);
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

/// Whether `key` (32 bytes) is an Ed25519 public key every signature could be forged for: a
/// point of small order (the identity, or one of the seven other torsion points), or an
/// encoding of `y` at or above the field's prime. Verifiers do not refuse these themselves
/// (RFC 8032 does not ask them to), so a placeholder key in a configuration would let anyone
/// attest.
#[must_use]
pub fn is_weak_ed25519_key(key: &[u8]) -> bool {
    let Ok(bytes) = <[u8; 32]>::try_from(key) else { return true };
    let mut y = bytes;
    y[31] &= 0x7f;
    // 2^255 - 19, little-endian.
    let mut p = [0xff_u8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let at_least_p = y.iter().rev().zip(p.iter().rev()).find(|(a, b)| a != b).is_none_or(|(a, b)| a > b);
    let from_hex = |hex: &str| -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        out
    };
    let mut minus_one = p;
    minus_one[0] = 0xec;
    let mut one = [0u8; 32];
    one[0] = 1;
    // y of the torsion points: 0 (order 4), 1 (the identity), -1 (order 2), and the two of order 8.
    let small_order = [
        [0u8; 32],
        one,
        minus_one,
        from_hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        from_hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    ];
    at_least_p || small_order.contains(&y)
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
        // A body signed for an earlier round does not answer a round asked later.
        let later = asked(open, now.plus_seconds(200));
        let earlier = HrSystemAttestation { issued_at: now.millis() / 1000 - 10, ..denial };
        assert_eq!(earlier.check(&later, later.id, "d3", now.plus_seconds(200)), Err(HrSystemRefusal::BeforeAsked));
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

    /// THREATS: a placeholder key (the identity point, a small-order point) would let anyone
    /// "sign" an attestation; such keys are refused, a real one is not.
    #[test]
    fn weak_ed25519_keys_are_recognised() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(is_weak_ed25519_key(&identity));
        assert!(is_weak_ed25519_key(&[0u8; 32]));
        let mut minus_one = [0xff_u8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert!(is_weak_ed25519_key(&minus_one));
        let mut p = minus_one;
        p[0] = 0xed;
        assert!(is_weak_ed25519_key(&p), "not canonical");
        let mut order_eight = [0u8; 32];
        let hex = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";
        for (i, b) in order_eight.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        order_eight[31] |= 0x80;
        assert!(is_weak_ed25519_key(&order_eight), "with the sign bit set too");
        assert!(is_weak_ed25519_key(&[1u8; 31]), "not 32 bytes");
        // RFC 8032 section 7.1, test 1's public key.
        let hex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let mut real = [0u8; 32];
        for (i, b) in real.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        assert!(!is_weak_ed25519_key(&real));
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
