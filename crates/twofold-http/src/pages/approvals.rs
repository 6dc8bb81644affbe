//! `/approvals`: the requests waiting for the signed-in person's decision, and
//! `/approvals/{id}`: one request — who asked, from where, with which strength, exactly what
//! changes — with Approve and Reject, which count only with a second factor proved in the
//! last minutes at the strength the rule demands (else the step-up, back to the same page).
//! A request is shown only to its approvers' group, its deciders and its requester.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use twofold_app::approvals::QueueEntry;
use twofold_app::signin::Authenticated;
use twofold_app::{AppError, Refusal};
use twofold_core::approvals::{ApprovalRefusal, ApprovalRequest, ApprovalState, FRESH_APPROVAL_SECS};
use uuid::Uuid;

use super::security::{no_store, token};
use crate::AppState;
use crate::extract::{ClientMeta, PageSession};
use crate::i18n::{t, t1};
use crate::page_error::PageError;

const QUEUE: &str = "/approvals";

/// One line of the queue.
struct Waiting {
    id: Uuid,
    app: String,
    action: String,
    resource: String,
    requester: String,
    asked: String,
    expires: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals.html")]
struct QueuePage {
    waiting: Vec<Waiting>,
    csrf: String,
}

/// One fact of the request, as a row of its description list.
struct Fact {
    label: &'static str,
    value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "approval.html")]
