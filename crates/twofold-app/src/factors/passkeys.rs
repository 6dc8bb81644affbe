//! Passkeys and security keys (WebAuthn, through webauthn-rs): registration on the Security
//! info page, use as the second step of sign-in, and username-less sign-in with a
//! discoverable credential. Ceremony state stays server-side, keyed by the session (or by a
//! one-time ceremony id before sign-in), and each challenge is answered at most once.

use super::Factors;
use serde::{Serialize, de::DeserializeOwned};
use twofold_core::factors::authenticator::{self, Authenticator, AuthenticatorKind};
use twofold_core::mail;
use twofold_core::signin::FailureReason;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AttestationCaList, AttestationCaListBuilder, AttestedPasskeyRegistration, DiscoverableAuthentication,
    DiscoverableKey, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};

use crate::signin::{Authenticated, SignedIn};
use crate::{AppError, AppResult, RequestMeta};

/// How long a ceremony may take between the options and the answer.
const CEREMONY_SECS: i64 = 5 * 60;

/// What the browser needs to run a ceremony: the id to answer with and the options.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyOptions {
    /// Send back with the answer.
    pub ceremony: String,
    /// For `navigator.credentials.create/get` (`publicKey` in WebAuthn JSON form).
    pub options: serde_json::Value,
}

/// A maker of security keys whose attestation Twofold trusts: its attestation root and the
/// models (AAGUIDs) it vouches for.
#[derive(Debug, Clone)]
pub struct TrustedKeyMaker {
    /// The attestation root certificate, PEM.
    pub ca_pem: Vec<u8>,
    /// The key models accepted under this root.
    pub aaguids: Vec<Uuid>,
    /// What people call them (e.g. "YubiKey 5 Series").
    pub description: String,
}

/// Which identities must register attested hardware keys, and whose attestation counts.
#[derive(Debug, Clone)]
pub struct AttestationPolicy {
    /// The trusted makers; with none, no tier can be held to attestation.
    pub makers: Vec<TrustedKeyMaker>,
    /// Tiers whose new passkeys must be attested hardware keys (default: `privileged`).
    pub tiers: Vec<twofold_core::identity::Tier>,
}

/// The checked form of an [`AttestationPolicy`].
pub(crate) struct AttestationRule {
    list: AttestationCaList,
    tiers: Vec<twofold_core::identity::Tier>,
}

impl AttestationPolicy {
    /// Parses the roots into webauthn-rs's list.
    ///
    /// # Errors
    /// A certificate that is not PEM, or a maker with no models.
    pub(crate) fn build(&self) -> Result<Option<AttestationRule>, String> {
        if self.makers.is_empty() {
            return Ok(None);
        }
        let mut builder = AttestationCaListBuilder::new();
        for maker in &self.makers {
            if maker.aaguids.is_empty() {
                return Err(format!("{}: list the key models (AAGUIDs) accepted", maker.description));
            }
            for aaguid in &maker.aaguids {
                builder
                    .insert_device_pem(&maker.ca_pem, *aaguid, maker.description.clone(), Default::default())
                    .map_err(|e| format!("{}: not a PEM certificate ({e:?})", maker.description))?;
            }
        }
        Ok(Some(AttestationRule { list: builder.build(), tiers: self.tiers.clone() }))
    }
}

/// The relying party for a public URL: its host is the RP id, the URL the allowed origin.
///
/// # Errors
/// A URL without a host, or one webauthn-rs refuses.
pub fn relying_party(public_url: &str) -> Result<Webauthn, String> {
    let origin = Url::parse(public_url).map_err(|e| format!("public URL: {e}"))?;
    let rp_id = origin.host_str().ok_or("the public URL has no host")?.to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|b| b.rp_name("Twofold").build())
        .map_err(|e| format!("WebAuthn relying party: {e}"))
}

fn to_json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.to_string()))
}

fn from_json<T: DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_str(text).map_err(|e| AppError::Internal(e.to_string()))
}

