//! Changing registered apps after the fact: their name, redirect URIs, scopes, minimum
//! strength and consent screen; a new secret with an overlap; removal with everything it
//! holds (consents, codes, refresh tokens, and the access tokens of its token families).

use twofold_core::oidc::{self, Client};
use twofold_core::{Timestamp, ValidationErrors};

use super::Provider;
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta};

/// What `twofold client update` changes; `None` and empty lists leave a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    /// A new name.
    pub name: Option<String>,
    /// Redirect URIs to add.
    pub add_redirect_uris: Vec<String>,
    /// Redirect URIs to remove.
    pub remove_redirect_uris: Vec<String>,
    /// The scopes it may ask for, replacing the list (`openid` is always kept).
    pub scopes: Vec<String>,
    /// The weakest strength every sign-in must reach (`pwd` for none).
    pub min_acr: Option<String>,
    /// Whether people see a consent screen.
    pub third_party: Option<bool>,
}

impl Provider {
    /// Drops this node's cached copy of `client_id` (other nodes re-read within seconds).
    fn forget_client(&self, client_id: &str) {
        if let Ok(mut cache) = self.client_cache.lock() {
            cache.remove(client_id);
        }
    }

    /// An app (not a service account) by `client_id`.
    async fn app_client(&self, client_id: &str) -> AppResult<Client> {
        self.store.client(client_id).await?.filter(|c| !c.service).ok_or(AppError::NotFound("client"))
    }

    /// Applies `changes` to the app `client_id`; returns it as stored.
    ///
    /// # Errors
    /// An unknown app; a bad name, redirect URI or strength; no redirect URI left; changed
    /// meanwhile.
    pub async fn update_client(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        client_id: &str,
        changes: &ClientChanges,
    ) -> AppResult<Client> {
        let before = self.app_client(client_id).await?;
        let mut client = before.clone();
        let mut errors = ValidationErrors::default();
        if let Some(name) = &changes.name {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                errors.add("name", "must be 1–100 characters");
            }
            name.clone_into(&mut client.name);
        }
        for uri in &changes.add_redirect_uris {
            match oidc::check_redirect_uri(uri) {
                Ok(uri) if !client.redirect_uris.contains(&uri) => client.redirect_uris.push(uri),
                Ok(_) => {}
                Err(e) => errors.0.extend(e.0),
            }
        }
        for uri in &changes.remove_redirect_uris {
            if !client.redirect_uris.contains(uri) {
                errors.add("remove_redirect_uri", format!("'{uri}' is not one of the app's redirect URIs"));
            }
            client.redirect_uris.retain(|u| u != uri);
        }
        if client.redirect_uris.is_empty() {
            errors.add("redirect_uri", "at least one must remain");
        }
        if !changes.scopes.is_empty() {
            client.scopes.clone_from(&changes.scopes);
            if !client.scopes.iter().any(|s| s == "openid") {
                client.scopes.insert(0, "openid".into());
            }
        }
        if let Some(acr) = &changes.min_acr {
            if oidc::STRENGTHS.contains(&acr.as_str()) {
                client.min_acr = Some(acr.clone()).filter(|a| a != "pwd");
            } else {
                errors.add("min_acr", format!("'{acr}' is not one of: pwd, mfa, phr, phrh"));
            }
        }
        if let Some(third_party) = changes.third_party {
            client.consent_required = third_party;
        }
        errors.into_result()?;
        if !self.store.update_client(&before, &client, &self.audit_context(actor, meta)).await? {
            return Err(AppError::Refused(Refusal::DecidedMeanwhile));
        }
        self.forget_client(client_id);
        Ok(client)
    }

    /// Gives a confidential app a new secret; the current one keeps working for
    /// `overlap_secs` (at most 30 days). Returns the new secret and until when the old works.
    ///
    /// # Errors
    /// An unknown or public app; an overlap out of range.
    pub async fn rotate_client_secret(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        client_id: &str,
        overlap_secs: i64,
    ) -> AppResult<(String, Timestamp)> {
        let client = self.app_client(client_id).await?;
        if client.public || client.secret_hash.is_none() {
            return Err(ValidationErrors::one("client_id", "a public app has no secret to rotate").into());
        }
        let rotated = self.rotate_secret(actor, meta, &client, overlap_secs).await?;
        self.forget_client(client_id);
        Ok(rotated)
    }

    /// Removes the app `client_id` and everything it holds: people's consents, codes,
    /// refresh tokens, and (through its revoked token families) its access tokens.
    ///
    /// # Errors
    /// An unknown app (service accounts are not apps).
    pub async fn remove_client(&self, actor: &Actor, meta: &RequestMeta, client_id: &str) -> AppResult<()> {
        self.app_client(client_id).await?;
        if !self.store.remove_client(client_id, self.now(), &self.audit_context(actor, meta)).await? {
            return Err(AppError::NotFound("client"));
        }
        self.forget_client(client_id);
        Ok(())
    }
}
