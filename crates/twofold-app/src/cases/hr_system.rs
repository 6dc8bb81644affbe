//! HR attestation by a signed call from the HR system: the body is checked against the HR
//! system's Ed25519 public key (`[helpdesk] hr_system_public_key`) before anything is read
//! from it, then the core decides whether it answers the case (`twofold_core::cases::hr_system`).

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use base64::Engine as _;
use twofold_core::audit::AuditAction;
use twofold_core::cases::hr_system::{HrSystemAttestation, HrSystemRefusal};
use twofold_core::cases::scope::Operator;
use twofold_core::cases::{Case, CaseEvent};
use uuid::Uuid;

use super::{CaseOperator, Cases};
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

/// The name HR-system answers are recorded under.
pub const HR_SYSTEM_ACTOR: &str = "hr-system";

impl Cases {
    /// Takes the HR system's signed answer `body` (signed with `signature`, base64) to case
    /// `id`'s HR step: verifies the signature over the exact bytes, then records the
    /// attestation (or the denial) on the case.
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for a missing or wrong signature (nothing read from the
    /// body); no key configured; an attestation for another case or person, stale, replayed,
    /// or for a step nobody asked.
    pub async fn attest_by_hr_system(
        &self,
        id: Uuid,
        body: &[u8],
        signature: &str,
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        let key = self.policy.hr_system_public_key.as_ref().ok_or(AppError::Refused(Refusal::ChannelUnavailable(
            "no HR system is configured to attest ([helpdesk] hr_system_public_key)",
        )))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature.trim()))
            .map_err(|_| AppError::Unauthenticated)?;
        UnparsedPublicKey::new(&ED25519, key).verify(body, &signature).map_err(|_| AppError::Unauthenticated)?;
        let attestation = HrSystemAttestation::parse(body).map_err(hr_refused)?;
        let mut case = self.store.case(id).await?.ok_or(AppError::NotFound("case"))?;
        let digest = twofold_core::secret::sha256_hex(&signature)[..16].to_owned();
        attestation.check(&case, id, &digest, self.now()).map_err(hr_refused)?;
        let event = attestation.event(&digest);
        let action = if attestation.attested { AuditAction::CaseVerify } else { AuditAction::CaseVerifyFail };
        let actor = Actor::system(HR_SYSTEM_ACTOR);
        let hr_system = CaseOperator {
            operator: Operator {
                id: None,
                key: HR_SYSTEM_ACTOR.to_owned(),
                name: HR_SYSTEM_ACTOR.to_owned(),
                tier: None,
                roles: Vec::new(),
            },
            actor,
        };
        let denied = matches!(event, CaseEvent::VerificationFailed { .. });
        self.write(&hr_system, &mut case, event, action, meta).await?;
        if denied {
            self.watch_failures(&case).await?;
        }
        Ok(case)
    }
}

fn hr_refused(refusal: HrSystemRefusal) -> AppError {
    match refusal {
        HrSystemRefusal::Malformed(why) => twofold_core::ValidationErrors::one("body", why).into(),
        other => AppError::Refused(Refusal::HrSystem(other)),
    }
}
