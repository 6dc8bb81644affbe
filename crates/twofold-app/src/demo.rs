//! The demo organisation `twofold serve --demo` seeds, so a newcomer can sign in at once.

use twofold_core::identity::NewUser;

use crate::{Actor, App, AppResult, RequestMeta};

/// The password every demo user gets. Printed on the console; demo data only.
pub const DEMO_PASSWORD: &str = "twofold-demo-pass";

/// The demo app's name: a public client (PKCE, no secret) to try sign-in with by hand.
pub const DEMO_APP: &str = "Demo app";

/// Where the demo app's codes go: a loopback address nothing need listen on (the code is
/// then in the browser's address bar, ready to paste into the token request).
pub const DEMO_REDIRECT_URI: &str = "http://localhost:8000/callback";

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

    /// The demo app's `client_id`, registering it the first time (a public client with
    /// PKCE, redirecting to [`DEMO_REDIRECT_URI`]).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn seed_demo_app(&self) -> AppResult<String> {
        if let Some(client) = self.oidc.clients().await?.into_iter().find(|c| c.name == DEMO_APP) {
            return Ok(client.client_id);
        }
        let new = crate::oidc::NewClient {
            name: DEMO_APP.into(),
            redirect_uris: vec![DEMO_REDIRECT_URI.into()],
            public: true,
            scopes: Vec::new(),
            min_acr: None,
            third_party: false,
            id_token_alg: None,
            token_endpoint_auth_method: None,
            may_introspect: false,
        };
        let (client, _) = self.oidc.register_client(&Actor::system("demo"), &RequestMeta::default(), &new).await?;
        Ok(client.client_id)
    }
}
