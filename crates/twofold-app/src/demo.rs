//! The demo organisation `twofold serve --demo` seeds, so a newcomer can sign in at once.

use twofold_core::identity::NewUser;

use crate::{Actor, App, AppResult, RequestMeta};

/// The password every demo user gets. Printed on the console; demo data only.
pub const DEMO_PASSWORD: &str = "twofold-demo-pass";

const GROUPS: &[(&str, &str)] =
    &[("engineering", "Engineering staff"), ("finance", "Finance and planning"), ("pilot", "MFA rollout pilot cohort")];

/// One demo identity.
struct DemoUser {
    username: &'static str,
    display_name: &'static str,
    department: &'static str,
    tier: &'static str,
    roles: &'static [&'static str],
    groups: &'static [&'static str],
    manager: Option<&'static str>,
}

const fn demo(
    username: &'static str,
    display_name: &'static str,
    department: &'static str,
    tier: &'static str,
    roles: &'static [&'static str],
    groups: &'static [&'static str],
    manager: Option<&'static str>,
) -> DemoUser {
    DemoUser { username, display_name, department, tier, roles, groups, manager }
}

const USERS: &[DemoUser] = &[
    demo("alice", "Alice Adams", "Engineering", "privileged", &["admin", "user"], &["engineering", "pilot"], None),
    demo("bob", "Bob Brown", "Engineering", "standard", &["user"], &["engineering", "pilot"], Some("alice")),
    demo("carol", "Carol Chen", "Finance", "standard", &["approver", "user"], &["finance"], Some("alice")),
    demo("dave", "Dave Diaz", "Finance", "external", &["user"], &["finance"], Some("carol")),
    demo("erin", "Erin Evans", "IT Support", "standard", &["helpdesk", "user"], &[], Some("alice")),
    demo("breakglass", "Emergency Access", "IT", "break_glass", &["admin"], &[], None),
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
            if self.shared.store.group_by_name(name).await?.is_none() {
                self.identity.create_group(&actor, &meta, name, Some(description)).await?;
            }
        }
        let mut created = Vec::new();
        for person in USERS {
            if self.shared.store.user_by_username(person.username).await?.is_some() {
                continue;
            }
            let new_user = NewUser {
                username: person.username.into(),
                email: Some(format!("{}@demo.twofold.test", person.username)),
                display_name: Some(person.display_name.into()),
                phone: None,
                department: Some(person.department.into()),
                manager: person.manager.map(Into::into),
                tier: Some(person.tier.into()),
                roles: Some(person.roles.iter().map(|r| (*r).to_owned()).collect()),
            };
            let groups = person.groups.iter().map(|g| (*g).to_owned()).collect();
            self.identity.create_user(&actor, &meta, new_user, Some(DEMO_PASSWORD.into()), groups).await?;
            created.push(person.username.to_owned());
        }
        Ok(created)
    }
}
