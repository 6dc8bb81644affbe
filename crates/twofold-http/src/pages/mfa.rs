//! `GET/POST /login/mfa`: the second step of sign-in, and step-up for a signed-in session.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twofold_app::AppError;
use twofold_app::factors::mfa::SecondFactor;
use twofold_app::signin::Authenticated;

use super::safe_return_path;
use crate::extract::{ClientMeta, PageSession};
use crate::i18n::{plural, t, t1};
use crate::page_error::{self, PageError};
use crate::{AppState, csrf};

#[derive(Template, WebTemplate)]
#[template(path = "mfa.html")]
struct MfaPage {
    csrf: String,
    return_to: String,
    /// The strength asked for, carried through the forms; empty when none was named.
    strength: String,
    /// The same, in words.
    strength_words: String,
    /// Whether codes (apps, tokens, recovery codes) meet it.
    offer_codes: bool,
    step_up: bool,
    has_passkey: bool,
    may_trust: bool,
    /// Email and SMS methods the user may receive a code through now.
    fallbacks: Vec<FallbackChoice>,
    notice: Option<String>,
    error: Option<String>,
}

struct FallbackChoice {
    id: uuid::Uuid,
    label: String,
}

#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
    authenticator: uuid::Uuid,
    strength: Option<String>,
}

#[derive(Deserialize)]
pub struct MfaQuery {
    return_to: Option<String>,
    /// The strength a step-up is for (only the methods that meet it are offered).
    strength: Option<String>,
}

#[derive(Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
    code: Option<String>,
    recovery_code: Option<String>,
    trust_device: Option<String>,
    strength: Option<String>,
}

/// Where the page leads back to and which strength it is for.
struct Target {
    return_to: String,
    strength: Option<String>,
}

impl Target {
    fn new(return_to: Option<&str>, strength: Option<String>) -> Self {
        let strength = strength.filter(|s| !s.is_empty() && s.len() <= 64);
        Self { return_to: safe_return_path(return_to), strength }
    }
}

async fn render(
    state: &AppState,
    current: &Authenticated,
    meta: &twofold_app::RequestMeta,
    status: StatusCode,
    target: Target,
    error: Option<String>,
) -> Response {
    render_with_notice(state, current, meta, status, target, None, error).await
}

async fn render_with_notice(
    state: &AppState,
    current: &Authenticated,
    meta: &twofold_app::RequestMeta,
    status: StatusCode,
    target: Target,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let offered = state.app.access().offered_methods(target.strength.as_deref()).await;
    let return_to = target.return_to;
    let fallbacks = state
        .app
        .factors()
        .usable_fallbacks(&current.user)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|a| {
            if a.kind == twofold_core::factors::authenticator::AuthenticatorKind::SmsOtp {
                offered.sms
            } else {
                offered.codes
            }
        })
        .map(|a| {
            let to = a
                .destination
                .as_deref()
                .map(twofold_core::factors::one_time_codes::mask_destination)
                .unwrap_or_default();
            let label = match a.kind {
                twofold_core::factors::authenticator::AuthenticatorKind::SmsOtp => t1("mfa.send_sms", "to", to),
                _ => t1("mfa.send_email", "to", to),
            };
            FallbackChoice { id: a.id, label }
        })
        .collect();
    let has_passkey = offered.passkey
        && state.app.factors().security_info(current.user.id).await.is_ok_and(|info| {
            info.authenticators.iter().any(|a| {
                a.is_confirmed() && a.kind == twofold_core::factors::authenticator::AuthenticatorKind::Webauthn
            })
        });
    let page = MfaPage {
        has_passkey,
        may_trust: current.session.mfa_pending && state.app.factors().may_trust_device(&current.user, meta),
        csrf: csrf::session_token(&state.config.csrf_key, &current.session.id_hash),
        return_to: return_to.clone(),
        strength_words: strength_words(target.strength.as_deref().unwrap_or_default()),
        strength: target.strength.unwrap_or_default(),
        offer_codes: offered.codes,
        step_up: !current.session.mfa_pending,
        fallbacks,
        notice,
        error,
    };
    let mut response = (status, [(header::CACHE_CONTROL, "no-store")], page).into_response();
    crate::urls::allow_form_target(state, &return_to, &mut response).await;
    response
}

