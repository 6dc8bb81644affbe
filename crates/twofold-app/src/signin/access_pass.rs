//! Signing in with a temporary access pass, through the pipeline: the session it starts
//! proves the pass alone (`amr` `tap`, `acr` `pwd`), opens Security info only, and ends when
//! the pass does at the latest. Unknown people, wrong passes and used ones get the same answer.

use super::SignIn;
use twofold_core::factors::access_pass::ACCESS_PASS_AMR;
use twofold_core::identity::{User, normalize_username};
use twofold_core::signin::FailureReason;
use twofold_core::signin::session::AuthContext;
use twofold_core::signin::throttle::same_network;

use super::SignedIn;
use super::pipeline::{Attempt, Proof, Way};
use crate::{AppResult, RequestMeta};

impl SignIn {
    /// Checks `username`'s temporary access pass `passcode`, using it (once, for a single-use
    /// pass), and starts a session limited to Security info.
    ///
    /// # Errors
    /// [`crate::AppError::Unauthenticated`] for every kind of refusal alike; throttling; a
    /// block by conditional access; storage failures.
    pub async fn sign_in_with_access_pass(
        &self,
        username: &str,
        passcode: &str,
        meta: &RequestMeta,
    ) -> AppResult<SignedIn> {
        let username = normalize_username(username);
        let user = if username.is_empty() || username.len() > 64 {
            None
        } else {
            self.store.user_by_username(&username).await?
        };
        let user = user.filter(User::may_sign_in);
        let now = self.now();
        // The pass's end bounds the session; a wrong pass fails the check below anyway.
        // The same reads and the same hashing for an unknown person (under a nil id that owns
        // no pass), so the answer's timing does not tell who exists.
        let owner = user.as_ref().map_or(uuid::Uuid::nil(), |u| u.id);
        let passes = self.store.access_passes(owner).await?;
        let until = passes.iter().filter(|p| p.is_usable(now)).map(|p| p.expires_at).max().unwrap_or(now);
        // Whether the person ever signed in from this network, asked before this sign-in adds
        // it: a pass used from a network never seen for them is told to the security team.
        let new_network = match (&user, meta.ip.as_deref()) {
            (Some(u), Some(ip)) => {
                !self.store.sign_in_addresses(u.id, 500).await?.iter().any(|seen| same_network(seen, ip))
            }
            _ => false,
        };
        let attempt = Attempt { username: &username, user: user.as_ref(), tried: &[ACCESS_PASS_AMR], meta };
        let signed_in = self
            .sign_in_through(Way::AccessPass { until }, attempt, async || {
                let Some(user) = &user else {
                    self.factors.hash_for_nobody(passcode)?;
                    return Ok(Err(FailureReason::UnknownUser));
                };
                Ok(match self.factors.use_access_pass(user, passcode, meta).await? {
                    Some(_) => Ok(Proof {
                        methods: vec![ACCESS_PASS_AMR],
                        auth: AuthContext {
                            amr: vec![ACCESS_PASS_AMR.into()],
                            acr: "pwd".into(),
                            auth_time: Some(self.now()),
                        },
                    }),
                    None => Err(FailureReason::WrongCode),
                })
            })
            .await?;
        if new_network {
            self.emergency.alert(
                &format!("Temporary access pass used from a new network: {}", signed_in.user.username),
                format!(
                    "{} signed in with a temporary access pass at {} from {}, a network none of their earlier sign-ins came from. If the help desk did not expect this, end the pass (twofold case revoke-pass) and look at the case.\n",
                    signed_in.user.username,
                    self.now(),
                    meta.ip.as_deref().unwrap_or("-")
                ),
            );
        }
        Ok(signed_in)
    }
}
