//! `/helpdesk`: the operator pages. Open a case, verify the caller through the channels the
//! case offers, then issue a temporary access pass or retire a lost device's methods, and
//! close the case. Every page needs the help-desk (or admin) role; every step needs the
//! operator's own passkey or security key proved within the freshness window, or it sends
//! them to prove it again (THREATS: social engineering of the help desk).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twofold_app::cases::{CaseOperator, CaseView};
use twofold_app::signin::Authenticated;
use twofold_app::{AppError, Refusal};
use twofold_core::cases::verification::Channel;
use twofold_core::cases::{CaseKind, CaseState, Checklist, Resolution};
use twofold_core::store::CaseFilter;
use uuid::Uuid;

use super::auth::PageAuthorized;
use super::security::{no_store, token};
use crate::extract::{ClientMeta, WorkCases};
use crate::page_error::{self, PageError};
use crate::{AppState, csrf};

const HELPDESK: &str = "/helpdesk";

struct CaseRow {
    id: Uuid,
    username: String,
    tier: &'static str,
    kind: &'static str,
    opened: String,
    operator: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "helpdesk.html")]
struct HelpdeskPage {
    cases: Vec<CaseRow>,
    kinds: Vec<(&'static str, &'static str)>,
    username: String,
    csrf: String,
    error: Option<String>,
}

struct MethodChoice {
    id: Uuid,
    kind: &'static str,
    name: String,
    /// An authenticator app or hardware token (which can drift and be resynchronised).
    otp: bool,
    /// Set up since the case opened (the new device).
    new: bool,
}

struct TimelineRow {
    at: String,
    by: String,
    what: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "case.html")]
struct CasePage {
    id: Uuid,
    username: String,
    kind: &'static str,
    tier: &'static str,
    opened: String,
    operator: String,
    state: String,
    open: bool,
    verification: String,
    verified: bool,
    needs_approval: bool,
    methods: Vec<MethodChoice>,
    resolutions: Vec<(&'static str, &'static str)>,
    timeline: Vec<TimelineRow>,
    passcode: Option<String>,
    pass_uses: &'static str,
    pass_until: String,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
}

/// The operator for a step, or a step-up back to `page` for their own passkey.
fn operator(state: &AppState, current: &Authenticated, page: &str) -> Result<CaseOperator, PageError> {
    match state.app.cases().operator(current) {
        Ok(operator) => Ok(operator),
        Err(AppError::Refused(Refusal::OperatorStepUp { .. })) => {
            Err(PageError::StepUp { return_to: page.to_owned(), strength: Some("phr".into()) })
        }
        Err(other) => Err(other.into()),
    }
}

fn case_page(id: Uuid) -> String {
    format!("{HELPDESK}/cases/{id}")
}

/// `GET /helpdesk`: the open cases and the form to open one.
pub async fn show(State(state): State<AppState>, page: PageAuthorized<WorkCases>) -> Result<Response, PageError> {
    operator(&state, &page.current, HELPDESK)?;
    render_list(&state, &page.current, StatusCode::OK, String::new(), None).await
}

async fn render_list(
    state: &AppState,
    current: &Authenticated,
    status: StatusCode,
    username: String,
    error: Option<String>,
) -> Result<Response, PageError> {
    let filter = CaseFilter { state: Some(CaseState::Open), limit: 200, ..CaseFilter::default() };
    let by = operator(state, current, HELPDESK)?;
    let cases = state.app.cases().list_for(&by, &filter).await?;
    let cases = cases
        .into_iter()
        .map(|c| CaseRow {
            id: c.id,
            username: c.target.username,
            tier: c.target.tier.as_str(),
            kind: c.kind.label(),
            opened: c.opened_at.to_minute_utc(),
            operator: c.operator,
        })
        .collect();
    let kinds = CaseKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect();
    let page = HelpdeskPage { cases, kinds, username, csrf: token(state, current), error };
    Ok(no_store(status, page))
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    summary: String,
}

