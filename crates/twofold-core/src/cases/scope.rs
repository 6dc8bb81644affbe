//! Whom a help-desk operator may serve: the tiers (and optionally groups or departments) their scope
//! names, never their own account, never a tier above their own. People holding a role over
//! Twofold count as privileged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::{Role, Tier, User};

/// The tiers, groups and departments operators may serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorScope {
    /// Tiers served; never `service` or `break_glass`, which the help desk does not serve.
    pub tiers: Vec<Tier>,
    /// When not empty, only people of these departments.
    pub departments: Vec<String>,
    /// When not empty, only members of these groups.
    #[serde(default)]
    pub groups: Vec<String>,
}

impl Default for OperatorScope {
    /// Standard and external people of every department: privileged people only where an
    /// organisation widens the scope.
    fn default() -> Self {
        Self { tiers: vec![Tier::Standard, Tier::External], departments: Vec::new(), groups: Vec::new() }
    }
}

/// The help desk's scopes: one every operator has, and other ones for operators named by
/// username (a team that serves only one department, a lead who also serves privileged
/// people). A named operator's scope replaces the common one; it never adds to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes {
    /// The scope of every operator not named below.
    pub everyone: OperatorScope,
    /// Scopes of named operators, by username (lower case).
    pub by_operator: BTreeMap<String, OperatorScope>,
}

impl Scopes {
    /// The scope `operator` works in.
    #[must_use]
    pub fn of(&self, operator: &Operator) -> &OperatorScope {
        self.by_operator.get(&operator.name.to_lowercase()).unwrap_or(&self.everyone)
    }
}

/// Who is acting on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator's identity; `None` for the local admin CLI.
    pub id: Option<Uuid>,
    /// Who they are for the two-person rule: the person's id, or `cli:<os user>` for the CLI.
    pub key: String,
    /// Name recorded on the case.
    pub name: String,
    /// Their tier; `None` for the local admin CLI (the machine's administrator).
    pub tier: Option<Tier>,
    /// Their roles.
    pub roles: Vec<Role>,
}

impl Operator {
    /// The operator a signed-in person is.
    #[must_use]
    pub fn person(user: &User) -> Self {
        Self {
            id: Some(user.id),
            key: user.id.to_string(),
            name: user.username.clone(),
            tier: Some(user.tier),
            roles: user.roles.clone(),
        }
    }

    /// Whether the person holds a role that works cases (help desk or admin).
    #[must_use]
    pub fn works_cases(&self) -> bool {
        self.id.is_none() || self.roles.iter().any(|r| matches!(r, Role::Helpdesk | Role::Admin))
    }
}

/// Why an operator may not act for a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutOfScope {
    /// The operator holds neither the help-desk nor the admin role.
    #[error("only help-desk operators and admins work cases")]
    NotAnOperator,
    /// Operators never act on their own account.
    #[error("operators cannot work a case about their own account")]
    OwnAccount,
    /// The help desk does not serve this tier at all.
    #[error("the help desk does not serve {0} accounts")]
    TierNeverServed(Tier),
    /// The scope does not include this tier.
    #[error("{0} accounts are outside the help desk's scope")]
    TierOutOfScope(Tier),
    /// The target's tier ranks above the operator's own.
    #[error("a {operator} operator cannot act on a {target} account")]
    HigherTier {
        /// The operator's tier.
        operator: Tier,
        /// The target's tier.
        target: Tier,
    },
    /// The scope names departments and the target's is not among them.
    #[error("the target's department is outside the help desk's scope")]
    Department,
    /// The scope names groups and the target is in none of them.
    #[error("the target is in none of the groups the help desk serves")]
    Group,
}

/// The tier a person is served and verified as: their tier, or privileged when they hold a
/// role over Twofold itself (admin, help desk, HR, auditor), whose account is worth as much
/// as a privileged one's to whoever takes it over.
#[must_use]
pub fn effective_tier(user: &User) -> Tier {
    let powerful = user.roles.iter().any(|r| matches!(r, Role::Admin | Role::Helpdesk | Role::Hr | Role::Auditor));
    if powerful && matches!(user.tier, Tier::Standard | Tier::External) { Tier::Privileged } else { user.tier }
}

