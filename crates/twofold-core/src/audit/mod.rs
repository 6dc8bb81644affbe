//! The tamper-evident audit log: events and their hash chain.
//!
//! Each event's hash covers every stored field and the previous event's hash, so editing,
//! deleting, inserting or reordering events breaks the chain at the first affected event.
//! The store keeps a chain head (last sequence number and hash) updated in the same
//! transaction, so truncating the tail is detected too.
//!
//! What an event says happened is one [`AuditAction`] of the vocabulary in [`actions`]; the
//! store persists its name and never builds one.

pub mod actions;

pub use actions::{AuditAction, TargetType};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Timestamp;
use crate::signin::session::AuthContext;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in person (pages).
    User,
    /// An admin API key.
    ApiKey,
    /// The admin CLI, run by an operating-system user.
    Cli,
    /// Twofold itself (migrations, scheduled jobs, demo seeding).
    System,
    /// Someone not yet authenticated (a sign-in attempt).
    Anonymous,
    /// A service account, with an access token it got by client credentials.
    ServiceAccount,
}

impl ActorKind {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Cli => "cli",
            Self::System => "system",
            Self::Anonymous => "anonymous",
            Self::ServiceAccount => "service_account",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::User, Self::ApiKey, Self::Cli, Self::System, Self::Anonymous, Self::ServiceAccount]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// The actor and request an event happened in; built once per request or CLI run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditContext {
    /// What kind of actor.
    pub actor_kind: ActorKind,
    /// The actor's identifier (user id, API key id, OS user).
    pub actor_id: Option<String>,
    /// The actor's name as people know it.
    pub actor_name: String,
    /// How the actor authenticated (methods, strength, when).
    pub auth: AuthContext,
    /// Source address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Device identifier, when the device is known.
    pub device_id: Option<String>,
    /// When the event happens.
    pub at: Timestamp,
    /// The support case the action is taken on, when it is: recorded as `case` in the
    /// event's `after` payload, so every change a case caused can be found from the case.
    pub case: Option<Uuid>,
}

impl AuditContext {
    /// A context for Twofold's own actions (`name` says which: `migrate`, `demo`, ...).
    #[must_use]
    pub fn system(name: &str, at: Timestamp) -> Self {
        Self {
            actor_kind: ActorKind::System,
            actor_id: None,
            actor_name: name.to_owned(),
            auth: AuthContext::default(),
            ip: None,
            user_agent: None,
            device_id: None,
            at,
            case: None,
        }
    }

    /// The same context, for an action taken on support case `case`.
    #[must_use]
    pub fn on_case(mut self, case: Uuid) -> Self {
        self.case = Some(case);
        self
    }
}

/// What changed: the part of an event that the use case decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What happened; it names the kind of target too.
    pub action: AuditAction,
    /// The target's identifier (see [`TargetType`] for what each kind's id is).
    pub target_id: Option<String>,
    /// State before, as JSON (absent for creations).
    pub before: Option<serde_json::Value>,
    /// State after, as JSON (absent for deletions).
    pub after: Option<serde_json::Value>,
}

impl Change {
    /// A change of `action` on the target `target_id`, without state.
    #[must_use]
    pub const fn new(action: AuditAction, target_id: Option<String>) -> Self {
        Self { action, target_id, before: None, after: None }
    }

