//! Working support cases through the API: the same steps as the operator pages, for a
//! help-desk tool beside them, by an operator's own session ([`CaseWorker`]: the session
//! cookie, `X-CSRF-Token`, the role and a fresh passkey). Every answer carries the case as it
//! now stands. And the HR system's signed attestation, which carries no session at all: its
//! Ed25519 signature over the body is its credential.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use twofold_app::AppError;
use twofold_app::cases::{CaseOperator, Reviewer};
use twofold_core::ValidationErrors;
use twofold_core::cases::verification::Channel;
use twofold_core::cases::{CaseKind, Checklist, Resolution};
use uuid::Uuid;

use crate::extract::{CaseWorker, ClientMeta, JsonBody};
use crate::{ApiError, AppState};

/// The header carrying the HR system's signature: `ed25519=<base64 signature of the body>`.
pub const HR_SIGNATURE_HEADER: &str = "twofold-signature";

fn case_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| AppError::NotFound("case").into())
}

/// The case as `by` now sees it, with `extra` fields beside it.
async fn answer(
    state: &AppState,
    by: &CaseOperator,
    id: Uuid,
    extra: serde_json::Value,
) -> Result<Json<serde_json::Value>, ApiError> {
    let view = state.app.cases().show_for(by, id).await?;
    let mut body = json!({ "case": view.case, "verification": view.verification });
    if let (Some(map), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
        map.extend(extra);
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    kind: String,
    user: String,
    summary: String,
}

/// `POST /cases` `{kind, user, summary}` — opens a case (201).
pub async fn open(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    JsonBody(body): JsonBody<OpenCase>,
) -> Result<Response, ApiError> {
    let kind = CaseKind::parse(&body.kind).map_err(|e| AppError::from(ValidationErrors::one("kind", e)))?;
    let case = state.app.cases().open(&worker.operator, kind, &body.user, &body.summary, &meta).await?;
    let answered = answer(&state, &worker.operator, case.id, json!({})).await?;
    Ok((StatusCode::CREATED, answered).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartStep {
    channel: String,
}

/// `POST /cases/{id}/steps` `{channel}` — starts a verification step: a code to the email
/// address or phone on file (`email_code`, `sms_code`), or a mail asking the manager or HR
/// (`manager_approval`, `hr_attestation`).
pub async fn start_step(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StartStep>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    let channel = Channel::parse(&body.channel).map_err(|e| AppError::from(ValidationErrors::one("channel", e)))?;
    let cases = state.app.cases();
    let by = &worker.operator;
    let sent_to = match channel {
        Channel::ManagerApproval => cases.ask_review(by, id, Reviewer::Manager, &meta).await.map(|_| None)?,
        Channel::HrAttestation => cases.ask_review(by, id, Reviewer::Hr, &meta).await.map(|_| None)?,
        _ => Some(cases.start_step(by, id, channel, &meta).await?.1.masked_destination),
    };
    answer(&state, by, id, json!({ "sent_to": sent_to })).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckCode {
    channel: String,
    code: String,
}

/// `POST /cases/{id}/checks` `{channel, code}` — checks what the caller read out (the sent
/// code, or a code from their own method for `factor_proof`); `verified` says whether it was
/// right (a wrong code is recorded on the case, not an error).
pub async fn check(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CheckCode>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    let channel = Channel::parse(&body.channel).map_err(|e| AppError::from(ValidationErrors::one("channel", e)))?;
    let case = state.app.cases().check_code(&worker.operator, id, channel, &body.code, &meta).await?;
    let verified = case.verified_channels().contains(&channel);
    answer(&state, &worker.operator, id, json!({ "verified": verified })).await
}

/// `POST /cases/{id}/approval` — the second operator's approval (two-person rule).
pub async fn approve(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    state.app.cases().approve(&worker.operator, id, &meta).await?;
    answer(&state, &worker.operator, id, json!({})).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    text: String,
}

/// `POST /cases/{id}/notes` `{text}`.
pub async fn note(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Note>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    state.app.cases().note(&worker.operator, id, &body.text, &meta).await?;
    answer(&state, &worker.operator, id, json!({})).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuePass {
    minutes: Option<i64>,
    #[serde(default = "yes")]
    single_use: bool,
}

const fn yes() -> bool {
    true
}

/// `POST /cases/{id}/access-pass` `{minutes?, single_use?}` — a temporary access pass; the
/// passcode is in this answer only.
pub async fn issue_pass(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<IssuePass>,
) -> Result<Response, ApiError> {
    let id = case_id(&id)?;
    let lifetime = body.minutes.map(|m| m.saturating_mul(60));
    let issued = state.app.cases().issue_access_pass(&worker.operator, id, lifetime, body.single_use, &meta).await?;
    // Answered from what the issue returned (no further read that could fail and lose the
    // passcode, which is shown once).
    let view = state.app.cases().view(issued.case);
    let body = json!({
        "case": view.case,
        "verification": view.verification,
        "access_pass": {
            "passcode": issued.passcode,
            "expires_at": issued.pass.expires_at,
            "single_use": issued.pass.single_use,
        },
    });
    Ok((StatusCode::CREATED, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `DELETE /cases/{id}/access-pass` — revokes the person's passes (and the sessions that
/// prove only a pass).
pub async fn revoke_passes(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    let revoked = state.app.cases().revoke_access_passes(&worker.operator, id, &meta).await?;
    answer(&state, &worker.operator, id, json!({ "revoked": revoked })).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retire {
    methods: Vec<Uuid>,
}

/// `POST /cases/{id}/retire` `{methods: [id, ...]}` — retires a lost device's methods.
pub async fn retire(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Retire>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    state.app.cases().retire_methods(&worker.operator, id, &body.methods, &meta).await?;
    answer(&state, &worker.operator, id, json!({})).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    #[serde(default)]
    confirm: bool,
}

/// `POST /cases/{id}/reset` `{confirm: true}` — removes every method and recovery code.
pub async fn reset(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Reset>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    if !body.confirm {
        return Err(
            AppError::from(ValidationErrors::one("confirm", "must be true: a reset removes every method")).into()
        );
    }
    state.app.cases().reset_all_methods(&worker.operator, id, &meta).await?;
    answer(&state, &worker.operator, id, json!({})).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    method: Uuid,
    code: String,
    next_code: Option<String>,
}

/// `POST /cases/{id}/diagnose` `{method, code}` — how far the method's clock is off
/// (`offset_steps`, `null` when the code matched nowhere near).
pub async fn diagnose(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Drift>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    let (_, offset) = state.app.cases().diagnose_drift(&worker.operator, id, body.method, &body.code, &meta).await?;
    answer(&state, &worker.operator, id, json!({ "offset_steps": offset })).await
}

/// `POST /cases/{id}/resync` `{method, code, next_code}` — brings the method back in step
/// from two consecutive codes.
pub async fn resync(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Drift>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    let next = body.next_code.as_deref().unwrap_or_default();
    state.app.cases().resync_method(&worker.operator, id, body.method, &body.code, next, &meta).await?;
    answer(&state, &worker.operator, id, json!({})).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Close {
    resolution: String,
    changes: String,
    #[serde(default)]
    person_confirmed: bool,
}

/// `POST /cases/{id}/close` `{resolution, changes, person_confirmed}`.
pub async fn close(
    State(state): State<AppState>,
    worker: CaseWorker,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Close>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    let resolution =
        Resolution::parse(&body.resolution).map_err(|e| AppError::from(ValidationErrors::one("resolution", e)))?;
    let checklist = Checklist { changes: body.changes, person_confirmed: body.person_confirmed };
    state.app.cases().close(&worker.operator, id, resolution, checklist, &meta).await?;
    answer(&state, &worker.operator, id, json!({})).await
}

/// `POST /cases/{id}/hr-attestation` — the HR system's signed answer to the case's HR step:
/// the body `{case, username, attested, attested_by, reference, issued_at}` exactly as
/// signed, and `Twofold-Signature: ed25519=<base64>`.
pub async fn hr_attestation(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = case_id(&id)?;
    let signature = headers
        .get(HR_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("ed25519="))
        .ok_or(AppError::Unauthenticated)?;
    let case = state.app.cases().attest_by_hr_system(id, &body, signature, &meta).await?;
    let verified = case.verified_channels().contains(&Channel::HrAttestation);
    Ok(Json(json!({ "case": case.id, "verified": verified })))
}
