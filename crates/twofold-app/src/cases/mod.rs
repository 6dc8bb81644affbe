//! Help-desk support cases: opening, reading and listing them, who may work them, and the
//! one way every step is written (compare-and-swap on the case's version, with its audit
//! event). Verification steps are in `verify` (codes, a second operator) and `review` (the
//! manager, HR), what a verified case unlocks in `actions`, overdue steps in `escalation`.
//!
//! THREATS: social engineering of the help desk. Every rule is the core's
//! (`twofold_core::cases`); here each step loads the case and the person afresh, checks the
//! operator's scope and freshness, asks the case, and stores the result.

mod actions;
mod detection;
mod escalation;
mod hr_system;
mod review;
mod verify;

use std::sync::Arc;

use twofold_core::audit::{AuditAction, Change};
use twofold_core::cases::metrics::{self, CaseMetrics};
use twofold_core::cases::scope::{self, Operator, OperatorScope, Scopes};
use twofold_core::cases::verification::{VerificationPolicy, VerificationStatus};
use twofold_core::cases::{Case, CaseEvent, CaseKind};
use twofold_core::identity::{Tier, User, normalize_username};
use twofold_core::signin::session::FRESH_MFA_SECS;
use twofold_core::store::CaseFilter;
use uuid::Uuid;

pub use actions::PassIssued;
pub use hr_system::HR_SYSTEM_ACTOR;
pub use review::Reviewer;

use crate::factors::Factors;
use crate::signin::Authenticated;
use crate::{Actor, AppError, AppResult, Refusal, RequestMeta, Shared};

/// How the help desk works: whom operators serve, what verification each tier needs, and
/// how recent an operator's own phishing-resistant proof must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpDeskPolicy {
    /// The tiers (and departments, groups) operators serve: everyone's, and named operators' own.
    pub scopes: Scopes,
    /// The verification each tier needs.
    pub verification: VerificationPolicy,
    /// Seconds within which an operator must have proved a passkey or security key.
    pub operator_fresh_secs: i64,
    /// Where overdue steps are reported (the help desk's team lead).
    pub team_lead: Option<String>,
    /// Where HR is asked to attest a caller.
    pub hr_email: Option<String>,
    /// The HR system's Ed25519 public key (32 bytes), when it may attest by a signed call.
    pub hr_system_public_key: Option<Vec<u8>>,
}

impl Default for HelpDeskPolicy {
    fn default() -> Self {
        Self {
            scopes: Scopes::default(),
            verification: VerificationPolicy::default(),
            operator_fresh_secs: FRESH_MFA_SECS,
            team_lead: None,
            hr_email: None,
            hr_system_public_key: None,
        }
    }
}

/// Someone allowed to work cases now, with the audit actor their steps are recorded as.
#[derive(Debug, Clone)]
pub struct CaseOperator {
    pub(crate) operator: Operator,
    pub(crate) actor: Actor,
}

impl CaseOperator {
    /// The local admin CLI, run by `actor` (the machine's administrator, who holds the
    /// database itself): it serves every tier the help desk serves, and still cannot skip
    /// verification, approve its own case, or act out of the verification policy.
    #[must_use]
    pub fn cli(actor: &Actor) -> Self {
        Self {
            operator: Operator {
                id: None,
                key: actor.name.clone(),
                name: actor.name.clone(),
                tier: None,
                roles: Vec::new(),
            },
            actor: actor.clone(),
        }
    }

    /// The name recorded on the case.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.operator.name
    }

    fn id(&self) -> Option<String> {
        Some(self.operator.key.clone())
    }

    fn key(&self) -> &str {
        &self.operator.key
    }
}

/// A case with where its verification stands.
#[derive(Debug, Clone)]
pub struct CaseView {
    /// The case.
    pub case: Case,
    /// Verification against the target's tier; `None` when the tier is not served.
    pub verification: Option<VerificationStatus>,
}

/// The help-desk capability.
pub struct Cases {
    pub(crate) shared: Arc<Shared>,
    pub(crate) factors: Arc<Factors>,
    pub(crate) policy: HelpDeskPolicy,
    /// The public URL, for links in mail (a manager's review page).
    pub(crate) public_url: Option<String>,
}

crate::reads_shared!(Cases);

