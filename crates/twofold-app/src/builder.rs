//! Building the application once at start-up: what each capability service needs is given
//! here, and each service is made in dependency order (attempts and identities first, sign-in
//! last), so a service can only call the ones made before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use twofold_core::access::geo::Geolocator;
use twofold_core::clock::Clock;
use twofold_core::factors::one_time_codes::{FallbackPolicy, SmsGateway};
use twofold_core::mail::Mailer;
use twofold_core::store::Store;

use twofold_core::factors::access_pass::AccessPassPolicy;
use twofold_core::factors::first_enrolment::FirstEnrolmentPolicy;

use crate::access::ConditionalAccess;
use crate::approvals::Approvals;
use crate::cases::{Cases, HelpDeskPolicy};
use crate::emergency::{Emergency, EmergencyPolicy};
use crate::factors::{Factors, passkeys};
use crate::forward_auth::ForwardAuth;
use crate::identity::Identities;
use crate::identity::hasher::Hasher;
use crate::oidc::Provider;
use crate::rollout::Rollout;
use crate::signin::{Attempts, SignIn};
use crate::{App, AppSettings, SecretKeys, Shared};

/// What the application is built from; see [`App::builder`].
pub struct AppBuilder {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: AppSettings,
    keys: Option<SecretKeys>,
    mailer: Option<Arc<dyn Mailer>>,
    sms: Option<Arc<dyn SmsGateway>>,
    webauthn: Option<Arc<webauthn_rs::prelude::Webauthn>>,
    issuer: Option<String>,
    attestation: Option<passkeys::AttestationRule>,
    exception_max_days: u32,
    geo: Option<Arc<dyn Geolocator>>,
    forward_auth: twofold_core::forward_auth::Policy,
    fallback_policy: FallbackPolicy,
    verify_caller_limits: HashMap<String, i64>,
    access_pass_policy: AccessPassPolicy,
    first_enrolment: FirstEnrolmentPolicy,
    helpdesk: HelpDeskPolicy,
    emergency: EmergencyPolicy,
    deliverer: Option<Arc<dyn twofold_core::outbox::Deliverer>>,
}

