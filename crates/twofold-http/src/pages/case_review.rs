//! `/cases/{id}/review`: where the person's manager (or HR) confirms a help-desk request,
//! signed in with their own second factor proved within the last minutes. Anyone else gets
//! "not found": a case's existence is not told to strangers.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use twofold_app::AppError;
use twofold_app::cases::Reviewer;
use twofold_app::signin::Authenticated;
use twofold_core::signin::session::FRESH_MFA_SECS;
use uuid::Uuid;

use super::security::{no_store, token};
use crate::AppState;
use crate::extract::{ClientMeta, PageSession};
use crate::page_error::PageError;

#[derive(Template, WebTemplate)]
#[template(path = "case_review.html")]
struct ReviewPage {
    id: Uuid,
    person: String,
    role: &'static str,
    kind: &'static str,
    summary: String,
    opened: String,
    operator: String,
    answered: bool,
    notice: Option<String>,
    csrf: String,
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
}

fn page(id: Uuid) -> String {
    format!("/cases/{id}/review")
}

/// A signed-in session whose second factor is recent enough to answer, or the step to get one.
fn fresh(state: &AppState, session: Option<Authenticated>, id: Uuid) -> Result<Authenticated, PageError> {
    let current = super::signed_in(session, &page(id))?;
    if !current.session.opens_apps() || !current.session.auth.has_fresh_mfa(state.app.now(), FRESH_MFA_SECS) {
        return Err(PageError::StepUp { return_to: page(id), strength: None });
    }
    Ok(current)
}

/// `GET /cases/{id}/review`.
pub async fn show(
    State(state): State<AppState>,
    PageSession(session): PageSession,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let current = fresh(&state, session, id)?;
    let (case, reviewer) = state.app.cases().reviewer_of(&current, id).await?;
    let view = ReviewPage {
        id,
        person: case.target.username.clone(),
        role: match reviewer {
            Reviewer::Manager => "their manager",
            Reviewer::Hr => "HR",
        },
        kind: case.kind.label(),
        summary: case.summary().to_owned(),
        opened: case.opened_at.to_minute_utc(),
        operator: case.operator.clone(),
        answered: false,
        notice: None,
        csrf: token(&state, &current),
    };
    Ok(no_store(StatusCode::OK, view))
}

/// `POST /cases/{id}/review` with `decision=confirm|refuse`.
pub async fn answer(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Path(id): Path<Uuid>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let current = super::with_form_token(&state, session, &page(id), &form.csrf)?;
    let current = fresh(&state, Some(current), id)?;
    let confirm = match form.decision.as_str() {
        "confirm" => true,
        "refuse" => false,
        _ => return Err(AppError::from(twofold_core::ValidationErrors::one("decision", "confirm or refuse")).into()),
    };
    let case = state.app.cases().answer_review(&current, id, confirm, &meta).await?;
    let notice = if confirm {
        "Thank you: the help desk can now go on with the request."
    } else {
        "Thank you: the help desk will not change anything on this request."
    };
    let view = ReviewPage {
        id,
        person: case.target.username.clone(),
        role: "",
        kind: case.kind.label(),
        summary: String::new(),
        opened: String::new(),
        operator: String::new(),
        answered: true,
        notice: Some(notice.to_owned()),
        csrf: token(&state, &current),
    };
    Ok(no_store(StatusCode::OK, view))
}
