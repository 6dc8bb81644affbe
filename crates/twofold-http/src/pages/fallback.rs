//! Email and SMS codes on the pages: adding either method from Security info (with its
//! test authentication), and sending a sign-in code from the second step.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use twofold_app::AppError;
use twofold_app::factors::one_time_codes::CodeSent;
use twofold_core::factors::authenticator::AuthenticatorKind;
use uuid::Uuid;

use super::security::{after_change_on, after_enrolment, authorize, no_store, token};
use super::wording::problems;
use crate::AppState;
use crate::extract::{ClientMeta, PageSession};
use crate::page_error::PageError;

#[derive(Template, WebTemplate)]
#[template(path = "fallback_enrol.html")]
struct ConfirmPage {
    id: Uuid,
    /// Which channel, carried to the confirmation ([`EMAIL`] or [`PHONE`]; not shown).
    channel: String,
    /// "Confirm your email address".
    title: &'static str,
    destination: String,
    /// "We sent a code to … It works for 5 minutes."
    sent: String,
    csrf: String,
    error: Option<String>,
}

impl ConfirmPage {
    fn new(
        id: Uuid,
        email: bool,
        destination: String,
        valid_minutes: i64,
        csrf: String,
        error: Option<String>,
    ) -> Self {
        let sent = crate::i18n::plural("enrol.code_sent", valid_minutes).replace("{destination}", &destination);
        Self {
            id,
            channel: if email { EMAIL } else { PHONE }.to_owned(),
            title: if email { crate::i18n::t("enrol.confirm_email") } else { crate::i18n::t("enrol.confirm_phone") },
            destination,
            sent,
            csrf,
            error,
        }
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    id: Uuid,
    #[serde(default)]
    code: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    destination: String,
}

/// The channels as the confirmation form carries them (identifiers, not shown to people).
const EMAIL: &str = "email address";
const PHONE: &str = "mobile number";

async fn begin(
    state: AppState,
    meta: twofold_app::RequestMeta,
    session: Option<twofold_app::signin::Authenticated>,
    csrf: &str,
    kind: AuthenticatorKind,
    phone: Option<&str>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, csrf)?;
    match state.app.factors().begin_fallback_enrolment(&current, kind, phone, &meta).await {
        Ok(CodeSent { authenticator_id, masked_destination, valid_minutes }) => {
            let email = kind == AuthenticatorKind::EmailOtp;
            let page = ConfirmPage::new(
                authenticator_id,
                email,
                masked_destination,
                valid_minutes,
                token(&state, &current),
                None,
            );
            Ok(no_store(StatusCode::OK, page))
        }
        // A refused number is shown on Security info, tied to the field it was typed in.
        Err(e) => after_change_on(&state, &current, Err(e), "", phone.map(|_| "phone".to_owned())).await,
    }
}

pub async fn begin_email(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<EmailForm>,
) -> Result<Response, PageError> {
    begin(state, meta, session, &form.csrf, AuthenticatorKind::EmailOtp, None).await
}

pub async fn begin_sms(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<PhoneForm>,
) -> Result<Response, PageError> {
    begin(state, meta, session, &form.csrf, AuthenticatorKind::SmsOtp, Some(&form.phone)).await
}

pub async fn confirm(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    match state.app.factors().confirm_fallback(&current, form.id, &form.code, &meta).await {
        Err(AppError::Invalid(errors)) => {
            let page = ConfirmPage::new(
                form.id,
                form.channel == EMAIL,
                form.destination.chars().take(64).collect(),
                twofold_core::factors::one_time_codes::CODE_LIFETIME_SECS / 60,
                token(&state, &current),
                Some(problems(&errors)),
            );
            Ok(no_store(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        result => after_enrolment(&state, &current, result, crate::i18n::t("enrol.fallback_added")).await,
    }
}
