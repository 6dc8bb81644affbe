//! The second step of sign-in, also a step-up of a signed-in session: a code from an app or
//! hardware token, an email or SMS code, a recovery code, or a passkey, through the pipeline.

use super::SignIn;
use twofold_core::signin::session::{AuthContext, RETIRED_FALLBACK_AMR};

use super::pipeline::{Attempt, Proof, Way};
use super::{Authenticated, SignedIn};
use crate::factors::mfa::SecondFactor;
use crate::{AppResult, RequestMeta};

impl SignIn {
    /// The second step of sign-in, or a step-up of a signed-in session: checks the factor,
    /// then replaces the session with a new one (new id) that records what was proved.
    ///
    /// # Errors
    /// [`crate::AppError::Unauthenticated`] for a wrong or used code, throttling, a block by
    /// conditional access, storage failures.
    pub async fn second_factor(
        &self,
        current: &Authenticated,
        factor: SecondFactor,
        trust_device: bool,
        meta: &RequestMeta,
    ) -> AppResult<SignedIn> {
        let user = &current.user;
        let attempted = match factor {
            SecondFactor::Code(_) => "otp",
            SecondFactor::RecoveryCode(_) => "recovery_code",
            SecondFactor::Passkey { .. } => "hwk",
        };
        let attempt = Attempt { username: &user.username, user: Some(user), tried: &["pwd", attempted], meta };
        self.sign_in_through(Way::SecondFactor { current, trust_device }, attempt, async || {
            // The method proved (RFC 8176) and the strength reached: a passkey is
            // phishing-resistant (`phr`), an attested hardware key also hardware-bound (`phrh`).
            // A retired email or SMS channel proves only enough to replace it: `acr` stays `pwd`.
            let outcome = match &factor {
                SecondFactor::Code(code) => self
                    .factors
                    .check_code(user, code)
                    .await?
                    .map(|(amr, retired)| (amr, if retired { "pwd" } else { "mfa" })),
                SecondFactor::RecoveryCode(code) => {
                    self.factors.use_recovery_code(current, code, meta).await?.map(|()| ("otp", "mfa"))
                }
                SecondFactor::Passkey { ceremony, answer } => self
                    .factors
                    .check_passkey(current, ceremony, answer.clone())
                    .await?
                    .map(|attested| ("hwk", if attested { "phrh" } else { "phr" })),
            };
            Ok(outcome.map(|(method, acr)| Proof {
                methods: vec!["pwd", method],
                auth: stepped_up(&current.session.auth, method, acr, self.now()),
            }))
        })
        .await
    }
}

/// The authentication context after proving `method` on top of `before`: earlier second
/// factors give way to this one, and `mfa` (or, through a retired channel, only
/// [`RETIRED_FALLBACK_AMR`]) is added.
fn stepped_up(before: &AuthContext, method: &str, acr: &str, now: twofold_core::Timestamp) -> AuthContext {
    let mut amr = before.amr.clone();
    amr.retain(|m| !["mfa", "otp", "hwk", "sms", RETIRED_FALLBACK_AMR].contains(&m.as_str()));
    let proof = if acr == "pwd" { RETIRED_FALLBACK_AMR } else { "mfa" };
    amr.extend([method.to_owned(), proof.to_owned()]);
    AuthContext { amr, acr: acr.into(), auth_time: Some(now) }
}
