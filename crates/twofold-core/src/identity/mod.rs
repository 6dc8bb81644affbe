//! Identities (users), their tiers, roles and status, groups, and the rules for valid values.

pub mod api_key;
pub mod password;
pub mod roles;
pub mod service_account;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::validation::ValidationErrors;

/// Defines a closed set of lower-case names with parsing and listing.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored and displayed name.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Parses a name, ignoring case.
            ///
            /// # Errors
            /// A message listing the accepted names.
            pub fn parse(text: &str) -> Result<Self, String> {
                match text.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!(
                        "'{}' is not one of: {}",
                        text,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// Whether an identity may sign in.
    UserStatus {
        /// May sign in.
        Active => "active",
        /// Temporarily barred; sessions revoked.
        Suspended => "suspended",
        /// Left the organisation; kept for audit, never signs in again.
        Deprovisioned => "deprovisioned",
    }
);

named_enum!(
    /// The class of an identity, which decides how strong its authentication must be.
    Tier {
        /// Administrators and others whose compromise is most costly.
        Privileged => "privileged",
        /// Ordinary staff.
        Standard => "standard",
        /// Contractors, partners and guests.
        External => "external",
        /// Machine identities.
        Service => "service",
        /// Emergency accounts excluded from ordinary policy.
        BreakGlass => "break_glass",
    }
);

named_enum!(
    /// What an identity or API key may do in Twofold itself.
    Role {
        /// Everything.
        Admin => "admin",
        /// Help-desk cases and temporary access.
        Helpdesk => "helpdesk",
        /// Reads the audit trail and reports.
        Auditor => "auditor",
        /// Approves risky changes and exceptions.
        Approver => "approver",
        /// Human resources: attests who a person is on a help-desk case.
        Hr => "hr",
        /// Signs in and manages their own authenticators.
        User => "user",
    }
);

/// A person (or later a service or break-glass identity) known to Twofold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable identifier; the OIDC `sub`.
    pub id: Uuid,
    /// Unique, lower-case sign-in name.
    pub username: String,
    /// Contact address for notifications.
    pub email: Option<String>,
    /// Name shown to people.
    pub display_name: String,
    /// Phone number in international form, for verification and fallbacks.
    pub phone: Option<String>,
    /// Organisational unit, used to pick rollout cohorts.
    pub department: Option<String>,
    /// The manager's username; copied on escalations.
    pub manager: Option<String>,
    /// Whether the identity may sign in.
    pub status: UserStatus,
    /// Authentication class.
    pub tier: Tier,
    /// Roles within Twofold, sorted and without duplicates.
    pub roles: Vec<Role>,
    /// When the identity was created.
    pub created_at: Timestamp,
    /// When the identity last changed.
    pub updated_at: Timestamp,
}

/// Everything needed to create a user, as entered; checked by [`NewUser::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Sign-in name; normalised to lower case.
    pub username: String,
    /// Optional email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Name shown to people; defaults to the username.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Optional phone number (E.164, e.g. +441632960000).
    #[serde(default)]
    pub phone: Option<String>,
    /// Optional department.
    #[serde(default)]
    pub department: Option<String>,
    /// Optional manager's username.
    #[serde(default)]
    pub manager: Option<String>,
    /// Tier; `standard` when absent.
    #[serde(default)]
    pub tier: Option<String>,
    /// Roles; `user` when absent.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
}

/// A partial change to a user: absent fields stay as they are; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New email, or `null` to clear.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New phone, or `null` to clear.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    pub phone: Option<Option<String>>,
    /// New department, or `null` to clear.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    pub department: Option<Option<String>>,
    /// New manager username, or `null` to clear.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    pub manager: Option<Option<String>>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// New tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// New complete role list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

/// Distinguishes "field absent" from "field set to null" in a patch.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[allow(clippy::ref_option, clippy::option_option)]
    pub fn serialize<S: Serializer>(value: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        value.as_ref().and_then(Option::as_ref).serialize(s)
    }

    #[allow(clippy::option_option)]
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// Usernames: 1–64 of `a-z 0-9 . _ - @` (ASCII, lower case after normalising), starting with
/// a letter or digit. Deliberately ASCII: a username is typed at every sign-in and shown in
/// every audit event, and letters from other scripts that look alike (Cyrillic `а` beside
/// Latin `a`) would let two identities pass for one. A display name may hold any letters.
fn check_username(username: &str, errors: &mut ValidationErrors) {
    let ok_chars = username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c));
    if username.is_empty() {
        errors.add("username", "is required");
    } else if username.len() > 64 {
        errors.add("username", "must be at most 64 characters");
    } else if !ok_chars || !username.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        errors.add(
            "username",
            "may contain only ASCII letters a-z, digits and . _ - @ (no accents or other scripts: \
             the display name may have them), and must start with a letter or digit",
        );
    }
}

