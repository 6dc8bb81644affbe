//! The whole directory in one pass: every identity with its groups and confirmed methods,
//! read in four queries rather than two per person, for passes over everyone (policy
//! simulation, campaign compliance).

use super::Identities;
use std::collections::HashMap;

use twofold_core::factors::authenticator::AuthenticatorKind;
use twofold_core::identity::User;
use twofold_core::store::UserFilter;

use crate::AppResult;

/// Users read per page.
const PAGE: i64 = 10_000;

/// One identity as whole-directory passes see it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The identity.
    pub(crate) user: User,
    /// Its group names.
    pub(crate) groups: Vec<String>,
    /// Its confirmed methods: kind, and whether an attested hardware key.
    pub(crate) methods: Vec<(AuthenticatorKind, bool)>,
    /// Whether it holds unused recovery codes.
    pub(crate) recovery_codes: bool,
}

impl Member {
    /// What compliance weighs.
    pub(crate) fn holdings(&self) -> twofold_core::rollout::compliance::Holdings<'_> {
        twofold_core::rollout::compliance::Holdings {
            tier: self.user.tier,
            methods: &self.methods,
            recovery_codes: self.recovery_codes,
        }
    }
}

impl Identities {
    /// Every identity with its groups and confirmed methods, by username.
    pub(crate) async fn directory(&self) -> AppResult<Vec<Member>> {
        let mut groups: HashMap<uuid::Uuid, Vec<String>> = HashMap::new();
        for (user, group) in self.store.all_memberships().await? {
            groups.entry(user).or_default().push(group);
        }
        let mut methods: HashMap<uuid::Uuid, Vec<(AuthenticatorKind, bool)>> = HashMap::new();
        for (user, kind, attested) in self.store.all_confirmed_methods().await? {
            methods.entry(user).or_default().push((kind, attested));
        }
        let with_codes: std::collections::HashSet<uuid::Uuid> =
            self.store.users_with_recovery_codes().await?.into_iter().collect();
        Ok(self
            .all_users()
            .await?
            .into_iter()
            .map(|user| Member {
                groups: groups.remove(&user.id).unwrap_or_default(),
                methods: methods.remove(&user.id).unwrap_or_default(),
                recovery_codes: with_codes.contains(&user.id),
                user,
            })
            .collect())
    }

    /// Every identity, read page by page: a pass over everyone (an import resolving
    /// usernames, a report) must not stop at the store's page size.
    pub(crate) async fn all_users(&self) -> AppResult<Vec<twofold_core::identity::User>> {
        let mut all = Vec::new();
        let mut offset = 0;
        loop {
            let filter = UserFilter { limit: Some(PAGE), offset: Some(offset), ..UserFilter::default() };
            let page = self.store.list_users(&filter).await?;
            let full = i64::try_from(page.len()).unwrap_or(0) == PAGE;
            all.extend(page);
            if !full {
                return Ok(all);
            }
            offset += PAGE;
        }
    }
}