/// Reads the browser's answer; a malformed one is the caller's mistake.
fn parse_answer<T: DeserializeOwned>(answer: serde_json::Value) -> AppResult<T> {
    serde_json::from_value(answer)
        .map_err(|e| twofold_core::ValidationErrors::one("credential", format!("is malformed: {e}")).into())
}

impl Factors {
    fn webauthn(&self) -> AppResult<&Webauthn> {
        self.webauthn.as_deref().ok_or_else(|| AppError::Internal("WebAuthn is not configured".into()))
    }

    async fn store_ceremony<T: Serialize>(
        &self,
        session_hash: Option<&str>,
        purpose: &str,
        state: &T,
    ) -> AppResult<String> {
        let id = twofold_core::secret::random_token();
        let now = self.now();
        self.store
            .put_ceremony(&id, session_hash, purpose, &to_json(state)?, now, now.plus_seconds(CEREMONY_SECS))
            .await?;
        Ok(id)
    }

    /// Takes a ceremony's state, checking it belongs to `session_hash` (when bound).
    async fn take_ceremony<T: DeserializeOwned>(
        &self,
        id: &str,
        purpose: &str,
        session_hash: Option<&str>,
    ) -> AppResult<T> {
        let (bound, state) =
            self.store.take_ceremony(id, purpose, self.now()).await?.ok_or_else(|| {
                twofold_core::ValidationErrors::one("ceremony", "expired or already used; start again")
            })?;
        if bound.as_deref() != session_hash {
            return Err(twofold_core::ValidationErrors::one("ceremony", "belongs to another session").into());
        }
        from_json(&state)
    }

    /// The user's passkeys with the authenticators that hold them.
    async fn passkeys(&self, user_id: Uuid) -> AppResult<Vec<(Authenticator, Passkey)>> {
        let mut keys = Vec::new();
        for a in self
            .store
            .authenticators(user_id)
            .await?
            .into_iter()
            .filter(|a| a.is_confirmed() && a.kind == AuthenticatorKind::Webauthn)
        {
            if let Some(credential) = &a.credential {
                let passkey: Passkey = from_json(credential)?;
                keys.push((a, passkey));
            }
        }
        Ok(keys)
    }

    /// The trusted attestation roots when `user`'s tier must register attested keys.
    fn required_attestation(&self, user: &twofold_core::identity::User) -> Option<&AttestationCaList> {
        self.attestation.as_ref().filter(|rule| rule.tiers.contains(&user.tier)).map(|rule| &rule.list)
    }

    /// Starts registering a passkey or security key; asks for a discoverable credential so it
    /// can later sign in without a username. Where the user's tier must use attested hardware
    /// keys, asks for direct attestation instead.
    ///
    /// # Errors
    /// Step-up required; WebAuthn not configured.
    pub async fn begin_passkey_registration(&self, current: &Authenticated) -> AppResult<PasskeyOptions> {
        self.require_fresh_mfa(current).await?;
        let existing =
            self.passkeys(current.user.id).await?.into_iter().map(|(_, p)| p.cred_id().clone()).collect::<Vec<_>>();
        let user = &current.user;
        if let Some(roots) = self.required_attestation(user) {
            let (options, state) = self
                .webauthn()?
                .start_attested_passkey_registration(
                    user.id,
                    &user.username,
                    &user.display_name,
                    Some(existing),
                    roots.clone(),
                    None,
                )
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let options = serde_json::to_value(&options.public_key).map_err(|e| AppError::Internal(e.to_string()))?;
            let ceremony = self
                .store_ceremony::<AttestedPasskeyRegistration>(
                    Some(&current.session.id_hash),
                    "register_attested",
                    &state,
                )
                .await?;
            return Ok(PasskeyOptions { ceremony, options });
        }
        let (options, state) = self
            .webauthn()?
            .start_passkey_registration(user.id, &user.username, &user.display_name, Some(existing))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        // Ask for a discoverable credential (webauthn-rs leaves it optional), so the passkey can
        // sign in without a username; the server-side checks are the same either way.
        let mut options = serde_json::to_value(&options.public_key).map_err(|e| AppError::Internal(e.to_string()))?;
        options["authenticatorSelection"]["residentKey"] = serde_json::json!("required");
        options["authenticatorSelection"]["requireResidentKey"] = serde_json::json!(true);
        let ceremony =
            self.store_ceremony::<PasskeyRegistration>(Some(&current.session.id_hash), "register", &state).await?;
        Ok(PasskeyOptions { ceremony, options })
    }

