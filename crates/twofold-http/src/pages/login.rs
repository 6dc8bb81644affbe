//! `GET /login` shows the form; `POST /login` signs in.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twofold_app::AppError;
use twofold_core::secret::random_token;

use super::safe_return_path;
use crate::extract::{ClientMeta, PageSession};
use crate::i18n::{t, t1};
use crate::page_error::PageError;
use crate::urls::{allow_form_target, query_escape};
use crate::{AppState, cookies, csrf};

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    return_to: String,
    username: String,
    error: Option<String>,
    /// A notice that is no error (after signing out).
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    /// Set by signing out, so the page says it happened.
    signed_out: Option<String>,
    return_to: Option<String>,
    /// `login`: show the form even to a signed-in person (an app asked to sign in again).
    prompt: Option<String>,
    /// A username to prefill (an app's `login_hint`).
    login_hint: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
}

/// Renders the form with a fresh double-submit CSRF token in a cookie and a hidden field.
async fn render(
    state: &AppState,
    status: StatusCode,
    return_to: String,
    username: String,
    error: Option<String>,
) -> Response {
    render_with(state, status, return_to, username, error, None).await
}

/// As [`render`], with a `notice` that is no error.
async fn render_with(
    state: &AppState,
    status: StatusCode,
    return_to: String,
    username: String,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let token = random_token();
    let page = LoginPage { csrf: token.clone(), return_to: return_to.clone(), username, error, notice };
    let cookie = cookies::set(cookies::CSRF, &token, None, state.config.secure_cookies());
    let mut response = (
        status,
        [(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".parse().unwrap_or(cookie_fallback()))],
        page,
    )
        .into_response();
    allow_form_target(state, &return_to, &mut response).await;
    response
}

fn cookie_fallback() -> header::HeaderValue {
    header::HeaderValue::from_static("no-store")
}

pub async fn show(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Query(query): Query<LoginQuery>,
) -> Response {
    let return_to = safe_return_path(query.return_to.as_deref());
    match session {
        Some(current) if current.session.mfa_pending => {
            return Redirect::to(&format!("/login/mfa?return_to={}", query_escape(&return_to))).into_response();
        }
        // A temporary access pass opens Security info only: an app that sent the person here
        // needs a real sign-in, so the form is shown (sending them back would only loop).
        Some(current) if current.session.auth.is_access_pass_only() => {
            let username = current.user.username.clone();
            let notice = Some(t("login.access_pass_only").to_owned());
            return render_with(&state, StatusCode::OK, return_to, username, None, notice).await;
        }
        Some(_) if query.prompt.as_deref() != Some("login") => return Redirect::to(&return_to).into_response(),
        _ => {}
    }
    let username = query.login_hint.unwrap_or_default().chars().take(64).collect();
    let notice = query.signed_out.is_some().then(|| t("login.signed_out").to_owned());
    render_with(&state, StatusCode::OK, return_to, username, None, notice).await
}

pub async fn submit(
    State(state): State<AppState>,
    ClientMeta(mut meta): ClientMeta,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let return_to = safe_return_path(form.return_to.as_deref());
    if !csrf::check_double_submit(cookies::get(&headers, cookies::CSRF), &form.csrf) {
        let message = Some(t("login.form_expired").to_owned());
        return Ok(render(&state, StatusCode::FORBIDDEN, return_to, form.username, message).await);
    }
    // A browser without a valid device cookie gets one now, so this attempt already names it.
    let new_device = meta.device_id.is_none().then(|| twofold_core::signin::device::issue(&state.config.device_key));
    if let Some((id, _)) = &new_device {
        meta.device_id = Some(id.clone());
    }
    meta.app = super::sign_in_app(&return_to);
    let response = sign_in(&state, &meta, form, return_to).await?;
    Ok(with_device_cookie(&state, response, new_device.map(|(_, cookie)| cookie)))
}

fn with_device_cookie(state: &AppState, mut response: Response, cookie: Option<String>) -> Response {
    if let Some(cookie) = cookie {
        let max_age = Some(twofold_core::signin::device::DEVICE_COOKIE_MAX_AGE_SECS);
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::set(cookies::DEVICE, &cookie, max_age, state.config.secure_cookies()));
    }
    response
}

async fn sign_in(
    state: &AppState,
    meta: &twofold_app::RequestMeta,
    form: LoginForm,
    return_to: String,
) -> Result<Response, PageError> {
    match state.app.signin().sign_in(&form.username, form.password, meta).await {
        Ok(signed_in) => {
            let secure = state.config.secure_cookies();
            let session_cookie = state.config.session_cookie(&signed_in.token, None);
            let clear_csrf = cookies::set(cookies::CSRF, "", Some(0), secure);
            let next = if signed_in.session.mfa_pending {
                let strength = signed_in.strength.as_deref().map(|s| format!("&strength={}", query_escape(s)));
                format!("/login/mfa?return_to={}{}", query_escape(&return_to), strength.unwrap_or_default())
            } else if !signed_in.has_second_factor {
                // Guided enrolment: someone without a second factor is offered one first.
                format!("/account/security?return_to={}", query_escape(&return_to))
            } else {
                return_to
            };
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().append(header::SET_COOKIE, session_cookie);
            response.headers_mut().append(header::SET_COOKIE, clear_csrf);
            Ok(response)
        }
        Err(AppError::Unauthenticated) => {
            let message = Some(t("login.incorrect").to_owned());
            Ok(render(state, StatusCode::UNAUTHORIZED, return_to, form.username, message).await)
        }
        Err(AppError::Throttled { retry_after_secs }) => {
            let message =
                Some(t1("signin.too_many_sign_in_attempts", "wait", crate::page_error::wait_words(retry_after_secs)));
            Ok(render(state, StatusCode::TOO_MANY_REQUESTS, return_to, form.username, message).await)
        }
        // Conditional access blocks this sign-in: the form again, saying which rules did.
        Err(AppError::Refused(refusal)) => {
            let message = Some(crate::refusals::words(&refusal));
            Ok(render(state, crate::refusals::status(&refusal), return_to, form.username, message).await)
        }
        Err(other) => Err(other.into()),
    }
}
