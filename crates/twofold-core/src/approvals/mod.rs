//! Maker–checker approvals: a change an app wants to make (a forecast adjusted by 15%, an
//! order of 150,000) is held as an **approval** request until the people an approval rule
//! names approve it, each with a second factor proved moments before, at the strength the
//! rule demands. The result is a signed **receipt** the app verifies offline ([`receipt`]).
//!
//! The rules here: who raised it (from the person's own access token, so an app cannot invent
//! a requester), what exactly changes (its content, hashed), which rule decides ([`rules`]),
//! and when a vote counts — never the requester's, never two from one person, never after
//! the request expired, never without a fresh second factor of the rule's strength.

pub mod receipt;
pub mod rules;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::identity::User;
use crate::signin::session::AuthContext;
use crate::validation::ValidationErrors;

/// How recent an approver's second factor must be for their vote to count: minutes, so a
/// session left open in the morning does not approve in the afternoon.
pub const FRESH_APPROVAL_SECS: i64 = 5 * 60;
/// How long a request waits for its approvers when the app says nothing.
pub const DEFAULT_EXPIRY_SECS: i64 = 72 * 60 * 60;
/// The longest any request may wait.
pub const MAX_EXPIRY_SECS: i64 = 30 * 24 * 60 * 60;
/// The shortest wait an app may ask for.
pub const MIN_EXPIRY_SECS: i64 = 60;
/// The longest comment an approver may leave with a decision.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// The largest `before` or `after` value, as JSON text.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// How big a change is: an amount in a currency, or a percentage. Rules compare its size
/// (sign ignored: a cut of 15% is as big as a raise of 15%).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Magnitude {
    /// An amount, e.g. an order's total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<serde_json::Number>,
    /// The amount's currency (ISO 4217, e.g. `EUR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// A relative change in percent, e.g. `15` for +15%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<serde_json::Number>,
}

impl Magnitude {
    /// The size of the amount, when there is one.
    #[must_use]
    pub fn amount_size(&self) -> Option<f64> {
        self.amount.as_ref().and_then(serde_json::Number::as_f64).map(f64::abs)
    }

    /// The size of the percentage, when there is one.
    #[must_use]
    pub fn percent_size(&self) -> Option<f64> {
        self.percent.as_ref().and_then(serde_json::Number::as_f64).map(f64::abs)
    }

    fn check(&self, errors: &mut ValidationErrors) {
        match (&self.amount, &self.percent) {
            (Some(_), Some(_)) | (None, None) => {
                errors.add("magnitude", "give either an amount (with its currency) or a percent")
            }
            (Some(_), None) => {
                if !self.currency.as_deref().is_some_and(is_currency) {
                    errors.add("magnitude.currency", "an amount needs its currency as three capital letters, e.g. EUR");
                }
            }
            (None, Some(_)) => {
                if self.currency.is_some() {
                    errors.add("magnitude.currency", "a percent has no currency");
                }
            }
        }
    }
}

/// Whether `code` looks like an ISO 4217 currency code.
#[must_use]
pub fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// The person who asked for the change, as their access token and request showed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// Their identity (`sub`).
    pub user_id: Uuid,
    /// Their username.
    pub username: String,
    /// The strength their sign-in to the app reached.
    pub acr: String,
    /// The methods it used.
    pub amr: Vec<String>,
    /// When they authenticated.
    pub auth_time: Option<Timestamp>,
    /// The person's address, as the app reported it (an app sees it; Twofold does not).
    pub ip: Option<String>,
    /// The address the app's request to Twofold came from (its server's).
    #[serde(default)]
    pub app_ip: Option<String>,
}

/// What an app asks to have approved, as it sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// What is done, in the app's words (`adjust_forecast`, `approve_order`).
    pub action: String,
    /// What it is done to (`forecast/2027-Q1/emea`, `order/4711`).
    pub resource: String,
    /// The value before the change.
    pub before: serde_json::Value,
    /// The value after it.
    pub after: serde_json::Value,
    /// How big it is, when the rules compare sizes.
    pub magnitude: Option<Magnitude>,
    /// Why, in the requester's words.
    pub reason: String,
    /// Seconds it may wait for its approvers (default [`DEFAULT_EXPIRY_SECS`]).
    pub expires_in: Option<i64>,
    /// Where the result goes: one of the URLs registered for the app, or none for polling.
    pub callback_url: Option<String>,
}

/// The rule that decided who approves, as it read when the request was raised: a later
/// rules version does not change an open request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRule {
    /// The rule's name.
    pub name: String,
    /// The rules version it came from.
    pub version: i64,
    /// The group whose members approve.
    pub approvers: String,
    /// How many of them must approve.
    pub required: u32,
    /// The strength each approver's fresh second factor must reach.
    pub strength: String,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting for approvers.
    Pending,
    /// Approved by as many approvers as the rule requires.
    Approved,
    /// Rejected by an approver.
    Rejected,
    /// Its time ran out first.
    Expired,
}