struct RequestPage {
    id: Uuid,
    heading: String,
    facts: Vec<Fact>,
    before: String,
    after: String,
    decisions: Vec<String>,
    state: String,
    /// Why this person cannot decide, when they cannot.
    cannot: Option<String>,
    /// The step-up link when they could decide after proving their second factor again.
    step_up: Option<String>,
    notice: Option<String>,
    csrf: String,
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

fn page(id: Uuid) -> String {
    format!("/approvals/{id}")
}

/// A session that opens more than Security info (not a temporary access pass's), let onto
/// Twofold's own pages by the policy — about reading, or about a change for a decision.
async fn gated(
    state: &AppState,
    current: Authenticated,
    action: twofold_core::access::Action,
    meta: &twofold_app::RequestMeta,
    path: &str,
) -> Result<Authenticated, PageError> {
    if !current.session.opens_apps() {
        return Err(PageError::StepUp { return_to: path.to_owned(), strength: None });
    }
    super::own_page_gate_for(state, &current, action, meta, path).await?;
    Ok(current)
}

/// `GET /approvals`.
pub async fn queue(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
) -> Result<Response, PageError> {
    let current = super::signed_in(session, QUEUE)?;
    let current = gated(&state, current, twofold_core::access::Action::Read, &meta, QUEUE).await?;
    let waiting = state
        .app
        .approvals()
        .queue(&current)
        .await?
        .into_iter()
        .map(|r| Waiting {
            id: r.id,
            app: r.client_name.clone(),
            action: r.proposal.action.clone(),
            resource: r.proposal.resource.clone(),
            requester: r.requester.username.clone(),
            asked: r.created_at.to_minute_utc(),
            expires: r.expires_at.to_minute_utc(),
        })
        .collect();
    Ok(no_store(StatusCode::OK, QueuePage { waiting, csrf: token(&state, &current) }))
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn state_words(state: ApprovalState) -> &'static str {
    match state {
        ApprovalState::Pending => t("approvals.state_pending"),
        ApprovalState::Approved => t("approvals.state_approved"),
        ApprovalState::Rejected => t("approvals.state_rejected"),
        ApprovalState::Expired => t("approvals.state_expired"),
    }
}

fn magnitude_words(request: &ApprovalRequest) -> Option<String> {
    let m = request.proposal.magnitude.as_ref()?;
    match (&m.amount, &m.percent) {
        (Some(amount), _) => Some(format!("{amount} {}", m.currency.as_deref().unwrap_or(""))),
        (None, Some(percent)) => Some(format!("{percent} %")),
        (None, None) => None,
    }
}

/// Whether `current`'s session may vote on `request` now: fresh enough, strong enough.
fn session_suffices(state: &AppState, current: &Authenticated, request: &ApprovalRequest) -> bool {
    let auth = &current.session.auth;
    auth.has_fresh_mfa(state.app.now(), FRESH_APPROVAL_SECS)
        && twofold_core::oidc::strength_meets(&auth.acr, &request.rule.strength)
}

fn step_up_link(request: &ApprovalRequest) -> String {
    format!("/login/mfa?return_to={}&strength={}", page(request.id), request.rule.strength)
}

fn view(state: &AppState, current: &Authenticated, entry: QueueEntry, notice: Option<String>) -> RequestPage {
    let QueueEntry { request, refusal } = entry;
    let r = &request;
    let signed_in_at = r.requester.auth_time.map_or_else(|| t("approvals.unknown").to_owned(), |at| at.to_minute_utc());
    let who = t1("approvals.requester_value", "name", &r.requester.username)
        .replace("{strength}", &super::mfa::strength_words(&r.requester.acr))
        .replace("{at}", &signed_in_at);
    let mut facts = vec![
        Fact { label: t("approvals.app"), value: r.client_name.clone() },
        Fact { label: t("approvals.resource"), value: r.proposal.resource.clone() },
        Fact { label: t("approvals.requested_by"), value: who },
        Fact {
            label: t("approvals.from"),
            value: r.requester.ip.clone().unwrap_or_else(|| t("approvals.unknown").to_owned()),
        },
        Fact {
            label: t("approvals.app_from"),
            value: r.requester.app_ip.clone().unwrap_or_else(|| t("approvals.unknown").to_owned()),
        },
        Fact { label: t("approvals.asked_at"), value: r.created_at.to_minute_utc() },
        Fact { label: t("approvals.reason"), value: r.proposal.reason.clone() },
    ];
    if let Some(size) = magnitude_words(r) {
        facts.push(Fact { label: t("approvals.size"), value: size });
    }
    facts.push(Fact {
        label: t("approvals.needs"),
        value: t1("approvals.needs_value", "n", r.rule.required)
            .replace("{group}", &r.rule.approvers)
            .replace("{strength}", &super::mfa::strength_words(&r.rule.strength)),
    });
    facts.push(Fact { label: t("approvals.expires"), value: r.expires_at.to_minute_utc() });
    facts.push(Fact { label: t("approvals.content_hash"), value: r.content_hash.clone() });
    let decisions = r
        .votes
        .iter()
        .map(|v| {
            let key = if v.approve { "approvals.approved_by" } else { "approvals.rejected_by" };
            let mut line = t1(key, "name", &v.username)
                .replace("{at}", &v.at.to_minute_utc())
                .replace("{methods}", &v.amr.join(", "));
            if let Some(comment) = &v.comment {
                line.push_str(&format!(" — “{comment}”"));
            }
            line
        })
        .collect();
    let suffices = session_suffices(state, current, r);
    let step_up = (refusal.is_none() && !suffices).then(|| step_up_link(r));
    RequestPage {
        id: r.id,
        heading: t1("approvals.heading", "action", &r.proposal.action),
        facts,
        before: pretty(&r.proposal.before),
        after: pretty(&r.proposal.after),
        decisions,
        state: state_words(r.state).to_owned(),
        cannot: refusal.map(|why| crate::refusals::words(&Refusal::Approval(why))),
        step_up,
        notice,
        csrf: token(state, current),
    }
}

/// `GET /approvals/{id}`.
pub async fn show(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let current = super::signed_in(session, &page(id))?;
    let current = gated(&state, current, twofold_core::access::Action::Read, &meta, &page(id)).await?;
    let entry = state.app.approvals().for_person(&current, id).await?;
    Ok(no_store(StatusCode::OK, view(&state, &current, entry, None)))
}

/// `POST /approvals/{id}` with `decision=approve|reject` and an optional `comment`.
pub async fn decide(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Path(id): Path<Uuid>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let current = super::with_form_token(&state, session, &page(id), &form.csrf)?;
    let current = gated(&state, current, twofold_core::access::Action::Approve, &meta, &page(id)).await?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::from(twofold_core::ValidationErrors::one("decision", "approve or reject")).into()),
    };
    let comment = Some(form.comment).filter(|c| !c.trim().is_empty());
    match state.app.approvals().decide(&current, id, approve, comment, &meta).await {
        Ok(_) => {
            let entry = state.app.approvals().for_person(&current, id).await?;
            let notice = t(if approve { "approvals.done_approved" } else { "approvals.done_rejected" });
            Ok(no_store(StatusCode::OK, view(&state, &current, entry, Some(notice.to_owned()))))
        }
        Err(AppError::Refused(Refusal::Approval(ApprovalRefusal::NotFresh | ApprovalRefusal::TooWeak(_)))) => {
            let entry = state.app.approvals().for_person(&current, id).await?;
            Err(PageError::StepUp { return_to: page(id), strength: Some(entry.request.rule.strength) })
        }
        Err(other) => Err(other.into()),
    }
}
