//! OpenID Connect ports: clients (with their secrets, consents and assertions) and what
//! tokens are signed with and stand for (signing keys, authorization codes, refresh tokens,
//! revocations).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::Timestamp;
use crate::audit::AuditContext;
use crate::oidc::{Client, Grant, RefreshRefusal, RefreshToken, SigningKey};

/// Registered clients, their secrets, the consents people gave them, and the client
/// assertions they presented.
///
/// Atomicity: a secret rotation keeps the previous secret working until its date in the same
/// update; a client assertion's `jti` is accepted once (a replay is refused on every node).
#[async_trait]
pub trait OidcClientStore: Send + Sync {
    /// Registers an OpenID Connect client (`client.create`). Conflict when the id is taken.
    async fn create_client(&self, client: &Client, ctx: &AuditContext) -> StoreResult<()>;
    /// Replaces a confidential client's secret; the old one keeps working until
    /// `previous_expires_at` (`client.secret_rotate`). False for an unknown or public client.
    async fn rotate_client_secret(
        &self,
        client_id: &str,
        new_hash: &str,
        previous_expires_at: Timestamp,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Stores `client`'s new name, redirect URIs, scopes, minimum strength and consent
    /// screen over the registration `before` (`client.update`, compare-and-swap on every one
    /// of those fields: false when any changed meanwhile or the client is gone).
    async fn update_client(&self, before: &Client, client: &Client, ctx: &AuditContext) -> StoreResult<bool>;
    /// Removes a client with its consents, authorization codes and refresh tokens, marking
    /// their families revoked so the access tokens they carry stop working (`client.remove`),
    /// in one transaction. False for an unknown client.
    async fn remove_client(&self, client_id: &str, now: Timestamp, ctx: &AuditContext) -> StoreResult<bool>;
    /// The client with this `client_id`.
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    /// Every client, by name.
    async fn clients(&self) -> StoreResult<Vec<Client>>;
    /// Records that a client got a token at `now`, unless that was already recorded after
    /// `unless_after` (so busy clients cause few writes). Not audited.
    async fn note_client_used(&self, client_id: &str, now: Timestamp, unless_after: Timestamp) -> StoreResult<()>;
    /// The scopes `user_id` allowed third-party client `client_id`, if they ever did.
    async fn consented_scopes(&self, user_id: Uuid, client_id: &str) -> StoreResult<Option<Vec<String>>>;
    /// Records that `user_id` allows `client_id` these scopes (replacing what they allowed
    /// before; `consent.grant`).
    async fn grant_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &[String],
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<()>;
    /// The third-party clients `user_id` allowed, with the scopes and when, newest first.
    async fn user_consents(&self, user_id: Uuid) -> StoreResult<Vec<crate::oidc::Consent>>;
    /// Withdraws what `user_id` allowed `client_id` (`consent.revoke`), in one transaction with
    /// its consequences: their authorization codes for it go, and the families of its
    /// refresh tokens for them are revoked (access tokens included). The next sign-in asks
    /// again. False when nothing was allowed.
    async fn revoke_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<bool>;
    /// Remembers a client assertion (`private_key_jwt`) by client and `jti` until it expires;
    /// false when it was presented before (a replay).
    async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

/// Token-signing keys, single-use authorization codes, rotating refresh tokens in families,
/// and revoked access tokens.
///
/// Atomicity: an authorization code and a refresh token are each used once
/// (compare-and-swap on `used_at`); a family's revocation marks the family, revokes its
/// refresh tokens and is audited in one transaction, and no token is stored into a revoked
/// family afterwards.
#[async_trait]
pub trait OidcTokenStore: Send + Sync {
    /// Token-signing keys, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Makes `key` the signing key for its algorithm, retiring the one before at
    /// `key.created_at` (`signing_key.rotate`).
    async fn add_signing_key(&self, key: &SigningKey, ctx: &AuditContext) -> StoreResult<()>;
    /// Keeps an authorization code's grant under the code's hash until `expires_at`.
    async fn put_authorization_code(
        &self,
        code_hash: &str,
        grant: &Grant,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Uses an authorization code once: `Ok(Ok(grant))` the first time within its life;
    /// `Ok(Err(true))` when it was used already (a replay), `Ok(Err(false))` when unknown or
    /// expired.
    async fn redeem_authorization_code(&self, code_hash: &str, now: Timestamp) -> StoreResult<Result<Grant, bool>>;
    /// Stores a new refresh token, unless its family has been revoked (false then): a token
    /// being issued while a replay revokes the family is never left behind alive.
    async fn put_refresh_token(&self, token: &RefreshToken) -> StoreResult<bool>;
    /// Uses a refresh token of `client_id` once (it is rotated; compare-and-swap on
    /// `used_at`). A used or revoked one presented again answers [`RefreshRefusal::Reused`]
    /// with its family, for the caller to revoke ([`OidcTokenStore::revoke_token_family`]);
    /// one of another client answers `OtherClient` and changes nothing.
    async fn use_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: Timestamp,
    ) -> StoreResult<Result<RefreshToken, RefreshRefusal>>;
    /// Revokes a token family — every refresh token in it, and (by the family's mark, which
    /// access tokens carry as `fid`) every access token issued from it — with its audit event
    /// (`oidc.token_family_revoke`, `reason`) in one transaction. Returns how many refresh
    /// tokens it revoked (used ones included). Idempotent.
    async fn revoke_token_family(
        &self,
        family_id: &str,
        reason: &str,
        now: Timestamp,
        ctx: &AuditContext,
    ) -> StoreResult<u64>;
    /// The families of `user_id`'s refresh tokens still live at `now` (not revoked, not
    /// expired), to revoke when the person's devices can no longer be trusted.
    async fn user_token_families(&self, user_id: Uuid, now: Timestamp) -> StoreResult<Vec<String>>;
    /// Whether a token family has been revoked (its access tokens are then dead too).
    async fn token_family_revoked(&self, family_id: &str) -> StoreResult<bool>;
    /// The refresh token with this hash if it is still usable at `now`.
    async fn live_refresh_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<RefreshToken>>;
    /// Revokes the family of a refresh token of `client_id` (its access tokens with it, as
    /// [`OidcTokenStore::revoke_token_family`] does, but audited by the caller as
    /// `oidc.revoke`); false when there is no such token.
    async fn revoke_refresh_family(&self, token_hash: &str, client_id: &str, now: Timestamp) -> StoreResult<bool>;
    /// Denies an access token (by `jti`) until it would have expired anyway.
    async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()>;
    /// Whether an access token was revoked.
    async fn access_token_revoked(&self, jti: &str) -> StoreResult<bool>;
}
