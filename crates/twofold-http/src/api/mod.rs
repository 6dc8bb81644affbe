//! The admin REST API under `/api/v1`, bearer API keys, described at `/api/openapi.json`.

mod approvals;
mod audit;
mod campaigns;
mod case_work;
mod cases;
mod clients;
mod groups;
mod policies;
mod session;
mod users;
mod verify;

use axum::Router;
use axum::routing::{get, post, put};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users::list).post(users::create))
        .route("/users/import", post(users::import))
        .route("/users/{user}", get(users::show).patch(users::update))
        .route("/users/{user}/disable", post(users::disable))
        .route("/users/{user}/password", put(users::set_password))
        .route("/users/{user}/sessions", get(users::sessions).delete(users::revoke_sessions))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{group}/members", get(groups::members))
        .route("/groups/{group}/members/{user}", put(groups::add_member).delete(groups::remove_member))
        .route("/clients", get(clients::list).post(clients::create))
        .route("/service-accounts", get(clients::list_service_accounts).post(clients::create_service_account))
        .route("/verify", post(verify::verify))
        .route("/forward-auth", axum::routing::any(crate::forward_auth::check))
        .route("/policies", get(policies::versions).post(policies::apply))
        .route("/policies/check", post(policies::check))
        .route("/policies/whatif", post(policies::whatif))
        .route("/policies/simulate", post(policies::simulate))
        .route("/policies/{version}/rollback", post(policies::rollback))
        .route("/reports/policy", get(policies::report))
        .route("/campaigns", get(campaigns::list).post(campaigns::apply))
        .route("/campaigns/{name}", get(campaigns::status))
        .route("/campaigns/{name}/{action}", post(campaigns::set_status))
        .route("/compliance", get(campaigns::compliance))
        .route("/exceptions", get(campaigns::exceptions).post(campaigns::request_exception))
        .route("/exceptions/{id}/revoke", post(campaigns::revoke))
        .route("/exceptions/{id}/confirm", post(campaigns::confirm))
        .route("/exceptions/{id}/{verdict}", post(campaigns::decide))
        .route("/reports/coverage", get(campaigns::coverage))
        .route("/reports/gaps", get(campaigns::gaps))
        .route("/session", get(session::show))
        .route("/cases", get(cases::list).post(case_work::open))
        .route("/cases/{id}", get(cases::show))
        .route("/cases/{id}/steps", post(case_work::start_step))
        .route("/cases/{id}/checks", post(case_work::check))
        .route("/cases/{id}/approval", post(case_work::approve))
        .route("/cases/{id}/notes", post(case_work::note))
        .route("/cases/{id}/access-pass", post(case_work::issue_pass).delete(case_work::revoke_passes))
        .route("/cases/{id}/retire", post(case_work::retire))
        .route("/cases/{id}/reset", post(case_work::reset))
        .route("/cases/{id}/diagnose", post(case_work::diagnose))
        .route("/cases/{id}/resync", post(case_work::resync))
        .route("/cases/{id}/close", post(case_work::close))
        .route("/cases/{id}/hr-attestation", post(case_work::hr_attestation))
        .route("/reports/cases", get(cases::metrics))
        .route("/approvals", post(approvals::raise))
        .route("/approvals/{id}", get(approvals::show))
        .route("/audit/events", get(audit::events))
        .route("/audit/verify", get(audit::verify))
        .fallback(|| async { crate::ApiError::App(twofold_app::AppError::NotFound("API endpoint")) })
}

/// The OpenAPI document, written by hand beside the routes it describes.
pub const OPENAPI: &str = include_str!("openapi.json");
