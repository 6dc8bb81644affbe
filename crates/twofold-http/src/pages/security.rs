//! `/account/security`: the self-service "Security info" page. List methods, add an
//! authenticator app (with its test authentication), recovery codes, rename, remove.
//! Changing methods once one exists needs a recent second factor (step-up).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use twofold_app::AppError;
use twofold_app::signin::Authenticated;
use twofold_core::Timestamp;
use twofold_core::factors::authenticator::AuthenticatorKind;
use uuid::Uuid;

use super::SECURITY;
use super::chrome::{self, When};
use super::wording::{checklist_item, kind_label, problems, removal_refused};
use crate::extract::{ClientMeta, PageSession};
use crate::i18n::{plural, t, t1};
use crate::page_error::{self, PageError};
use crate::{AppState, csrf};

struct MethodRow {
    id: Uuid,
    kind: &'static str,
    name: String,
    added: When,
    last_used: Option<When>,
    confirmed: bool,
    /// The server refused the new name typed for this method (its field carries the error).
    rename_invalid: bool,
}

struct DeviceRow {
    id: String,
    browser: String,
    until: When,
}

#[derive(Template, WebTemplate)]
#[template(path = "security.html")]
struct SecurityPage {
    /// What the default requirement still asks for (empty when met).
    missing: Vec<&'static str>,
    /// The recommended setup, item by item, with whether each is done.
    checklist: Vec<(String, bool)>,
    devices: Vec<DeviceRow>,
    /// Where "Skip for now" leads during guided enrolment.
    skip_to: Option<String>,
    methods: Vec<MethodRow>,
    recovery_codes_left: i64,
    /// Whether email codes may be added (policy allows them for this user, who has an address).
    may_add_email: bool,
    /// Whether SMS codes may be added.
    may_add_sms: bool,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    /// The id of the field `error` is about, when it is about one (`phone`, `rename-…`).
    error_field: Option<String>,
    /// Set while the person has no method and must prove more than the password before
    /// setting up a first one (the organisation's first-method rule).
    first_method: Option<FirstMethodProof>,
}

/// What the person may prove to set up a first method.
struct FirstMethodProof {
    /// A code to the email address on file would do.
    email_code: bool,
    /// Signing in from the organisation's network would do.
    network: bool,
    /// A code was just sent to this (masked) address.
    sent_to: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "totp_enrol.html")]
struct TotpEnrolPage {
    id: Uuid,
    /// Binds this set-up to the session it was shown to: only that session sees the QR code
    /// and key again after a wrong code.
    view: String,
    /// The method the new app replaces, carried to the confirmation.
    replaces: Option<Uuid>,
    secret: Option<String>,
    qr_svg: String,
    csrf: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    codes: Vec<String>,
    /// The codes as a text file, percent-encoded for a `data:` download link.
    download: String,
    csrf: String,
}

/// The token that lets the session whose stored hash is `session_hash` see set-up `id`'s QR
/// code and key again.
fn view_token(key: &[u8; 32], session_hash: &str, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(twofold_core::secret::hmac_sha256(key, format!("totp-view:{session_hash}:{id}").as_bytes()))
}

/// The QR code of an `otpauth://` URI, as SVG.
fn qr(uri: &str) -> Result<String, PageError> {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build())
        .map_err(|e| AppError::Internal(e.to_string()).into())
}

/// A key in groups of four ("ABCD EFGH ..."), easier to type by hand.
fn group_key(key: &str) -> String {
    key.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// The recovery codes as a small text file, percent-encoded for a download link.
fn codes_file(codes: &[String]) -> String {
    let text = format!(
        "{}\n{}\n\n{}\n",
        t1("recovery.file_title", "org", super::chrome::org_name()),
        t("recovery.file_about"),
        codes.join("\n")
    );
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

pub(super) fn token(state: &AppState, current: &Authenticated) -> String {
    csrf::session_token(&state.config.csrf_key, &current.session.id_hash)
}

pub(super) fn no_store(status: StatusCode, page: impl IntoResponse) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], page).into_response()
}

pub(super) async fn render(
    state: &AppState,
    current: &Authenticated,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    render_page(state, current, status, notice, error.map(|e| (e, None)), None, None).await
}

