//! Factors: what a person has registered and proving it (`mfa`), adding and changing
//! methods (`enrolment`), passkeys and attestation, hardware tokens, one-time codes sent by
//! email or SMS, and temporary access passes with the first-method rule (`access_passes`).

pub mod access_passes;
pub(crate) mod enrolment;
pub mod hardware_tokens;
pub mod mfa;
mod on_behalf;
pub mod one_time_codes;
pub mod passkeys;

use std::collections::HashMap;
use std::sync::Arc;

use twofold_core::factors::access_pass::AccessPassPolicy;
use twofold_core::factors::first_enrolment::FirstEnrolmentPolicy;
use twofold_core::factors::one_time_codes::{FallbackPolicy, SmsGateway};

use crate::identity::Identities;
use crate::signin::Attempts;
use crate::{SecretKeys, Shared};

/// The factors capability: what a person has registered, proving it, adding and changing
/// methods, passkeys, hardware tokens, email and SMS codes, and the verify API.
pub struct Factors {
    pub(crate) shared: Arc<Shared>,
    pub(crate) identity: Arc<Identities>,
    pub(crate) attempts: Arc<Attempts>,
    /// Absent only for admin verbs run where no master key file exists yet.
    pub(crate) keys: Option<SecretKeys>,
    /// The WebAuthn relying party (for the public URL); absent only for admin verbs.
    pub(crate) webauthn: Option<Arc<webauthn_rs::prelude::Webauthn>>,
    /// Which tiers must register attested hardware keys, and whose attestation counts.
    pub(crate) attestation: Option<passkeys::AttestationRule>,
    /// Absent when no SMS webhook is configured: SMS codes cannot be sent.
    pub(crate) sms: Option<Arc<dyn SmsGateway>>,
    /// Where email and SMS codes are allowed.
    pub(crate) fallback_policy: FallbackPolicy,
    /// Failures allowed per calling client of the verify API before its calls are delayed,
    /// by caller name (`api_key:NAME`, `service:NAME`); others get the per-source default.
    pub(crate) verify_caller_limits: HashMap<String, i64>,
    /// How long temporary access passes may live.
    pub(crate) access_pass_policy: AccessPassPolicy,
    /// What someone with no method must prove, besides the password, to enrol a first one.
    pub(crate) first_enrolment: FirstEnrolmentPolicy,
    /// Conditional access, bound once when the app is built (it stands on factors, so it
    /// cannot be handed in at construction): asked whether the policy in force sets the
    /// first-method rule for a person where they are.
    pub(crate) access: std::sync::OnceLock<std::sync::Weak<crate::access::ConditionalAccess>>,
}

crate::reads_shared!(Factors);

impl Factors {
    /// The secret keys, or a clear error where the master key is not available.
    pub(crate) fn keys(&self) -> crate::AppResult<&SecretKeys> {
        crate::require_keys(self.keys.as_ref())
    }
}
