//! What each role may do in Twofold itself, and what a page asks of a session before it
//! serves a permission.
//!
//! One matrix, [`grants`], serves every surface: the admin API checks an API key's role
//! against it, the pages check a signed-in person's roles. A permission that changes state
//! ([`Permission::is_change`]) also needs, on pages, a second factor proved within
//! [`FRESH_MFA_SECS`] — the same freshness that changing one's own sign-in methods needs.
//! New permissions (help-desk cases, approvals, the console) are added to [`Permission`];
//! the exhaustive matches below then make each one's rule a decision, never a default.

use super::Role;
use crate::Timestamp;
use crate::signin::session::{FRESH_MFA_SECS, Session};

/// Something a role may be allowed to do in Twofold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read users, groups and sessions.
    ReadDirectory,
    /// Change users, groups and sessions.
    WriteDirectory,
    /// Read and verify the audit log.
    ReadAudit,
    /// Register and list OpenID Connect clients and service accounts.
    ManageClients,
    /// Apply and roll back conditional-access policies.
    ManagePolicy,
    /// Check people's one-time codes on behalf of a gateway.
    VerifyCodes,
    /// Read support cases and their metrics (cases are evidence).
    ReadCases,
    /// Open and work support cases: verify callers, issue passes, retire methods.
    WorkCases,
}

impl Permission {
    /// Every permission, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::ReadDirectory,
        Self::WriteDirectory,
        Self::ReadAudit,
        Self::ManageClients,
        Self::ManagePolicy,
        Self::VerifyCodes,
        Self::ReadCases,
        Self::WorkCases,
    ];

    /// True when the permission changes what Twofold knows or enforces, so that a page
    /// serving it asks for a recent second factor, not only a signed-in session. Checking a
    /// code for a gateway is not a change of this kind: it is the gateway's sign-in step.
    #[must_use]
    pub const fn is_change(self) -> bool {
        match self {
            Self::WriteDirectory | Self::ManageClients | Self::ManagePolicy | Self::WorkCases => true,
            Self::ReadDirectory | Self::ReadAudit | Self::VerifyCodes | Self::ReadCases => false,
        }
    }
}

/// Whether `role` grants `permission`. Admins may do everything listed; help desk and
/// auditors read the directory and cases; the help desk works cases; auditors read the audit
/// log; approvers and plain users hold none of these (their rights are over their own
/// account and the requests put to them).
#[must_use]
pub const fn grants(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::ReadDirectory => matches!(role, Role::Admin | Role::Helpdesk | Role::Auditor),
        Permission::ReadAudit => matches!(role, Role::Admin | Role::Auditor),
        Permission::ReadCases => matches!(role, Role::Admin | Role::Helpdesk | Role::Auditor),
        Permission::WorkCases => matches!(role, Role::Admin | Role::Helpdesk),
        Permission::WriteDirectory | Permission::ManageClients | Permission::ManagePolicy | Permission::VerifyCodes => {
            matches!(role, Role::Admin)
        }
    }
}

/// The strength a sign-in must have reached to open the admin console: a phishing-resistant
/// method (a passkey or security key) for admins, who can change everything, and two-step
/// sign-in for the other console roles.
#[must_use]
pub fn console_strength(roles: &[Role]) -> &'static str {
    if roles.contains(&Role::Admin) { "phr" } else { "mfa" }
}

/// Whether any of `roles` grants `permission`.
#[must_use]
pub fn any_grants(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|role| grants(*role, permission))
}

/// What a page does with a request for a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAccess {
    /// Serve it.
    Allow,
    /// Nobody is signed in: sign in first.
    SignIn,
    /// The second factor is still due, or (for a change) was proved too long ago: prove it
    /// now, then come back.
    StepUp,
    /// Signed in, but none of the person's roles grants the permission.
    Forbidden,
}

