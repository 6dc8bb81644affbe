//! Why a use case refuses what was asked, as data: one variant per reason, carrying what a
//! surface needs to say it. The use cases decide; each surface (the API's problem bodies,
//! the pages, the CLI) words the refusal for its readers and picks its status or exit code.

use twofold_core::approvals::ApprovalRefusal;
use twofold_core::cases::CaseRefusal;
use twofold_core::cases::hr_system::HrSystemRefusal;
use twofold_core::cases::scope::OutOfScope;
use twofold_core::emergency::EmergencyRefusal;
use twofold_core::factors::one_time_codes::FallbackRefusal;

/// A refusal: the request was understood and the caller authenticated, but the rules or
/// the present state do not allow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The method is set up (confirmed) already: there is nothing left to confirm.
    MethodAlreadySetUp,
    /// The set-up waited longer than a pending enrolment may (it has been removed).
    EnrolmentExpired,
    /// Removing the method would leave the person without a method, or without one stronger
    /// than email or SMS codes; the core's reason
    /// (`twofold_core::factors::authenticator::removal_refusal`).
    LastMethod(&'static str),
    /// The fallback policy does not allow this email or SMS channel, for this person, now,
    /// or to this number.
    Fallback(FallbackRefusal),
    /// Email codes were asked for an account that has no email address.
    NoEmailAddress,
    /// Too many email and SMS set-ups are waiting for their code already.
    TooManyPendingSetUps,
    /// Conditional access blocks the sign-in.
    SignInBlocked {
        /// The enforced rules that decided, as the policy names them.
        rules: String,
    },
    /// A service account's access token lacks the scope the request needs.
    MissingScope {
        /// The scope needed.
        scope: String,
    },
    /// A campaign's every started phase enforces already: there is no phase to advance.
    NoPhaseToAdvance,
    /// An id prefix names more than one exception.
    AmbiguousExceptionId,
    /// The approver may not decide this exception; the core's reason
    /// (`twofold_core::rollout::exception::approval_refusal`).
    MayNotDecide(&'static str),
    /// Someone else decided the exception meanwhile.
    DecidedMeanwhile,
    /// Only the covered person's manager confirms their exceptions.
    NotTheirManager {
        /// The covered person.
        username: String,
    },
    /// No manager's confirmation of the exception is being asked.
    NoConfirmationAsked,
    /// The exception was rejected or revoked already.
    AlreadyEnded,
    /// Someone with no method yet may not enrol a first one on this session: the
    /// organisation's first-method rule asks for more than the password.
    FirstMethodNeedsProof {
        /// A code emailed to the address on file would do.
        email_code: bool,
        /// Signing in from a named network would do.
        network: bool,
    },
    /// The operator may not act for this person; the core's reason.
    OutOfScope(OutOfScope),
    /// The support case refuses the step; the core's reason.
    Case(CaseRefusal),
    /// Working cases needs the operator's own phishing-resistant second factor (a passkey
    /// or security key), proved within this many minutes.
    OperatorStepUp {
        /// The freshness asked for.
        minutes: i64,
    },
    /// Someone else changed the case meanwhile: read it again and retry.
    CaseChangedMeanwhile,
    /// The verification channel cannot run here yet (e.g. no SMS gateway, no approval flow).
    ChannelUnavailable(&'static str),
    /// Emergency access refuses the step; the core's reason.
    Emergency(EmergencyRefusal),
    /// A signed call from the HR system does not answer the case; the core's reason.
    HrSystem(HrSystemRefusal),
    /// An approval vote does not count; the core's reason.
    Approval(ApprovalRefusal),
    /// No approval rule covers the request: it needs no approval.
    NoApprovalNeeded,
    /// Another decision on the approval request landed first: read it again.
    ApprovalChangedMeanwhile,
    /// Only a confidential app (its server, with a secret, key or certificate) raises
    /// approval requests.
    NeedsConfidentialClient,
    /// The person has this many requests waiting in this app already.
    TooManyPendingApprovals {
        /// The most one person may have waiting.
        limit: usize,
    },
}

/// Whether a refusal is about who asks (they may not) or about the present state (it cannot
/// be done now), the distinction surfaces draw between "forbidden" and "conflict".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The caller may not do this, whatever the state.
    NotAllowed,
    /// The present state does not allow it (set up already, decided meanwhile, ...).
    Conflict,
}

impl Refusal {
    /// Whether the caller may not do this, or the state does not allow it.
    #[must_use]
    pub const fn kind(&self) -> RefusalKind {
        match self {
            Self::Fallback(_)
            | Self::SignInBlocked { .. }
            | Self::MissingScope { .. }
            | Self::MayNotDecide(_)
            | Self::NotTheirManager { .. }
            | Self::FirstMethodNeedsProof { .. }
            | Self::OutOfScope(_)
            | Self::OperatorStepUp { .. }
            | Self::NeedsConfidentialClient => RefusalKind::NotAllowed,
            Self::Emergency(refusal) => match refusal {
                EmergencyRefusal::AlreadyDecided(_) => RefusalKind::Conflict,
                EmergencyRefusal::NotEnrolled
                | EmergencyRefusal::TierExcluded(_)
                | EmergencyRefusal::NotAnAdmin
                | EmergencyRefusal::SameApprover => RefusalKind::NotAllowed,
            },
            Self::Approval(refusal) => match refusal {
                ApprovalRefusal::AlreadyDecided(_) | ApprovalRefusal::Expired | ApprovalRefusal::AlreadyVoted => {
                    RefusalKind::Conflict
                }
                ApprovalRefusal::SelfApproval
                | ApprovalRefusal::NotAnApprover(_)
                | ApprovalRefusal::NotFresh
                | ApprovalRefusal::TooWeak(_) => RefusalKind::NotAllowed,
            },
            Self::HrSystem(refusal) => match refusal {
                HrSystemRefusal::OtherCase
                | HrSystemRefusal::OtherPerson
                | HrSystemRefusal::Stale
                | HrSystemRefusal::BeforeAsked => RefusalKind::NotAllowed,
                HrSystemRefusal::Malformed(_)
                | HrSystemRefusal::NotAsked
                | HrSystemRefusal::Replayed
                | HrSystemRefusal::Closed => RefusalKind::Conflict,
            },
            Self::Case(refusal) => match refusal {
                CaseRefusal::NotVerified(_)
                | CaseRefusal::TierNotServed(_)
                | CaseRefusal::SameOperator
                | CaseRefusal::ApprovalNeedsPerson
                | CaseRefusal::ApproverActs => RefusalKind::NotAllowed,
                CaseRefusal::Closed
                | CaseRefusal::ChannelSpent(_)
                | CaseRefusal::AlreadyVerified(_)
                | CaseRefusal::ApprovalNotNeeded
                | CaseRefusal::ChecklistIncomplete(_)
                | CaseRefusal::ApproveAfterVerification(_) => RefusalKind::Conflict,
            },
            Self::MethodAlreadySetUp
            | Self::EnrolmentExpired
            | Self::LastMethod(_)
            | Self::NoEmailAddress
            | Self::TooManyPendingSetUps
            | Self::NoPhaseToAdvance
            | Self::AmbiguousExceptionId
            | Self::DecidedMeanwhile
            | Self::NoConfirmationAsked
            | Self::AlreadyEnded
            | Self::CaseChangedMeanwhile
            | Self::NoApprovalNeeded
            | Self::ApprovalChangedMeanwhile
            | Self::TooManyPendingApprovals { .. }
            | Self::ChannelUnavailable(_) => RefusalKind::Conflict,
        }
    }
}
