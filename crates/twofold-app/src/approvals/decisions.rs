//! What approvers do: see the requests waiting for them, open one, and approve or reject it
//! from their own session with a second factor proved minutes before, at the rule's strength.

use twofold_core::approvals::check_comment;
use twofold_core::approvals::{ApprovalRefusal, ApprovalRequest, ApprovalState};
use twofold_core::audit::{AuditAction, Change};
use uuid::Uuid;

use super::{Approvals, refused};
use crate::signin::Authenticated;
use crate::{AppError, AppResult, Refusal, RequestMeta};

/// A request as one person sees it: whether they may decide it, and why not.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    /// The request.
    pub request: ApprovalRequest,
    /// Why this person may not decide it (`None`: they may).
    pub refusal: Option<ApprovalRefusal>,
}

impl Approvals {
    /// The pending requests `current` may decide, oldest first (the longest waiting on top).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn queue(&self, current: &Authenticated) -> AppResult<Vec<ApprovalRequest>> {
        let groups = self.store.user_groups(current.user.id).await?;
        let now = self.now();
        let mut waiting: Vec<ApprovalRequest> = self
            .store
            .approvals(Some(ApprovalState::Pending), None)
            .await?
            .into_iter()
            .filter(|r| r.may_decide(&current.user, &groups, now).is_ok())
            .collect();
        waiting.reverse();
        Ok(waiting)
    }

    /// One request as `current` sees it: visible to the members of its approvers' group, to
    /// whoever decided on it, and to its requester; anyone else gets "not found", so a
    /// request's existence is not told to strangers.
    ///
    /// # Errors
    /// Not found; storage failures.
    pub async fn for_person(&self, current: &Authenticated, id: Uuid) -> AppResult<QueueEntry> {
        let (request, groups) = self.visible_to(current, id).await?;
        let refusal = request.may_decide(&current.user, &groups, self.now()).err();
        Ok(QueueEntry { request, refusal })
    }

    /// Request `id` with `current`'s groups, when it is theirs to see.
    async fn visible_to(&self, current: &Authenticated, id: Uuid) -> AppResult<(ApprovalRequest, Vec<String>)> {
        let request = self.store.approval(id).await?.ok_or(AppError::NotFound("approval request"))?;
        let groups = self.store.user_groups(current.user.id).await?;
        let me = current.user.id;
        let visible = groups.contains(&request.rule.approvers)
            || request.requester.user_id == me
            || request.votes.iter().any(|v| v.user_id == me);
        if !visible {
            return Err(AppError::NotFound("approval request"));
        }
        Ok((request, groups))
    }

    /// `current`'s decision on request `id`, with their session's fresh second factor. The
    /// decision that settles it seals the receipt and queues its delivery in the same write.
    /// Audited `approval.approve` or `approval.reject` with the approver as actor.
    ///
    /// # Errors
    /// Not found; [`Refusal::Approval`] for a vote that does not count (the requester's, a
    /// second one, after expiry, outside the group, a stale or too weak second factor);
    /// [`Refusal::ApprovalChangedMeanwhile`] when another vote landed first.
    pub async fn decide(
        &self,
        current: &Authenticated,
        id: Uuid,
        approve: bool,
        comment: Option<String>,
        meta: &RequestMeta,
    ) -> AppResult<ApprovalRequest> {
        check_comment(comment.as_deref())?;
        let (mut request, groups) = self.visible_to(current, id).await?;
        let now = self.now();
        request.vote(&current.user, &groups, &current.session.auth, approve, comment, now).map_err(refused)?;
        let delivery = self.seal_if_decided(&mut request, now).await?;
        let action = if approve { AuditAction::ApprovalApprove } else { AuditAction::ApprovalReject };
        let after = serde_json::json!({
            "state": request.state.as_str(),
            "approvals": request.approvals(),
            "required": request.rule.required,
            "receipt": request.receipt.as_deref().map(|r| twofold_core::secret::sha256_hex(r.as_bytes())),
        });
        let change = Change::new(action, Some(request.id.to_string())).states(None, Some(after));
        let ctx = self.audit_context(&current.actor(), meta);
        if !self.store.update_approval(&request, &change, delivery.as_ref(), &ctx).await? {
            return Err(AppError::Refused(Refusal::ApprovalChangedMeanwhile));
        }
        if request.state != ApprovalState::Pending {
            self.tell_requester(&request).await;
        }
        Ok(request)
    }
}
