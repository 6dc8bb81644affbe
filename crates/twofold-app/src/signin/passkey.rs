//! Username-less sign-in with a passkey alone, through the pipeline: phishing-resistant
//! (`phr`), or also hardware-bound (`phrh`) for an attested key.

use super::SignIn;
use twofold_core::signin::session::AuthContext;

use super::SignedIn;
use super::pipeline::{Attempt, Proof, Way};
use crate::{AppResult, RequestMeta};

impl SignIn {
    /// Signs in with a discoverable passkey's answer to the ceremony `ceremony`.
    ///
    /// # Errors
    /// [`crate::AppError::Unauthenticated`] for an answer that is not one of the person's
    /// passkeys (or names no one); throttling; a block by conditional access; storage failures.
    pub async fn passkey_sign_in(
        &self,
        ceremony: &str,
        answer: serde_json::Value,
        meta: &RequestMeta,
    ) -> AppResult<SignedIn> {
        let answer = self.factors.read_passkey_sign_in(ceremony, answer).await?;
        let user = answer.user.clone();
        let attempt = Attempt { username: &user.username, user: Some(&user), tried: &["hwk"], meta };
        self.sign_in_through(Way::Passkey, attempt, async || {
            Ok(self.factors.check_passkey_sign_in(answer).await?.map(|attested| Proof {
                methods: vec!["hwk"],
                auth: AuthContext {
                    amr: vec!["hwk".into(), "user".into(), "mfa".into()],
                    acr: if attested { "phrh" } else { "phr" }.into(),
                    auth_time: Some(self.now()),
                },
            }))
        })
        .await
    }
}
