//! Conditional-access policy versions: apply a checked file, list versions, roll back.

use twofold_core::ValidationErrors;
use twofold_core::policy::{Policy, PolicyVersion, file};

use crate::{Actor, App, AppError, AppResult, RequestMeta};

impl App {
    /// Checks a policy file against the directory's groups; the policy, or every problem.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn check_policy(&self, source: &str) -> AppResult<Result<Policy, Vec<file::Problem>>> {
        let groups: Vec<String> = self.store.list_groups().await?.into_iter().map(|g| g.group.name).collect();
        Ok(file::load(source, &groups))
    }

    /// Applies a policy file as the next version (audited `policy.apply`); a file with any
    /// problem is refused whole and changes nothing.
    ///
    /// # Errors
    /// [`AppError::Validation`] with every problem keyed by where it is; storage failures.
    pub async fn apply_policy(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        source: &str,
        note: Option<&str>,
    ) -> AppResult<i64> {
        if let Err(problems) = self.check_policy(source).await? {
            let mut errors = ValidationErrors::default();
            for p in problems {
                errors.add(format!("{} {}", p.at, p.field).trim().to_owned(), p.message);
            }
            return Err(errors.into());
        }
        let ctx = self.audit_context(actor, meta);
        Ok(self.store.put_policy_version(source, note, self.now(), &ctx).await?)
    }

    /// Every applied version, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn policy_versions(&self) -> AppResult<Vec<PolicyVersion>> {
        Ok(self.store.policy_versions().await?)
    }

    /// The policy in force (the newest version), if one was ever applied.
    ///
    /// # Errors
    /// Storage failures; a stored version that no longer checks (a group it names was
    /// deleted) is an error rather than a silently weaker policy.
    pub async fn current_policy(&self) -> AppResult<Option<(PolicyVersion, Policy)>> {
        let Some(current) = self.policy_versions().await?.into_iter().next() else { return Ok(None) };
        match self.check_policy(&current.source).await? {
            Ok(policy) => Ok(Some((current, policy))),
            Err(problems) => Err(AppError::Internal(format!(
                "policy version {} no longer checks: {}",
                current.version,
                problems.iter().map(|p| format!("{}: {}", p.at, p.message)).collect::<Vec<_>>().join("; ")
            ))),
        }
    }

    /// The policy in force, read at most every few seconds (an apply on another node takes
    /// effect here within that time).
    ///
    /// # Errors
    /// As [`App::current_policy`]: callers must then refuse (fail closed), never allow.
    pub(crate) async fn policy_in_force(&self) -> AppResult<Option<std::sync::Arc<Policy>>> {
        let now = self.now();
        if let Ok(cache) = self.policy_cache.lock()
            && let Some((read_at, policy)) = cache.as_ref()
            && now.millis() - read_at.millis() < crate::oidc::CACHE_MS
        {
            return Ok(policy.clone());
        }
        let policy = self.current_policy().await?.map(|(_, policy)| std::sync::Arc::new(policy));
        if let Ok(mut cache) = self.policy_cache.lock() {
            *cache = Some((now, policy.clone()));
        }
        Ok(policy)
    }

    /// Applies version `version`'s text again as a new version (so the history shows the
    /// rollback); checked again against today's directory.
    ///
    /// # Errors
    /// [`AppError::NotFound`] for an unknown version; as [`App::apply_policy`].
    pub async fn rollback_policy(&self, actor: &Actor, meta: &RequestMeta, version: i64) -> AppResult<i64> {
        let old = self
            .policy_versions()
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or(AppError::NotFound("policy version"))?;
        self.apply_policy(actor, meta, &old.source, Some(&format!("rollback to version {version}"))).await
    }
}
