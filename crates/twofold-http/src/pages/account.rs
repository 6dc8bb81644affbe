//! `GET /account` shows who is signed in and their sessions; `POST /logout` signs out.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::chrome::{self, When};
use crate::extract::{ClientMeta, PageSession};
use crate::i18n::{t, t2};
use crate::page_error::PageError;
use crate::{AppState, csrf};

struct SessionRow {
    /// An opaque handle for ending it (never the stored hash).
    handle: String,
    started: When,
    last_seen: When,
    ip: String,
    browser: String,
    current: bool,
}

struct AppRow {
    client_id: String,
    name: String,
    scopes: String,
    allowed: When,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    display_name: String,
    username: String,
    email: String,
    roles: String,
    groups: String,
    /// How this session signed in, in words ("password and authenticator app").
    methods: String,
    /// The strength reached, in words.
    strength: String,
    auth_time: Option<When>,
    sessions: Vec<SessionRow>,
    /// Third-party apps the person allowed.
    apps: Vec<AppRow>,
    /// May work help-desk cases (a link to the operator pages).
    operator: bool,
    /// How many approval requests wait for this person's decision (a link to the queue).
    approvals_waiting: usize,
    /// Holds a console role (a link to `/admin`).
    console: bool,
    notice: Option<&'static str>,
    csrf: String,
}

#[derive(Deserialize, Default)]
pub struct AccountQuery {
    ended: Option<String>,
    withdrawn: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    axum::extract::Query(query): axum::extract::Query<AccountQuery>,
) -> Result<Response, PageError> {
    let notice = match (query.ended, query.withdrawn) {
        (Some(_), _) => Some(t("account.session_ended")),
        (_, Some(_)) => Some(t("account.app_withdrawn")),
        _ => None,
    };
    let current = super::signed_in(session, "/account")?;
    super::own_page_gate(&state, &current, &meta, "/account").await?;
    let user = &current.user;
    let detail = state.app.identity().user_detail(&user.id.to_string()).await?;
    let sessions = state.app.signin().user_sessions(user.id).await?;
    let now = state.app.now();
    let key = &state.config.csrf_key;
    let apps = state
        .app
        .oidc()
        .allowed_apps(&current)
        .await?
        .into_iter()
        .map(|a| AppRow {
            client_id: a.consent.client_id,
            name: a.name,
            scopes: capitalise(
                &a.consent.scopes.iter().map(|s| crate::oidc::consent::describe(s)).collect::<Vec<_>>().join("; "),
            ),
            allowed: When::of(a.consent.granted_at, now),
        })
        .collect();
    let approvals_waiting = state.app.approvals().queue(&current).await?.len();
    let page = AccountPage {
        display_name: user.display_name.clone(),
        username: user.username.clone(),
        email: user.email.clone().unwrap_or_else(|| "—".into()),
        roles: user.roles.iter().map(|r| role_label(*r)).collect::<Vec<_>>().join(", "),
        groups: if detail.groups.is_empty() { "—".into() } else { detail.groups.join(", ") },
        methods: methods_label(&current.session.auth.amr),
        strength: strength_label(&current.session.auth.acr),
        auth_time: current.session.auth.auth_time.map(|t| When::of(t, now)),
        sessions: sessions
            .iter()
            .map(|s| SessionRow {
                handle: session_handle(key, &s.id_hash),
                started: When::of(s.created_at, now),
                last_seen: When::of(s.last_seen_at, now),
                ip: s.ip.clone().unwrap_or_else(|| "—".into()),
                browser: s.user_agent.as_deref().map_or_else(|| t("account.unknown_browser").into(), chrome::browser),
                current: s.id_hash == current.session.id_hash,
            })
            .collect(),
        apps,
        operator: user
            .roles
            .iter()
            .any(|r| matches!(r, twofold_core::identity::Role::Helpdesk | twofold_core::identity::Role::Admin)),
        approvals_waiting,
        console: twofold_core::identity::roles::any_grants(
            &user.roles,
            twofold_core::identity::roles::Permission::ReadDirectory,
        ),
        notice,
        csrf: csrf::session_token(key, &current.session.id_hash),
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
    response.headers_mut().append(header::SET_COOKIE, state.config.session_cookie("", Some(0)));
    Ok(response)
}

/// `acr` in words for the person reading it.
fn strength_label(acr: &str) -> String {
    match acr {
        "pwd" => t("account.strength_pwd"),
        "mfa" => t("account.strength_mfa"),
        "phr" => t("account.strength_phr"),
        "phrh" => t("account.strength_phrh"),
        "tap" => t("account.strength_tap"),
        other => other,
    }
    .to_owned()
}

/// How a session signed in (`amr`), in words: "password and authenticator app".
fn methods_label(amr: &[String]) -> String {
    let words: Vec<&str> = amr
        .iter()
        .filter_map(|m| match m.as_str() {
            "pwd" => Some(t("account.amr_pwd")),
            "otp" => Some(t("account.amr_otp")),
            "hwk" | "swk" => Some(t("account.amr_hwk")),
            "user" | "mfa" | "pin" => None,
            "tap" => Some(t("account.amr_tap")),
            "email" | "email_on_file" => Some(t("account.amr_email")),
            "sms" => Some(t("account.amr_sms")),
            "rec" | "recovery" => Some(t("account.amr_recovery")),
            "emergency_access" => Some(t("account.amr_emergency")),
            "retired_fallback" => Some(t("account.amr_retired_fallback")),
            _ => Some(t("account.amr_other")),
        })
        .collect();
    let mut unique: Vec<&str> = Vec::new();
    for w in words {
        if !unique.contains(&w) {
            unique.push(w);
        }
    }
    match unique.as_slice() {
        [] => "—".to_owned(),
        [one] => capitalise(one),
        [rest @ .., last] => capitalise(&t2("account.methods_and", "list", rest.join(", "), "last", last)),
    }
}

/// A role in words.
fn role_label(role: twofold_core::identity::Role) -> &'static str {
    use twofold_core::identity::Role;
    match role {
        Role::Admin => t("account.role_admin"),
        Role::Helpdesk => t("account.role_helpdesk"),
        Role::Auditor => t("account.role_auditor"),
        Role::Approver => t("account.role_approver"),
        Role::Hr => t("account.role_hr"),
        Role::User => t("account.role_user"),
    }
}

