//! The one place a page's failure becomes what the person sees, as [`crate::problem`] is for
//! the API: a redirect to sign in or to prove a second factor, or an HTML page with a title,
//! a plain message, a way back and the right status.
//!
//! Never a database's or an internal error's text: that goes to the log with a short
//! reference, and the page shows only the reference, so a help desk can find the entry.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use twofold_app::AppError;
use twofold_app::refusal::RefusalKind;

use twofold_core::identity::password::{self, PasswordRejection};

use crate::i18n::{plural, t, t1};
use crate::refusals;
use crate::urls::query_escape;

/// Why a page is not served as asked.
#[derive(Debug)]
pub enum PageError {
    /// Nobody is signed in: sign in, then come back to `return_to` (a same-origin path).
    SignIn {
        /// Where the sign-in returns to.
        return_to: String,
    },
    /// A second factor is due — the sign-in's own, or a fresh one for a change, or a
    /// stronger one the policy asks for: prove it, then come back to `return_to`.
    StepUp {
        /// Where the step-up returns to.
        return_to: String,
        /// The strength asked for, when the policy names one.
        strength: Option<String>,
    },
    /// The policy asks for a strength none of the person's methods reaches: set one up on
    /// Security info first.
    SetUpMethod,
    /// The form's CSRF token is missing or from another session.
    FormExpired,
    /// The session a form belonged to has ended (the app that sent the person must start over).
    SessionEnded,
    /// Signed in, but none of the person's roles allows this page.
    NotPermitted,
    /// Conditional access refuses this page whatever the person does; the policy's reason.
    AccessRefused(String),
    /// A request that cannot be served as sent; the text is written for the person.
    BadRequest(String),
    /// A use-case error.
    App(AppError),
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        Self::App(error)
    }
}

/// Where the error page's link leads.
#[derive(Debug, Clone, Copy)]
enum Back {
    Account,
    SignIn,
    StepUp,
}

/// What an error page says.
#[derive(Debug)]
pub(crate) struct Shown {
    /// The status the page is sent with.
    pub status: StatusCode,
    /// The page's heading.
    pub title: &'static str,
    /// One or two plain sentences for the person.
    pub message: String,
    /// Set for failures that are ours: the log entry's reference.
    reference: Option<String>,
    back: Back,
    /// Seconds until another attempt is allowed, sent as `Retry-After`.
    retry_after: Option<i64>,
}

/// How long to wait, in words a person reads: "1 second", "40 seconds", "3 minutes".
pub(crate) fn wait_words(seconds: i64) -> String {
    match seconds {
        ..=1 => plural("error.wait_seconds", 1),
        2..=119 => plural("error.wait_seconds", seconds),
        _ => plural("error.wait_minutes", (seconds + 59) / 60),
    }
}

/// A rejected new password, in the reader's words ("Password must be at least 8 characters.").
fn password_words(rejection: &PasswordRejection) -> String {
    match rejection {
        PasswordRejection::TooShort => t1("error.password_too_short", "min", password::MIN_LENGTH),
        PasswordRejection::TooLong => t1("error.password_too_long", "max", password::MAX_LENGTH),
        PasswordRejection::Common => t("error.password_common").to_owned(),
        PasswordRejection::Guessable => t("error.password_guessable").to_owned(),
    }
}

