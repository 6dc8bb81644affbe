//! The one place an error becomes a status code: RFC 9457 `application/problem+json`.
//! 5xx bodies are generic; their detail goes to the log only.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use twofold_app::AppError;
use twofold_core::identity::Role;
use twofold_core::identity::roles::Permission;

use crate::refusals;

/// An error on its way to the client.
#[derive(Debug)]
pub enum ApiError {
    /// A use-case error.
    App(AppError),
    /// A request body or query that could not be parsed.
    BadRequest(String),
    /// An API key whose role does not grant the permission the endpoint needs.
    KeyMayNot {
        /// The key's role.
        role: Role,
        /// What the endpoint needs.
        permission: Permission,
    },
    /// A service account's token presented where no OAuth scope grants the permission.
    ServiceAccountMayNot(Permission),
    /// A passkey ceremony's request without the session's (or sign-in form's) CSRF token.
    StaleCsrfToken,
    /// A bearer credential where only a person's own session may act (working cases).
    SessionOnly,
}

/// What a permission lets one do, as the API's refusals name it.
const fn permission_words(permission: Permission) -> &'static str {
    match permission {
        Permission::ReadDirectory => "read the directory",
        Permission::WriteDirectory => "change the directory",
        Permission::ReadAudit => "read the audit log",
        Permission::ManageClients => "manage clients and service accounts",
        Permission::ManagePolicy => "change the conditional-access policy",
        Permission::VerifyCodes => "verify one-time codes",
        Permission::ReadCases => "read support cases",
        Permission::WorkCases => "work support cases",
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self::App(error)
    }
}

fn problem(status: StatusCode, title: &str, detail: &str, extra: Option<serde_json::Value>) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some(extra), Some(map)) = (extra, body.as_object_mut()) {
        map.insert("errors".into(), extra);
    }
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(detail) => problem(StatusCode::BAD_REQUEST, "Bad request", &detail, None),
            Self::KeyMayNot { role, permission } => {
                let detail = format!("an API key with role '{role}' may not {}", permission_words(permission));
                problem(StatusCode::FORBIDDEN, "Forbidden", &detail, None)
            }
            Self::ServiceAccountMayNot(permission) => {
                let detail = format!("a service account may not {}", permission_words(permission));
                problem(StatusCode::FORBIDDEN, "Forbidden", &detail, None)
            }
            Self::StaleCsrfToken => problem(StatusCode::FORBIDDEN, "Forbidden", "missing or stale CSRF token", None),
            Self::SessionOnly => problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "cases are worked by operators with their own signed-in session (cookie and X-CSRF-Token), never by an API key or token",
                None,
            ),
            Self::App(error) => match error {
                AppError::Invalid(errors) => problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid input",
                    &errors.summary(),
                    serde_json::to_value(&errors).ok(),
                ),
                AppError::Password(rejection) => {
                    let errors = json!([{"field": "password", "message": rejection.to_string()}]);
                    problem(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Invalid input",
                        &format!("password {rejection}"),
                        Some(errors),
                    )
                }
                AppError::NotFound(what) => {
                    problem(StatusCode::NOT_FOUND, "Not found", &format!("{what} not found"), None)
                }
                AppError::Conflict(detail) => problem(StatusCode::CONFLICT, "Conflict", &detail, None),
                AppError::Unauthenticated => {
                    let mut response = problem(
                        StatusCode::UNAUTHORIZED,
                        "Unauthorized",
                        "a valid API key is required (Authorization: Bearer tfk_...)",
                        None,
                    );
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                    response
                }
                AppError::Throttled { retry_after_secs } => {
                    let detail = format!("too many attempts; try again in {retry_after_secs} seconds");
                    let mut response = problem(StatusCode::TOO_MANY_REQUESTS, "Too many requests", &detail, None);
                    if let Ok(value) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                        response.headers_mut().insert(header::RETRY_AFTER, value);
                    }
                    response
                }
                AppError::StepUpRequired => problem(
                    StatusCode::FORBIDDEN,
                    "Step-up required",
                    "confirm it's you with a second factor first",
                    None,
                ),
                AppError::Refused(refusal) => {
                    problem(refusals::status(&refusal), refusals::title(&refusal), &refusals::words(&refusal), None)
                }
                AppError::Unavailable(detail) => {
                    tracing::error!(%detail, "database unavailable");
                    problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Service unavailable",
                        "the database is unavailable; try again",
                        None,
                    )
                }
                AppError::Internal(detail) => {
                    tracing::error!(%detail, "internal error");
                    problem(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal error",
                        "an internal error occurred; it has been logged",
                        None,
                    )
                }
            },
        }
    }
}
