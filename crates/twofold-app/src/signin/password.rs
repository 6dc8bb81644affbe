//! The password step: the first way in. Unknown users, wrong passwords and disabled accounts
//! get the same answer after the same work: an unknown user's attempt is checked against a
//! dummy hash so its timing matches.

use super::SignIn;
use std::sync::OnceLock;

use twofold_core::audit::AuditAction;
use twofold_core::identity::User;
use twofold_core::identity::normalize_username;
use twofold_core::identity::password::{hash_password, needs_rehash};
use twofold_core::signin::FailureReason;
use twofold_core::signin::session::AuthContext;

use super::SignedIn;
use super::pipeline::{Attempt, Proof, Way};
use crate::{Actor, AppResult, RequestMeta};

/// A hash of a fixed password, made once with the configured parameters, that unknown
/// usernames are checked against.
fn dummy_hash(signin: &SignIn) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("twofold-dummy-password", signin.settings.hash_params).unwrap_or_default())
}

impl SignIn {
    /// Checks a username and password and starts a session (or one awaiting its second step).
    ///
    /// # Errors
    /// [`crate::AppError::Unauthenticated`] for every kind of refusal alike; throttling; a
    /// block by conditional access; storage failures.
    pub async fn sign_in(&self, username: &str, password: String, meta: &RequestMeta) -> AppResult<SignedIn> {
        let username = normalize_username(username);
        let credentials = if username.is_empty() || username.len() > 64 {
            None
        } else {
            self.store.user_credentials(&username).await?
        };
        let (user, stored_hash) = credentials.map_or((None, None), |(user, hash)| (Some(user), hash));
        let rehash = stored_hash
            .as_deref()
            .is_some_and(|h| needs_rehash(h, self.settings.hash_params))
            .then(|| password.clone());
        let attempt = Attempt { username: &username, user: user.as_ref(), tried: &["pwd"], meta };
        self.sign_in_through(Way::Password { rehash }, attempt, async || {
            let hash_to_check = stored_hash.clone().unwrap_or_else(|| dummy_hash(self).to_owned());
            let matches = self.hasher.verify_password(password, hash_to_check).await?;
            Ok(match (&user, &stored_hash) {
                (None, _) => Err(FailureReason::UnknownUser),
                (Some(_), None) => Err(FailureReason::NoPassword),
                (Some(_), Some(_)) if !matches => Err(FailureReason::WrongPassword),
                (Some(u), Some(_)) if !u.may_sign_in() => Err(FailureReason::AccountDisabled),
                _ => Ok(Proof {
                    methods: vec!["pwd"],
                    auth: AuthContext { amr: vec!["pwd".into()], acr: "pwd".into(), auth_time: Some(self.now()) },
                }),
            })
        })
        .await
    }

    /// Re-hashes a password made under older parameters. A failure here only logs:
    /// the sign-in itself already succeeded.
    pub(super) async fn rehash(&self, user: &User, password: String, actor: &Actor, meta: &RequestMeta) {
        let Ok(hash) = self.hasher.hash_password(password).await else { return };
        if let Err(e) = self
            .store
            .set_password_hash(user.id, &hash, AuditAction::UserPasswordRehash, &self.audit_context(actor, meta))
            .await
        {
            tracing::warn!(user = %user.username, error = %e, "password re-hash not stored");
        }
    }
}
