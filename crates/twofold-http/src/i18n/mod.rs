//! The words of every page people see, from one message catalogue per language.
//!
//! English (`messages/en.toml`) and German (`messages/de.toml`) ship inside the binary. An
//! organisation changes wording, or adds a language, with files of the same shape in
//! `[branding] messages_dir` (`en.toml` overrides English; `fr.toml` adds French, falling back
//! to English for what it leaves out) — no code changes. Each request's language comes from
//! `?lang=` (remembered in a cookie), then that cookie, then `Accept-Language`, then
//! `[branding] default_language`; templates and page handlers read it through [`t`].

mod catalogue;
mod negotiate;

use std::fmt::Display;
use std::sync::{Arc, OnceLock};

pub use catalogue::{Catalogues, MessagesError, check_override, english_texts};
pub(crate) use negotiate::choose_language;

static CATALOGUES: OnceLock<Arc<Catalogues>> = OnceLock::new();

tokio::task_local! {
    /// The language of the request being answered, and its path with query (for the switcher).
    static CURRENT: Current;
}

#[derive(Clone)]
struct Current {
    language: usize,
    here: String,
}

/// Installs this process's catalogues (the first call wins: it is configuration).
pub(crate) fn install(catalogues: Arc<Catalogues>) {
    let _ = CATALOGUES.set(catalogues);
}

fn catalogues() -> &'static Catalogues {
    CATALOGUES.get_or_init(|| Arc::new(Catalogues::shipped()))
}

fn current_language() -> usize {
    CURRENT.try_with(|c| c.language).unwrap_or_else(|_| catalogues().default_index())
}

/// The text for `key` in the reader's language (English where the language leaves it out;
/// the key itself if no catalogue has it, which a test keeps from happening).
#[must_use]
pub fn t(key: &str) -> &'static str {
    catalogues().text(current_language(), key)
}

/// [`t`] with `{name}` replaced by `value`.
#[must_use]
pub fn t1(key: &str, name: &str, value: impl Display) -> String {
    t(key).replace(&format!("{{{name}}}"), &value.to_string())
}

/// [`t`] with two placeholders replaced.
#[must_use]
pub fn t2(key: &str, name: &str, value: impl Display, name2: &str, value2: impl Display) -> String {
    t1(key, name, value).replace(&format!("{{{name2}}}"), &value2.to_string())
}

/// [`t`] choosing between `key.one` and `key.other` by `n`, with `{n}` replaced.
#[must_use]
pub fn plural(key: &str, n: i64) -> String {
    let form = if n == 1 { "one" } else { "other" };
    t1(&format!("{key}.{form}"), "n", n)
}

/// The reader's language code, for `<html lang>`.
#[must_use]
pub fn lang() -> &'static str {
    catalogues().code(current_language())
}

/// Every language offered, as (code, its own name, link that switches to it, is current).
#[must_use]
pub fn switcher() -> Vec<(&'static str, &'static str, String, bool)> {
    let here = CURRENT.try_with(|c| c.here.clone()).unwrap_or_else(|_| "/".to_owned());
    let current = current_language();
    catalogues()
        .languages()
        .enumerate()
        .map(|(i, (code, name))| (code, name, negotiate::with_lang(&here, code), i == current))
        .collect()
}

/// Answers `request` in the language it asks for, remembering a `?lang=` choice in a cookie.
pub(crate) async fn middleware(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    if path.starts_with("/api/") || path.starts_with("/static/") || path == "/forward-auth" || path == "/metrics" {
        return next.run(request).await;
    }
    let catalogues = catalogues();
    let choice = choose_language(catalogues, request.uri().query(), request.headers());
    let here = request.uri().path_and_query().map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
    let current = Current { language: choice.language, here: negotiate::without_lang(&here) };
    let mut response = CURRENT.scope(current, next.run(request)).await;
    if choice.chosen_now
        && let Ok(value) = axum::http::HeaderValue::from_str(&format!(
            "{}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
            negotiate::COOKIE,
            catalogues.code(choice.language)
        ))
    {
        response.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
    response
}