impl AppBuilder {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: AppSettings,
        keys: Option<SecretKeys>,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
            keys,
            mailer: None,
            sms: None,
            webauthn: None,
            issuer: None,
            attestation: None,
            exception_max_days: twofold_core::rollout::exception::DEFAULT_MAX_DAYS,
            geo: None,
            forward_auth: twofold_core::forward_auth::Policy::default(),
            fallback_policy: FallbackPolicy::default(),
            verify_caller_limits: HashMap::new(),
            access_pass_policy: AccessPassPolicy::default(),
            first_enrolment: FirstEnrolmentPolicy::default(),
            helpdesk: HelpDeskPolicy::default(),
            emergency: EmergencyPolicy::default(),
            deliverer: None,
        }
    }

    /// Delivers the outbox (approval results to apps' callback URLs) through `deliverer`.
    #[must_use]
    pub fn with_deliverer(mut self, deliverer: Arc<dyn twofold_core::outbox::Deliverer>) -> Self {
        self.deliverer = Some(deliverer);
        self
    }

    /// Gives temporary access passes lifetimes within `policy`.
    #[must_use]
    pub const fn with_access_pass_policy(mut self, policy: AccessPassPolicy) -> Self {
        self.access_pass_policy = policy;
        self
    }

    /// Lets someone with no method enrol a first one as `policy` says (by default: with a
    /// code emailed to the address on file, from a named network, or with a pass).
    #[must_use]
    pub fn with_first_enrolment(mut self, policy: FirstEnrolmentPolicy) -> Self {
        self.first_enrolment = policy;
        self
    }

    /// Runs emergency access and break-glass watching under `policy`.
    #[must_use]
    pub fn with_emergency(mut self, policy: EmergencyPolicy) -> Self {
        self.emergency = policy;
        self
    }

    /// Works support cases under `policy` (operator scope, verification per tier, freshness).
    #[must_use]
    pub fn with_helpdesk(mut self, policy: HelpDeskPolicy) -> Self {
        self.helpdesk = policy;
        self
    }

    /// Allows these calling clients of the verify API (by caller name, `api_key:NAME` or
    /// `service:NAME`) this many failures before their calls are delayed: a trusted gateway
    /// verifying for many people fails more often than one person's browser.
    #[must_use]
    pub fn with_verify_caller_limits(mut self, limits: HashMap<String, i64>) -> Self {
        self.verify_caller_limits = limits;
        self
    }

    /// Accepts passkeys for the relying party at `public_url`.
    ///
    /// # Errors
    /// A public URL webauthn-rs cannot use.
    pub fn with_webauthn(mut self, public_url: &str) -> Result<Self, String> {
        self.webauthn = Some(Arc::new(passkeys::relying_party(public_url)?));
        Ok(self)
    }

    /// Issues tokens as `public_url` (the OpenID Connect issuer).
    #[must_use]
    pub fn with_issuer(mut self, public_url: &str) -> Self {
        self.issuer = Some(public_url.trim_end_matches('/').to_owned());
        self
    }

    /// Sends notifications through `mailer`.
    #[must_use]
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Lets campaign exceptions run at most `days` days.
    #[must_use]
    pub const fn with_exception_max_days(mut self, days: u32) -> Self {
        self.exception_max_days = days;
        self
    }

    /// Locates sign-ins with `geo` (country rules, new countries, impossible travel).
    #[must_use]
    pub fn with_geolocator(mut self, geo: Arc<dyn Geolocator>) -> Self {
        self.geo = Some(geo);
        self
    }

    /// Sends SMS codes through `gateway`.
    #[must_use]
    pub fn with_sms_gateway(mut self, gateway: Arc<dyn SmsGateway>) -> Self {
        self.sms = Some(gateway);
        self
    }

    /// Holds the tiers `policy` names to attested hardware keys from its trusted makers.
    ///
    /// # Errors
    /// A root that is not a PEM certificate, or a maker with no key models.
    pub fn with_attestation_policy(mut self, policy: &passkeys::AttestationPolicy) -> Result<Self, String> {
        self.attestation = policy.build()?;
        Ok(self)
    }

    /// Allows email and SMS codes as `policy` says (both are off by default).
    #[must_use]
    pub fn with_fallback_policy(mut self, policy: FallbackPolicy) -> Self {
        self.fallback_policy = policy;
        self
    }

    /// Uses `policy` for forward-auth requests (the default refuses every request).
    #[must_use]
    pub fn with_forward_auth(mut self, policy: twofold_core::forward_auth::Policy) -> Self {
        self.forward_auth = policy;
        self
    }

    /// Builds the application for the server: the master key, the WebAuthn relying party
    /// and the issuer must all be there, so nothing finds them missing at run time.
    ///
    /// # Errors
    /// Which of them is missing.
    pub fn build_for_server(self) -> Result<App, String> {
        let missing: Vec<&str> = [
            (self.keys.is_none(), "the master key"),
            (self.webauthn.is_none(), "the WebAuthn relying party (public URL)"),
            (self.issuer.is_none(), "the issuer (public URL)"),
        ]
        .into_iter()
        .filter_map(|(absent, what)| absent.then_some(what))
        .collect();
        if !missing.is_empty() {
            return Err(format!("cannot start without {}", missing.join(", ")));
        }
        Ok(self.build())
    }

    /// Builds the application: each capability service once, in dependency order. Admin
    /// verbs build it without the server's parts (a verb that needs the master key says so).
    #[must_use]
    pub fn build(self) -> App {
        let shared = Arc::new(Shared {
            store: self.store,
            clock: self.clock,
            settings: self.settings,
            mailer: self.mailer,
            security_team: self.emergency.security_team.clone(),
            sending: std::sync::Mutex::default(),
        });
        let hasher = Arc::new(Hasher::new(self.settings.hash_params));
        let attempts = Arc::new(Attempts { shared: Arc::clone(&shared) });
        let identity = Arc::new(Identities {
            shared: Arc::clone(&shared),
            hasher: Arc::clone(&hasher),
            api_key_cache: Mutex::default(),
        });
        let factors = Arc::new(Factors {
            shared: Arc::clone(&shared),
            identity: Arc::clone(&identity),
            attempts: Arc::clone(&attempts),
            keys: self.keys.clone(),
            webauthn: self.webauthn,
            attestation: self.attestation,
            sms: self.sms,
            fallback_policy: self.fallback_policy,
            verify_caller_limits: self.verify_caller_limits,
            access_pass_policy: self.access_pass_policy,
            first_enrolment: self.first_enrolment,
            access: std::sync::OnceLock::new(),
        });
        let rollout = Arc::new(Rollout {
            shared: Arc::clone(&shared),
            identity: Arc::clone(&identity),
            factors: Arc::clone(&factors),
            attempts: Arc::clone(&attempts),
            exception_max_days: self.exception_max_days,
        });
        let cases = Arc::new(Cases {
            shared: Arc::clone(&shared),
            factors: Arc::clone(&factors),
            policy: self.helpdesk,
            public_url: self.issuer.clone(),
        });
        let access = Arc::new(ConditionalAccess {
            shared: Arc::clone(&shared),
            identity: Arc::clone(&identity),
            factors: Arc::clone(&factors),
            rollout: Arc::clone(&rollout),
            attempts: Arc::clone(&attempts),
            cases: Arc::clone(&cases),
            geo: self.geo,
            policy_cache: Mutex::default(),
        });
        let _ = factors.access.set(Arc::downgrade(&access));
        let oidc = Arc::new(Provider {
            shared: Arc::clone(&shared),
            factors: Arc::clone(&factors),
            access: Arc::clone(&access),
            attempts: Arc::clone(&attempts),
            keys: self.keys,
            issuer_url: self.issuer.clone(),
            signing_cache: Mutex::default(),
            private_keys: Mutex::default(),
            client_cache: Mutex::default(),
        });
        let forward_auth = Arc::new(ForwardAuth {
            shared: Arc::clone(&shared),
            factors: Arc::clone(&factors),
            access: Arc::clone(&access),
            policy: self.forward_auth,
        });
        let emergency =
            Arc::new(Emergency { shared: Arc::clone(&shared), factors: Arc::clone(&factors), policy: self.emergency });
        let signin = Arc::new(SignIn {
            shared: Arc::clone(&shared),
            hasher,
            attempts: Arc::clone(&attempts),
            factors: Arc::clone(&factors),
            access: Arc::clone(&access),
            emergency: Arc::clone(&emergency),
        });
        let approvals =
            Arc::new(Approvals { shared: Arc::clone(&shared), oidc: Arc::clone(&oidc), deliverer: self.deliverer });
        App {
            shared,
            identity,
            factors,
            rollout,
            access,
            oidc,
            forward_auth,
            signin,
            attempts,
            cases,
            emergency,
            approvals,
        }
    }
}