impl ApprovalState {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    /// The state with this stored name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Rejected, Self::Expired].into_iter().find(|s| s.as_str() == name)
    }
}

/// One approver's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The approver (`sub`).
    pub user_id: Uuid,
    /// Their username.
    pub username: String,
    /// Approve or reject.
    pub approve: bool,
    /// The strength their fresh second factor reached.
    pub acr: String,
    /// The methods they used.
    pub amr: Vec<String>,
    /// When they proved it.
    pub auth_time: Option<Timestamp>,
    /// When they decided.
    pub at: Timestamp,
    /// What they said, if anything.
    pub comment: Option<String>,
}

/// One approval request and everything decided about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// Identifier.
    pub id: Uuid,
    /// The app that raised it (`client_id`).
    pub client_id: String,
    /// The app's name, as people know it.
    pub client_name: String,
    /// Who asked.
    pub requester: Requester,
    /// What is to change.
    pub proposal: Proposal,
    /// SHA-256 of the request's content ([`content_hash`]), `sha256:` and hex.
    pub content_hash: String,
    /// Who decides.
    pub rule: AppliedRule,
    /// When it was raised.
    pub created_at: Timestamp,
    /// When it can no longer be approved.
    pub expires_at: Timestamp,
    /// Where it stands.
    pub state: ApprovalState,
    /// The decisions so far, in order.
    pub votes: Vec<Vote>,
    /// When it left `pending`.
    pub decided_at: Option<Timestamp>,
    /// The signed receipt, once decided.
    pub receipt: Option<String>,
    /// Bumped by every change; the store writes only over the version it read.
    pub version: i64,
}

/// Why a vote does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalRefusal {
    /// It was decided already.
    #[error("this request is {0} already")]
    AlreadyDecided(&'static str),
    /// Its time ran out.
    #[error("this request expired; the app must raise it again")]
    Expired,
    /// The requester cannot approve their own change.
    #[error("you asked for this change, so someone else must approve it")]
    SelfApproval,
    /// One person, one vote.
    #[error("you decided on this request already")]
    AlreadyVoted,
    /// Not a member of the group the rule names.
    #[error("this request is for members of {0} to decide")]
    NotAnApprover(String),
    /// The second factor is not recent enough.
    #[error("confirm it's you with your second factor first")]
    NotFresh,
    /// The second factor is too weak for this rule.
    #[error("this request needs a sign-in method of strength {0}")]
    TooWeak(String),
}

/// The request's content as one canonical JSON text (keys sorted, no whitespace): what the
/// content hash covers, so an app (or an auditor) can recompute it from what was asked.
#[must_use]
pub fn canonical_content(client_id: &str, requester: Uuid, proposal: &Proposal, expires_at: Timestamp) -> String {
    serde_json::json!({
        "client_id": client_id,
        "requester": requester.to_string(),
        "action": proposal.action,
        "resource": proposal.resource,
        "before": proposal.before,
        "after": proposal.after,
        "magnitude": proposal.magnitude,
        "reason": proposal.reason,
        "expires_at": expires_at.millis() / 1000,
    })
    .to_string()
}

/// `sha256:` and the hex SHA-256 of [`canonical_content`].
#[must_use]
pub fn content_hash(client_id: &str, requester: Uuid, proposal: &Proposal, expires_at: Timestamp) -> String {
    format!(
        "sha256:{}",
        crate::secret::sha256_hex(canonical_content(client_id, requester, proposal, expires_at).as_bytes())
    )
}

/// Whether `text` holds a character that can make a message read as something else: control
/// characters (but line breaks and tabs where `multiline`) and bidirectional overrides.
fn has_deceptive_characters(text: &str, multiline: bool) -> bool {
    text.chars().any(|c| {
        (c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
    })
}

fn is_action_name(action: &str) -> bool {
    !action.is_empty()
        && action.len() <= 100
        && action.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-:".contains(&b))
}

/// Checks what an app sent, every problem listed.
///
/// # Errors
/// Each field that is missing, too long or malformed.
pub fn check_proposal(proposal: &Proposal) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if !is_action_name(&proposal.action) {
        errors.add("action", "must be 1 to 100 characters of a-z, 0-9, '_', '.', '-' or ':'");
    }
    if proposal.resource.trim().is_empty()
        || proposal.resource.chars().count() > 500
        || has_deceptive_characters(&proposal.resource, false)
    {
        errors.add("resource", "must name what changes, in up to 500 characters on one line");
    }
    if proposal.reason.trim().is_empty()
        || proposal.reason.chars().count() > 2000
        || has_deceptive_characters(&proposal.reason, true)
    {
        errors.add("reason", "must say why, in up to 2000 characters of text");
    }
    for (field, value) in [("before", &proposal.before), ("after", &proposal.after)] {
        if value.to_string().len() > MAX_VALUE_BYTES {
            errors.add(field, format!("must be at most {MAX_VALUE_BYTES} bytes of JSON"));
        }
    }
    if let Some(magnitude) = &proposal.magnitude {
        magnitude.check(&mut errors);
    }
    if let Some(secs) = proposal.expires_in
        && !(MIN_EXPIRY_SECS..=MAX_EXPIRY_SECS).contains(&secs)
    {
        errors.add("expires_in", format!("must be {MIN_EXPIRY_SECS} to {MAX_EXPIRY_SECS} seconds"));
    }
    errors.into_result()
}

