//! The outbox: rows in the database holding what must be delivered (today: approval results
//! to apps' callback URLs), retried with backoff until acknowledged and claimed once across
//! nodes. This module holds the message and the retry schedule; delivery is the app's.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;

/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF_SECS`].
pub const FIRST_BACKOFF_SECS: i64 = 5;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_SECS: i64 = 60 * 60;
/// After this many attempts a message is given up (and the failure alerted).
pub const MAX_ATTEMPTS: i64 = 30;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// An approval's result (its signed receipt) for the app's callback URL.
    ApprovalResult,
}

impl OutboxKind {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApprovalResult => "approval_result",
        }
    }

    /// The kind with this stored name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        (name == "approval_result").then_some(Self::ApprovalResult)
    }
}

/// One message to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Identifier; sent along so a receiver can drop a repeat.
    pub id: Uuid,
    /// What it is.
    pub kind: OutboxKind,
    /// What it is about (an approval's id).
    pub subject_id: String,
    /// Where it goes: a URL an administrator registered, never one from a request.
    pub target: String,
    /// What is sent (for an approval: the receipt, a JWS).
    pub body: String,
    /// When it was written.
    pub created_at: Timestamp,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
    /// When it was acknowledged.
    pub delivered_at: Option<Timestamp>,
    /// Why the last attempt failed (host and status only, never a secret).
    pub last_error: Option<String>,
}

impl OutboxMessage {
    /// A new message, due at once.
    #[must_use]
    pub fn new(kind: OutboxKind, subject_id: &str, target: &str, body: String, now: Timestamp) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            subject_id: subject_id.to_owned(),
            target: target.to_owned(),
            body,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            last_error: None,
        }
    }
}

/// When to try again after the `attempts`-th failed attempt at `now`: 5 s, 10 s, 20 s, ...
/// up to an hour; `None` once [`MAX_ATTEMPTS`] are spent.
#[must_use]
pub fn next_attempt(attempts: i64, now: Timestamp) -> Option<Timestamp> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let exponent = u32::try_from((attempts - 1).clamp(0, 20)).unwrap_or(20);
    let wait = FIRST_BACKOFF_SECS.saturating_mul(1_i64 << exponent).min(MAX_BACKOFF_SECS);
    Some(now.plus_seconds(wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour_then_stop() {
        let at = |n| next_attempt(n, Timestamp(0)).map(|t| t.millis() / 1000);
        assert_eq!((at(1), at(2), at(3), at(4)), (Some(5), Some(10), Some(20), Some(40)));
        assert_eq!(at(12), Some(MAX_BACKOFF_SECS));
        assert_eq!(at(MAX_ATTEMPTS), None);
    }
}

/// Why a delivery failed: the host and what happened, never a header or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// The outbound port: posts one message to one URL, implemented over HTTP by `twofold-mail`.
#[async_trait::async_trait]
pub trait Deliverer: Send + Sync {
    /// Posts `body` (of `content_type`) to `url` with `headers`; succeeds on a 2xx answer.
    async fn post(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<(), DeliveryError>;
}
