//! Attempts: claiming an attempt's slot before it is checked, and recording its outcome as a
//! sign-in event with its audit entry. Every way in (the pipeline, the verify API) uses these.

use twofold_core::Timestamp;
use twofold_core::audit::{ActorKind, AuditContext};
use twofold_core::identity::User;
use twofold_core::mail;
use twofold_core::signin::session::AuthContext;
use twofold_core::signin::{FailureReason, SignInEvent, SignInOutcome, throttle};
use uuid::Uuid;

use crate::{Actor, AppError, AppResult, RequestMeta};

/// Sign-in events read per page.
const PAGE: i64 = 20_000;

/// Attempts and their record: claims before a check, sign-in events after it, and reading
/// the events back. Below every way in, so each can use it.
pub struct Attempts {
    pub(crate) shared: std::sync::Arc<crate::Shared>,
}

crate::reads_shared!(Attempts);

/// An attempt's claimed slot (see [`App::claim_attempt`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claimed {
    /// The claim, to be the id of the attempt's sign-in event.
    pub(crate) id: Uuid,
    /// The username's failures before this attempt, attempts in flight included.
    pub(crate) by_user: throttle::Failures,
}

impl Attempts {
    /// Claims one attempt for `username` before it is checked, so concurrent attempts cannot
    /// outrun the limit (THREATS: racing the limits). Refused (and recorded as throttled)
    /// while the failures and attempts in flight demand a wait; otherwise the claim, whose id
    /// the attempt's sign-in event must carry ([`SignInEvent::claimed`]).
    pub(crate) async fn claim_attempt(
        &self,
        username: &str,
        user: Option<&User>,
        methods: &[&str],
        meta: &RequestMeta,
    ) -> AppResult<Claimed> {
        self.claim_attempt_within(username, user, methods, meta, throttle::Limits::default()).await
    }

    /// As [`App::claim_attempt`], under `limits`.
    pub(crate) async fn claim_attempt_within(
        &self,
        username: &str,
        user: Option<&User>,
        methods: &[&str],
        meta: &RequestMeta,
        limits: throttle::Limits,
    ) -> AppResult<Claimed> {
        let address = meta.ip.as_deref().map(throttle::source_key);
        let source = meta.throttle_source.as_deref().or(address.as_deref());
        match self.store.claim_attempt(username, source, limits, self.now()).await? {
            throttle::Claim::Granted { id, by_username } => Ok(Claimed { id, by_user: by_username }),
            throttle::Claim::Refused { retry_after_secs } => {
                metrics::counter!("twofold_throttled_total").increment(1);
                self.record_attempt(username, user, Some(FailureReason::Throttled), methods, meta).await?;
                Err(AppError::Throttled { retry_after_secs })
            }
        }
    }

    /// Tells the user when their failures just reached the point where attempts are delayed
    /// (once per run of failures: `before` is the count before this one).
    pub(crate) fn notify_if_now_throttled(&self, user: &User, before: throttle::Failures) {
        if before.count + 1 == throttle::FREE_FAILURES_PER_USERNAME {
            self.notify(mail::sign_in_paused(user, before.count + 1, self.now()));
        }
    }

    /// A sign-in event for an attempt now.
    pub(crate) fn sign_in_event(
        &self,
        username: &str,
        user: Option<&User>,
        failure: Option<FailureReason>,
        meta: &RequestMeta,
    ) -> SignInEvent {
        SignInEvent {
            id: Uuid::now_v7(),
            at: self.now(),
            username: username.chars().take(64).collect(),
            user_id: user.map(|u| u.id),
            outcome: if failure.is_some() { SignInOutcome::Failure } else { SignInOutcome::Success },
            reason: failure,
            methods: vec!["pwd".into()],
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            source: meta
                .throttle_source
                .clone()
                .or_else(|| meta.ip.as_deref().map(throttle::source_key).filter(|key| Some(key) != meta.ip.as_ref())),
            context: twofold_core::signin::SignInContext {
                app: meta.app.clone(),
                device_id: meta.device_id.clone(),
                ..Default::default()
            },
        }
    }

    /// The audit context of an attempt by someone not yet authenticated.
    pub(crate) fn attempt_context(&self, event: &SignInEvent, meta: &RequestMeta) -> AuditContext {
        let attempt = Actor {
            kind: ActorKind::Anonymous,
            id: event.user_id.map(|u| u.to_string()),
            name: event.username.clone(),
            auth: AuthContext::default(),
        };
        self.audit_context(&attempt, meta)
    }

    /// Records the outcome of a claimed attempt that starts no session (ending its claim).
    pub(crate) async fn record_claimed_attempt(
        &self,
        claim: &Claimed,
        username: &str,
        user: Option<&User>,
        reason: Option<FailureReason>,
        methods: &[&str],
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let event = self.sign_in_event(username, user, reason, meta).claimed(claim.id).with_methods(methods);
        self.store.record_sign_in_attempt(&event, &self.attempt_context(&event, meta)).await?;
        Ok(())
    }

    /// Records an attempt that starts no session.
    pub(crate) async fn record_attempt(
        &self,
        username: &str,
        user: Option<&User>,
        reason: Option<FailureReason>,
        methods: &[&str],
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let event = self.sign_in_event(username, user, reason, meta).with_methods(methods);
        debug_assert!(reason.is_some() == (event.outcome == SignInOutcome::Failure));
        self.store.record_sign_in_attempt(&event, &self.attempt_context(&event, meta)).await?;
        Ok(())
    }

    /// Reads every sign-in event at or after `since`, page by page, handing each page to `each`.
    pub(crate) async fn each_sign_in_page(
        &self,
        since: Timestamp,
        mut each: impl FnMut(&[SignInEvent]),
    ) -> AppResult<()> {
        let mut after = None;
        loop {
            let page = self.store.sign_in_events_page(since, after, PAGE).await?;
            each(&page);
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = Some(last.id),
                _ => return Ok(()),
            }
        }
    }
}