/// The page after a code for a first method went to `sent_to`, with the field to enter it.
pub(super) async fn render_code_sent(
    state: &AppState,
    current: &Authenticated,
    status: StatusCode,
    sent_to: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let error = error.map(|e| (e, Some("first-method-code".to_owned())));
    render_page(state, current, status, None, error, None, sent_to).await
}

/// The page; `skip_to` adds "Skip for now" during guided enrolment.
async fn render_with(
    state: &AppState,
    current: &Authenticated,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    skip_to: Option<String>,
) -> Result<Response, PageError> {
    render_page(state, current, status, notice, error.map(|e| (e, None)), skip_to, None).await
}

/// The page; `error` is the message and the id of the field it is about, if any.
async fn render_page(
    state: &AppState,
    current: &Authenticated,
    status: StatusCode,
    notice: Option<String>,
    error: Option<(String, Option<String>)>,
    skip_to: Option<String>,
    sent_to: Option<String>,
) -> Result<Response, PageError> {
    let (error, error_field) = error.map_or((None, None), |(message, field)| (Some(message), field));
    let notice = if current.session.auth.is_access_pass_only() && notice.is_none() {
        Some(t1("security.access_pass_only", "until", current.session.absolute_expires_at.to_minute_utc()))
    } else {
        notice
    };
    let first_method = match state.app.factors().first_method_needs(current).await? {
        Some(twofold_app::Refusal::FirstMethodNeedsProof { email_code, network }) => {
            Some(FirstMethodProof { email_code, network, sent_to })
        }
        _ => None,
    };
    let info = state.app.factors().security_info(current.user.id).await?;
    let now = state.app.now();
    let methods = info
        .authenticators
        .iter()
        .map(|a| MethodRow {
            id: a.id,
            kind: kind_label(a.kind),
            name: a.name.clone(),
            added: When::of(a.created_at, now),
            last_used: a.last_used_at.map(|at: Timestamp| When::of(at, now)),
            confirmed: a.is_confirmed(),
            rename_invalid: error_field.as_deref() == Some(format!("rename-{}", a.id).as_str()),
        })
        .collect();
    let devices = state
        .app
        .factors()
        .trusted_devices(current.user.id)
        .await?
        .into_iter()
        .map(|d| DeviceRow {
            id: d.device_id,
            browser: d.user_agent.as_deref().map_or_else(|| t("security.unknown_browser").into(), chrome::browser),
            until: When::of(d.trusted_until, now),
        })
        .collect();
    let missing =
        twofold_core::factors::authenticator::default_requirement(&info.authenticators, info.recovery_codes_left)
            .missing;
    let checklist =
        twofold_core::factors::authenticator::recommended_checklist(&info.authenticators, info.recovery_codes_left)
            .into_iter()
            .map(|(item, done)| (checklist_item(item), done))
            .collect();
    let page = SecurityPage {
        missing,
        checklist,
        devices,
        skip_to,
        methods,
        recovery_codes_left: info.recovery_codes_left,
        may_add_email: state.app.factors().may_enrol_fallback(&current.user, AuthenticatorKind::EmailOtp),
        may_add_sms: state.app.factors().may_enrol_fallback(&current.user, AuthenticatorKind::SmsOtp),
        csrf: token(state, current),
        notice,
        error,
        error_field,
        first_method,
    };
    Ok(no_store(status, page))
}

/// Shows the page after a change: with `done` when it was made; with what stopped it when
/// the person can act on that here (a bad value, a refusal, a conflict, too many codes); a
/// step-up when it needs a fresh second factor; anything else as an error page.
pub(super) async fn after_change(
    state: &AppState,
    current: &Authenticated,
    result: Result<(), AppError>,
    done: &str,
) -> Result<Response, PageError> {
    after_change_on(state, current, result, done, None).await
}

