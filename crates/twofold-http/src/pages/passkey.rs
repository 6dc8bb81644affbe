//! Passkey ceremonies (JSON, driven by /static/webauthn.js): registration on Security
//! info, the second step of sign-in, and username-less sign-in. Every request carries the
//! CSRF token in `X-CSRF-Token`: the session's token, or before sign-in the double-submit
//! cookie's.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use twofold_app::AppError;
use twofold_app::factors::mfa::SecondFactor;
use twofold_app::signin::{Authenticated, SignedIn};

use super::safe_return_path;
use crate::extract::{ClientMeta, JsonBody, MaybeSession};
use crate::{ApiError, AppState, cookies, csrf};

fn header_token(headers: &HeaderMap) -> &str {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The session, when the request's CSRF header is that session's token.
fn session_with_token(
    state: &AppState,
    session: Option<Authenticated>,
    headers: &HeaderMap,
) -> Result<Authenticated, ApiError> {
    let current = session.ok_or(AppError::Unauthenticated)?;
    if !csrf::check_session_token(&state.config.csrf_key, &current.session.id_hash, header_token(headers)) {
        return Err(ApiError::StaleCsrfToken);
    }
    Ok(current)
}

/// A full (not pending) session with a valid CSRF header.
fn full_session(
    state: &AppState,
    session: Option<Authenticated>,
    headers: &HeaderMap,
) -> Result<Authenticated, ApiError> {
    let current = session_with_token(state, session, headers)?;
    if current.session.mfa_pending {
        return Err(AppError::StepUpRequired.into());
    }
    Ok(current)
}

/// `{"redirect": ...}` with the new session cookie.
fn signed_in(state: &AppState, signed_in: &SignedIn, redirect: &str) -> Response {
    let cookie = state.config.session_cookie(&signed_in.token, None);
    ([(header::SET_COOKIE, cookie)], Json(json!({ "redirect": redirect }))).into_response()
}

pub async fn registration_options(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let current = full_session(&state, session, &headers)?;
    Ok(Json(state.app.factors().begin_passkey_registration(&current).await?).into_response())
}

#[derive(Deserialize)]
pub struct RegistrationAnswer {
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: serde_json::Value,
    /// The method this key replaces, when registering from "Replace".
    replaces: Option<uuid::Uuid>,
}

pub async fn register(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RegistrationAnswer>,
) -> Result<Response, ApiError> {
    let current = full_session(&state, session, &headers)?;
    let renewed = state
        .app
        .factors()
        .finish_passkey_registration(&current, &body.ceremony, &body.name, body.credential, body.replaces, &meta)
        .await?;
    Ok(match renewed {
        Some(renewed) => signed_in(&state, &renewed, "/account/security"),
        None => Json(json!({ "redirect": "/account/security" })).into_response(),
    })
}

pub async fn second_factor_options(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let current = session_with_token(&state, session, &headers)?;
    Ok(Json(state.app.factors().begin_passkey_second_factor(&current).await?).into_response())
}

#[derive(Deserialize)]
pub struct AssertionAnswer {
    ceremony: String,
    credential: serde_json::Value,
    return_to: Option<String>,
    #[serde(default)]
    trust_device: bool,
}

pub async fn second_factor(
    State(state): State<AppState>,
    ClientMeta(mut meta): ClientMeta,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AssertionAnswer>,
) -> Result<Response, ApiError> {
    let current = session_with_token(&state, session, &headers)?;
    meta.app = super::sign_in_app(&safe_return_path(body.return_to.as_deref()));
    let factor = SecondFactor::Passkey { ceremony: body.ceremony, answer: body.credential };
    let done = state.app.signin().second_factor(&current, factor, body.trust_device, &meta).await?;
    Ok(signed_in(&state, &done, &safe_return_path(body.return_to.as_deref())))
}

/// Before sign-in there is no session: the CSRF header must match the double-submit cookie.
fn check_login_token(headers: &HeaderMap) -> Result<(), ApiError> {
    if csrf::check_double_submit(cookies::get(headers, cookies::CSRF), header_token(headers)) {
        Ok(())
    } else {
        Err(ApiError::StaleCsrfToken)
    }
}

pub async fn sign_in_options(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    check_login_token(&headers)?;
    Ok(Json(state.app.factors().begin_passkey_sign_in().await?).into_response())
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientMeta(mut meta): ClientMeta,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AssertionAnswer>,
) -> Result<Response, ApiError> {
    check_login_token(&headers)?;
    meta.app = super::sign_in_app(&safe_return_path(body.return_to.as_deref()));
    let done = state.app.signin().passkey_sign_in(&body.ceremony, body.credential, &meta).await?;
    Ok(signed_in(&state, &done, &safe_return_path(body.return_to.as_deref())))
}