/// What was not found, in the reader's words; the use cases name it in English, and a name
/// not listed here is shown as they give it.
fn thing_words(what: &'static str) -> &'static str {
    match what {
        "API endpoint" => t("error.thing.api_endpoint"),
        "endpoint" => t("error.thing.endpoint"),
        "active API key" => t("error.thing.api_key"),
        "app" => t("error.thing.app"),
        "authenticator" => t("error.thing.authenticator"),
        "sign-in method" => t("error.thing.sign_in_method"),
        "authenticator app" => t("error.thing.authenticator_app"),
        "authenticator app or hardware token" => t("error.thing.app_or_token"),
        "authenticator app set-up" => t("error.thing.app_set_up"),
        "campaign" => t("error.thing.campaign"),
        "case" => t("error.thing.case"),
        "client" => t("error.thing.client"),
        "email or SMS method" => t("error.thing.email_or_sms"),
        "emergency access" => t("error.thing.emergency_access"),
        "exception" => t("error.thing.exception"),
        "group" => t("error.thing.group"),
        "page" => t("error.thing.page"),
        "passkey" => t("error.thing.passkey"),
        "policy version" => t("error.thing.policy_version"),
        "review" => t("error.thing.review"),
        "service account" => t("error.thing.service_account"),
        "session" => t("error.thing.session"),
        "token" => t("error.thing.token"),
        "trusted device" => t("error.thing.trusted_device"),
        "user" => t("error.thing.user"),
        other => other,
    }
}

/// A short random reference tying what the person sees to the log entry.
pub(crate) fn reference() -> String {
    twofold_core::secret::random_token().chars().filter(char::is_ascii_alphanumeric).take(10).collect()
}

/// What the person is told about `error`; failures that are ours are logged here, with the
/// reference the page shows.
pub(crate) fn shown(error: &AppError) -> Shown {
    let page = |status, title, message: String| Shown {
        status,
        title,
        message,
        reference: None,
        back: Back::Account,
        retry_after: None,
    };
    match error {
        AppError::Invalid(errors) => page(StatusCode::UNPROCESSABLE_ENTITY, t("error.invalid_title"), errors.summary()),
        AppError::Password(rejection) => {
            page(StatusCode::UNPROCESSABLE_ENTITY, t("error.password_title"), password_words(rejection))
        }
        AppError::NotFound(what) => {
            page(StatusCode::NOT_FOUND, t("error.not_found_title"), t1("error.not_found", "what", thing_words(what)))
        }
        // The store's own text may name its tables and constraints, so it is logged, never shown.
        AppError::Conflict(detail) => {
            tracing::info!(%detail, "page refused: conflict");
            page(StatusCode::CONFLICT, t("error.conflict_title"), t("error.conflict").to_owned())
        }
        AppError::Refused(refusal) => {
            let title = match refusal.kind() {
                RefusalKind::NotAllowed => t("error.not_allowed_title"),
                RefusalKind::Conflict => t("error.cannot_now_title"),
            };
            page(refusals::status(refusal), title, refusals::words(refusal))
        }
        AppError::Unauthenticated => Shown {
            back: Back::SignIn,
            ..page(StatusCode::UNAUTHORIZED, t("error.sign_in_title"), t("error.sign_in").to_owned())
        },
        AppError::Throttled { retry_after_secs } => Shown {
            retry_after: Some(*retry_after_secs),
            ..page(
                StatusCode::TOO_MANY_REQUESTS,
                t("error.throttled_title"),
                t1("error.throttled", "wait", wait_words(*retry_after_secs)),
            )
        },
        AppError::StepUpRequired => Shown {
            back: Back::StepUp,
            ..page(StatusCode::FORBIDDEN, t("error.step_up_title"), t("error.step_up").to_owned())
        },
        AppError::Unavailable(detail) => {
            let reference = reference();
            tracing::error!(%reference, %detail, "page failed: service unavailable");
            Shown {
                reference: Some(reference),
                ..page(StatusCode::SERVICE_UNAVAILABLE, t("error.unavailable_title"), t("error.unavailable").to_owned())
            }
        }
        AppError::Internal(detail) => {
            let reference = reference();
            tracing::error!(%reference, %detail, "page failed: internal error");
            Shown {
                reference: Some(reference),
                ..page(StatusCode::INTERNAL_SERVER_ERROR, t("error.internal_title"), t("error.internal").to_owned())
            }
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
    /// The sentence that gives the reference, split around it (the reference is shown as code).
    reference: Option<(String, String, String)>,
    back_to: &'static str,
    back_label: &'static str,
}

impl IntoResponse for Shown {
    fn into_response(self) -> Response {
        let (back_to, back_label) = match self.back {
            Back::Account => ("/account", t("error.back_account")),
            Back::SignIn => ("/login", t("error.back_sign_in")),
            Back::StepUp => ("/login/mfa?return_to=/account", t("error.back_step_up")),
        };
        let reference = self.reference.map(|reference| {
            let (before, after) = crate::pages::wording::around(t("error.reference"), "reference");
            (before, reference, after)
        });
        let page = ErrorPage { title: self.title, message: self.message, reference, back_to, back_label };
        let mut response = (self.status, [(header::CACHE_CONTROL, "no-store")], page).into_response();
        if let Some(value) = self.retry_after.and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = |status, title, message: String| Shown {
            status,
            title,
            message,
            reference: None,
            back: Back::Account,
            retry_after: None,
        };
        let shown = match self {
            Self::SignIn { return_to } => {
                return Redirect::to(&format!("/login?return_to={}", query_escape(&return_to))).into_response();
            }
            Self::StepUp { return_to, strength } => {
                let strength = strength.map(|s| format!("&strength={}", query_escape(&s))).unwrap_or_default();
                let to = format!("/login/mfa?return_to={}{strength}", query_escape(&return_to));
                return Redirect::to(&to).into_response();
            }
            Self::SetUpMethod => return Redirect::to("/account/security").into_response(),
            Self::FormExpired => {
                page(StatusCode::FORBIDDEN, t("error.form_expired_title"), t("error.form_expired").to_owned())
            }
            Self::SessionEnded => Shown {
                back: Back::SignIn,
                ..page(StatusCode::UNAUTHORIZED, t("error.session_ended_title"), t("error.session_ended").to_owned())
            },
            Self::NotPermitted => {
                page(StatusCode::FORBIDDEN, t("error.not_allowed_title"), t("error.not_permitted").to_owned())
            }
            Self::AccessRefused(reason) => page(
                StatusCode::FORBIDDEN,
                t("error.access_refused_title"),
                t1("error.access_refused", "reason", reason),
            ),
            Self::BadRequest(message) => page(StatusCode::BAD_REQUEST, t("error.bad_request_title"), message),
            Self::App(error) => shown(&error),
        };
        shown.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page(error: PageError) -> (StatusCode, String) {
        let response = error.into_response();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn waits_are_said_in_words() {
        assert_eq!(wait_words(1), "1 second");
        assert_eq!(wait_words(0), "1 second");
        assert_eq!(wait_words(45), "45 seconds");
        assert_eq!(wait_words(600), "10 minutes");
        assert_eq!(wait_words(121), "3 minutes");
    }

    #[tokio::test]
    async fn a_database_failure_shows_a_reference_and_never_the_drivers_text() {
        let detail = "error returned from database: relation \"sessions\" does not exist";
        for error in [AppError::Unavailable(detail.into()), AppError::Internal(detail.into())] {
            let (status, html) = page(PageError::App(error)).await;
            assert!(status.is_server_error(), "{status}");
            assert!(!html.contains("sessions") && !html.contains("database"), "{html}");
            assert!(html.contains("give your help desk this reference: <code>") && html.contains(r#"href="/account""#));
        }
    }

    #[tokio::test]
    async fn a_stores_conflict_text_is_not_shown() {
        let detail = "duplicate key value violates unique constraint \"authenticators_pkey\"";
        let (status, html) = page(PageError::App(AppError::Conflict(detail.into()))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(!html.contains("authenticators_pkey") && html.contains("something changed meanwhile"), "{html}");
    }

    #[tokio::test]
    async fn a_refusal_is_worded_for_the_person_with_its_status() {
        let refusal = twofold_app::Refusal::LastMethod("add another method before removing your last one");
        let (status, html) = page(PageError::App(AppError::Refused(refusal))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(html.contains("add another method before removing your last one"), "{html}");
    }

    #[tokio::test]
    async fn an_expired_session_leads_to_sign_in() {
        let (status, html) = page(PageError::App(AppError::Unauthenticated)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(html.contains(r#"href="/login""#), "{html}");
        let response = PageError::SignIn { return_to: "/account/security".into() }.into_response();
        assert_eq!(response.headers()[header::LOCATION], "/login?return_to=/account/security");
    }
}