/// As [`after_change`], for a form with one field to fill in: a value the server refuses is
/// shown tied to the field with id `field` (`aria-invalid`, `aria-describedby`).
pub(super) async fn after_change_on(
    state: &AppState,
    current: &Authenticated,
    result: Result<(), AppError>,
    done: &str,
    field: Option<String>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => render(state, current, StatusCode::OK, Some(done.to_owned()), None).await,
        Err(AppError::StepUpRequired) => Err(PageError::StepUp { return_to: SECURITY.to_owned(), strength: None }),
        Err(AppError::Throttled { retry_after_secs }) => {
            let message = t1("security.too_many_codes", "wait", crate::page_error::wait_words(retry_after_secs));
            render(state, current, StatusCode::TOO_MANY_REQUESTS, None, Some(message)).await
        }
        Err(AppError::Invalid(errors)) => {
            let message = problems(&errors);
            render_page(state, current, StatusCode::UNPROCESSABLE_ENTITY, None, Some((message, field)), None, None)
                .await
        }
        Err(error @ (AppError::Conflict(_) | AppError::Refused(_))) => {
            let shown = page_error::shown(&error);
            render(state, current, shown.status, None, Some(shown.message)).await
        }
        Err(other) => Err(other.into()),
    }
}

/// As [`after_change`], for the test authentication of a new method: when it was the
/// person's first and so became the session's second factor, the page is shown on the new
/// session (its cookie set), whose forms carry its CSRF tokens.
pub(super) async fn after_enrolment(
    state: &AppState,
    current: &Authenticated,
    result: Result<Option<twofold_app::signin::SignedIn>, AppError>,
    done: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(Some(signed_in)) => {
            let renewed = Authenticated { session: signed_in.session, user: signed_in.user };
            let mut response = after_change(state, &renewed, Ok(()), done).await?;
            let cookie = state.config.session_cookie(&signed_in.token, None);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(response)
        }
        other => after_change(state, current, other.map(|_| ()), done).await,
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    return_to: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    axum::extract::Query(query): axum::extract::Query<ShowQuery>,
) -> Result<Response, PageError> {
    let current = super::signed_in(session, SECURITY)?;
    let notice = super::own_page_gate(&state, &current, &meta, SECURITY).await?;
    // People whose account is worth the most (privileged, or holding a role over Twofold)
    // are never offered to skip setting up a second factor.
    let may_skip = !matches!(
        twofold_core::cases::scope::effective_tier(&current.user),
        twofold_core::identity::Tier::Privileged | twofold_core::identity::Tier::BreakGlass
    );
    let mut skip_to = query.return_to.as_deref().filter(|_| may_skip).map(|r| super::safe_return_path(Some(r)));
    // A rollout campaign's reminder (the interstitial): skipping is allowed until the deadline.
    let standing = state.app.rollout().campaign_standing(current.user.id).await?;
    let notice = match standing.first() {
        Some(s) => {
            use twofold_core::rollout::compliance::State;
            let words = match (s.state, s.days_left) {
                (State::Pending, Some(days)) => plural("security.campaign_days_left", days),
                (State::Overdue, _) => t("security.campaign_overdue").to_owned(),
                (State::Limited, _) => {
                    skip_to = None;
                    t("security.campaign_limited").to_owned()
                }
                _ => {
                    skip_to = None;
                    t("security.campaign_blocked").to_owned()
                }
            };
            Some(notice.map_or(words.clone(), |n| format!("{words} {n}")))
        }
        None => notice,
    };
    render_with(&state, &current, StatusCode::OK, notice, None, skip_to).await
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    /// Set when the new app replaces one of the user's methods.
    replaces: Option<Uuid>,
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    view: String,
    id: Uuid,
    #[serde(default)]
    code: String,
    replaces: Option<Uuid>,
}

/// Checks the session and the form's CSRF token; sign-in and step-up return to Security info.
pub(super) fn authorize(
    state: &AppState,
    session: Option<Authenticated>,
    presented: &str,
) -> Result<Authenticated, PageError> {
    super::with_form_token(state, session, SECURITY, presented)
}

pub async fn begin_totp(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<NameForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    match state.app.factors().begin_totp_enrolment(&current, &form.name, &meta).await {
        Ok(enrolment) => {
            let qr_svg = qr(&enrolment.otpauth_uri)?;
            let page = TotpEnrolPage {
                id: enrolment.authenticator.id,
                view: view_token(&state.config.csrf_key, &current.session.id_hash, enrolment.authenticator.id),
                replaces: form.replaces,
                secret: Some(group_key(&enrolment.secret_base32)),
                qr_svg,
                csrf: token(&state, &current),
                error: None,
            };
            Ok(no_store(StatusCode::OK, page))
        }
        Err(e) => after_change_on(&state, &current, Err(e), "", Some("totp-name".to_owned())).await,
    }
}