impl Cases {
    /// The operator a signed-in person is, if they may work cases now: the help-desk or
    /// admin role, and their own passkey or security key proved within the freshness.
    ///
    /// # Errors
    /// [`Refusal::OutOfScope`] without the role; [`Refusal::OperatorStepUp`] without a fresh
    /// phishing-resistant proof.
    pub fn operator(&self, current: &Authenticated) -> AppResult<CaseOperator> {
        let operator = Operator::person(&current.user);
        if !operator.works_cases() {
            return Err(AppError::Refused(Refusal::OutOfScope(scope::OutOfScope::NotAnOperator)));
        }
        let auth = &current.session.auth;
        let fresh = auth.auth_time.is_some_and(|t| t.plus_seconds(self.policy.operator_fresh_secs) >= self.now());
        if !current.session.opens_apps() || !matches!(auth.acr.as_str(), "phr" | "phrh") || !fresh {
            return Err(AppError::Refused(Refusal::OperatorStepUp { minutes: self.policy.operator_fresh_secs / 60 }));
        }
        Ok(CaseOperator { operator, actor: current.actor() })
    }

    /// Opens a case of `kind` about `username` with the caller's request in `summary`; at
    /// raised risk (see [`Self::raised_risk`]) it asks the reset's verification.
    ///
    /// # Errors
    /// An unknown person; out of the operator's scope; an empty summary.
    pub async fn open(
        &self,
        by: &CaseOperator,
        kind: CaseKind,
        username: &str,
        summary: &str,
        meta: &RequestMeta,
    ) -> AppResult<Case> {
        let target =
            self.store.user_by_username(&normalize_username(username)).await?.ok_or(AppError::NotFound("user"))?;
        self.check_scope(by, &target).await?;
        let mut case = Case::open(kind, &target, &by.operator, summary, self.now())?;
        let reasons = self.raised_risk(&target).await?;
        case.raise_risk(reasons, by.name(), self.now());
        self.store.create_case(&case, &self.audit_context(&by.actor, meta).on_case(case.id)).await?;
        Ok(case)
    }

    /// One case with its verification status. Reading needs no scope beyond the role the
    /// surface checked: a case is evidence.
    ///
    /// # Errors
    /// An unknown case.
    pub async fn show(&self, id: Uuid) -> AppResult<CaseView> {
        let case = self.store.case(id).await?.ok_or(AppError::NotFound("case"))?;
        Ok(self.view(case))
    }

