//! What apps do: raise an approval request for the person signed in to them (named by that
//! person's access token, issued to this very app), and read a request's result.

use serde::Serialize;
use twofold_core::ValidationErrors;
use twofold_core::approvals::rules::RuleMatch;
use twofold_core::approvals::{ApprovalRequest, ApprovalState, Proposal, Requester, check_proposal};
use twofold_core::audit::ActorKind;
use twofold_core::oidc::Client;
use uuid::Uuid;

use super::Approvals;
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

/// How many requests one person may have waiting in one app at once: enough for real work,
/// few enough that a runaway app cannot flood the approvers' queues and mailboxes.
pub const MAX_PENDING_PER_PERSON: usize = 50;

/// What an app learns about its request: where it stands and, once decided, the receipt.
#[derive(Debug, Clone, Serialize)]
pub struct RaisedRequest {
    /// The request's id.
    pub id: Uuid,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub state: &'static str,
    /// SHA-256 of its content, as the receipt will carry it.
    pub content_hash: String,
    /// The rule that decides it.
    pub rule: String,
    /// The group whose members decide.
    pub approvers: String,
    /// How many must approve.
    pub required: u32,
    /// How many have.
    pub approvals: usize,
    /// When it can no longer be approved (seconds since the epoch).
    pub expires_at: i64,
    /// The signed receipt (a JWS), once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

impl From<&ApprovalRequest> for RaisedRequest {
    fn from(request: &ApprovalRequest) -> Self {
        Self {
            id: request.id,
            state: request.state.as_str(),
            content_hash: request.content_hash.clone(),
            rule: request.rule.name.clone(),
            approvers: request.rule.approvers.clone(),
            required: request.rule.required,
            approvals: request.approvals(),
            expires_at: request.expires_at.millis() / 1000,
            receipt: request.receipt.clone(),
        }
    }
}

impl Approvals {
    /// Raises a request from `client` (already authenticated, confidential) for the person
    /// `subject_token` (their access token, issued to `client`) acts for, with the person's
    /// address as the app reports it; the approvers the rule names are mailed. Audited
    /// `approval.request` with the requester as actor.
    ///
    /// # Errors
    /// [`Refusal::NeedsConfidentialClient`] for a public client or a service account;
    /// [`AppError::Invalid`] for a token that names no live person of this app, a malformed
    /// proposal, a size no rule can compare, or a callback URL not registered for the app;
    /// [`Refusal::NoApprovalNeeded`] when it is within every threshold;
    /// [`Refusal::TooManyPendingApprovals`]; storage failures.
    pub async fn raise(
        &self,
        client: &Client,
        subject_token: &str,
        proposal: Proposal,
        reported_ip: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<ApprovalRequest> {
        // A public client's "credentials" are its id: its person could raise requests of
        // their own making with their own token. Only an app's server raises them.
        if client.public || client.service {
            return Err(AppError::Refused(Refusal::NeedsConfidentialClient));
        }
        let reported_ip = match reported_ip {
            Some(ip) => Some(
                ip.trim()
                    .parse::<std::net::IpAddr>()
                    .map_err(|_| ValidationErrors::one("requester_ip", "must be an IPv4 or IPv6 address"))?
                    .to_string(),
            ),
            None => None,
        };
        let (user, auth) = match self.oidc.person_behind(client, subject_token).await? {
            Ok(person) if person.0.may_sign_in() => person,
            Ok(_) => return Err(ValidationErrors::one("subject_token", "the person can no longer sign in").into()),
            Err(why) => {
                return Err(ValidationErrors::one(
                    "subject_token",
                    format!("must be the signed-in person's access token from this app: {why}"),
                )
                .into());
            }
        };
        check_proposal(&proposal)?;
        if let Some(url) = &proposal.callback_url
            && !self.callbacks(&client.client_id).await?.contains(url)
        {
            return Err(ValidationErrors::one(
                "callback_url",
                "is not registered for this app (twofold approvals callbacks set)",
            )
            .into());
        }
        let (version, rules) = self.current_rules().await?;
        let rule = match rules.rule_for(&client.client_id, &proposal, version) {
            RuleMatch::Decided(rule) => rule,
            RuleMatch::NotNeeded => return Err(AppError::Refused(Refusal::NoApprovalNeeded)),
            RuleMatch::Incomparable(why) => return Err(ValidationErrors::one("magnitude", why).into()),
        };
        let waiting = self
            .store
            .approvals(Some(ApprovalState::Pending), Some(&client.client_id))
            .await?
            .iter()
            .filter(|r| r.requester.user_id == user.id)
            .count();
        if waiting >= MAX_PENDING_PER_PERSON {
            return Err(AppError::Refused(Refusal::TooManyPendingApprovals { limit: MAX_PENDING_PER_PERSON }));
        }
        let requester = Requester {
            user_id: user.id,
            username: user.username.clone(),
            acr: auth.acr.clone(),
            amr: auth.amr.clone(),
            auth_time: auth.auth_time,
            ip: reported_ip,
            app_ip: meta.ip.clone(),
        };
        let request = ApprovalRequest::raise((&client.client_id, &client.name), requester, proposal, rule, self.now());
        let actor = Actor { kind: ActorKind::User, id: Some(user.id.to_string()), name: user.username.clone(), auth };
        self.store.create_approval(&request, &self.audit_context(&actor, meta)).await?;
        self.tell_approvers(&request).await;
        Ok(request)
    }

    /// One of `client`'s requests (another app's is "not found").
    ///
    /// # Errors
    /// Not found; storage failures.
    pub async fn for_app(&self, client: &Client, id: Uuid) -> AppResult<ApprovalRequest> {
        match self.store.approval(id).await? {
            Some(request) if request.client_id == client.client_id => Ok(request),
            _ => Err(AppError::NotFound("approval request")),
        }
    }

    /// Requests, newest first: only those in `state` and only `client_id`'s when given (the
    /// admin's view).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list(
        &self,
        state: Option<twofold_core::approvals::ApprovalState>,
        client_id: Option<&str>,
    ) -> AppResult<Vec<ApprovalRequest>> {
        Ok(self.store.approvals(state, client_id).await?)
    }

