//! Proving more than the password before a first method, on Security info: a code to the
//! email address on file (THREATS: enrolment hijack).

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use twofold_app::AppError;
use twofold_app::signin::Authenticated;

use super::security::{after_change, authorize, render, render_code_sent};
use crate::AppState;
use crate::extract::{ClientMeta, PageSession};
use crate::page_error::PageError;

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `POST /account/security/first-method/send`: emails a code to the address on file.
pub async fn send(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<SendForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    match state.app.factors().send_first_method_code(&current, &meta).await {
        Ok(sent) => render_code_sent(&state, &current, StatusCode::OK, Some(sent.masked_destination), None).await,
        Err(e) => after_change(&state, &current, Err(e), "").await,
    }
}

/// `POST /account/security/first-method/confirm`: proves the code; the page then offers
/// the methods to set up, on the renewed session.
pub async fn confirm(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    match state.app.factors().prove_first_method_code(&current, &form.code, &meta).await {
        Ok(signed_in) => {
            let renewed = Authenticated { session: signed_in.session, user: signed_in.user };
            let done = crate::i18n::t("security.first_method_confirmed");
            let mut response = render(&state, &renewed, StatusCode::OK, Some(done.to_owned()), None).await?;
            let cookie = state.config.session_cookie(&signed_in.token, None);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(AppError::Invalid(_)) => {
            let message = crate::i18n::t("security.first_method_wrong_code");
            render_code_sent(&state, &current, StatusCode::UNPROCESSABLE_ENTITY, None, Some(message.to_owned())).await
        }
        Err(e) => after_change(&state, &current, Err(e), "").await,
    }
}