pub async fn confirm_totp(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    match state.app.factors().confirm_totp(&current, form.id, &form.code, form.replaces, &meta).await {
        Err(AppError::Invalid(errors)) => {
            // The same session that was shown the key sees it again (a wrong code should not
            // mean starting over); any other session, even the person's own, never does.
            let view = view_token(&state.config.csrf_key, &current.session.id_hash, form.id);
            let again = if twofold_core::secret::constant_time_eq(view.as_bytes(), form.view.as_bytes()) {
                state.app.factors().pending_totp_enrolment(&current, form.id).await.ok()
            } else {
                None
            };
            let (secret, qr_svg) = match again {
                Some(enrolment) => (Some(group_key(&enrolment.secret_base32)), qr(&enrolment.otpauth_uri)?),
                None => (None, String::new()),
            };
            let page = TotpEnrolPage {
                id: form.id,
                view: if secret.is_some() { view } else { String::new() },
                replaces: form.replaces,
                secret,
                qr_svg,
                csrf: token(&state, &current),
                error: Some(t1("enrol.totp_retry", "problem", problems(&errors).trim_end_matches('.'))),
            };
            Ok(no_store(StatusCode::UNPROCESSABLE_ENTITY, page))
        }
        result => {
            let done = if form.replaces.is_some() { t("enrol.totp_added_replacing") } else { t("enrol.totp_added") };
            after_enrolment(&state, &current, result, done).await
        }
    }
}

pub async fn recovery_codes(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    match state.app.factors().generate_recovery_codes(&current, &meta).await {
        Ok(codes) => {
            let download = codes_file(&codes);
            Ok(no_store(StatusCode::OK, RecoveryCodesPage { codes, download, csrf: token(&state, &current) }))
        }
        Err(e) => after_change(&state, &current, Err(e), "").await,
    }
}

pub async fn rename(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Path(id): Path<Uuid>,
    Form(form): Form<NameForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    let result = state.app.factors().rename_authenticator(&current, id, &form.name, &meta).await;
    after_change_on(&state, &current, result, t("security.renamed"), Some(format!("rename-{id}"))).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    /// Set by the confirmation page's button; without it the page asks first.
    confirmed: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "remove.html")]
struct RemovePage {
    id: Uuid,
    name: String,
    kind: &'static str,
    /// Why it cannot be removed now (the last method, the last strong one), as a sentence.
    refused: Option<String>,
    csrf: String,
}

/// `POST /account/security/{id}/remove`: asks "Remove …?" first (naming what stops working),
/// and removes only from that page's button.
pub async fn remove(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Path(id): Path<Uuid>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    if form.confirmed.is_none() {
        let info = state.app.factors().security_info(current.user.id).await?;
        let Some(method) = info.authenticators.iter().find(|a| a.id == id) else {
            return Err(AppError::NotFound("sign-in method").into());
        };
        let page = RemovePage {
            id,
            name: method.name.clone(),
            kind: kind_label(method.kind),
            refused: twofold_core::factors::authenticator::removal_refusal(&info.authenticators, id)
                .map(removal_refused),
            csrf: token(&state, &current),
        };
        return Ok(no_store(StatusCode::OK, page));
    }
    let result = state.app.factors().remove_authenticator(&current, id, &meta).await;
    after_change(&state, &current, result, t("remove.done")).await
}

pub async fn forget_device(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Path(device_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    let result = state.app.factors().forget_device(&current, &device_id, &meta).await;
    after_change(&state, &current, result, t("security.device_forgotten")).await
}

#[derive(Template, WebTemplate)]
#[template(path = "replace.html")]
struct ReplacePage {
    id: Uuid,
    name: String,
    kind: &'static str,
    csrf: String,
}

/// "Replace": one guided flow to add the new authenticator (app or passkey) that takes the
/// place of `id`; the old one is removed when the new one is confirmed.
pub async fn replace(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let current = authorize(&state, session, &form.csrf)?;
    let info = state.app.factors().security_info(current.user.id).await?;
    let Some(old) = info.authenticators.into_iter().find(|a| a.id == id && a.is_confirmed()) else {
        return Err(AppError::NotFound("authenticator").into());
    };
    let page = ReplacePage { id, name: old.name, kind: kind_label(old.kind), csrf: token(&state, &current) };
    Ok(no_store(StatusCode::OK, page))
}
