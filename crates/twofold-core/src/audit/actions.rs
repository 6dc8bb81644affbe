//! The audit vocabulary: every action Twofold writes, with the kind of thing it targets.
//!
//! This list is a contract. Exported logs, SIEM feeds and evidence bundles carry these
//! dotted names, and auditors' queries match on them, so a name never changes and is never
//! reused for another meaning; a new action is a new variant. `docs/audit-events.md`
//! describes each one for readers outside the project, and a test keeps the two in step.
//!
//! Each variant's documentation says when the event is written and what its `before` and
//! `after` payloads (JSON objects) hold; a field marked *optional* may be absent. Payloads
//! never carry a secret (password hashes, seeds, code hashes, client secrets). Events read
//! back from the store keep their action as text ([`super::AuditEvent::action`]), so rows
//! written by any version stay readable; [`AuditAction::parse`] maps a name back.

use std::fmt;

/// The kind of thing an action changed: an event's `target_type`, and what its `target_id`
/// identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    /// An identity; the id is the user's UUID.
    User,
    /// A group; the id is the group's UUID.
    Group,
    /// An admin API key; the id is the key's id.
    ApiKey,
    /// A session; the id is the first 12 characters of its token's hash (enough to tell
    /// sessions apart, far too little to use one).
    Session,
    /// A device known by its cookie; the id is the device id.
    Device,
    /// A registered factor; the id is the authenticator's UUID.
    Authenticator,
    /// A hardware OTP token; the id is its serial.
    Token,
    /// An OpenID Connect client (or service account); the id is its `client_id`.
    Client,
    /// A token-signing key; the id is its `kid`.
    SigningKey,
    /// A refresh-token family; the id is the family id (`fid` in access tokens).
    TokenFamily,
    /// A conditional-access policy version; the id is the version number.
    Policy,
    /// A rollout campaign; the id is its name.
    Campaign,
    /// An exception; the id is its UUID.
    Exception,
    /// A help-desk support case; the id is its UUID.
    Case,
    /// A temporary access pass; the id is its UUID (never the passcode).
    AccessPass,
    /// An emergency access; the id is its UUID.
    EmergencyAccess,
    /// A review task; the id is its UUID.
    Review,
    /// An approval request; the id is its UUID.
    Approval,
    /// An approval rules version; the id is the version number.
    ApprovalRules,
}

impl TargetType {
    /// The stored name (`target_type`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::ApiKey => "api_key",
            Self::Session => "session",
            Self::Device => "device",
            Self::Authenticator => "authenticator",
            Self::Token => "token",
            Self::Client => "client",
            Self::SigningKey => "signing_key",
            Self::TokenFamily => "token_family",
            Self::Policy => "policy",
            Self::Campaign => "campaign",
            Self::Exception => "exception",
            Self::Case => "case",
            Self::AccessPass => "access_pass",
            Self::EmergencyAccess => "emergency_access",
            Self::Review => "review",
            Self::Approval => "approval",
            Self::ApprovalRules => "approval_rules",
        }
    }
}

