//! `GET /account` shows who is signed in and their sessions; `POST /logout` signs out.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::extract::{ClientMeta, PageSession};
use crate::page_error::PageError;
use crate::{AppState, cookies, csrf};

struct SessionRow {
    started: String,
    last_seen: String,
    ip: String,
    user_agent: String,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    display_name: String,
    username: String,
    email: String,
    tier: String,
    roles: String,
    groups: String,
    methods: String,
    /// The strength reached (`acr`) with what it means.
    strength: String,
    auth_time: String,
    sessions: Vec<SessionRow>,
    csrf: String,
}

pub async fn show(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
) -> Result<Response, PageError> {
    let current = super::signed_in(session, "/account")?;
    super::own_page_gate(&state, &current, &meta, "/account").await?;
    let user = &current.user;
    let detail = state.app.identity().user_detail(&user.id.to_string()).await?;
    let sessions = state.app.signin().user_sessions(user.id).await?;
    let page = AccountPage {
        display_name: user.display_name.clone(),
        username: user.username.clone(),
        email: user.email.clone().unwrap_or_else(|| "—".into()),
        tier: user.tier.to_string(),
        roles: user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
        groups: if detail.groups.is_empty() { "—".into() } else { detail.groups.join(", ") },
        methods: current.session.auth.amr.join(", "),
        strength: strength_label(&current.session.auth.acr),
        auth_time: current.session.auth.auth_time.map_or_else(String::new, |t| t.to_rfc3339()),
        sessions: sessions
            .iter()
            .map(|s| SessionRow {
                started: s.created_at.to_rfc3339(),
                last_seen: s.last_seen_at.to_rfc3339(),
                ip: s.ip.clone().unwrap_or_default(),
                user_agent: s.user_agent.clone().unwrap_or_default(),
                current: s.id_hash == current.session.id_hash,
            })
            .collect(),
        csrf: csrf::session_token(&state.config.csrf_key, &current.session.id_hash),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
    everywhere: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<LogoutForm>,
) -> Result<Response, PageError> {
    let Some(current) = session else {
        return Ok(Redirect::to("/login").into_response());
    };
    if !csrf::check_session_token(&state.config.csrf_key, &current.session.id_hash, &form.csrf) {
        return Err(PageError::FormExpired);
    }
    state.app.signin().sign_out(&current, form.everywhere.is_some(), &meta).await?;
    let mut response = Redirect::to("/login?signed_out=1").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies::set(cookies::SESSION, "", Some(0), state.config.secure_cookies()));
    Ok(response)
}

/// `acr` with what it means to the person reading it.
fn strength_label(acr: &str) -> String {
    let meaning = match acr {
        "pwd" => "password only",
        "mfa" => "two factors",
        "phr" => "phishing-resistant: a passkey",
        "phrh" => "phishing-resistant and hardware-bound: an attested security key",
        _ => return acr.to_owned(),
    };
    format!("{acr} ({meaning})")
}