    /// Finishes registering: checks the authenticator's answer and stores the credential.
    /// The registration ceremony is itself a verified use of the key (user verification
    /// required), so the passkey counts at once. When it `replaces` one of the user's methods
    /// (a new security key), that method is removed in the same step.
    ///
    /// # Errors
    /// A malformed or failed answer, an expired ceremony, an invalid name, an unknown method
    /// to replace.
    pub async fn finish_passkey_registration(
        &self,
        current: &Authenticated,
        ceremony: &str,
        name: &str,
        answer: serde_json::Value,
        replaces: Option<Uuid>,
        meta: &RequestMeta,
    ) -> AppResult<Option<SignedIn>> {
        let name = authenticator::check_name(name)?;
        let replaced = self.check_confirmation(current, replaces, Uuid::nil()).await?;
        let session = Some(current.session.id_hash.as_str());
        let credential: RegisterPublicKeyCredential = parse_answer(answer)?;
        let (passkey, attested) = if self.required_attestation(&current.user).is_some() {
            let state: AttestedPasskeyRegistration = self.take_ceremony(ceremony, "register_attested", session).await?;
            let key = self.webauthn()?.finish_attested_passkey_registration(&credential, &state).map_err(|e| {
                twofold_core::ValidationErrors::one(
                    "credential",
                    format!("was not accepted: your account needs a security key from a trusted maker ({e})"),
                )
            })?;
            (Passkey::from(&key), true)
        } else {
            let state: PasskeyRegistration = self.take_ceremony(ceremony, "register", session).await?;
            let key = self
                .webauthn()?
                .finish_passkey_registration(&credential, &state)
                .map_err(|e| twofold_core::ValidationErrors::one("credential", format!("was not accepted: {e}")))?;
            (key, false)
        };
        let now = self.now();
        let a = Authenticator {
            id: Uuid::now_v7(),
            user_id: Some(current.user.id),
            kind: AuthenticatorKind::Webauthn,
            name,
            serial: None,
            destination: None,
            attested,
            credential: Some(to_json(&passkey)?),
            otp: None,
            last_used_step: None,
            drift_steps: 0,
            sealed_secret: Vec::new(),
            created_at: now,
            confirmed_at: None,
            last_used_at: None,
        };
        let ctx = self.audit_context(&current.actor(), meta);
        self.store.create_authenticator(&a, &ctx).await?;
        if let Err(refused) = self.confirm_new_method(current, &a, 0, meta).await {
            self.store.remove_authenticator(&a, &ctx).await?;
            return Err(refused);
        }
        self.notify(mail::method_added(&current.user, a.kind.label(), &a.name, now));
        self.retire(current, replaced, meta).await?;
        self.after_first_method(current, "hwk", meta).await
    }

    /// Starts using a passkey as the second step (or to step up).
    ///
    /// # Errors
    /// No passkey registered; WebAuthn not configured.
    pub async fn begin_passkey_second_factor(&self, current: &Authenticated) -> AppResult<PasskeyOptions> {
        let keys: Vec<Passkey> = self.passkeys(current.user.id).await?.into_iter().map(|(_, p)| p).collect();
        if keys.is_empty() {
            return Err(AppError::NotFound("passkey"));
        }
        let (options, state) =
            self.webauthn()?.start_passkey_authentication(&keys).map_err(|e| AppError::Internal(e.to_string()))?;
        let ceremony = self
            .store_ceremony::<PasskeyAuthentication>(Some(&current.session.id_hash), "authenticate", &state)
            .await?;
        Ok(PasskeyOptions { ceremony, options: serde_json::to_value(&options.public_key).unwrap_or_default() })
    }