/// `POST /helpdesk/cases`: opens a case and shows it.
pub async fn open(
    State(state): State<AppState>,
    page: PageAuthorized<WorkCases>,
    ClientMeta(meta): ClientMeta,
    axum::Form(form): axum::Form<OpenForm>,
) -> Result<Response, PageError> {
    let current = checked(&state, page, &form.csrf)?;
    let by = operator(&state, &current, HELPDESK)?;
    let kind = CaseKind::parse(&form.kind).map_err(|e| AppError::from(twofold_core::ValidationErrors::one("kind", e)));
    let opened = match kind {
        Ok(kind) => state.app.cases().open(&by, kind, &form.username, &form.summary, &meta).await,
        Err(e) => Err(e),
    };
    match opened {
        Ok(case) => Ok(Redirect::to(&case_page(case.id)).into_response()),
        Err(error @ (AppError::Invalid(_) | AppError::Refused(_) | AppError::NotFound(_))) => {
            let shown = page_error::shown(&error);
            render_list(&state, &current, shown.status, form.username, Some(shown.message)).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /helpdesk/cases/{id}`.
pub async fn case(
    State(state): State<AppState>,
    page: PageAuthorized<WorkCases>,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let by = operator(&state, &page.current, &case_page(id))?;
    let view = state.app.cases().show_for(&by, id).await?;
    let shown = Shown { notice: page.notice.clone(), ..Shown::default() };
    render_case(&state, &page.current, StatusCode::OK, view, shown).await
}

/// What a case page shows besides the case.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    error: Option<String>,
    pass: Option<twofold_app::cases::PassIssued>,
}

async fn render_case(
    state: &AppState,
    current: &Authenticated,
    status: StatusCode,
    view: CaseView,
    shown: Shown,
) -> Result<Response, PageError> {
    let case = &view.case;
    let (verification, verified, needs_approval) = match &view.verification {
        None => ("the help desk does not serve this tier".to_owned(), false, false),
        Some(s) if s.complete() => ("complete".to_owned(), true, false),
        Some(s) => (s.describe(), false, s.second_operator_missing && s.steps_met),
    };
    let methods = if verified && case.state == CaseState::Open {
        state
            .app
            .factors()
            .security_info(case.target.id)
            .await?
            .authenticators
            .into_iter()
            .map(|a| MethodChoice {
                id: a.id,
                kind: a.kind.label(),
                otp: matches!(
                    a.kind,
                    twofold_core::factors::authenticator::AuthenticatorKind::Totp
                        | twofold_core::factors::authenticator::AuthenticatorKind::Hotp
                ),
                new: a.confirmed_at.is_some_and(|at| at >= case.opened_at),
                name: a.name,
            })
            .collect()
    } else {
        Vec::new()
    };
    let (passcode, pass_uses, pass_until) = match shown.pass {
        Some(issued) => (
            Some(issued.passcode),
            if issued.pass.single_use { "once" } else { "any number of times" },
            issued.pass.expires_at.to_minute_utc(),
        ),
        None => (None, "", String::new()),
    };
    let page = CasePage {
        id: case.id,
        username: case.target.username.clone(),
        kind: case.kind.label(),
        tier: case.target.tier.as_str(),
        opened: case.opened_at.to_minute_utc(),
        operator: case.operator.clone(),
        state: case.resolution.map_or_else(|| "open".to_owned(), |r| format!("closed: {}", r.label())),
        open: case.state == CaseState::Open,
        verification,
        verified,
        needs_approval,
        methods,
        resolutions: Resolution::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        timeline: case
            .timeline
            .iter()
            .map(|e| TimelineRow { at: e.at.to_minute_utc(), by: e.by.clone(), what: e.event.describe() })
            .collect(),
        passcode,
        pass_uses,
        pass_until,
        csrf: token(state, current),
        notice: shown.notice,
        error: shown.error,
    };
    Ok(no_store(status, page))
}

/// The session, with the form's CSRF token checked.
fn checked(state: &AppState, page: PageAuthorized<WorkCases>, presented: &str) -> Result<Authenticated, PageError> {
    if !csrf::check_session_token(&state.config.csrf_key, &page.current.session.id_hash, presented) {
        return Err(PageError::FormExpired);
    }
    Ok(page.current)
}

/// Shows the case after a step: with `done` when it succeeded, with what stopped it when the
/// operator can act on that here.
async fn after_step(
    state: &AppState,
    current: &Authenticated,
    by: &CaseOperator,
    id: Uuid,
    result: Result<Shown, AppError>,
) -> Result<Response, PageError> {
    let (status, shown) = match result {
        Ok(shown) => (StatusCode::OK, shown),
        Err(AppError::Throttled { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            Shown {
                error: Some(format!("Too many codes sent. Try again in {}.", page_error::wait_words(retry_after_secs))),
                ..Shown::default()
            },
        ),
        Err(error @ (AppError::Invalid(_) | AppError::Refused(_) | AppError::Conflict(_) | AppError::NotFound(_))) => {
            let shown = page_error::shown(&error);
            (shown.status, Shown { error: Some(shown.message), ..Shown::default() })
        }
        Err(other) => return Err(other.into()),
    };
    let view = state.app.cases().show_for(by, id).await?;
    render_case(state, current, status, view, shown).await
}

fn notice(text: impl Into<String>) -> Shown {
    Shown { notice: Some(text.into()), ..Shown::default() }
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    minutes: String,
    multi_use: Option<String>,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    changes: String,
    confirmed: Option<String>,
    #[serde(default)]
    text: String,
    method: Option<Uuid>,
    #[serde(default)]
    second_code: String,
}

/// `POST /helpdesk/cases/{id}/{step}`: `send-code`, `check-code`, `ask-manager`, `ask-hr`,
/// `approve`, `pass`, `revoke-passes`, `reset`, `diagnose`, `resync`, `close`, `note`. (Retiring methods takes a list: [`retire`].)
pub async fn step(
    State(state): State<AppState>,
    page: PageAuthorized<WorkCases>,
    ClientMeta(meta): ClientMeta,
    Path((id, step)): Path<(Uuid, String)>,
    axum::Form(form): axum::Form<StepForm>,
) -> Result<Response, PageError> {
    let current = checked(&state, page, &form.csrf)?;
    let by = operator(&state, &current, &case_page(id))?;
    let cases = state.app.cases();
    let result = match step.as_str() {
        "send-code" => cases.start_step(&by, id, Channel::EmailCode, &meta).await.map(|(_, sent)| {
            notice(format!("A code went to {}: ask the caller to read it out.", sent.masked_destination))
        }),
        "check-code" => match Channel::parse(&form.channel) {
            Ok(channel) => cases.check_code(&by, id, channel, &form.code, &meta).await.map(|case| {
                if case.verified_channels().contains(&channel) {
                    notice(format!("Verified: {}.", channel.label()))
                } else {
                    Shown {
                        error: Some("That code is wrong: the failure is recorded on the case.".into()),
                        ..Shown::default()
                    }
                }
            }),
            Err(e) => Err(twofold_core::ValidationErrors::one("channel", e).into()),
        },
        "approve" => cases.approve(&by, id, &meta).await.map(|_| notice("Approved as second operator.")),
        "ask-manager" => cases
            .ask_review(&by, id, twofold_app::cases::Reviewer::Manager, &meta)
            .await
            .map(|_| notice("The manager on record was asked by mail to confirm.")),
        "ask-hr" => cases
            .ask_review(&by, id, twofold_app::cases::Reviewer::Hr, &meta)
            .await
            .map(|_| notice("HR was asked by mail to confirm.")),
        "pass" => match form.minutes.trim().parse::<i64>() {
            Ok(minutes) => cases
                .issue_access_pass(&by, id, Some(minutes.saturating_mul(60)), form.multi_use.is_none(), &meta)
                .await
                .map(|issued| Shown { pass: Some(issued), ..Shown::default() }),
            Err(_) => Err(twofold_core::ValidationErrors::one("minutes", "must be a whole number of minutes").into()),
        },
        "close" => match Resolution::parse(&form.resolution) {
            Ok(resolution) => {
                let checklist = Checklist { changes: form.changes, person_confirmed: form.confirmed.is_some() };
                cases.close(&by, id, resolution, checklist, &meta).await.map(|_| notice("The case is closed."))
            }
            Err(e) => Err(twofold_core::ValidationErrors::one("resolution", e).into()),
        },
        "note" => cases.note(&by, id, &form.text, &meta).await.map(|_| notice("Note added.")),
        "reset" if form.confirmed.is_none() => {
            Err(twofold_core::ValidationErrors::one("confirmed", "tick the box to confirm the reset").into())
        }
        "reset" => cases
            .reset_all_methods(&by, id, &meta)
            .await
            .map(|_| notice("Every method and recovery code is removed: issue a pass so the person can enrol anew.")),
        "diagnose" => match form.method {
            Some(method) => cases
                .diagnose_drift(&by, id, method, &form.code, &meta)
                .await
                .map(|(case, _)| notice(case.timeline.last().map(|e| e.event.describe()).unwrap_or_default())),
            None => Err(twofold_core::ValidationErrors::one("method", "choose the authenticator app").into()),
        },
        "resync" => match form.method {
            Some(method) => cases
                .resync_method(&by, id, method, &form.code, &form.second_code, &meta)
                .await
                .map(|_| notice("The method is back in step with the server.")),
            None => Err(twofold_core::ValidationErrors::one("method", "choose the method").into()),
        },
        "revoke-passes" => cases
            .revoke_access_passes(&by, id, &meta)
            .await
            .map(|n| notice(format!("{n} temporary access pass(es) revoked; sessions started with one ended."))),
        _ => return Err(AppError::NotFound("page").into()),
    };
    after_step(&state, &current, &by, id, result).await
}

/// `POST /helpdesk/cases/{id}/retire` with `method=ID` repeated.
pub async fn retire(
    State(state): State<AppState>,
    page: PageAuthorized<WorkCases>,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<Uuid>,
    body: String,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> = serde_urlencoded_pairs(&body);
    let presented = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
    let current = checked(&state, page, presented)?;
    let by = operator(&state, &current, &case_page(id))?;
    let methods: Vec<Uuid> = pairs.iter().filter(|(k, _)| k == "method").filter_map(|(_, v)| v.parse().ok()).collect();
    let result = state.app.cases().retire_methods(&by, id, &methods, &meta).await.map(|_| {
        notice("The selected methods are retired: they no longer work anywhere, and the person's sessions ended.")
    });
    after_step(&state, &current, &by, id, result).await
}

/// The pairs of a form body (`a=1&b=2`), percent-decoded; repeated names kept in order.
fn serde_urlencoded_pairs(body: &str) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{body}").parse().unwrap_or_else(|_| axum::http::Uri::from_static("/")),
    )
    .map(|q| q.0)
    .unwrap_or_default()
}