fn check_email(email: Option<&str>, errors: &mut ValidationErrors) {
    let Some(email) = email else { return };
    if !is_email_address(email) {
        errors.add("email", format!("'{email}' is not an email address"));
    }
}

/// Whether `email` looks like a deliverable address (`local@domain.tld`, no spaces).
#[must_use]
pub fn is_email_address(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
}

fn check_phone(phone: Option<&str>, errors: &mut ValidationErrors) {
    let Some(phone) = phone else { return };
    let digits = phone.strip_prefix('+').unwrap_or("");
    if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        errors.add("phone", format!("'{phone}' is not an international number like +441632960000"));
    }
}

fn check_text(field: &str, value: Option<&str>, max: usize, errors: &mut ValidationErrors) {
    if let Some(v) = value {
        if v.chars().count() > max {
            errors.add(field, format!("must be at most {max} characters"));
        }
        if v.chars().any(char::is_control) {
            errors.add(field, "must not contain control characters");
        }
    }
}

fn parse_roles(roles: &[String], errors: &mut ValidationErrors) -> Vec<Role> {
    let mut parsed: Vec<Role> =
        roles.iter().filter_map(|r| Role::parse(r).map_err(|e| errors.add("roles", e)).ok()).collect();
    parsed.sort();
    parsed.dedup();
    parsed
}

/// Trims, and turns blank into absent.
fn clean(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The normal form of a username: trimmed, lower case.
#[must_use]
pub fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

impl NewUser {
    /// Checks every field and builds the user, or lists every problem.
    ///
    /// # Errors
    /// Every field that is missing or malformed.
    pub fn validate(&self, id: Uuid, now: Timestamp) -> Result<User, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let username = normalize_username(&self.username);
        check_username(&username, &mut errors);
        let email = clean(self.email.as_ref()).map(|e| e.to_lowercase());
        check_email(email.as_deref(), &mut errors);
        let phone = clean(self.phone.as_ref());
        check_phone(phone.as_deref(), &mut errors);
        let display_name = clean(self.display_name.as_ref()).unwrap_or_else(|| username.clone());
        check_text("display_name", Some(&display_name), 128, &mut errors);
        let department = clean(self.department.as_ref());
        check_text("department", department.as_deref(), 128, &mut errors);
        let manager = clean(self.manager.as_ref()).map(|m| normalize_username(&m));
        if let Some(m) = &manager {
            let mut manager_errors = ValidationErrors::default();
            check_username(m, &mut manager_errors);
            if !manager_errors.is_empty() {
                errors.add("manager", format!("'{m}' is not a valid username"));
            } else if *m == username {
                errors.add("manager", "a user cannot be their own manager");
            }
        }
        let tier = match clean(self.tier.as_ref()) {
            None => Tier::Standard,
            Some(t) => Tier::parse(&t).unwrap_or_else(|e| {
                errors.add("tier", e);
                Tier::Standard
            }),
        };
        let roles = match &self.roles {
            None => vec![Role::User],
            Some(r) => parse_roles(r, &mut errors),
        };
        errors.into_result()?;
        Ok(User {
            id,
            username,
            email,
            display_name,
            phone,
            department,
            manager,
            status: UserStatus::Active,
            tier,
            roles,
            created_at: now,
            updated_at: now,
        })
    }
}

impl UserPatch {
    /// True when the patch changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The user after this patch, or every problem with it.
    ///
    /// # Errors
    /// Every field that is malformed, or an empty patch.
    pub fn apply(&self, before: &User, now: Timestamp) -> Result<User, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.is_empty() {
            errors.add("patch", "names no field to change");
        }
        let mut after = before.clone();
        if let Some(email) = &self.email {
            after.email = clean(email.as_ref()).map(|e| e.to_lowercase());
            check_email(after.email.as_deref(), &mut errors);
        }
        if let Some(name) = &self.display_name {
            match clean(Some(name)) {
                Some(n) => after.display_name = n,
                None => errors.add("display_name", "must not be blank"),
            }
            check_text("display_name", Some(&after.display_name), 128, &mut errors);
        }
        if let Some(phone) = &self.phone {
            after.phone = clean(phone.as_ref());
            check_phone(after.phone.as_deref(), &mut errors);
        }
        if let Some(department) = &self.department {
            after.department = clean(department.as_ref());
            check_text("department", after.department.as_deref(), 128, &mut errors);
        }
        if let Some(manager) = &self.manager {
            after.manager = clean(manager.as_ref()).map(|m| normalize_username(&m));
            if after.manager.as_deref() == Some(before.username.as_str()) {
                errors.add("manager", "a user cannot be their own manager");
            }
        }
        if let Some(status) = &self.status {
            match UserStatus::parse(status) {
                Ok(s) if before.status == UserStatus::Deprovisioned && s != UserStatus::Deprovisioned => {
                    errors.add("status", "a deprovisioned identity cannot be reactivated; create a new one");
                }
                Ok(s) => after.status = s,
                Err(e) => errors.add("status", e),
            }
        }
        if let Some(tier) = &self.tier {
            match Tier::parse(tier) {
                Ok(t) => after.tier = t,
                Err(e) => errors.add("tier", e),
            }
        }
        if let Some(roles) = &self.roles {
            after.roles = parse_roles(roles, &mut errors);
        }
        errors.into_result()?;
        after.updated_at = now;
        Ok(after)
    }
}

