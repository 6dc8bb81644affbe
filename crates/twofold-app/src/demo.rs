//! The demo organisation `twofold serve --demo` seeds, so a newcomer can sign in at once.

use twofold_core::identity::NewUser;

use crate::{Actor, App, AppResult, RequestMeta};

/// The password every demo user gets. Printed on the console; demo data only.
pub const DEMO_PASSWORD: &str = "twofold-demo-pass";

const GROUPS: &[(&str, &str)] = &[
    ("engineering", "Engineering staff"),
    ("finance", "Finance and planning"),
    ("pilot", "MFA rollout pilot cohort"),
];

/// (username, display name, department, tier, roles, groups, manager)
const USERS: &[(&str, &str, &str, &str, &[&str], &[&str], Option<&str>)] = &[
    ("alice", "Alice Adams", "Engineering", "privileged", &["admin", "user"], &["engineering", "pilot"], None),
    ("bob", "Bob Brown", "Engineering", "standard", &["user"], &["engineering", "pilot"], Some("alice")),
    ("carol", "Carol Chen", "Finance", "standard", &["approver", "user"], &["finance"], Some("alice")),
    ("dave", "Dave Diaz", "Finance", "external", &["user"], &["finance"], Some("carol")),
    ("erin", "Erin Evans", "IT Support", "standard", &["helpdesk", "user"], &[], Some("alice")),
    ("breakglass", "Emergency Access", "IT", "break_glass", &["admin"], &[], None),
];

impl App {
    /// Seeds the demo groups and users; what already exists is left alone. Returns the
    /// usernames created.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn seed_demo(&self) -> AppResult<Vec<String>> {
        let actor = Actor::system("demo");
        let meta = RequestMeta::default();
        for (name, description) in GROUPS {
            if self.store.group_by_name(name).await?.is_none() {
                self.create_group(&actor, &meta, name, Some(description)).await?;
            }
        }
        let mut created = Vec::new();
        for (username, display_name, department, tier, roles, groups, manager) in USERS {
            if self.store.user_by_username(username).await?.is_some() {
                continue;
            }
            let new_user = NewUser {
                username: (*username).into(),
                email: Some(format!("{username}@demo.twofold.test")),
                display_name: Some((*display_name).into()),
                phone: None,
                department: Some((*department).into()),
                manager: manager.map(Into::into),
                tier: Some((*tier).into()),
                roles: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
            };
            let groups = groups.iter().map(|g| (*g).to_owned()).collect();
            self.create_user(&actor, &meta, new_user, Some(DEMO_PASSWORD.into()), groups).await?;
            created.push((*username).to_owned());
        }
        Ok(created)
    }
}
