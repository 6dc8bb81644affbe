//! Verification by people who know the caller: the manager on the person's record, or HR.
//! The operator asks; Twofold mails them a link; they answer from their own session with a
//! second factor proved within the last minutes. Nobody answers for their own case, and
//! the operator's word never stands in for theirs.

use twofold_core::audit::AuditAction;
use twofold_core::cases::scope::Operator;
use twofold_core::cases::verification::Channel;
use twofold_core::cases::{Case, CaseEvent};
use twofold_core::identity::{Role, User, normalize_username};
use twofold_core::signin::session::FRESH_MFA_SECS;
use uuid::Uuid;

use super::verify::refused;
use super::{CaseOperator, Cases};
use crate::signin::Authenticated;
use crate::{AppError, AppResult, Refusal, RequestMeta};

/// Who may answer a case's review, and as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reviewer {
    /// The manager on the person's record.
    Manager,
    /// A person with the `hr` role.
    Hr,
}

impl Reviewer {
    const fn channel(self) -> Channel {
        match self {
            Self::Manager => Channel::ManagerApproval,
            Self::Hr => Channel::HrAttestation,
        }
    }
}

impl Cases {
    /// Asks the person's manager (`Reviewer::Manager`, the manager on record) or HR to confirm
    /// the request: a mail with the link to the case's review page.
    ///
    /// # Errors
    /// No manager on record (or one who cannot sign in), no HR address configured; the
    /// channel verified or spent; out of scope.
    pub async fn ask_review(
        &self,
        by: &CaseOperator,
        id: Uuid,
        reviewer: Reviewer,
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        let (mut case, target) = self.load_open(by, id).await?;
        let channel = reviewer.channel();
        case.may_try(channel, by.key()).map_err(refused)?;
        let link = format!("{}/cases/{}/review", self.public_url.as_deref().unwrap_or(""), case.id);
        let what = format!("{} ({})", case.kind.label().to_lowercase(), case.summary());
        let (to, name, asked) = match reviewer {
            Reviewer::Manager => {
                let manager = self.manager_of(&target).await?;
                let email = manager.email.clone().ok_or(AppError::Refused(Refusal::ChannelUnavailable(
                    "the manager on record has no email address to ask",
                )))?;
                (email, manager.display_name.clone(), manager.username.clone())
            }
            Reviewer::Hr => {
                let email = self.policy.hr_email.clone().ok_or(AppError::Refused(Refusal::ChannelUnavailable(
                    "no HR address is configured ([helpdesk] hr_email)",
                )))?;
                (email, "HR".to_owned(), "HR".to_owned())
            }
        };
        let due = self.now().plus_seconds(channel.deadline_secs());
        let event = CaseEvent::StepStarted { channel, to: asked, due };
        self.write(by, &mut case, event, AuditAction::CaseStepStart, meta).await?;
        self.notify(Some(twofold_core::mail::case_review_asked(
            &to,
            &name,
            &target.display_name,
            &what,
            by.name(),
            &link,
        )));
        Ok(case)
    }

    /// What `current` may answer on case `id`: as the person's manager or as HR, for a step
    /// that was asked and not answered yet.
    ///
    /// # Errors
    /// Not found for anyone else (a case's existence is not told to strangers).
    pub async fn reviewer_of(&self, current: &Authenticated, id: Uuid) -> AppResult<(Case, Reviewer)> {
        let case = self.store.case(id).await?.ok_or(AppError::NotFound("case"))?;
        let target = self.store.user_by_id(case.target.id).await?.ok_or(AppError::NotFound("case"))?;
        // Nobody answers for their own case, nor for one they opened, worked or approved.
        let key = current.user.id.to_string();
        if current.user.id == target.id || case.workers().contains(&key) || case.approver() == Some(key) {
            return Err(AppError::NotFound("case"));
        }
        let is_manager = target.manager.as_deref().map(normalize_username) == Some(current.user.username.clone());
        let reviewer = if is_manager && case.awaiting(Channel::ManagerApproval) {
            Reviewer::Manager
        } else if current.user.roles.contains(&Role::Hr) && case.awaiting(Channel::HrAttestation) {
            Reviewer::Hr
        } else {
            return Err(AppError::NotFound("case"));
        };
        Ok((case, reviewer))
    }

    /// The manager's or HR's answer, from their own session with a second factor proved
    /// within the last minutes: `confirm` verifies the channel; otherwise it fails, and the
    /// operator sees that they did not recognise the request.
    ///
    /// # Errors
    /// Not their case to answer; a second factor not fresh ([`AppError::StepUpRequired`]);
    /// the case closed or changed meanwhile.
    pub async fn answer_review(
        &self,
        current: &Authenticated,
        id: Uuid,
        confirm: bool,
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        if !current.session.opens_apps() || !current.session.auth.has_fresh_mfa(self.now(), FRESH_MFA_SECS) {
            return Err(AppError::StepUpRequired);
        }
        let (mut case, reviewer) = self.reviewer_of(current, id).await?;
        let channel = reviewer.channel();
        case.may_try(channel, &current.user.id.to_string()).map_err(refused)?;
        let who = match reviewer {
            Reviewer::Manager => format!("the manager {}", current.user.username),
            Reviewer::Hr => format!("HR ({})", current.user.username),
        };
        let auth = &current.session.auth;
        let (event, action) = if confirm {
            let evidence = format!("{who} confirmed, signed in with {} ({})", auth.amr.join(", "), auth.acr);
            (CaseEvent::Verified { channel, evidence }, AuditAction::CaseVerify)
        } else {
            let reason = format!("{who} did not recognise the request");
            (CaseEvent::VerificationFailed { channel, reason }, AuditAction::CaseVerifyFail)
        };
        let answering = CaseOperator { operator: Operator::person(&current.user), actor: current.actor() };
        self.write(&answering, &mut case, event, action, meta).await?;
        if !confirm {
            self.watch_failures(&case).await?;
        }
        Ok(case)
    }

    /// The manager on `target`'s record, if they can sign in.
    async fn manager_of(&self, target: &User) -> AppResult<User> {
        let unavailable = || AppError::Refused(Refusal::ChannelUnavailable("the person has no manager on record"));
        let name = target.manager.as_deref().ok_or_else(unavailable)?;
        self.store
            .user_by_username(&normalize_username(name))
            .await?
            .filter(|m| m.may_sign_in() && m.id != target.id)
            .ok_or_else(unavailable)
    }
}