impl User {
    /// True when the identity may start a new session.
    #[must_use]
    pub fn may_sign_in(&self) -> bool {
        self.status == UserStatus::Active
    }

    /// True when the user holds `role`.
    #[must_use]
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A named set of users, used for policy and rollout cohorts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Stable identifier.
    pub id: Uuid,
    /// Unique name, lower case.
    pub name: String,
    /// What the group is for.
    pub description: Option<String>,
    /// When the group was created.
    pub created_at: Timestamp,
}

/// Checks a new group's name and description and builds it.
///
/// # Errors
/// Every malformed field.
pub fn new_group(id: Uuid, name: &str, description: Option<&str>, now: Timestamp) -> Result<Group, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let name = name.trim().to_lowercase();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        errors.add("name", "must be 1–64 characters of letters, digits and . _ -");
    }
    let description = clean(description.map(str::to_owned).as_ref());
    check_text("description", description.as_deref(), 256, &mut errors);
    errors.into_result()?;
    Ok(Group { id, name, description, created_at: now })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_ascii_and_says_so() {
        let mut errors = ValidationErrors::default();
        check_username("björn", &mut errors);
        let said = errors.to_string();
        assert!(said.contains("ASCII letters a-z") && said.contains("display name may have them"), "{said}");
        let mut errors = ValidationErrors::default();
        check_username("bjorn", &mut errors);
        assert!(errors.is_empty());
    }

    fn alice() -> NewUser {
        NewUser { username: " Alice ".into(), email: Some("Alice@Example.com".into()), ..NewUser::default() }
    }

    #[test]
    fn a_new_user_is_normalised_with_defaults() {
        let user = alice().validate(Uuid::nil(), Timestamp(5)).unwrap();
        assert_eq!(user.username, "alice");
        assert_eq!(user.email.as_deref(), Some("alice@example.com"));
        assert_eq!(user.display_name, "alice");
        assert_eq!((user.tier, user.status), (Tier::Standard, UserStatus::Active));
        assert_eq!(user.roles, vec![Role::User]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = NewUser {
            username: "-bad name".into(),
            email: Some("nope".into()),
            phone: Some("12".into()),
            tier: Some("gold".into()),
            roles: Some(vec!["wizard".into()]),
            ..NewUser::default()
        };
        let errors = bad.validate(Uuid::nil(), Timestamp(0)).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["username", "email", "phone", "tier", "roles"]);
        assert!(errors.summary().contains("'gold' is not one of: privileged, standard"));
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_null_clears() {
        let user = alice().validate(Uuid::nil(), Timestamp(0)).unwrap();
        let patch: UserPatch = serde_json::from_str(r#"{"email": null, "tier": "privileged"}"#).unwrap();
        let after = patch.apply(&user, Timestamp(9)).unwrap();
        assert_eq!(after.email, None);
        assert_eq!(after.tier, Tier::Privileged);
        assert_eq!(after.display_name, user.display_name);
        assert_eq!(after.updated_at, Timestamp(9));
    }

    #[test]
    fn an_unknown_patch_field_is_refused() {
        assert!(serde_json::from_str::<UserPatch>(r#"{"colour": "red"}"#).is_err());
    }

    #[test]
    fn a_deprovisioned_identity_stays_deprovisioned() {
        let mut user = alice().validate(Uuid::nil(), Timestamp(0)).unwrap();
        user.status = UserStatus::Deprovisioned;
        let patch = UserPatch { status: Some("active".into()), ..UserPatch::default() };
        assert!(patch.apply(&user, Timestamp(1)).is_err());
    }

    #[test]
    fn group_names_are_checked() {
        assert!(new_group(Uuid::nil(), "Planners", None, Timestamp(0)).is_ok_and(|g| g.name == "planners"));
        assert!(new_group(Uuid::nil(), "no spaces", None, Timestamp(0)).is_err());
    }
}
