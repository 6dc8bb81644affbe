//! The approval receipt: what a decided request proves, as JWT claims an app verifies offline
//! with Twofold's JWKS (`typ` [`RECEIPT_TYP`]). It names the request, its content hash and
//! content, the requester, the rule, and each approver with their methods and times; the app
//! checks the signature, that `aud` is its own client id, that `approval.state` is
//! `approved`, and that the content is the change it is about to apply.

use serde_json::{Value, json};

use super::ApprovalRequest;
use crate::Timestamp;

/// The JOSE `typ` header of a receipt (RFC 8725 §3.11: explicit typing), so an ID token can
/// never pass for one.
pub const RECEIPT_TYP: &str = "twofold-approval-receipt+jwt";

fn seconds(t: Timestamp) -> i64 {
    t.millis() / 1000
}

/// The receipt's claims for `request` (decided or expired), issued by `issuer` at `now`.
#[must_use]
pub fn claims(request: &ApprovalRequest, issuer: &str, now: Timestamp) -> Value {
    let approvers: Vec<Value> = request
        .votes
        .iter()
        .map(|v| {
            json!({
                "sub": v.user_id.to_string(),
                "username": v.username,
                "decision": if v.approve { "approve" } else { "reject" },
                "acr": v.acr,
                "amr": v.amr,
                "auth_time": v.auth_time.map(seconds),
                "at": seconds(v.at),
                "comment": v.comment,
            })
        })
        .collect();
    let p = &request.proposal;
    json!({
        "iss": issuer,
        "aud": request.client_id,
        "sub": request.requester.user_id.to_string(),
        "jti": request.id.to_string(),
        "iat": seconds(now),
        "approval": {
            "id": request.id.to_string(),
            "state": request.state.as_str(),
            "content_hash": request.content_hash,
            "action": p.action,
            "resource": p.resource,
            "before": p.before,
            "after": p.after,
            "magnitude": p.magnitude,
            "reason": p.reason,
            "requester": {
                "sub": request.requester.user_id.to_string(),
                "username": request.requester.username,
                "acr": request.requester.acr,
                "amr": request.requester.amr,
                "auth_time": request.requester.auth_time.map(seconds),
            },
            "rule": {
                "name": request.rule.name,
                "version": request.rule.version,
                "approvers": request.rule.approvers,
                "required": request.rule.required,
                "strength": request.rule.strength,
            },
            "approvers": approvers,
            "created_at": seconds(request.created_at),
            "expires_at": seconds(request.expires_at),
            "decided_at": request.decided_at.map(seconds),
        },
    })
}
