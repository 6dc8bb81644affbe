//! [`PageAuthorized<P>`]: the pages' counterpart of the API's `Authorized<P>`. A page handler
//! that takes one has passed the check — signed in, second factor done, a role granting `P`
//! (`twofold_core::identity::roles`), a recent second factor when `P` is a change, and the
//! policy for Twofold's own pages (asked about `modify` when `P` is a change) — so no handler
//! repeats that prologue. It does not check a form's CSRF token: a handler taking a form
//! still verifies it (`crate::csrf`), as every form handler does.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use twofold_app::signin::Authenticated;
use twofold_core::identity::roles::{self, PageAccess};

use super::own_page_gate_for;
use crate::AppState;
use crate::extract::{ClientMeta, PageSession, Permission};
use crate::page_error::PageError;

/// A signed-in person whose roles grant `P`, with the freshness `P` needs.
pub(crate) struct PageAuthorized<P> {
    /// The person and their session.
    pub current: Authenticated,
    /// The policy's notice for the page, when it serves it with one.
    pub notice: Option<String>,
    _permission: PhantomData<P>,
}

/// Where a sign-in or step-up for this request returns: the page itself for a `GET`, the
/// account page after a form was sent (a browser cannot be sent back to repeat a `POST`).
fn return_path(parts: &Parts) -> String {
    let page = parts.uri.path_and_query().map_or("/account", |p| p.as_str());
    if parts.method == Method::GET && super::safe_return_path(Some(page)) == page {
        page.to_owned()
    } else {
        "/account".to_owned()
    }
}

/// The refusal for a decision other than [`PageAccess::Allow`].
fn refusal(access: PageAccess, return_to: String) -> Option<PageError> {
    match access {
        PageAccess::Allow => None,
        PageAccess::SignIn => Some(PageError::SignIn { return_to }),
        PageAccess::StepUp => Some(PageError::StepUp { return_to, strength: None }),
        PageAccess::Forbidden => Some(PageError::NotPermitted),
    }
}

impl<P: Permission> FromRequestParts<AppState> for PageAuthorized<P> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let return_to = return_path(parts);
        let PageSession(session) = PageSession::from_request_parts(parts, state).await?;
        let roles = session.as_ref().map_or(&[][..], |c| c.user.roles.as_slice());
        let access = roles::page_access(session.as_ref().map(|c| &c.session), roles, P::PERMISSION, state.app.now());
        if let Some(refused) = refusal(access, return_to.clone()) {
            return Err(refused);
        }
        let current = session.ok_or(PageError::SignIn { return_to: return_to.clone() })?;
        let Ok(ClientMeta(meta)) = ClientMeta::from_request_parts(parts, state).await;
        let action = if P::PERMISSION.is_change() {
            twofold_core::access::Action::Modify
        } else {
            twofold_core::access::Action::Read
        };
        let notice = own_page_gate_for(state, &current, action, &meta, &return_to).await?;
        Ok(Self { current, notice, _permission: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Request, StatusCode, header};
    use axum::response::IntoResponse;

    use super::*;

    fn parts(method: Method, uri: &str) -> Parts {
        Request::builder().method(method).uri(uri).body(()).unwrap().into_parts().0
    }

    fn location(error: PageError) -> String {
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        response.headers()[header::LOCATION].to_str().unwrap().to_owned()
    }

    #[test]
    fn a_page_returns_to_itself_and_a_form_to_the_account_page() {
        assert_eq!(return_path(&parts(Method::GET, "/admin/users?q=bo")), "/admin/users?q=bo");
        assert_eq!(return_path(&parts(Method::POST, "/admin/users/1/suspend")), "/account");
    }

    #[test]
    fn nobody_signed_in_is_sent_to_sign_in_and_back() {
        let refused = refusal(PageAccess::SignIn, "/admin/users?q=bo".into()).unwrap();
        assert_eq!(location(refused), "/login?return_to=/admin/users%3Fq%3Dbo");
    }

    #[test]
    fn a_stale_second_factor_is_sent_to_the_step_up_and_back() {
        let refused = refusal(PageAccess::StepUp, "/admin/policy".into()).unwrap();
        assert_eq!(location(refused), "/login/mfa?return_to=/admin/policy");
    }

    #[tokio::test]
    async fn a_person_without_the_role_gets_an_html_403() {
        let response = refusal(PageAccess::Forbidden, "/admin".into()).unwrap().into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains("does not have a role that opens this page") && html.contains(r#"href="/account""#));
    }

    #[test]
    fn an_allowed_request_is_not_refused() {
        assert!(refusal(PageAccess::Allow, "/admin".into()).is_none());
    }
}