    /// One request with the deliveries of its result (the admin's and auditor's view).
    ///
    /// # Errors
    /// Not found; storage failures.
    pub async fn details(&self, id: Uuid) -> AppResult<(ApprovalRequest, Vec<twofold_core::outbox::OutboxMessage>)> {
        let request = self.store.approval(id).await?.ok_or(AppError::NotFound("approval request"))?;
        let deliveries = self.store.outbox_for(&id.to_string()).await?;
        Ok((request, deliveries))
    }

    /// Mails each member of the rule's group who could decide (never the requester).
    async fn tell_approvers(&self, request: &ApprovalRequest) {
        let members = match self.store.group_by_name(&request.rule.approvers).await {
            Ok(Some(group)) => self.store.group_members(group.id).await.unwrap_or_default(),
            _ => Vec::new(),
        };
        let link = self.oidc.issuer_url.as_deref().map(|base| format!("{base}/approvals/{}", request.id));
        for member in members.iter().filter(|m| m.id != request.requester.user_id && m.may_sign_in()) {
            let Some(to) = member.email.clone() else { continue };
            let body = format!(
                "Hello {},\n\n{} asks for your approval in {}:\n\n    {} on {}\n\nOpen it in Twofold to see exactly what changes and why, then approve or reject it{}:\n\n    {}\n\nIt expires at {}. If you do not know about this change, reject it.\n",
                member.display_name,
                request.requester.username,
                request.client_name,
                request.proposal.action,
                request.proposal.resource,
                if request.rule.strength == "mfa" { "" } else { " with your passkey or security key" },
                link.as_deref().unwrap_or("your Twofold account, Approvals"),
                request.expires_at.to_minute_utc(),
            );
            self.notify(Some(twofold_core::mail::Email {
                to,
                cc: Vec::new(),
                subject: format!("Approval needed: {} ({})", request.proposal.action, request.client_name),
                body,
            }));
        }
    }
}
