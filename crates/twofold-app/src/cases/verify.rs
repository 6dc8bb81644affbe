//! Verifying the caller on a case, through channels that reach what the person held before
//! the call: a code to the email address on file, a code from a method they still have, a
//! second operator's approval. Each result is recorded with its evidence (never a code).

use twofold_core::audit::AuditAction;
use twofold_core::cases::verification::Channel;
use twofold_core::cases::{Case, CaseEvent, CaseRefusal};
use twofold_core::factors::one_time_codes::CodePurpose;
use uuid::Uuid;

use super::{CaseOperator, Cases};
use crate::factors::one_time_codes::CodeSent;
use crate::{AppError, AppResult, Refusal, RequestMeta};

impl Cases {
    /// Starts a verification step that sends something: for [`Channel::EmailCode`], a code
    /// to the email address on the person's record (never one the caller gives), which the
    /// caller reads back.
    ///
    /// # Errors
    /// A channel that sends nothing or cannot run here; the channel spent or verified; no
    /// address on file; send limits.
    pub async fn start_step(
        &self,
        by: &CaseOperator,
        id: Uuid,
        channel: Channel,
        meta: &RequestMeta,
    ) -> AppResult<(Case, CodeSent)> {
        let (mut case, target) = self.load_open(by, id).await?;
        case.may_try(channel, by.key()).map_err(refused)?;
        let sent = match channel {
            Channel::EmailCode => {
                // Only the address on file when the case opened: one changed meanwhile (by
                // whoever could edit the directory) is no proof of the person.
                if target.email != case.target.email {
                    return Err(AppError::Refused(Refusal::ChannelUnavailable(
                        "the email address on file changed since the case opened: verify another way",
                    )));
                }
                self.factors.send_code_on_file(&target, CodePurpose::CaseVerification, case.id, &by.actor, meta).await?
            }
            Channel::SmsCode => {
                if target.phone != case.target.phone {
                    return Err(AppError::Refused(Refusal::ChannelUnavailable(
                        "the phone number on file changed since the case opened: verify another way",
                    )));
                }
                self.factors
                    .send_text_on_file(&target, CodePurpose::CaseVerificationSms, case.id, &by.actor, meta)
                    .await?
            }
            Channel::FactorProof => {
                return Err(AppError::Refused(Refusal::ChannelUnavailable(
                    "a code from the person's own method is checked directly: ask the caller for it",
                )));
            }
            Channel::ManagerApproval | Channel::HrAttestation => {
                return Err(AppError::Refused(Refusal::ChannelUnavailable(
                    "the manager and HR are asked by mail (`twofold case ask`, or the step on the case page), not sent a code",
                )));
            }
        };
        let due = self.now().plus_seconds(channel.deadline_secs());
        let event = CaseEvent::StepStarted { channel, to: sent.masked_destination.clone(), due };
        self.write(by, &mut case, event, AuditAction::CaseStepStart, meta).await?;
        Ok((case, sent))
    }

    /// Checks what the caller read out for `channel`: the emailed code, or a code from one
    /// of their authenticator apps or hardware tokens (used up, so it cannot be replayed).
    /// A wrong code is recorded as a failed step; three spend the channel.
    ///
    /// # Errors
    /// The channel spent or verified already; the case changed meanwhile. A wrong code is
    /// not an error: the returned case records the failure and [`Case::verified_channels`]
    /// does not grow.
    pub async fn check_code(
        &self,
        by: &CaseOperator,
        id: Uuid,
        channel: Channel,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        let (mut case, target) = self.load_open(by, id).await?;
        case.may_try(channel, by.key()).map_err(refused)?;
        let outcome: Result<String, String> = match channel {
            Channel::EmailCode | Channel::SmsCode => {
                let purpose = if channel == Channel::EmailCode {
                    CodePurpose::CaseVerification
                } else {
                    CodePurpose::CaseVerificationSms
                };
                let sent_to = case.timeline.iter().rev().find_map(|e| match &e.event {
                    CaseEvent::StepStarted { channel: c, to, .. } if *c == channel => Some(to.clone()),
                    _ => None,
                });
                let Some(sent_to) = sent_to else {
                    return Err(AppError::Refused(Refusal::ChannelUnavailable(
                        "no code was sent on this case yet: send one to the contact on file first",
                    )));
                };
                if self.factors.redeem_code_on_file(&target, purpose, case.id, code).await? {
                    Ok(format!("code read back from {sent_to}"))
                } else {
                    Err("the code read back was wrong, used or expired".to_owned())
                }
            }
            // The person's own code is checked as every code is: throttled per person and
            // per operator before it is looked at, used up once accepted, each try recorded
            // as a sign-in attempt — so no operator can guess it, across cases or in parallel.
            Channel::FactorProof => match self.factors.verify_code(&by.actor, &target.username, code, meta).await {
                Ok(verified) => {
                    let method = self.store.authenticator(verified.authenticator_id).await?;
                    let name = method.map(|m| format!("{} \"{}\"", m.kind.label(), m.name)).unwrap_or_default();
                    Ok(format!("code from {name}"))
                }
                Err(AppError::Unauthenticated) => {
                    Err("the code matched none of the person's authenticator apps or tokens, or was used already"
                        .to_owned())
                }
                Err(other) => return Err(other),
            },
            Channel::ManagerApproval | Channel::HrAttestation => {
                return Err(AppError::Refused(Refusal::ChannelUnavailable(
                    "this channel is not checked with a code read out on the call",
                )));
            }
        };
        let failed = outcome.is_err();
        let (event, action) = match outcome {
            Ok(evidence) => (CaseEvent::Verified { channel, evidence }, AuditAction::CaseVerify),
            Err(reason) => (CaseEvent::VerificationFailed { channel, reason }, AuditAction::CaseVerifyFail),
        };
        self.write(by, &mut case, event, action, meta).await?;
        if failed {
            self.watch_failures(&case).await?;
        }
        Ok(case)
    }

    /// A second operator's approval (two-person rule for privileged people): by a signed-in
    /// operator other than those who opened or worked the case and than its person, inside
    /// their own scope, once the verification steps are met; they then change nothing.
    ///
    /// # Errors
    /// The case needs no approval or has one; the approver worked it or is the console; the
    /// steps are not met; out of scope.
    pub async fn approve(&self, by: &CaseOperator, id: Uuid, meta: &RequestMeta) -> AppResult<Case> {
        let (mut case, _) = self.load_open(by, id).await?;
        case.may_approve(&by.operator, &self.policy.verification).map_err(refused)?;
        let event = CaseEvent::Approved { operator_id: by.id() };
        self.write(by, &mut case, event, AuditAction::CaseApprove, meta).await?;
        Ok(case)
    }
}

pub(super) fn refused(refusal: CaseRefusal) -> AppError {
    AppError::Refused(Refusal::Case(refusal))
}