pub(super) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// An opaque handle for one of the person's sessions on their own page: a keyed hash of the
/// stored hash, so the page never shows what the database is keyed by.
fn session_handle(key: &[u8; 32], id_hash: &str) -> String {
    let mac = twofold_core::secret::hmac_sha256(key, format!("session-handle:{id_hash}").as_bytes());
    mac.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[derive(Deserialize)]
pub struct EndSessionForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /account/sessions/{handle}/end`: signs one of the person's other sessions out.
pub async fn end_session(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    axum::extract::Path(handle): axum::extract::Path<String>,
    Form(form): Form<EndSessionForm>,
) -> Result<Response, PageError> {
    let current = super::with_form_token(&state, session, "/account", &form.csrf)?;
    super::own_page_gate_for(&state, &current, twofold_core::access::Action::Modify, &meta, "/account").await?;
    let key = &state.config.csrf_key;
    let sessions = state.app.signin().user_sessions(current.user.id).await?;
    let Some(target) = sessions.iter().find(|s| session_handle(key, &s.id_hash) == handle) else {
        return Err(twofold_app::AppError::NotFound("session").into());
    };
    if target.id_hash == current.session.id_hash {
        return Ok(Redirect::to("/account").into_response());
    }
    state.app.signin().end_own_session(&current, &target.id_hash, &meta).await?;
    Ok(Redirect::to("/account?ended=1").into_response())
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
}

/// `POST /account/apps/withdraw`: the app named by `client_id` loses what the person allowed
/// it, and its tokens for them.
pub async fn withdraw_app(
    State(state): State<AppState>,
    ClientMeta(meta): ClientMeta,
    PageSession(session): PageSession,
    Form(form): Form<WithdrawForm>,
) -> Result<Response, PageError> {
    let current = super::with_form_token(&state, session, "/account", &form.csrf)?;
    super::own_page_gate_for(&state, &current, twofold_core::access::Action::Modify, &meta, "/account").await?;
    if !state.app.oidc().withdraw_consent(&current, &form.client_id, &meta).await? {
        return Err(twofold_app::AppError::NotFound("app").into());
    }
    Ok(Redirect::to("/account?withdrawn=1").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_a_session_signed_in_reads_as_words() {
        let amr = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(methods_label(&amr(&["hwk", "user", "mfa"])), "Passkey or security key");
        assert_eq!(methods_label(&amr(&["pwd", "otp", "mfa"])), "Password and authenticator app or token");
        assert_eq!(methods_label(&amr(&["pwd"])), "Password");
        assert_eq!(strength_label("phr"), "Phishing-resistant (a passkey or security key)");
    }
}