    /// Cases the filter names, newest first, with how many match.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list(&self, filter: &CaseFilter) -> AppResult<(Vec<Case>, i64)> {
        Ok(self.store.cases(filter).await?)
    }

    /// The cases `filter` names that `by` serves (the person as they are now), newest first,
    /// at most `filter.limit` of them: an operator's list shows nothing of people outside
    /// their scope, and every case of people they serve (all matching cases are looked at,
    /// not only the newest).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list_for(&self, by: &CaseOperator, filter: &CaseFilter) -> AppResult<Vec<Case>> {
        let cases = self.all_cases(filter.clone()).await?;
        let wanted = usize::try_from(filter.limit).unwrap_or(0);
        let mut served = Vec::with_capacity(wanted.min(cases.len()));
        for case in cases {
            if served.len() >= wanted {
                break;
            }
            let Some(target) = self.store.user_by_id(case.target.id).await? else { continue };
            match self.check_scope(by, &target).await {
                Ok(()) => served.push(case),
                Err(AppError::Refused(Refusal::OutOfScope(_))) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(served)
    }

    /// Support metrics over the cases opened since `since` (every case when `None`).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn metrics(&self, since: Option<twofold_core::Timestamp>) -> AppResult<CaseMetrics> {
        let all = self.all_cases(CaseFilter { opened_since: since, ..CaseFilter::default() }).await?;
        Ok(metrics::metrics(&all))
    }

    /// Every case `filter` names (its limit and offset aside), paged through.
    pub(crate) async fn all_cases(&self, filter: CaseFilter) -> AppResult<Vec<Case>> {
        const PAGE: i64 = 1000;
        let mut all = Vec::new();
        loop {
            let page =
                CaseFilter { limit: PAGE, offset: i64::try_from(all.len()).unwrap_or(i64::MAX), ..filter.clone() };
            let (cases, _) = self.store.cases(&page).await?;
            let done = i64::try_from(cases.len()).unwrap_or(0) < PAGE;
            all.extend(cases);
            if done {
                return Ok(all);
            }
        }
    }

    /// Adds a note to an open case.
    ///
    /// # Errors
    /// An empty or over-long note; a closed case; out of scope.
    pub async fn note(&self, by: &CaseOperator, id: Uuid, text: &str, meta: &RequestMeta) -> AppResult<Case> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 2000 {
            return Err(twofold_core::ValidationErrors::one("text", "must be 1 to 2000 characters").into());
        }
        let (mut case, _) = self.load_open(by, id).await?;
        let event = CaseEvent::Note { text: text.to_owned() };
        self.write(by, &mut case, event, AuditAction::CaseNote, meta).await?;
        Ok(case)
    }

    /// `case` with where its verification stands.
    #[must_use]
    pub fn view(&self, case: Case) -> CaseView {
        let verification = case.verification(&self.policy.verification).ok();
        CaseView { case, verification }
    }

    /// Whether `by` may act for `target` now (the person as they are now, not as they were
    /// when the case opened, their groups included).
    async fn check_scope(&self, by: &CaseOperator, target: &User) -> AppResult<()> {
        let cli_scope;
        let scope = if by.operator.id.is_none() {
            // The machine's administrator serves every tier the help desk serves.
            cli_scope = OperatorScope {
                tiers: vec![Tier::Standard, Tier::External, Tier::Privileged],
                ..OperatorScope::default()
            };
            &cli_scope
        } else {
            self.policy.scopes.of(&by.operator)
        };
        let groups = if scope.groups.is_empty() { Vec::new() } else { self.store.user_groups(target.id).await? };
        scope::may_serve(&by.operator, scope, target, &groups).map_err(|e| AppError::Refused(Refusal::OutOfScope(e)))
    }

    /// The open case `id` and its person, checked against the operator's scope. The case is
    /// verified as the stricter of the person's tier when it opened and now (a promotion
    /// during the case raises what it needs).
    async fn load_open(&self, by: &CaseOperator, id: Uuid) -> AppResult<(Case, User)> {
        let (mut case, target) = self.load_in_scope(by, id).await?;
        if case.state == twofold_core::cases::CaseState::Closed {
            return Err(AppError::Refused(Refusal::Case(twofold_core::cases::CaseRefusal::Closed)));
        }
        case.target.tier = scope::stricter(case.target.tier, scope::effective_tier(&target));
        Ok((case, target))
    }

    /// Case `id` and its person, when the operator serves that person.
    async fn load_in_scope(&self, by: &CaseOperator, id: Uuid) -> AppResult<(Case, User)> {
        let case = self.store.case(id).await?.ok_or(AppError::NotFound("case"))?;
        let target = self.store.user_by_id(case.target.id).await?.ok_or(AppError::NotFound("user"))?;
        self.check_scope(by, &target).await?;
        Ok((case, target))
    }

    /// One case for an operator, with its verification status: only a case about someone
    /// they serve (an operator outside the person's tier or department sees nothing of it).
    ///
    /// # Errors
    /// An unknown case; out of scope.
    pub async fn show_for(&self, by: &CaseOperator, id: Uuid) -> AppResult<CaseView> {
        let (mut case, target) = self.load_in_scope(by, id).await?;
        case.target.tier = scope::stricter(case.target.tier, scope::effective_tier(&target));
        Ok(self.view(case))
    }

    /// Appends `event` by `by` to `case` and stores it over the version it was read at, with
    /// the audit event `action` carrying the entry.
    ///
    /// # Errors
    /// [`Refusal::CaseChangedMeanwhile`] when someone else wrote first (nothing written).
    async fn write(
        &self,
        by: &CaseOperator,
        case: &mut Case,
        event: CaseEvent,
        action: AuditAction,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let payload = serde_json::to_value(&event).map_err(|e| AppError::Internal(e.to_string()))?;
        case.record(by.name(), by.id(), self.now(), event);
        self.store_over(by, case, Change::new(action, Some(case.id.to_string())).states(None, Some(payload)), meta)
            .await
    }

    /// Stores `case` (already changed) over the version it was read at.
    async fn store_over(
        &self,
        by: &CaseOperator,
        case: &mut Case,
        change: Change,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        case.version += 1;
        let ctx = self.audit_context(&by.actor, meta).on_case(case.id);
        if !self.store.update_case(case, &change, &ctx).await? {
            return Err(AppError::Refused(Refusal::CaseChangedMeanwhile));
        }
        Ok(())
    }
}
