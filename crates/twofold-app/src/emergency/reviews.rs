//! Review tasks (after an emergency access, for every break-glass sign-in) and the
//! break-glass accounts' control tests.

use twofold_core::emergency::EmergencyAccess;
use twofold_core::emergency::break_glass::{self, TestStanding};
use twofold_core::emergency::review::{Review, ReviewKind};
use twofold_core::identity::{Role, Tier, User};
use twofold_core::signin::SignInEvent;
use twofold_core::store::UserFilter;
use uuid::Uuid;

use super::Emergency;
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

impl Emergency {
    /// Opens the review of an ended emergency access (once across nodes); whether this call
    /// opened it.
    pub(super) async fn open_review_for(
        &self,
        access: &EmergencyAccess,
        actor: &Actor,
        meta: &RequestMeta,
    ) -> AppResult<bool> {
        let summary = format!(
            "Emergency access for {} ({} hours, approved by {}) ended: {}. Reason given: {}",
            access.username,
            access.hours,
            access.decided_by.as_deref().unwrap_or("-"),
            access.end_reason.as_deref().unwrap_or("-"),
            access.reason
        );
        let review =
            Review::open(ReviewKind::EmergencyAccess, &access.id.to_string(), &access.username, summary, self.now());
        let opened = self.store.open_review(&review, &self.audit_context(actor, meta)).await?;
        if opened {
            self.alert(
                &format!("Review due: emergency access for {}", access.username),
                format!(
                    "{}\n\nComplete the review with its findings: twofold review complete {}\n",
                    review.summary, review.id
                ),
            );
        }
        Ok(opened)
    }

    /// A break-glass account signed in: a review opens and every admin is mailed.
    pub(crate) async fn break_glass_signed_in(
        &self,
        user: &User,
        event: &SignInEvent,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let summary = format!(
            "Break-glass account {} signed in at {} from {} with {}.",
            user.username,
            event.at,
            meta.ip.as_deref().unwrap_or("an unknown address"),
            event.methods.join(", ")
        );
        let review =
            Review::open(ReviewKind::BreakGlassSignIn, &event.id.to_string(), &user.username, summary, self.now());
        self.store.open_review(&review, &self.audit_context(&Actor::system("break-glass watch"), meta)).await?;
        let body = format!(
            "{}\n\nIf this was a scheduled control test, complete its review as one:\n    twofold review complete {} --control-test --findings \"...\"\nIf nobody expected it, treat it as an incident now.\n",
            review.summary, review.id
        );
        for admin in self.admins().await? {
            if let Some(to) = admin.email.clone().filter(|_| admin.id != user.id) {
                self.notify(Some(twofold_core::mail::Email {
                    to,
                    cc: Vec::new(),
                    subject: format!("Break-glass sign-in: {}", user.username),
                    body: body.clone(),
                }));
            }
        }
        Ok(())
    }

    /// Review tasks, oldest first; only the open ones when `open_only`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn reviews(&self, open_only: bool) -> AppResult<Vec<Review>> {
        Ok(self.store.reviews(open_only).await?)
    }

    /// Completes an open review with its `findings` (a break-glass sign-in may be recorded
    /// as a scheduled control test: its evidence).
    ///
    /// # Errors
    /// Findings too short; unknown or completed already; `control_test` on a review that is
    /// not about a break-glass sign-in.
    pub async fn complete_review(
        &self,
        caller: &Actor,
        id: Uuid,
        findings: &str,
        control_test: bool,
        meta: &RequestMeta,
    ) -> AppResult<Review> {
        let findings = Review::check_findings(findings)?;
        let review = self.store.review(id).await?.ok_or(AppError::NotFound("review"))?;
        if control_test && review.kind != ReviewKind::BreakGlassSignIn {
            return Err(twofold_core::ValidationErrors::one(
                "control_test",
                "only a break-glass sign-in is a control test",
            )
            .into());
        }
        let now = self.now();
        let ctx = self.audit_context(caller, meta);
        if !self.store.complete_review(id, &caller.name, &findings, control_test, now, &ctx).await? {
            return Err(AppError::Refused(Refusal::AlreadyEnded));
        }
        Ok(Review {
            completed_at: Some(now),
            completed_by: Some(caller.name.clone()),
            findings: Some(findings),
            control_test,
            ..review
        })
    }

    /// Each break-glass account's control-test standing: when last tested (a reviewed sign-in
    /// marked as a test), by whom, and whether the next test is overdue.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn break_glass_standings(&self) -> AppResult<Vec<TestStanding>> {
        let accounts = self.all_users(UserFilter { tier: Some(Tier::BreakGlass), ..UserFilter::default() }).await?;
        let reviews = self.store.reviews(false).await?;
        Ok(break_glass::standings(&accounts, &reviews, self.policy.break_glass_test_every_days, self.now()))
    }

    /// Opens a "control test due" task for each break-glass account whose test is overdue,
    /// once per due date across nodes, and mails every admin; how many were asked.
    pub(super) async fn ask_due_control_tests(&self, actor: &Actor, meta: &RequestMeta) -> AppResult<usize> {
        let mut asked = 0;
        for standing in self.break_glass_standings().await?.into_iter().filter(|s| s.overdue) {
            let subject = format!("{}:{}", standing.username, standing.due_at.millis());
            let summary = format!(
                "The control test of break-glass account {} was due at {}: sign in with it (its hardware key), then complete that sign-in's review with --control-test.",
                standing.username,
                standing.due_at.to_minute_utc()
            );
            let task = Review::open(ReviewKind::BreakGlassTestDue, &subject, &standing.username, summary, self.now());
            if !self.store.open_review(&task, &self.audit_context(actor, meta)).await? {
                continue;
            }
            asked += 1;
            for admin in self.admins().await? {
                // The break-glass account's own mailbox is nobody's to read.
                if let Some(to) = admin.email.clone().filter(|_| admin.username != standing.username) {
                    self.notify(Some(twofold_core::mail::Email {
                        to,
                        cc: Vec::new(),
                        subject: format!("Break-glass control test due: {}", standing.username),
                        body: format!(
                            "{}
",
                            task.summary
                        ),
                    }));
                }
            }
        }
        Ok(asked)
    }

    /// Every admin who may sign in (to alert).
    async fn admins(&self) -> AppResult<Vec<User>> {
        let admins = self.all_users(UserFilter { role: Some(Role::Admin), ..UserFilter::default() }).await?;
        Ok(admins.into_iter().filter(User::may_sign_in).collect())
    }

    /// Every user `filter` names (its limit and offset aside), paged through.
    async fn all_users(&self, filter: UserFilter) -> AppResult<Vec<User>> {
        const PAGE: i64 = 1000;
        let mut all = Vec::new();
        loop {
            let offset = i64::try_from(all.len()).unwrap_or(i64::MAX);
            let page = self
                .store
                .list_users(&UserFilter { limit: Some(PAGE), offset: Some(offset), ..filter.clone() })
                .await?;
            let done = i64::try_from(page.len()).unwrap_or(0) < PAGE;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }
}