pub async fn show(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Query(query): Query<MfaQuery>,
) -> Response {
    let target = Target::new(query.return_to.as_deref(), query.strength);
    match session {
        Some(current) => render(&state, &current, &meta, StatusCode::OK, target, None).await,
        None => Redirect::to("/login").into_response(),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ClientMeta(mut meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<MfaForm>,
) -> Result<Response, PageError> {
    let Some(current) = session else { return Ok(Redirect::to("/login").into_response()) };
    let return_to = safe_return_path(form.return_to.as_deref());
    let target = || Target::new(Some(&return_to), form.strength.clone());
    if !csrf::check_session_token(&state.config.csrf_key, &current.session.id_hash, &form.csrf) {
        return Ok(render(
            &state,
            &current,
            &meta,
            StatusCode::FORBIDDEN,
            target(),
            Some(t("signin.form_expired").to_owned()),
        )
        .await);
    }
    meta.app = super::sign_in_app(&return_to);
    let factor = match (form.code, form.recovery_code) {
        (Some(code), _) if !code.trim().is_empty() => SecondFactor::Code(code),
        (_, Some(code)) if !code.trim().is_empty() => SecondFactor::RecoveryCode(code),
        _ => {
            let message = Some(t("mfa.enter_a_code").to_owned());
            return Ok(render(&state, &current, &meta, StatusCode::UNPROCESSABLE_ENTITY, target(), message).await);
        }
    };
    match state.app.signin().second_factor(&current, factor, form.trust_device.is_some(), &meta).await {
        Ok(signed_in) => {
            let mut response = Redirect::to(&return_to).into_response();
            let cookie = state.config.session_cookie(&signed_in.token, None);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(AppError::Unauthenticated) => {
            let message = Some(t("mfa.code_wrong").to_owned());
            Ok(render(&state, &current, &meta, StatusCode::UNAUTHORIZED, target(), message).await)
        }
        Err(AppError::Throttled { retry_after_secs }) => {
            let message = Some(t1("signin.too_many_attempts", "wait", crate::page_error::wait_words(retry_after_secs)));
            Ok(render(&state, &current, &meta, StatusCode::TOO_MANY_REQUESTS, target(), message).await)
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn send_code(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<SendForm>,
) -> Result<Response, PageError> {
    let Some(current) = session else { return Ok(Redirect::to("/login").into_response()) };
    let target = || Target::new(form.return_to.as_deref(), form.strength.clone());
    if !csrf::check_session_token(&state.config.csrf_key, &current.session.id_hash, &form.csrf) {
        let message = Some(t("signin.form_expired").to_owned());
        return Ok(render(&state, &current, &meta, StatusCode::FORBIDDEN, target(), message).await);
    }
    let (status, notice, error) = match state.app.factors().send_sign_in_code(&current, form.authenticator, &meta).await
    {
        Ok(sent) => (
            StatusCode::OK,
            Some(plural("mfa.code_sent", sent.valid_minutes).replace("{to}", &sent.masked_destination)),
            None,
        ),
        Err(AppError::Throttled { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some(t1("mfa.too_many_codes", "wait", crate::page_error::wait_words(retry_after_secs))),
        ),
        Err(AppError::NotFound(_)) => (StatusCode::NOT_FOUND, None, Some(t("mfa.method_unavailable").to_owned())),
        // The page is still shown (it does without what it cannot read), saying what happened.
        Err(AppError::Unavailable(detail)) => {
            tracing::warn!(%detail, "sign-in code not sent");
            (StatusCode::SERVICE_UNAVAILABLE, None, Some(t("mfa.send_failed").to_owned()))
        }
        Err(error @ AppError::Refused(_)) => {
            let shown = page_error::shown(&error);
            (shown.status, None, Some(shown.message))
        }
        Err(other) => return Err(other.into()),
    };
    Ok(render_with_notice(&state, &current, &meta, status, target(), notice, error).await)
}

/// A strength asked for, in words ("a passkey or security key"), as "This needs …" uses them.
pub(super) fn strength_words(strength: &str) -> String {
    match strength {
        "mfa" => t("strength.mfa").to_owned(),
        "phr" => t("strength.phr").to_owned(),
        "phrh" => t("strength.phrh").to_owned(),
        other => t1("strength.other", "name", other),
    }
}
