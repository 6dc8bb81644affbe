//! How the HTTP surface words a use case's [`Refusal`] and which status it carries: one
//! wording shared by the API's problem bodies ([`crate::problem`]) and the pages
//! ([`crate::page_error`]), which address the same person.

use axum::http::StatusCode;
use twofold_app::refusal::{Refusal, RefusalKind};

/// The status of a refusal: 403 when the caller may not, 409 when the state does not allow it.
pub(crate) const fn status(refusal: &Refusal) -> StatusCode {
    match refusal.kind() {
        RefusalKind::NotAllowed => StatusCode::FORBIDDEN,
        RefusalKind::Conflict => StatusCode::CONFLICT,
    }
}

/// The problem title that goes with [`status`].
pub(crate) const fn title(refusal: &Refusal) -> &'static str {
    match refusal.kind() {
        RefusalKind::NotAllowed => "Forbidden",
        RefusalKind::Conflict => "Conflict",
    }
}

/// What the refusal says to the person or program that asked.
pub(crate) fn words(refusal: &Refusal) -> String {
    match refusal {
        Refusal::MethodAlreadySetUp => "this method is already set up".into(),
        Refusal::EnrolmentExpired => {
            "this set-up waited too long and has expired; start again from Security info".into()
        }
        Refusal::LastMethod(reason) | Refusal::MayNotDecide(reason) => (*reason).to_owned(),
        Refusal::Fallback(reason) => reason.to_string(),
        Refusal::NoEmailAddress => "your account has no email address; ask your help desk to add one".into(),
        Refusal::TooManyPendingSetUps => {
            "finish or let expire the email and SMS set-ups already waiting for their code first".into()
        }
        Refusal::SignInBlocked { rules } => {
            format!("Your organisation's access policy does not allow this sign-in ({rules}).")
        }
        Refusal::MissingScope { scope } => format!("this token does not carry the scope {scope}"),
        Refusal::NoPhaseToAdvance => "every phase that has started enforces already".into(),
        Refusal::AmbiguousExceptionId => "that id prefix names several exceptions; give more of it".into(),
        Refusal::DecidedMeanwhile => "this exception was decided meanwhile".into(),
        Refusal::NotTheirManager { username } => format!("only {username}'s manager confirms their exceptions"),
        Refusal::NoConfirmationAsked => "no confirmation of this exception is being asked".into(),
        Refusal::AlreadyEnded => "this exception was rejected or revoked already".into(),
        Refusal::FirstMethodNeedsProof { email_code, network } => match (email_code, network) {
            (true, _) => "to set up your first sign-in method, first confirm the code we email to the address your organisation has on file".into(),
            (false, true) => "your first sign-in method can be set up only from your organisation's network, or with a temporary access pass from your help desk".into(),
            (false, false) => "your first sign-in method can be set up only with a temporary access pass from your help desk".into(),
        },
        Refusal::OutOfScope(reason) => reason.to_string(),
        Refusal::Case(reason) => reason.to_string(),
        Refusal::Emergency(reason) => reason.to_string(),
        Refusal::HrSystem(reason) => reason.to_string(),
        Refusal::Approval(reason) => reason.to_string(),
        Refusal::NoApprovalNeeded => {
            "no approval rule covers this request: it needs no approval (twofold approvals rules show)".into()
        }
        Refusal::NeedsConfidentialClient => {
            "approval requests are raised by an app's server, authenticated with its secret, key or certificate: a public client cannot".into()
        }
        Refusal::TooManyPendingApprovals { limit } => {
            format!("this person has {limit} requests waiting for approval in this app already")
        }
        Refusal::ApprovalChangedMeanwhile => {
            "someone else decided on this request meanwhile; look at it again".into()
        }
        Refusal::OperatorStepUp { minutes } => format!(
            "working cases needs your own passkey or security key, proved within the last {minutes} minutes: sign in again with it"
        ),
        Refusal::CaseChangedMeanwhile => "someone else changed this case meanwhile; look at it again and retry".into(),
        Refusal::ChannelUnavailable(why) => (*why).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_not_is_forbidden_and_what_cannot_be_now_is_a_conflict() {
        let blocked = Refusal::SignInBlocked { rules: "no contractors".into() };
        assert_eq!((status(&blocked), title(&blocked)), (StatusCode::FORBIDDEN, "Forbidden"));
        assert_eq!(words(&blocked), "Your organisation's access policy does not allow this sign-in (no contractors).");
        assert_eq!(status(&Refusal::DecidedMeanwhile), StatusCode::CONFLICT);
        assert_eq!(
            words(&Refusal::NotTheirManager { username: "sam".into() }),
            "only sam's manager confirms their exceptions"
        );
    }
}
