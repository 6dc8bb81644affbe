//! The admin REST API under `/api/v1`, bearer API keys, described at `/api/openapi.json`.

mod audit;
mod campaigns;
mod cases;
mod clients;
mod groups;
mod policies;
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
        .route("/cases", get(cases::list))
        .route("/cases/{id}", get(cases::show))
        .route("/reports/cases", get(cases::metrics))
        .route("/audit/events", get(audit::events))
        .route("/audit/verify", get(audit::verify))
        .fallback(|| async { crate::ApiError::App(twofold_app::AppError::NotFound("API endpoint")) })
}

/// The OpenAPI document, written by hand beside the routes it describes.
pub const OPENAPI: &str = include_str!("openapi.json");
