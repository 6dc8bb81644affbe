//! `/admin/audit`: the audit log for admins and auditors — filtered by actor, action, target
//! and time, newest first, page by page — with the chain's recorded head and, on request, a
//! verification of the whole chain. Read-only: nothing here changes anything.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use twofold_core::Timestamp;
use twofold_core::store::AuditFilter;

use super::ConsoleAuthorized;
use crate::AppState;
use crate::extract::{QueryParams, ReadAudit};
use crate::page_error::PageError;
use crate::pages::security::{no_store, token};
use crate::urls::query_escape;

/// Rows per page.
const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    /// A date or RFC 3339 time.
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    before: Option<i64>,
    #[serde(default)]
    verify: Option<String>,
}

struct Row {
    at: String,
    actor: String,
    action: String,
    target: String,
    ip: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    actor: String,
    action: String,
    target: String,
    since: String,
    until: String,
    rows: Vec<Row>,
    problem: Option<String>,
    head_seq: i64,
    head_hash: String,
    verification: Option<String>,
    next: Option<String>,
    csrf: String,
}

fn blank_to_none(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// `GET /admin/audit`.
pub async fn audit(
    State(state): State<AppState>,
    page: ConsoleAuthorized<ReadAudit>,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Response, PageError> {
    let mut problem = None;
    let mut time = |text: &str, what: &str| match blank_to_none(text) {
        None => None,
        Some(text) => match Timestamp::parse(&text) {
            Ok(at) => Some(at),
            Err(_) => {
                problem = Some(format!("{what}: give a date like 2026-12-01 or a time like 2026-12-01T09:00:00Z"));
                None
            }
        },
    };
    let since = time(&query.since, "From");
    let until = time(&query.until, "Until");
    let filter = AuditFilter {
        actor: blank_to_none(&query.actor),
        action: blank_to_none(&query.action),
        target: blank_to_none(&query.target),
        since,
        until,
        before_seq: query.before,
        limit: PAGE,
    };
    let events = if problem.is_none() { state.app.search_audit(&filter).await? } else { Vec::new() };
    let next = (events.len() as i64 == PAGE).then(|| {
        let last = events.last().map_or(0, |e| e.seq);
        format!(
            "/admin/audit?actor={}&action={}&target={}&since={}&until={}&before={last}",
            query_escape(&query.actor),
            query_escape(&query.action),
            query_escape(&query.target),
            query_escape(&query.since),
            query_escape(&query.until)
        )
    });
    let rows = events
        .iter()
        .map(|e| Row {
            at: e.at.to_rfc3339(),
            actor: e.actor_name.clone(),
            action: e.action.clone(),
            target: match &e.target_id {
                Some(id) => format!("{} {id}", e.target_type),
                None => e.target_type.clone(),
            },
            ip: e.ip.clone().unwrap_or_default(),
        })
        .collect();
    let head = state.app.audit_head().await?;
    let verification = match query.verify {
        Some(_) => Some(match state.app.verify_audit().await? {
            twofold_app::audit::Verification::Intact { events, .. } => {
                format!("Intact: all {events} events check out against the recorded head.")
            }
            twofold_app::audit::Verification::Broken(broken) => {
                format!("Broken at event {}: {}", broken.seq, broken.reason)
            }
        }),
        None => None,
    };
    let view = AuditPage {
        actor: query.actor,
        action: query.action,
        target: query.target,
        since: query.since,
        until: query.until,
        rows,
        problem,
        head_seq: head.seq,
        head_hash: head.hash,
        verification,
        next,
        csrf: token(&state, &page.current),
    };
    Ok(no_store(StatusCode::OK, view))
}
