//! `GET /login/access-pass` shows the form for a temporary access pass; `POST` signs in with
//! it, to Security info only (THREATS: temporary access pass abuse).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twofold_app::AppError;
use twofold_core::secret::random_token;

use crate::extract::ClientMeta;
use crate::i18n::{t, t1};
use crate::page_error::PageError;
use crate::{AppState, cookies, csrf};

#[derive(Template, WebTemplate)]
#[template(path = "access_pass.html")]
struct AccessPassPage {
    csrf: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct AccessPassForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    passcode: String,
    #[serde(default)]
    csrf: String,
}

fn render(state: &AppState, status: StatusCode, username: String, error: Option<String>) -> Response {
    let token = random_token();
    let cookie = cookies::set(cookies::CSRF, &token, None, state.config.secure_cookies());
    let page = AccessPassPage { csrf: token, username, error };
    (
        status,
        [(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"))],
        page,
    )
        .into_response()
}

pub async fn show(State(state): State<AppState>) -> Response {
    render(&state, StatusCode::OK, String::new(), None)
}

pub async fn submit(
    State(state): State<AppState>,
    ClientMeta(mut meta): ClientMeta,
    headers: axum::http::HeaderMap,
    Form(form): Form<AccessPassForm>,
) -> Result<Response, PageError> {
    if !csrf::check_double_submit(cookies::get(&headers, cookies::CSRF), &form.csrf) {
        let message = Some(t("signin.form_expired").to_owned());
        return Ok(render(&state, StatusCode::FORBIDDEN, form.username, message));
    }
    meta.app = None;
    match state.app.signin().sign_in_with_access_pass(&form.username, &form.passcode, &meta).await {
        Ok(signed_in) => {
            let secure = state.config.secure_cookies();
            let mut response = Redirect::to(super::SECURITY).into_response();
            response.headers_mut().append(header::SET_COOKIE, state.config.session_cookie(&signed_in.token, None));
            response.headers_mut().append(header::SET_COOKIE, cookies::set(cookies::CSRF, "", Some(0), secure));
            Ok(response)
        }
        Err(AppError::Unauthenticated) => {
            let message = t("access_pass.no_match").to_owned();
            Ok(render(&state, StatusCode::UNAUTHORIZED, form.username, Some(message)))
        }
        Err(AppError::Throttled { retry_after_secs }) => {
            let message =
                t1("signin.too_many_sign_in_attempts", "wait", crate::page_error::wait_words(retry_after_secs));
            Ok(render(&state, StatusCode::TOO_MANY_REQUESTS, form.username, Some(message)))
        }
        Err(AppError::Refused(refusal)) => {
            Ok(render(&state, crate::refusals::status(&refusal), form.username, Some(crate::refusals::words(&refusal))))
        }
        Err(other) => Err(other.into()),
    }
}
