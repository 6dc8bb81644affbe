//! The third-party apps a person allowed on the consent screen, and withdrawing that: the
//! app asks again next time, and the tokens it holds for the person stop working at once.

use twofold_core::oidc::Consent;

use super::Provider;
use crate::signin::Authenticated;
use crate::{AppResult, RequestMeta};

/// An app a person allowed, with its name.
#[derive(Debug, Clone)]
pub struct AllowedApp {
    /// What was allowed, and when.
    pub consent: Consent,
    /// The app's name (its `client_id` when it is gone).
    pub name: String,
}

impl Provider {
    /// The third-party apps `current` allowed, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn allowed_apps(&self, current: &Authenticated) -> AppResult<Vec<AllowedApp>> {
        let mut apps = Vec::new();
        for consent in self.store.user_consents(current.user.id).await? {
            let name =
                self.store.client(&consent.client_id).await?.map_or_else(|| consent.client_id.clone(), |c| c.name);
            apps.push(AllowedApp { consent, name });
        }
        Ok(apps)
    }

    /// Withdraws what `current` allowed `client_id`, and revokes that app's refresh-token
    /// families for them (their access tokens with them); false when nothing was allowed.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn withdraw_consent(
        &self,
        current: &Authenticated,
        client_id: &str,
        meta: &RequestMeta,
    ) -> AppResult<bool> {
        let ctx = self.audit_context(&current.actor(), meta);
        Ok(self.store.revoke_consent(current.user.id, client_id, self.now(), &ctx).await?)
    }
}
