//! What follows a decision: the signed receipt, its delivery to the app's callback URL
//! through the outbox (retried with backoff until acknowledged, by whichever node claims
//! it), and the expiry of requests nobody decided in time.

use twofold_core::Timestamp;
use twofold_core::approvals::receipt::{self, RECEIPT_TYP};
use twofold_core::approvals::{ApprovalRequest, ApprovalState};
use twofold_core::audit::{AuditAction, Change};
use twofold_core::outbox::{self, OutboxKind, OutboxMessage};

use super::Approvals;
use crate::{Actor, AppResult, RequestMeta};

/// How long a node holds a claimed delivery before another may try it.
const LEASE_MS: i64 = 60_000;
/// How many deliveries one round makes at most.
const BATCH: usize = 20;
/// Where a given-up delivery's next attempt is put: never.
const NEVER: Timestamp = Timestamp(i64::MAX / 4);

/// What one round of deliveries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    /// Acknowledged by their receiver.
    pub delivered: usize,
    /// Failed this time, to be tried again.
    pub failed: usize,
    /// Failed for the last time (the security team is told).
    pub given_up: usize,
}

impl Approvals {
    /// Signs the receipt of a request that has just been decided or expired and builds its
    /// delivery when it names a callback; nothing for a request still pending.
    pub(crate) async fn seal_if_decided(
        &self,
        request: &mut ApprovalRequest,
        now: Timestamp,
    ) -> AppResult<Option<OutboxMessage>> {
        if request.state == ApprovalState::Pending {
            return Ok(None);
        }
        let claims = receipt::claims(request, self.oidc.issuer()?, now);
        let signed = self.oidc.sign("RS256", RECEIPT_TYP, &claims).await?;
        request.receipt = Some(signed.clone());
        Ok(request
            .proposal
            .callback_url
            .as_deref()
            .map(|url| OutboxMessage::new(OutboxKind::ApprovalResult, &request.id.to_string(), url, signed, now)))
    }

    /// Expires every pending request whose time ran out (once across nodes), sealing and
    /// queueing its result like a decision's; how many this run expired.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn run_jobs(&self) -> AppResult<usize> {
        let now = self.now();
        let system = Actor::system("approvals scheduler");
        let ctx = self.audit_context(&system, &RequestMeta::default());
        let mut expired = 0;
        for mut request in self.store.expired_approvals(now).await? {
            if !request.expire(now) {
                continue;
            }
            let delivery = self.seal_if_decided(&mut request, now).await?;
            let after = serde_json::json!({
                "state": request.state.as_str(),
                "receipt": request.receipt.as_deref().map(|r| twofold_core::secret::sha256_hex(r.as_bytes())),
            });
            let change =
                Change::new(AuditAction::ApprovalExpire, Some(request.id.to_string())).states(None, Some(after));
            if self.store.update_approval(&request, &change, delivery.as_ref(), &ctx).await? {
                expired += 1;
                self.tell_requester(&request).await;
            }
        }
        Ok(expired)
    }

    /// Delivers what is due in the outbox, one message at a time: each claimed by this node
    /// for a minute (a delivery's timeout is ten seconds) under a token of its own, posted
    /// to its callback URL, and recorded — only while this node still holds the claim — as
    /// delivered (audited `approval.deliver`) or failed with its next attempt 5 s, 10 s,
    /// 20 s, ... up to an hour later; after the last attempt it is given up (audited
    /// `approval.undeliverable`) and the security team told.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn deliver_due(&self) -> AppResult<DeliveryReport> {
        let mut report = DeliveryReport::default();
        let Some(deliverer) = self.deliverer.clone() else { return Ok(report) };
        let system = Actor::system("approvals outbox");
        for _ in 0..BATCH {
            let claim = twofold_core::secret::random_token();
            let Some(message) = self.store.claim_outbox(self.now(), LEASE_MS, &claim).await? else { break };
            let headers =
                [("twofold-message-id", message.id.to_string()), ("twofold-approval-id", message.subject_id.clone())];
            let attempts = message.attempts + 1;
            let host = host_of(&message.target);
            let outcome = deliverer.post(&message.target, "application/jwt", &headers, &message.body).await;
            let ctx = self.audit_context(&system, &RequestMeta::default());
            match outcome {
                Ok(()) => {
                    if !self.store.outbox_delivered(message.id, &claim, self.now()).await? {
                        continue;
                    }
                    let after = serde_json::json!({ "target": host, "attempts": attempts });
                    let change = Change::new(AuditAction::ApprovalDeliver, Some(message.subject_id.clone()))
                        .states(None, Some(after));
                    self.store.append_audit(&change, &ctx).await?;
                    metrics::counter!("twofold_outbox_deliveries_total", "outcome" => "delivered").increment(1);
                    report.delivered += 1;
                }
                Err(error) => {
                    let next = outbox::next_attempt(attempts, self.now());
                    if !self.store.outbox_failed(message.id, &claim, attempts, next.unwrap_or(NEVER), &error.0).await? {
                        continue;
                    }
                    if next.is_some() {
                        metrics::counter!("twofold_outbox_deliveries_total", "outcome" => "failed").increment(1);
                        tracing::warn!(approval = %message.subject_id, attempts, error = %error, "approval result not delivered; will retry");
                        report.failed += 1;
                    } else {
                        metrics::counter!("twofold_outbox_deliveries_total", "outcome" => "given_up").increment(1);
                        let after = serde_json::json!({ "target": host, "attempts": attempts, "error": error.0 });
                        let change = Change::new(AuditAction::ApprovalUndeliverable, Some(message.subject_id.clone()))
                            .states(None, Some(after));
                        self.store.append_audit(&change, &ctx).await?;
                        self.alert(
                            "An approval result could not be delivered",
                            format!(
                                "The result of approval request {} could not be delivered to the callback at {host} after {attempts} attempts (last: {error}). The app can still read it by polling.\n",
                                message.subject_id
                            ),
                        );
                        report.given_up += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Mails the requester the outcome of their request.
    pub(crate) async fn tell_requester(&self, request: &ApprovalRequest) {
        let Ok(Some(user)) = self.store.user_by_id(request.requester.user_id).await else { return };
        let Some(to) = user.email.clone() else { return };
        let outcome = match request.state {
            ApprovalState::Approved => "was approved",
            ApprovalState::Rejected => "was rejected",
            ApprovalState::Expired => "expired before enough approvers decided",
            ApprovalState::Pending => return,
        };
        let by: Vec<String> = request
            .votes
            .iter()
            .map(|v| {
                format!(
                    "    {} {} at {}",
                    v.username,
                    if v.approve { "approved" } else { "rejected" },
                    v.at.to_minute_utc()
                )
            })
            .collect();
        let body = format!(
            "Hello {},\n\nYour request in {} {outcome}:\n\n    {} on {}\n\n{}\n",
            user.display_name,
            request.client_name,
            request.proposal.action,
            request.proposal.resource,
            by.join("\n")
        );
        self.notify(Some(twofold_core::mail::Email {
            to,
            cc: Vec::new(),
            subject: format!("Your request {outcome}: {}", request.proposal.action),
            body,
        }));
    }
}

/// The host (and port) of a callback URL: what logs, audit events and alerts name, never its
/// path or query.
fn host_of(url: &str) -> &str {
    url.split("://").nth(1).and_then(|rest| rest.split(['/', '?', '#']).next()).unwrap_or("")
}
