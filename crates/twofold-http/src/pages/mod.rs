//! Browser pages: sign-in at `/login`, the account page at `/account`, sign-out, and the
//! help desk's operator pages at `/helpdesk`.

mod access_pass;
mod account;
mod admin;
mod approvals;
pub(crate) mod auth;
mod case_review;
pub mod chrome;
mod fallback;
mod first_method;
mod helpdesk;
mod login;
mod mfa;
mod passkey;
mod security;
pub(crate) mod wording;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use twofold_app::signin::Authenticated;

use crate::page_error::PageError;
use crate::{AppState, csrf};

/// The Security info page, where the second step and sign-in return when they concern it.
const SECURITY: &str = "/account/security";

/// The browser pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/account") }))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", axum::routing::post(account::logout))
        .route("/login/mfa", get(mfa::show).post(mfa::submit))
        .route("/login/access-pass", get(access_pass::show).post(access_pass::submit))
        .route("/account/security/first-method/send", axum::routing::post(first_method::send))
        .route("/account/security/first-method/confirm", axum::routing::post(first_method::confirm))
        .route("/login/mfa/passkey/options", axum::routing::post(passkey::second_factor_options))
        .route("/login/mfa/passkey", axum::routing::post(passkey::second_factor))
        .route("/login/passkey/options", axum::routing::post(passkey::sign_in_options))
        .route("/login/passkey", axum::routing::post(passkey::sign_in))
        .route("/account/security/passkey/options", axum::routing::post(passkey::registration_options))
        .route("/account/security/passkey", axum::routing::post(passkey::register))
        .route("/account", get(account::show))
        .route("/account/sessions/{handle}/end", axum::routing::post(account::end_session))
        .route("/account/apps/withdraw", axum::routing::post(account::withdraw_app))
        .route("/account/security", get(security::show))
        .route("/account/security/totp", axum::routing::post(security::begin_totp))
        .route("/account/security/totp/confirm", axum::routing::post(security::confirm_totp))
        .route("/account/security/email", axum::routing::post(fallback::begin_email))
        .route("/account/security/sms", axum::routing::post(fallback::begin_sms))
        .route("/account/security/fallback/confirm", axum::routing::post(fallback::confirm))
        .route("/login/mfa/send", axum::routing::post(mfa::send_code))
        .route("/account/security/recovery-codes", axum::routing::post(security::recovery_codes))
        .route("/account/security/{id}/rename", axum::routing::post(security::rename))
        .route("/account/security/{id}/remove", axum::routing::post(security::remove))
        .route("/account/security/{id}/replace", axum::routing::post(security::replace))
        .route("/account/security/devices/{device}/forget", axum::routing::post(security::forget_device))
        .route("/cases/{id}/review", get(case_review::show).post(case_review::answer))
        .route("/admin", get(admin::home))
        .route("/admin/audit", get(admin::audit))
        .route("/approvals", get(approvals::queue))
        .route("/approvals/{id}", get(approvals::show).post(approvals::decide))
        .route("/helpdesk", get(helpdesk::show))
        .route("/helpdesk/cases", axum::routing::post(helpdesk::open))
        .route("/helpdesk/cases/{id}", get(helpdesk::case))
        .route("/helpdesk/cases/{id}/retire", axum::routing::post(helpdesk::retire))
        .route("/helpdesk/cases/{id}/{step}", axum::routing::post(helpdesk::step))
        .route("/static/twofold.css", get(stylesheet))
        .route("/static/webauthn.js", get(script))
        .route("/static/pages.js", get(page_script))
        .route("/static/logo", get(chrome::logo))
}

async fn page_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/pages.js"),
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/twofold.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/webauthn.js"),
    )
}

/// A fully signed-in session for the page at `page` (where sign-in or the second factor
/// returns to).
pub(crate) fn signed_in(session: Option<Authenticated>, page: &str) -> Result<Authenticated, PageError> {
    match session {
        Some(current) if !current.session.mfa_pending => Ok(current),
        Some(_) => Err(PageError::StepUp { return_to: page.to_owned(), strength: None }),
        None => Err(PageError::SignIn { return_to: page.to_owned() }),
    }
}