    /// Checks a passkey answer for the second step; updates the stored credential (sign
    /// counter, backup state). Whether the key is an attested hardware key; `Err(reason)` for
    /// an answer that does not verify.
    pub(crate) async fn check_passkey(
        &self,
        current: &Authenticated,
        ceremony: &str,
        answer: serde_json::Value,
    ) -> AppResult<Result<bool, FailureReason>> {
        let state: PasskeyAuthentication =
            self.take_ceremony(ceremony, "authenticate", Some(&current.session.id_hash)).await?;
        let credential: PublicKeyCredential = parse_answer(answer)?;
        let Ok(result) = self.webauthn()?.finish_passkey_authentication(&credential, &state) else {
            return Ok(Err(FailureReason::WrongCode));
        };
        for (a, mut passkey) in self.passkeys(current.user.id).await? {
            if passkey.update_credential(&result).is_some() {
                self.store.update_credential(a.id, &to_json(&passkey)?, self.now()).await?;
                return Ok(Ok(a.attested));
            }
        }
        Ok(Err(FailureReason::WrongCode))
    }

    /// Starts a username-less sign-in with a discoverable passkey.
    ///
    /// # Errors
    /// WebAuthn not configured.
    pub async fn begin_passkey_sign_in(&self) -> AppResult<PasskeyOptions> {
        let (options, state) =
            self.webauthn()?.start_discoverable_authentication().map_err(|e| AppError::Internal(e.to_string()))?;
        let ceremony = self.store_ceremony::<DiscoverableAuthentication>(None, "sign_in", &state).await?;
        Ok(PasskeyOptions { ceremony, options: serde_json::to_value(&options.public_key).unwrap_or_default() })
    }

    /// Reads a username-less passkey answer to the sign-in ceremony `ceremony`: whose
    /// passkey it claims to be. Nothing is proved yet ([`Self::check_passkey_sign_in`] does).
    ///
    /// # Errors
    /// [`AppError::Unauthenticated`] for an answer naming no one who may sign in; an unknown
    /// or expired ceremony; a malformed answer.
    pub(crate) async fn read_passkey_sign_in(
        &self,
        ceremony: &str,
        answer: serde_json::Value,
    ) -> AppResult<PasskeyAnswer> {
        let state: DiscoverableAuthentication = self.take_ceremony(ceremony, "sign_in", None).await?;
        let credential: PublicKeyCredential = parse_answer(answer)?;
        let user_id = self
            .webauthn()?
            .identify_discoverable_authentication(&credential)
            .map(|(id, _)| id)
            .map_err(|_| AppError::Unauthenticated)?;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .filter(twofold_core::identity::User::may_sign_in)
            .ok_or(AppError::Unauthenticated)?;
        Ok(PasskeyAnswer { user, credential, state })
    }

    /// Checks a passkey answer read by [`Self::read_passkey_sign_in`] against the person's
    /// registered passkeys, keeping its signature counter; whether the key is attested.
    pub(crate) async fn check_passkey_sign_in(&self, answer: PasskeyAnswer) -> AppResult<Result<bool, FailureReason>> {
        let PasskeyAnswer { user, credential, state } = answer;
        let presented = credential.get_credential_id().to_vec();
        let matching = self
            .passkeys(user.id)
            .await?
            .into_iter()
            .find(|(_, p)| AsRef::<[u8]>::as_ref(p.cred_id()) == presented.as_slice());
        let webauthn = self.webauthn()?;
        let verified = match &matching {
            Some((_, passkey)) => {
                webauthn.finish_discoverable_authentication_v2(&credential, state, DiscoverableKey::from(passkey)).ok()
            }
            None => None,
        };
        let (Some(result), Some((a, mut passkey))) = (verified, matching) else {
            return Ok(Err(FailureReason::WrongCode));
        };
        if passkey.update_credential(&result).is_some() {
            self.store.update_credential(a.id, &to_json(&passkey)?, self.now()).await?;
        }
        Ok(Ok(a.attested))
    }
}

/// A username-less passkey answer, read but not yet checked.
pub(crate) struct PasskeyAnswer {
    /// Whose passkey it claims to be.
    pub(crate) user: twofold_core::identity::User,
    credential: PublicKeyCredential,
    state: DiscoverableAuthentication,
}