/// Checks an approver's comment: at most [`MAX_COMMENT_CHARS`], plain text.
///
/// # Errors
/// A comment too long or with control or bidirectional characters.
pub fn check_comment(comment: Option<&str>) -> Result<(), ValidationErrors> {
    match comment {
        Some(c) if c.trim().chars().count() > MAX_COMMENT_CHARS || has_deceptive_characters(c, true) => Err(
            ValidationErrors::one("comment", format!("must be plain text of at most {MAX_COMMENT_CHARS} characters")),
        ),
        _ => Ok(()),
    }
}

impl ApprovalRequest {
    /// A new request from `requester` through the app `client`, decided by `rule`. The
    /// proposal must have passed [`check_proposal`], and its callback (if any) must be one
    /// registered for the app.
    #[must_use]
    pub fn raise(
        client: (&str, &str),
        requester: Requester,
        proposal: Proposal,
        rule: AppliedRule,
        now: Timestamp,
    ) -> Self {
        let expires_at = now.plus_seconds(proposal.expires_in.unwrap_or(DEFAULT_EXPIRY_SECS));
        let content_hash = content_hash(client.0, requester.user_id, &proposal, expires_at);
        Self {
            id: Uuid::now_v7(),
            client_id: client.0.to_owned(),
            client_name: client.1.to_owned(),
            requester,
            proposal,
            content_hash,
            rule,
            created_at: now,
            expires_at,
            state: ApprovalState::Pending,
            votes: Vec::new(),
            decided_at: None,
            receipt: None,
            version: 0,
        }
    }

    /// How many approvals it has.
    #[must_use]
    pub fn approvals(&self) -> usize {
        self.votes.iter().filter(|v| v.approve).count()
    }

    /// Whether `user` may still decide on it (ignoring the freshness of their second factor):
    /// what an approver's queue shows.
    ///
    /// # Errors
    /// Why not.
    pub fn may_decide(&self, user: &User, groups: &[String], now: Timestamp) -> Result<(), ApprovalRefusal> {
        if self.state != ApprovalState::Pending {
            return Err(ApprovalRefusal::AlreadyDecided(self.state.as_str()));
        }
        if now >= self.expires_at {
            return Err(ApprovalRefusal::Expired);
        }
        if user.id == self.requester.user_id {
            return Err(ApprovalRefusal::SelfApproval);
        }
        if self.votes.iter().any(|v| v.user_id == user.id) {
            return Err(ApprovalRefusal::AlreadyVoted);
        }
        if !groups.contains(&self.rule.approvers) {
            return Err(ApprovalRefusal::NotAnApprover(self.rule.approvers.clone()));
        }
        Ok(())
    }

    /// Records `approver`'s decision, made with the session that proved `auth`, at `now`:
    /// a rejection rejects the request, the last approval the rule requires approves it.
    ///
    /// # Errors
    /// Decided or expired already; the approver is the requester, voted already, is not in
    /// the rule's group, or their second factor is stale or too weak.
    pub fn vote(
        &mut self,
        approver: &User,
        groups: &[String],
        auth: &AuthContext,
        approve: bool,
        comment: Option<String>,
        now: Timestamp,
    ) -> Result<(), ApprovalRefusal> {
        self.may_decide(approver, groups, now)?;
        if !auth.has_fresh_mfa(now, FRESH_APPROVAL_SECS) {
            return Err(ApprovalRefusal::NotFresh);
        }
        if !crate::oidc::strength_meets(&auth.acr, &self.rule.strength) {
            return Err(ApprovalRefusal::TooWeak(self.rule.strength.clone()));
        }
        self.votes.push(Vote {
            user_id: approver.id,
            username: approver.username.clone(),
            approve,
            acr: auth.acr.clone(),
            amr: auth.amr.clone(),
            auth_time: auth.auth_time,
            at: now,
            comment: comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()),
        });
        if !approve {
            self.state = ApprovalState::Rejected;
            self.decided_at = Some(now);
        } else if self.approvals() >= self.rule.required as usize {
            self.state = ApprovalState::Approved;
            self.decided_at = Some(now);
        }
        self.version += 1;
        Ok(())
    }

    /// Marks a pending request whose time ran out as expired; whether it did.
    pub fn expire(&mut self, now: Timestamp) -> bool {
        if self.state != ApprovalState::Pending || now < self.expires_at {
            return false;
        }
        self.state = ApprovalState::Expired;
        self.decided_at = Some(now);
        self.version += 1;
        true
    }
}

#[cfg(test)]
mod tests;