    /// With before and after states.
    #[must_use]
    pub fn states(mut self, before: Option<serde_json::Value>, after: Option<serde_json::Value>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// `after` with the support case named in it (`case`), when the action belongs to one.
fn with_case(after: Option<&serde_json::Value>, case: Option<Uuid>) -> Option<serde_json::Value> {
    let Some(case) = case else { return after.cloned() };
    let mut after = match after {
        Some(serde_json::Value::Object(fields)) => fields.clone(),
        Some(other) => serde_json::Map::from_iter([("value".to_owned(), other.clone())]),
        None => serde_json::Map::new(),
    };
    after.insert("case".into(), serde_json::Value::String(case.to_string()));
    Some(serde_json::Value::Object(after))
}

/// One event as stored: every field is text or integer, exactly as hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1 with no gaps.
    pub seq: i64,
    /// Identifier.
    pub id: Uuid,
    /// When it happened.
    pub at: Timestamp,
    /// `user`, `api_key`, `cli`, `system`, `anonymous` or `service_account`.
    pub actor_kind: String,
    /// Actor identifier.
    pub actor_id: Option<String>,
    /// Actor name.
    pub actor_name: String,
    /// The actor's authentication context, JSON text.
    pub actor_auth: String,
    /// The action's dotted name (an [`AuditAction`] for every event Twofold writes; text, so
    /// that rows of any version stay readable).
    pub action: String,
    /// Kind of target.
    pub target_type: String,
    /// Target identifier.
    pub target_id: Option<String>,
    /// State before, JSON text.
    pub before: Option<String>,
    /// State after, JSON text.
    pub after: Option<String>,
    /// Source address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Device identifier.
    pub device_id: Option<String>,
    /// The previous event's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 over this event's fields and `prev_hash`, hex.
    pub hash: String,
}

impl AuditEvent {
    /// Builds the event at position `seq` after `prev_hash`, and seals it with its hash.
    #[must_use]
    pub fn seal(seq: i64, id: Uuid, prev_hash: &str, change: &Change, ctx: &AuditContext) -> Self {
        let mut event = Self {
            seq,
            id,
            at: ctx.at,
            actor_kind: ctx.actor_kind.as_str().to_owned(),
            actor_id: ctx.actor_id.clone(),
            actor_name: ctx.actor_name.clone(),
            actor_auth: serde_json::to_string(&ctx.auth).unwrap_or_default(),
            action: change.action.as_str().to_owned(),
            target_type: change.action.target_type().as_str().to_owned(),
            target_id: change.target_id.clone(),
            before: change.before.as_ref().map(ToString::to_string),
            after: with_case(change.after.as_ref(), ctx.case).map(|after| after.to_string()),
            ip: ctx.ip.clone(),
            user_agent: ctx.user_agent.clone(),
            device_id: ctx.device_id.clone(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        event
    }

    /// The hash this event should carry, from its fields. Each field is length-prefixed
    /// and absent values are marked, so no two different events encode alike.
    #[must_use]
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |value: Option<&str>| match value {
            None => h.update([0u8]),
            Some(v) => {
                h.update([1u8]);
                h.update((v.len() as u64).to_be_bytes());
                h.update(v.as_bytes());
            }
        };
        field(Some("twofold-audit-v1"));
        field(Some(&self.seq.to_string()));
        field(Some(&self.id.to_string()));
        field(Some(&self.at.millis().to_string()));
        field(Some(&self.actor_kind));
        field(self.actor_id.as_deref());
        field(Some(&self.actor_name));
        field(Some(&self.actor_auth));
        field(Some(&self.action));
        field(Some(&self.target_type));
        field(self.target_id.as_deref());
        field(self.before.as_deref());
        field(self.after.as_deref());
        field(self.ip.as_deref());
        field(self.user_agent.as_deref());
        field(self.device_id.as_deref());
        field(Some(&self.prev_hash));
        hex::encode(h.finalize())
    }
}

/// The last link of the chain as the store recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Sequence number of the last event (0 when empty).
    pub seq: i64,
    /// Hash of the last event ([`GENESIS_HASH`] when empty).
    pub hash: String,
}

/// The first place the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("audit chain broken at event {seq}: {reason}")]
pub struct BrokenLink {
    /// The sequence number where verification failed.
    pub seq: i64,
    /// What is wrong there, in words.
    pub reason: String,
}

/// Walks events in stored order and finds the first broken link. Feed every event with
/// [`ChainVerifier::push`], then call [`ChainVerifier::finish`] with the stored head.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    last_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self { expected_seq: 1, last_hash: GENESIS_HASH.to_owned() }
    }
}

impl ChainVerifier {
    /// Checks the next event.
    ///
    /// # Errors
    /// The first broken link: a gap or reordering, a wrong back-link, or an edited event.
    pub fn push(&mut self, event: &AuditEvent) -> Result<(), BrokenLink> {
        let expected = self.expected_seq;
        let broken = |reason: String| BrokenLink { seq: expected, reason };
        if event.seq > expected {
            let missing = if event.seq - expected == 1 {
                format!("event {expected} is missing")
            } else {
                format!("events {expected}..{} are missing", event.seq - 1)
            };
            return Err(broken(format!("{missing} (deleted); the next stored event is {}", event.seq)));
        }
        if event.seq < expected {
            return Err(broken(format!(
                "event {} appears again or out of order where {expected} was expected",
                event.seq
            )));
        }
        if event.prev_hash != self.last_hash {
            return Err(broken(format!(
                "it does not link to event {} (an event before it was edited, inserted, deleted or reordered)",
                expected - 1
            )));
        }
        if event.compute_hash() != event.hash {
            return Err(broken(format!(
                "its content was changed after it was written (action now reads '{}')",
                event.action
            )));
        }
        self.last_hash.clone_from(&event.hash);
        self.expected_seq += 1;
        Ok(())
    }