/// The stricter of two tiers (the one whose verification asks more).
#[must_use]
pub fn stricter(a: Tier, b: Tier) -> Tier {
    match (rank(a), rank(b)) {
        (None, _) => a,
        (_, None) => b,
        (Some(x), Some(y)) => {
            if x >= y {
                a
            } else {
                b
            }
        }
    }
}

/// How much an account's compromise costs, for "no operator acts on a higher tier";
/// `None` for tiers the help desk never serves.
const fn rank(tier: Tier) -> Option<u8> {
    match tier {
        Tier::External => Some(0),
        Tier::Standard => Some(1),
        Tier::Privileged => Some(2),
        Tier::Service | Tier::BreakGlass => None,
    }
}

/// Whether `operator` may act for `target` (a member of `groups`) under `scope`.
///
/// # Errors
/// The first rule it breaks.
pub fn may_serve(
    operator: &Operator,
    scope: &OperatorScope,
    target: &User,
    groups: &[String],
) -> Result<(), OutOfScope> {
    if !operator.works_cases() {
        return Err(OutOfScope::NotAnOperator);
    }
    if operator.id == Some(target.id) {
        return Err(OutOfScope::OwnAccount);
    }
    let tier = effective_tier(target);
    let Some(target_rank) = rank(tier) else { return Err(OutOfScope::TierNeverServed(tier)) };
    if !scope.tiers.contains(&tier) {
        return Err(OutOfScope::TierOutOfScope(tier));
    }
    if let Some(own) = operator.tier
        && rank(own).is_none_or(|own_rank| own_rank < target_rank)
    {
        return Err(OutOfScope::HigherTier { operator: own, target: tier });
    }
    if !scope.departments.is_empty()
        && !target.department.as_ref().is_some_and(|d| scope.departments.iter().any(|s| s.eq_ignore_ascii_case(d)))
    {
        return Err(OutOfScope::Department);
    }
    if !scope.groups.is_empty() && !groups.iter().any(|g| scope.groups.iter().any(|s| s.eq_ignore_ascii_case(g))) {
        return Err(OutOfScope::Group);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::identity::UserStatus;

    fn user(n: u128, tier: Tier, roles: &[Role], department: Option<&str>) -> User {
        User {
            id: Uuid::from_u128(n),
            username: format!("u{n}"),
            email: None,
            display_name: format!("U{n}"),
            phone: None,
            department: department.map(str::to_owned),
            manager: None,
            status: UserStatus::Active,
            tier,
            roles: roles.to_vec(),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn serve(operator: &Operator, scope: &OperatorScope, target: &User) -> Result<(), OutOfScope> {
        may_serve(operator, scope, target, &[])
    }

    fn helpdesk(tier: Tier) -> Operator {
        Operator::person(&user(1, tier, &[Role::Helpdesk], None))
    }

    #[test]
    fn an_operator_serves_the_tiers_of_the_scope() {
        let scope = OperatorScope::default();
        let op = helpdesk(Tier::Standard);
        assert_eq!(serve(&op, &scope, &user(2, Tier::Standard, &[], None)), Ok(()));
        assert_eq!(serve(&op, &scope, &user(2, Tier::External, &[], None)), Ok(()));
        assert_eq!(
            serve(&op, &scope, &user(2, Tier::Privileged, &[], None)),
            Err(OutOfScope::TierOutOfScope(Tier::Privileged))
        );
    }

    /// THREATS: social engineering — an operator resets nobody's account on their own say:
    /// not their own, not a higher tier's, not outside the scope.
    #[test]
    fn no_operator_acts_on_their_own_account_or_a_higher_tier() {
        let wide = OperatorScope {
            tiers: vec![Tier::Standard, Tier::Privileged],
            departments: Vec::new(),
            groups: Vec::new(),
        };
        let op = helpdesk(Tier::Standard);
        let own = user(1, Tier::Standard, &[Role::Helpdesk], None);
        assert_eq!(serve(&op, &wide, &own), Err(OutOfScope::OwnAccount));
        assert_eq!(
            serve(&op, &wide, &user(2, Tier::Privileged, &[], None)),
            Err(OutOfScope::HigherTier { operator: Tier::Standard, target: Tier::Privileged })
        );
        assert_eq!(serve(&helpdesk(Tier::Privileged), &wide, &user(2, Tier::Privileged, &[], None)), Ok(()));
    }

    #[test]
    fn machine_and_break_glass_identities_are_never_served() {
        let every = OperatorScope { tiers: Tier::ALL.to_vec(), departments: Vec::new(), groups: Vec::new() };
        for tier in [Tier::Service, Tier::BreakGlass] {
            assert_eq!(
                serve(&helpdesk(Tier::Privileged), &every, &user(2, tier, &[], None)),
                Err(OutOfScope::TierNeverServed(tier))
            );
        }
    }

    #[test]
    fn departments_narrow_the_scope_when_named() {
        let scope = OperatorScope { departments: vec!["Sales".into()], ..OperatorScope::default() };
        let op = helpdesk(Tier::Standard);
        assert_eq!(serve(&op, &scope, &user(2, Tier::Standard, &[], Some("sales"))), Ok(()));
        assert_eq!(serve(&op, &scope, &user(2, Tier::Standard, &[], Some("Finance"))), Err(OutOfScope::Department));
        assert_eq!(serve(&op, &scope, &user(2, Tier::Standard, &[], None)), Err(OutOfScope::Department));
    }

    #[test]
    fn only_help_desk_and_admins_work_cases() {
        let plain = Operator::person(&user(1, Tier::Standard, &[Role::User, Role::Approver], None));
        assert_eq!(
            serve(&plain, &OperatorScope::default(), &user(2, Tier::Standard, &[], None)),
            Err(OutOfScope::NotAnOperator)
        );
        let cli = Operator { id: None, key: "cli:root".into(), name: "cli:root".into(), tier: None, roles: Vec::new() };
        assert_eq!(serve(&cli, &OperatorScope::default(), &user(2, Tier::Standard, &[], None)), Ok(()));
    }

    #[test]
    fn people_with_roles_over_twofold_count_as_privileged() {
        let admin = user(2, Tier::Standard, &[Role::Admin], None);
        assert_eq!(effective_tier(&admin), Tier::Privileged);
        assert_eq!(effective_tier(&user(2, Tier::External, &[Role::Hr], None)), Tier::Privileged);
        assert_eq!(effective_tier(&user(2, Tier::Standard, &[Role::User, Role::Approver], None)), Tier::Standard);
        assert_eq!(effective_tier(&user(2, Tier::BreakGlass, &[Role::Admin], None)), Tier::BreakGlass);
        assert_eq!(
            serve(&helpdesk(Tier::Standard), &OperatorScope::default(), &admin),
            Err(OutOfScope::TierOutOfScope(Tier::Privileged)),
            "a standard-tier admin is not served as standard"
        );
        assert_eq!(stricter(Tier::Standard, Tier::Privileged), Tier::Privileged);
        assert_eq!(stricter(Tier::External, Tier::Standard), Tier::Standard);
    }

    #[test]
    fn a_named_operator_works_in_their_own_scope_instead_of_the_common_one() {
        let finance_only = OperatorScope { departments: vec!["Finance".into()], ..OperatorScope::default() };
        let scopes = Scopes {
            everyone: OperatorScope::default(),
            by_operator: BTreeMap::from([("u1".to_owned(), finance_only.clone())]),
        };
        let named = helpdesk(Tier::Standard);
        let other = Operator::person(&user(3, Tier::Standard, &[Role::Helpdesk], None));
        assert_eq!(scopes.of(&named), &finance_only);
        assert_eq!(scopes.of(&other), &OperatorScope::default());
        let sales = user(2, Tier::Standard, &[], Some("Sales"));
        assert_eq!(serve(&named, scopes.of(&named), &sales), Err(OutOfScope::Department));
        assert_eq!(serve(&other, scopes.of(&other), &sales), Ok(()));
    }

    #[test]
    fn groups_narrow_the_scope_when_named() {
        let scope = OperatorScope { groups: vec!["Emea-Staff".into()], ..OperatorScope::default() };
        let op = helpdesk(Tier::Standard);
        let target = user(2, Tier::Standard, &[], None);
        assert_eq!(may_serve(&op, &scope, &target, &["emea-staff".into()]), Ok(()));
        assert_eq!(may_serve(&op, &scope, &target, &["apac".into()]), Err(OutOfScope::Group));
        assert_eq!(may_serve(&op, &scope, &target, &[]), Err(OutOfScope::Group));
    }
}