/// A fully signed-in session whose form carries its CSRF token (`presented`).
pub(crate) fn with_form_token(
    state: &AppState,
    session: Option<Authenticated>,
    page: &str,
    presented: &str,
) -> Result<Authenticated, PageError> {
    let current = signed_in(session, page)?;
    if !csrf::check_session_token(&state.config.csrf_key, &current.session.id_hash, presented) {
        return Err(PageError::FormExpired);
    }
    Ok(current)
}

/// What the policy in force says of `current` reading Twofold's own page at `path`: `None`
/// to serve it (or, on Security info, `Some` notice to serve it with), else why not — a 403
/// naming the rules, or a step-up that returns to the page. A strength none of the person's
/// methods reaches leads to Security info, to set one up.
pub(crate) async fn own_page_gate(
    state: &AppState,
    current: &Authenticated,
    meta: &twofold_app::RequestMeta,
    path: &str,
) -> Result<Option<String>, PageError> {
    own_page_gate_for(state, current, twofold_core::access::Action::Read, meta, path).await
}

/// As [`own_page_gate`], for a request that does `action` (a change asks the policy about
/// `modify`, so rules on changes apply to it).
pub(crate) async fn own_page_gate_for(
    state: &AppState,
    current: &Authenticated,
    action: twofold_core::access::Action,
    meta: &twofold_app::RequestMeta,
    path: &str,
) -> Result<Option<String>, PageError> {
    use twofold_app::access::policies::Verdict;
    let verdict = state.app.access().own_pages_access(current, action, meta).await?;
    match verdict {
        Verdict::Satisfied => Ok(None),
        Verdict::Refused(reason) => Err(PageError::AccessRefused(reason)),
        // A temporary access pass counts as the second factor for Security info, and only there.
        Verdict::StepUp(_) if path.starts_with(SECURITY) && current.session.auth.is_access_pass_only() => Ok(None),
        Verdict::StepUp(strength) => Err(PageError::StepUp { return_to: path.to_owned(), strength: Some(strength) }),
        Verdict::Unreachable(reason) if path == SECURITY => {
            Ok(Some(format!("Your organisation's {reason}: add one below.")))
        }
        Verdict::Unreachable(_) => Err(PageError::SetUpMethod),
    }
}

/// The app a sign-in returning to `return_to` is for, as conditional access names it: the
/// `client_id` of an authorization request, the `host/path` of a forward-auth return, or
/// `None` for Twofold's own pages.
pub(crate) fn sign_in_app(return_to: &str) -> Option<String> {
    let uri: axum::http::Uri = return_to.parse().ok()?;
    let axum::extract::Query(params) =
        axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(&uri).ok()?;
    match uri.path() {
        "/oauth2/authorize" => params.get("client_id").filter(|id| !id.contains('/')).cloned(),
        "/forward-auth/continue" => {
            let target: axum::http::Uri = params.get("rd")?.parse().ok()?;
            Some(format!("{}{}", target.host()?.to_ascii_lowercase(), target.path()))
        }
        _ => None,
    }
}

/// A same-origin path to return to after sign-in, or `/account`. Refuses absolute URLs,
/// scheme-relative `//host` and backslash tricks, so sign-in is never an open redirect.
fn safe_return_path(candidate: Option<&str>) -> String {
    match candidate {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/account".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn a_sign_in_names_the_app_it_returns_to() {
        use super::sign_in_app;
        assert_eq!(sign_in_app("/oauth2/authorize?client_id=tfc_1&x=y").as_deref(), Some("tfc_1"));
        assert_eq!(
            sign_in_app("/forward-auth/continue?rd=https%3A%2F%2FApp.test%2Fdocs%2Fa%3Fq%3D1").as_deref(),
            Some("app.test/docs/a")
        );
        assert_eq!(sign_in_app("/account"), None);
    }

    #[test]
    fn only_same_origin_paths_are_returned_to() {
        assert_eq!(safe_return_path(Some("/account?x=1")), "/account?x=1");
        for evil in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/\nx"] {
            assert_eq!(safe_return_path(Some(evil)), "/account", "{evil}");
        }
        assert_eq!(safe_return_path(None), "/account");
    }
}
