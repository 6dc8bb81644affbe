//! The admin console under `/admin`. Every page is reached through [`ConsoleAuthorized<P>`]:
//! the page's permission from the role matrix (`twofold_core::identity::roles`), a recent
//! second factor for a change, and — for the console as a whole — a sign-in of the console's
//! strength (a passkey or security key for admins, two-step sign-in for the other roles;
//! never a session let in by emergency access), else the step-up and back to the same page.
//! Sections: the home page (`mod.rs`) and the audit log (`audit.rs`).

mod audit;

pub use audit::audit;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use twofold_app::signin::Authenticated;
use twofold_core::identity::roles::{self, Permission as RolePermission};

use super::auth::PageAuthorized;
use super::security::{no_store, token};
use crate::AppState;
use crate::extract::{Permission, ReadDirectory};
use crate::i18n::t;
use crate::page_error::PageError;

/// A console page's caller: [`PageAuthorized<P>`] whose sign-in reached the console's
/// strength.
pub(crate) struct ConsoleAuthorized<P> {
    /// The person and their session.
    pub current: Authenticated,
    _permission: std::marker::PhantomData<P>,
}

impl<P: Permission> FromRequestParts<AppState> for ConsoleAuthorized<P> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let page = PageAuthorized::<P>::from_request_parts(parts, state).await?;
        let current = page.current;
        let needed = roles::console_strength(&current.user.roles);
        let auth = &current.session.auth;
        let emergency = auth.amr.iter().any(|m| m == twofold_core::emergency::EMERGENCY_AMR);
        if emergency || !twofold_core::oidc::strength_meets(&auth.acr, needed) {
            let here = parts.uri.path_and_query().map_or("/admin", |p| p.as_str());
            let return_to = super::safe_return_path(Some(here));
            return Err(PageError::StepUp { return_to, strength: Some(needed.to_owned()) });
        }
        Ok(Self { current, _permission: std::marker::PhantomData })
    }
}

/// One section of the console the person may open.
struct Section {
    href: &'static str,
    title: &'static str,
    about: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/home.html")]
struct HomePage {
    name: String,
    sections: Vec<Section>,
    csrf: String,
}

/// `GET /admin`: the sections the person's roles open.
pub async fn home(
    axum::extract::State(state): axum::extract::State<AppState>,
    page: ConsoleAuthorized<ReadDirectory>,
) -> Result<Response, PageError> {
    let roles = &page.current.user.roles;
    let mut sections = Vec::new();
    if roles::any_grants(roles, RolePermission::ReadAudit) {
        sections.push(Section { href: "/admin/audit", title: t("console.audit"), about: t("console.audit_about") });
    }
    if roles::any_grants(roles, RolePermission::WorkCases) {
        sections.push(Section { href: "/helpdesk", title: t("console.helpdesk"), about: t("console.helpdesk_about") });
    }
    sections.push(Section { href: "/approvals", title: t("console.approvals"), about: t("console.approvals_about") });
    let view = HomePage { name: page.current.user.display_name.clone(), sections, csrf: token(&state, &page.current) };
    Ok(no_store(StatusCode::OK, view))
}