impl fmt::Display for TargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares [`AuditAction`] from one list, so the name, the target type and [`AuditAction::ALL`]
/// cannot drift apart.
macro_rules! audit_actions {
    ($( $(#[doc = $doc:literal])* $variant:ident => $name:literal, $target:ident; )+) => {
        /// One action of the audit vocabulary (see the module documentation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl AuditAction {
            /// Every action, in the order of the vocabulary.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable dotted name, as stored and exported.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            /// What this action's target is.
            #[must_use]
            pub const fn target_type(self) -> TargetType {
                match self {
                    $(Self::$variant => TargetType::$target,)+
                }
            }
        }
    };
}

audit_actions! {
    // Identity: users, groups, API keys.

    /// A user was created (CLI, admin API, import, demo seed). After: the user (`id`,
    /// `username`, `email`, `display_name`, `phone`, `department`, `manager`, `status`, `tier`,
    /// `roles`, `created_at`, `updated_at`), `groups` (names it joined), `has_password`.
    UserCreate => "user.create", User;
    /// A user's attributes changed. Before and after: the user, fields as for `user.create`
    /// without `groups` and `has_password`.
    UserUpdate => "user.update", User;
    /// A user's password was set or reset by an admin or by the person. No payload: the hash
    /// never enters the log.
    UserPasswordSet => "user.password.set", User;
    /// A sign-in re-hashed a user's password under the current parameters. No payload.
    UserPasswordRehash => "user.password.rehash", User;
    /// A group was created. After: the group (`id`, `name`, `description`, `created_at`).
    GroupCreate => "group.create", Group;
    /// A user joined a group. After: `group` (name), `username`, `user_id`.
    GroupMemberAdd => "group.member.add", Group;
    /// A user left a group. Before: `group` (name), `username`, `user_id`.
    GroupMemberRemove => "group.member.remove", Group;
    /// An admin API key was created. After: the key without its secret (`id`, `name`, `role`,
    /// `created_at`, `expires_at`, `last_used_at`, `revoked_at`).
    ApiKeyCreate => "api_key.create", ApiKey;
    /// An admin API key was revoked. No payload.
    ApiKeyRevoke => "api_key.revoke", ApiKey;

    // Sign-in: attempts, sessions, devices.

    /// A sign-in succeeded: a session started (password alone, trusted device, or after the
    /// second step), or a code checked for a gateway matched. After: `username`, `outcome`
    /// (`success`), `reason` (null), `methods` (RFC 8176 values); when a session started,
    /// `session` (its short id) and `acr`.
    SignInSuccess => "signin.success", User;
    /// A sign-in attempt failed (wrong or replayed credential, unknown user, throttled,
    /// blocked by policy, ...). After: `username`, `outcome` (`failure`), `reason`, `methods`.
    /// The target id is absent when the username is unknown.
    SignInFailure => "signin.failure", User;
    /// A password was accepted and a second factor is now due; the pending session is
    /// recorded. After: `methods`, `session` (short id).
    SignInFirstFactor => "signin.first_factor", User;
    /// A session was replaced by a stronger one without a new sign-in (the test
    /// authentication of a person's first method); their other sessions ended. Before:
    /// `session`. After: `session`, `acr`, `amr`, `reason`, `other_sessions_ended`.
    SessionRenew => "session.renew", User;
    /// One session was revoked (sign-out, or by an admin). After: `user_id`.
    SessionRevoke => "session.revoke", Session;
    /// Every active session of a user was revoked (by an admin, or because the user's status
    /// left `active`). After: `revoked` (how many); `reason` (*optional*, e.g. `status
    /// disabled`) when a status change caused it.
    SessionRevokeAll => "session.revoke_all", User;
    /// A device was trusted for a user until a date, replacing any earlier trust. After:
    /// `user_id`, `trusted_until`.
    DeviceTrust => "device.trust", Device;
    /// A device's trust was withdrawn. After: `user_id`.
    DeviceForget => "device.forget", Device;

    // Factors: authenticators, hardware tokens, recovery and one-time codes.

    /// An enrolment started: an unconfirmed authenticator was stored. After: its public view
    /// (`id`, `user_id`, `kind`, `name`, `serial`, `destination` masked, `attested`,
    /// `confirmed`), never its secret.
    AuthenticatorEnrolStart => "authenticator.enrol_start", Authenticator;
    /// An authenticator was confirmed by its test authentication and may now be used. No
    /// payload.
    AuthenticatorAdd => "authenticator.add", Authenticator;
    /// An authenticator was renamed. Before and after: `name`.
    AuthenticatorRename => "authenticator.rename", Authenticator;
    /// An authenticator was removed. Before: its public view, as for
    /// `authenticator.enrol_start`.
    AuthenticatorRemove => "authenticator.remove", Authenticator;
    /// An OTP authenticator's position was set by a resynchronisation. After: `last_used`
    /// (step), `drift_steps`.
    AuthenticatorResync => "authenticator.resync", Authenticator;
    /// Hardware tokens were imported, all in one change. The target id is absent. After:
    /// `count`, `assigned` (how many came assigned), `serials`.
    TokenImport => "token.import", Token;
    /// A free hardware token was assigned to a user. Before and after: the token's public
    /// view, as for `authenticator.enrol_start`.
    TokenAssign => "token.assign", Token;
    /// An assigned hardware token was freed. Before and after: the token's public view.
    TokenUnassign => "token.unassign", Token;
    /// A user's recovery codes were (re)generated. After: `codes` (how many), `replaced`
    /// (how many earlier codes were dropped).
    RecoveryCodesGenerate => "recovery_codes.generate", User;
    /// A recovery code was used, once. After: `remaining`.
    RecoveryCodeUse => "recovery_code.use", User;
    /// An email or SMS code was sent. After: `authenticator_id`, `purpose`, `destination`
    /// (masked), `expires_at`.
    OneTimeCodeSend => "one_time_code.send", User;
    /// An email or SMS code was not sent. After: `kind`, `reason` (`number_not_allowed`,
    /// `too_many_pending`, `send_limit`), `destination` (masked).
    OneTimeCodeRefused => "one_time_code.refused", User;

    // OpenID Connect: clients, keys, tokens.

    /// A client (or service account) was registered. After: the registration without its
    /// secrets (`client_id`, `name`, `redirect_uris`, `scopes`, `public`, `service`,
    /// `token_lifetime_secs`, `min_acr`, `previous_secret_expires_at`, `consent_required`,
    /// `jwks`, `id_token_alg`, `tls_cert_thumbprint`, `token_endpoint_auth_method`,
    /// `may_introspect`, `last_used_at`, `secret_set_at`, `created_at`).
    ClientCreate => "client.create", Client;
    /// A confidential client's secret was replaced; the old one works until a date. After:
    /// `previous_secret_expires_at`.
    ClientSecretRotate => "client.secret_rotate", Client;
    /// A client's registration was changed. Before and after: `name`, `redirect_uris`,
    /// `scopes`, `min_acr`, `consent_required`.
    ClientUpdate => "client.update", Client;
    /// A client was removed: its consents, codes and refresh tokens go, its token families
    /// are revoked (its access tokens die with them). Before: the registration without its
    /// secrets.
    ClientRemove => "client.remove", Client;
    /// A person allowed a third-party client some scopes (replacing what they allowed
    /// before). After: `user_id`, `client_id`, `scopes`.
    ConsentGrant => "consent.grant", Client;
    /// A person withdrew what they allowed a third-party client (from their account page);
    /// its tokens for them are revoked too. Before: `user_id`, `client_id`, `scopes`.
    ConsentRevoke => "consent.revoke", Client;
    /// A new token-signing key took over for its algorithm. After: `kid`, `alg`, `retired`
    /// (how many keys it retired).
    SigningKeyRotate => "signing_key.rotate", SigningKey;
    /// The token endpoint issued tokens for a person (authorization code or refresh token).
    /// After: `client_id`, `user_id`, `acr`.
    OidcToken => "oidc.token", Client;
    /// The token endpoint refused a request. After: `client_id`, `error` (the OAuth error
    /// code), `reason` (its description).
    OidcTokenRefused => "oidc.token_refused", Client;
    /// A client revoked one of its tokens (RFC 7009) and something was revoked. No payload.
    OidcRevoke => "oidc.revoke", Client;
    /// A refresh-token family was revoked with every token issued from it (a refresh token
    /// used twice, or a revocation). After: `reason`, `refresh_tokens_revoked`.
    OidcTokenFamilyRevoke => "oidc.token_family_revoke", TokenFamily;
    /// A service account got an access token by client credentials. After: `client_id`,
    /// `scope`, `expires_in`.
    ServiceAccountToken => "service_account.token", Client;

    // Conditional access.

    /// A policy file was applied as the next version. After: `version`, `note` (may be null).
    PolicyApply => "policy.apply", Policy;

    // Rollout: campaigns, exceptions, compliance.

    /// A campaign's file was stored, new (as a draft) or replacing an earlier one. Before
    /// (*optional*, when it existed): `status`. After: `source_chars`.
    CampaignApply => "campaign.apply", Campaign;
    /// A campaign was started (or resumed). Before and after: `status`.
    CampaignStart => "campaign.start", Campaign;
    /// A campaign was paused. Before and after: `status`.
    CampaignPause => "campaign.pause", Campaign;
    /// An exception was requested for a person. After: `user` (username), `reason`,
    /// `ends_at`.
    ExceptionRequest => "exception.request", Exception;
    /// A requested exception was approved (the actor is the approver). Before and after:
    /// `decision`.
    ExceptionApprove => "exception.approve", Exception;
    /// A requested exception was rejected. Before: `decision`. After: `decision`,
    /// `end_reason`.
    ExceptionReject => "exception.reject", Exception;
    /// An exception was revoked before its end. Before: `decision`. After: `decision`,
    /// `end_reason`.
    ExceptionRevoke => "exception.revoke", Exception;
    /// The scheduler recorded that an exception reached its end. Before: `decision`. After:
    /// `decision`, `end_reason`.
    ExceptionExpire => "exception.expire", Exception;
    /// A running exception's quarterly confirmation was asked of the manager. No payload.
    ExceptionAttestationRequest => "exception.attestation_request", Exception;
    /// The manager confirmed a running exception. No payload.
    ExceptionAttest => "exception.attest", Exception;
    /// A sign-in was checked while an exception waived a campaign's requirement for the
    /// person. After: `user` (username), `ends_at`.
    ExceptionUse => "exception.use", Exception;
    /// A person's compliance state in a campaign changed (the scheduler). Before
    /// (*optional*, absent for the first state): `campaign`, `state`. After: `campaign`,
    /// `phase`, `user` (username), `state`.
    ComplianceTransition => "compliance.transition", User;

    // Help desk: support cases and temporary access passes.

    /// A support case was opened. After: `kind`, `user` (the target's username), `tier`,
    /// `summary`.
    CaseOpen => "case.open", Case;
    /// A verification step was started (a code sent, an approval asked for). After:
    /// `channel`, `to` (masked, or whom it asks), `due`.
    CaseStepStart => "case.step_start", Case;
    /// A verification step passed. After: `channel`, `evidence`.
    CaseVerify => "case.verify", Case;
    /// A verification step failed. After: `channel`, `reason`.
    CaseVerifyFail => "case.verify_fail", Case;
    /// A second operator approved the case's changes. After: `operator_id`.
    CaseApprove => "case.approve", Case;
    /// A change was made on the case (what it was has its own event too). After: `action`,
    /// `detail`.
    CaseAction => "case.action", Case;
    /// An operator added a note. After: `text`.
    CaseNote => "case.note", Case;
    /// A verification step ran past its deadline and the team lead was told. After: `channel`.
    CaseOverdue => "case.overdue", Case;
    /// The person a case changed was seen, within a day of the change, signing in from a
    /// country never seen for them or taking a sensitive action; the security team was told
    /// (once per kind of use and change). After: `kind`, `detail`.
    CaseUseAfterChange => "case.use_after_change", Case;
    /// A case was closed. Before: `state`. After: `resolution`, `checklist` (`changes`,
    /// `person_confirmed`), `enrolled` (methods the person set up while it was open).
    CaseClose => "case.close", Case;
    /// A temporary access pass was issued (and the person's earlier ones revoked). After:
    /// `user` (username), `expires_at`, `single_use`.
    AccessPassIssue => "access_pass.issue", AccessPass;
    /// A temporary access pass signed someone in. After: `user` (username).
    AccessPassUse => "access_pass.use", AccessPass;
    /// A person's temporary access passes were revoked before their end. After: `user`
    /// (username), `revoked` (how many).
    AccessPassRevoke => "access_pass.revoke", AccessPass;

    // Emergency access, break-glass accounts and review tasks.

    /// Emergency access was asked for. After: `user` (username), `reason`, `hours`.
    EmergencyRequest => "emergency.request", EmergencyAccess;
    /// Emergency access was approved (the actor is the approver, with their fresh second
    /// factor). After: `user`, `ends_at`.
    EmergencyApprove => "emergency.approve", EmergencyAccess;
    /// Emergency access was refused. After: `user`.
    EmergencyReject => "emergency.reject", EmergencyAccess;
    /// A sign-in was let in by emergency access (the security team is alerted). After:
    /// `user`, `ends_at`.
    EmergencyUse => "emergency.use", EmergencyAccess;
    /// Emergency access ended (its time ran out, or it was revoked). After: `user`,
    /// `end_reason`.
    EmergencyEnd => "emergency.end", EmergencyAccess;
    /// A review task was opened. After: `kind` (`emergency_access`, `break_glass_sign_in`,
    /// `break_glass_test_due`), `subject_id`, `user` (username).
    ReviewOpen => "review.open", Review;
    /// A review task was completed. After: `findings`, `control_test`.
    ReviewComplete => "review.complete", Review;

    // Maker–checker approvals.

    /// An approval rules file was applied as the next version (the id). After: `note`.
    ApprovalRulesApply => "approval_rules.apply", ApprovalRules;
    /// An app raised an approval request. After: `client_id`, `requester`, `action`,
    /// `resource`, `content_hash`, `rule`, `approvers`, `required`, `expires_at`.
    ApprovalRequest => "approval.request", Approval;
    /// An approver approved (the actor, with their fresh second factor). After: `state`,
    /// `approvals`, `required`, and `receipt` (its SHA-256) when this decided it.
    ApprovalApprove => "approval.approve", Approval;
    /// An approver rejected it, which decides it. After: `state`, `receipt`.
    ApprovalReject => "approval.reject", Approval;
    /// Its time ran out before enough approvals. After: `state`, `receipt`.
    ApprovalExpire => "approval.expire", Approval;
    /// Its result reached the app's callback URL. After: `target` (host), `attempts`.
    ApprovalDeliver => "approval.deliver", Approval;
    /// Its result could not be delivered to the app's callback after the last attempt (the
    /// app can still poll). After: `target` (host), `attempts`, `error`.
    ApprovalUndeliverable => "approval.undeliverable", Approval;
}

impl AuditAction {
    /// The action with this stored name, if it is one of the vocabulary.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|action| action.as_str() == name)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// The names written today. Removing or renaming one breaks exported logs and the
    /// queries people run on them: add new actions, never change these.
    const CONTRACT: &[&str] = &[
        "user.create",
        "user.update",
        "user.password.set",
        "user.password.rehash",
        "group.create",
        "group.member.add",
        "group.member.remove",
        "api_key.create",
        "api_key.revoke",
        "signin.success",
        "signin.failure",
        "signin.first_factor",
        "session.renew",
        "session.revoke",
        "session.revoke_all",
        "device.trust",
        "device.forget",
        "authenticator.enrol_start",
        "authenticator.add",
        "authenticator.rename",
        "authenticator.remove",
        "authenticator.resync",
        "token.import",
        "token.assign",
        "token.unassign",
        "recovery_codes.generate",
        "recovery_code.use",
        "one_time_code.send",
        "one_time_code.refused",
        "client.create",
        "client.secret_rotate",
        "consent.grant",
        "signing_key.rotate",
        "oidc.token",
        "oidc.token_refused",
        "oidc.revoke",
        "oidc.token_family_revoke",
        "service_account.token",
        "policy.apply",
        "campaign.apply",
        "campaign.start",
        "campaign.pause",
        "exception.request",
        "exception.approve",
        "exception.reject",
        "exception.revoke",
        "exception.expire",
        "exception.attestation_request",
        "exception.attest",
        "exception.use",
        "compliance.transition",
        "case.open",
        "case.step_start",
        "case.verify",
        "case.verify_fail",
        "case.approve",
        "case.action",
        "case.note",
        "case.overdue",
        "case.close",
        "access_pass.issue",
        "access_pass.use",
        "access_pass.revoke",
        "emergency.request",
        "emergency.approve",
        "emergency.reject",
        "emergency.use",
        "emergency.end",
        "review.open",
        "review.complete",
        "case.use_after_change",
        "consent.revoke",
        "client.update",
        "client.remove",
        "approval_rules.apply",
        "approval.request",
        "approval.approve",
        "approval.reject",
        "approval.expire",
        "approval.deliver",
        "approval.undeliverable",
    ];

    /// `docs/audit-events.md`, the published description of the vocabulary.
    const DOC: &str = include_str!("../../../../docs/audit-events.md");

    #[test]
    fn names_are_unique() {
        let names: BTreeSet<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
    }

    #[test]
    fn names_are_dotted_lowercase() {
        for action in AuditAction::ALL {
            let name = action.as_str();
            let parts: Vec<_> = name.split('.').collect();
            assert!(parts.len() >= 2, "{name} has no dot");
            assert!(
                parts.iter().all(|p| {
                    p.starts_with(|c: char| c.is_ascii_lowercase())
                        && p.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                }),
                "{name} is not dotted lowercase"
            );
        }
    }

    #[test]
    fn every_name_written_today_stays() {
        for name in CONTRACT {
            assert!(AuditAction::parse(name).is_some(), "{name} left the vocabulary");
        }
        assert_eq!(AuditAction::ALL.len(), CONTRACT.len(), "a new action is added to CONTRACT too");
    }

    #[test]
    fn a_name_parses_back_to_its_action() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
        }
        assert_eq!(AuditAction::parse("user.delete"), None);
    }

    /// Each `### \`name\`` heading of the document with the target its next `Target:` line names.
    fn documented() -> BTreeMap<String, String> {
        let mut found = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in DOC.lines() {
            if let Some(name) = line.strip_prefix("### `").and_then(|rest| rest.strip_suffix('`')) {
                assert!(found.insert(name.to_owned(), String::new()).is_none(), "{name} is documented twice");
                current = Some(name.to_owned());
            } else if let (Some(name), Some(target)) = (&current, line.strip_prefix("Target: `")) {
                let target = target.split('`').next().unwrap_or_default();
                found.insert(name.clone(), target.to_owned());
                current = None;
            }
        }
        found
    }

    #[test]
    fn the_document_lists_exactly_the_vocabulary_with_its_targets() {
        let documented = documented();
        for action in AuditAction::ALL {
            match documented.get(action.as_str()) {
                None => panic!("docs/audit-events.md does not describe {action}"),
                Some(target) => assert_eq!(target, action.target_type().as_str(), "target of {action} in the doc"),
            }
        }
        for name in documented.keys() {
            assert!(
                AuditAction::parse(name).is_some(),
                "docs/audit-events.md describes {name}, which is not an action"
            );
        }
    }
}