    /// Checks that the chain ends where the store's head says it does.
    ///
    /// # Errors
    /// A truncated tail or a head that does not match the last event.
    pub fn finish(self, head: &ChainHead) -> Result<ChainHead, BrokenLink> {
        let last_seq = self.expected_seq - 1;
        if head.seq > last_seq {
            return Err(BrokenLink {
                seq: last_seq + 1,
                reason: format!("events {}..{} are missing (the log was truncated)", last_seq + 1, head.seq),
            });
        }
        if head.seq < last_seq || head.hash != self.last_hash {
            return Err(BrokenLink {
                seq: last_seq,
                reason: "the last event does not match the recorded chain head (events were appended outside Twofold)"
                    .into(),
            });
        }
        Ok(ChainHead { seq: last_seq, hash: self.last_hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let ctx = AuditContext::system("test", Timestamp(1000));
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let change = Change::new(AuditAction::UserCreate, Some(format!("u{seq}")))
                    .states(None, Some(serde_json::json!({"username": format!("u{seq}")})));
                let event = AuditEvent::seal(seq, Uuid::nil(), &prev, &change, &ctx);
                prev.clone_from(&event.hash);
                event
            })
            .collect()
    }

    fn verify(events: &[AuditEvent], head: &ChainHead) -> Result<ChainHead, BrokenLink> {
        let mut verifier = ChainVerifier::default();
        for e in events {
            verifier.push(e)?;
        }
        verifier.finish(head)
    }

    fn head_of(events: &[AuditEvent]) -> ChainHead {
        events
            .last()
            .map_or(ChainHead { seq: 0, hash: GENESIS_HASH.into() }, |e| ChainHead { seq: e.seq, hash: e.hash.clone() })
    }

    #[test]
    fn an_intact_chain_verifies() {
        let events = chain(5);
        assert_eq!(verify(&events, &head_of(&events)).unwrap().seq, 5);
        assert!(verify(&[], &head_of(&[])).is_ok());
    }

    #[test]
    fn an_edited_event_is_found() {
        let mut events = chain(5);
        let head = head_of(&events);
        events[2].after = Some(r#"{"username":"mallory"}"#.into());
        assert_eq!(verify(&events, &head).unwrap_err().seq, 3);
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
        let mut events = chain(5);
        let head = head_of(&events);
        events[2].action = "user.delete".into();
        events[2].hash = events[2].compute_hash();
        let broken = verify(&events, &head).unwrap_err();
        assert_eq!(broken.seq, 4);
        assert!(broken.reason.contains("does not link"));
    }

    #[test]
    fn a_deleted_event_is_found() {
        let mut events = chain(5);
        let head = head_of(&events);
        events.remove(1);
        let broken = verify(&events, &head).unwrap_err();
        assert_eq!(broken.seq, 2);
        assert!(broken.reason.contains("missing"));
    }

    #[test]
    fn reordered_events_are_found() {
        let mut events = chain(5);
        let head = head_of(&events);
        events.swap(1, 2);
        assert_eq!(verify(&events, &head).unwrap_err().seq, 2);
        // Renumbering the swapped events to hide the reorder still breaks the links.
        let mut events = chain(5);
        events.swap(1, 2);
        events[1].seq = 2;
        events[2].seq = 3;
        assert_eq!(verify(&events, &head).unwrap_err().seq, 2);
    }

    #[test]
    fn an_inserted_event_is_found() {
        let mut events = chain(5);
        let head = head_of(&events);
        let forged = AuditEvent::seal(
            3,
            Uuid::nil(),
            &events[1].hash,
            &Change::new(AuditAction::UserCreate, None),
            &AuditContext::system("x", Timestamp(0)),
        );
        events.insert(2, forged);
        for (i, e) in events.iter_mut().enumerate().skip(3) {
            e.seq = i64::try_from(i).unwrap() + 1;
        }
        assert_eq!(verify(&events, &head).unwrap_err().seq, 4);
    }

    #[test]
    fn a_truncated_tail_is_found_against_the_head() {
        let mut events = chain(5);
        let head = head_of(&events);
        events.truncate(3);
        let broken = verify(&events, &head).unwrap_err();
        assert_eq!(broken.seq, 4);
        assert!(broken.reason.contains("truncated"));
    }

    #[test]
    fn hashes_do_not_collide_on_field_boundaries() {
        let ctx = AuditContext::system("t", Timestamp(0));
        let with = |action: &str, target_type: &str| {
            let mut event =
                AuditEvent::seal(1, Uuid::nil(), GENESIS_HASH, &Change::new(AuditAction::UserCreate, None), &ctx);
            event.action = action.into();
            event.target_type = target_type.into();
            event.compute_hash()
        };
        assert_ne!(with("ab", "c"), with("a", "bc"));
    }
}