/// Whether a page may serve `permission` to the browser holding `session` (if any) of a
/// person with `roles`, at `now`. A session still waiting for its second factor is sent to
/// prove it before anything else is decided, so the answer says nothing about the person's
/// roles until the sign-in is complete.
#[must_use]
pub fn page_access(session: Option<&Session>, roles: &[Role], permission: Permission, now: Timestamp) -> PageAccess {
    let Some(session) = session else { return PageAccess::SignIn };
    if session.mfa_pending {
        return PageAccess::StepUp;
    }
    // A temporary access pass opens Security info only: anything else needs a real sign-in.
    if session.auth.is_access_pass_only() {
        return PageAccess::SignIn;
    }
    if !any_grants(roles, permission) {
        return PageAccess::Forbidden;
    }
    if permission.is_change() && !session.auth.has_fresh_mfa(now, FRESH_MFA_SECS) {
        return PageAccess::StepUp;
    }
    PageAccess::Allow
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::signin::session::{AuthContext, SessionPolicy};

    /// The whole matrix, row by row: which permissions each role holds.
    #[test]
    fn each_role_grants_exactly_its_permissions() {
        use Permission::*;
        let expected: &[(Role, &[Permission])] = &[
            (
                Role::Admin,
                &[
                    ReadDirectory,
                    WriteDirectory,
                    ReadAudit,
                    ManageClients,
                    ManagePolicy,
                    VerifyCodes,
                    ReadCases,
                    WorkCases,
                ],
            ),
            (Role::Helpdesk, &[ReadDirectory, ReadCases, WorkCases]),
            (Role::Auditor, &[ReadDirectory, ReadAudit, ReadCases]),
            (Role::Approver, &[]),
            (Role::Hr, &[]),
            (Role::User, &[]),
        ];
        assert_eq!(expected.len(), Role::ALL.len(), "every role has a row");
        for (role, held) in expected {
            for permission in Permission::ALL {
                assert_eq!(grants(*role, *permission), held.contains(permission), "{role} / {permission:?}");
            }
        }
    }

    #[test]
    fn only_changes_need_a_fresh_second_factor() {
        let changes: Vec<_> = Permission::ALL.iter().copied().filter(|p| p.is_change()).collect();
        assert_eq!(
            changes,
            [Permission::WriteDirectory, Permission::ManageClients, Permission::ManagePolicy, Permission::WorkCases]
        );
    }

    #[test]
    fn any_of_several_roles_may_grant_a_permission() {
        assert!(any_grants(&[Role::User, Role::Auditor], Permission::ReadAudit));
        assert!(!any_grants(&[Role::User, Role::Approver], Permission::ReadDirectory));
        assert!(!any_grants(&[], Permission::ReadDirectory));
    }

    const MINUTE: i64 = 60_000;

    /// A session signed in at time zero with `acr`.
    fn session(acr: &str, pending: bool) -> Session {
        let auth = AuthContext { amr: vec!["pwd".into()], acr: acr.into(), auth_time: Some(Timestamp(0)) };
        let (_, mut session) = Session::start(Uuid::nil(), auth, SessionPolicy::default(), Timestamp(0), None, None);
        session.mfa_pending = pending;
        session
    }

    #[test]
    fn nobody_signed_in_is_sent_to_sign_in() {
        assert_eq!(page_access(None, &[Role::Admin], Permission::ReadDirectory, Timestamp(0)), PageAccess::SignIn);
    }

    #[test]
    fn a_pending_second_factor_comes_before_any_role_check() {
        let pending = session("pwd", true);
        for roles in [&[Role::Admin][..], &[Role::User][..]] {
            let access = page_access(Some(&pending), roles, Permission::ReadDirectory, Timestamp(0));
            assert_eq!(access, PageAccess::StepUp, "{roles:?}");
        }
    }

    #[test]
    fn a_person_without_the_role_is_forbidden_however_fresh() {
        let fresh = session("phr", false);
        let access = page_access(Some(&fresh), &[Role::Helpdesk], Permission::WriteDirectory, Timestamp(0));
        assert_eq!(access, PageAccess::Forbidden);
    }

    #[test]
    fn reading_needs_the_role_but_no_fresh_second_factor() {
        let old = session("pwd", false);
        let hours_later = Timestamp(5 * 60 * MINUTE);
        assert_eq!(page_access(Some(&old), &[Role::Auditor], Permission::ReadAudit, hours_later), PageAccess::Allow);
    }

    #[test]
    fn a_change_needs_a_second_factor_proved_within_fifteen_minutes() {
        let mfa = session("mfa", false);
        let change = Permission::ManagePolicy;
        assert_eq!(page_access(Some(&mfa), &[Role::Admin], change, Timestamp(15 * MINUTE)), PageAccess::Allow);
        assert_eq!(page_access(Some(&mfa), &[Role::Admin], change, Timestamp(15 * MINUTE + 1)), PageAccess::StepUp);
        let password_only = session("pwd", false);
        assert_eq!(page_access(Some(&password_only), &[Role::Admin], change, Timestamp(0)), PageAccess::StepUp);
    }

    /// THREATS: temporary access pass abuse — a pass's session opens no page but Security
    /// info, whatever the person's roles.
    #[test]
    fn an_access_pass_session_opens_no_role_page() {
        let mut tap = session("pwd", false);
        tap.auth.amr = vec![crate::factors::access_pass::ACCESS_PASS_AMR.into()];
        for permission in Permission::ALL {
            assert_eq!(page_access(Some(&tap), &[Role::Admin], *permission, Timestamp(0)), PageAccess::SignIn);
        }
    }
}
