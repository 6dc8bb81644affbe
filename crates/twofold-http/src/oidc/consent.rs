//! The consent screen a third-party app's authorization request shows (OpenID Connect Core
//! §3.1.2.4): what the app asks for, Allow or Deny. `POST /oauth2/consent` records the answer.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twofold_app::signin::Authenticated;
use twofold_core::oidc::AuthorizationRequest;

use crate::extract::{ClientMeta, PageSession};
use crate::i18n::{t, t1};
use crate::page_error::PageError;
use crate::{AppState, csrf};

#[derive(Template, WebTemplate)]
#[template(path = "consent.html")]
struct ConsentPage {
    client_name: String,
    /// The sentence around the person's name, which the page shows in bold.
    intro: (String, String),
    display_name: String,
    permissions: Vec<String>,
    csrf: String,
    request: String,
}

/// What a scope lets the app do, in the person's words.
pub(crate) fn describe(scope: &str) -> String {
    match scope {
        "openid" => t("consent.scope_openid").into(),
        "profile" => t("consent.scope_profile").into(),
        "email" => t("consent.scope_email").into(),
        "groups" => t("consent.scope_groups").into(),
        "offline_access" => t("consent.scope_offline_access").into(),
        other => t1("consent.scope_other", "scope", other),
    }
}

/// The consent screen for the authorization request `query`.
pub(super) async fn render(
    state: &AppState,
    current: &Authenticated,
    client_name: String,
    scopes: &[String],
    query: &str,
) -> Response {
    let (before, after) = crate::pages::wording::around(t("consent.intro"), "name");
    let intro = (before.replace("{client}", &client_name), after.replace("{client}", &client_name));
    let page = ConsentPage {
        intro,
        client_name,
        display_name: current.user.display_name.clone(),
        permissions: scopes.iter().map(|s| describe(s)).collect(),
        csrf: csrf::session_token(&state.config.csrf_key, &current.session.id_hash),
        request: query.to_owned(),
    };
    let mut response = ([(header::CACHE_CONTROL, "no-store")], page).into_response();
    crate::urls::allow_form_target(state, &format!("/oauth2/authorize?{query}"), &mut response).await;
    response
}

/// An authorization request's query without `prompt=VALUE` (so that, once answered, the
/// request goes on as an ordinary one instead of asking again).
pub(super) fn without_prompt(query: &str, value: &str) -> String {
    let asked = format!("prompt={value}");
    let kept: Vec<&str> = query.split('&').filter(|p| *p != asked).collect();
    format!("/oauth2/authorize?{}", kept.join("&"))
}

/// Where a person sent to sign in or step up comes back to: the authorization request
/// without `prompt=login` and `max_age`, which the sign-in about to happen answers. Kept, a
/// `max_age=0` would ask again for ever (the new sign-in is already some milliseconds old on
/// return). The app still learns how fresh the sign-in is from `auth_time`, which every ID
/// token carries, and OpenID Connect asks it to check that — the browser, which could leave
/// the parameters out anyway, is not trusted for it.
pub(super) fn after_sign_in(query: &str) -> String {
    let kept: Vec<&str> = query.split('&').filter(|p| *p != "prompt=login" && !p.starts_with("max_age=")).collect();
    format!("/oauth2/authorize?{}", kept.join("&"))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

/// `POST /oauth2/consent`: Allow goes back to the authorization endpoint (which now issues
/// the code); Deny sends `error=access_denied` to the app.
pub async fn submit(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    let current = session.filter(|s| s.session.opens_apps()).ok_or(PageError::SessionEnded)?;
    if !csrf::check_session_token(&state.config.csrf_key, &current.session.id_hash, &form.csrf) {
        return Err(PageError::FormExpired);
    }
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(PageError::BadRequest(t("consent.choose").into())),
    };
    let malformed = || PageError::BadRequest(t("consent.malformed").into());
    let uri: Uri = format!("/oauth2/authorize?{}", form.request).parse().map_err(|_| malformed())?;
    let Query(request) = Query::<AuthorizationRequest>::try_from_uri(&uri).map_err(|_| malformed())?;
    match state.app.oidc().decide_consent(&request, &current, allow, &meta).await? {
        Ok(Some(denied)) => Ok(Redirect::to(&denied).into_response()),
        Ok(None) => Ok(Redirect::to(&without_prompt(&form.request, "consent")).into_response()),
        Err(reason) => Err(PageError::BadRequest(t1("consent.cannot_accept", "reason", reason))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_prompt_is_removed_once_answered() {
        assert_eq!(
            super::without_prompt("client_id=a&prompt=consent&state=x", "consent"),
            "/oauth2/authorize?client_id=a&state=x"
        );
    }

    #[test]
    fn the_way_back_from_a_sign_in_drops_what_it_answers() {
        assert_eq!(
            super::after_sign_in("client_id=a&prompt=login&max_age=0&acr_values=phr&state=x"),
            "/oauth2/authorize?client_id=a&acr_values=phr&state=x"
        );
        assert_eq!(super::after_sign_in("client_id=a&prompt=consent"), "/oauth2/authorize?client_id=a&prompt=consent");
    }
}
