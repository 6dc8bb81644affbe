//! What every page shares around its content: the organisation's name and logo in the
//! header (`[branding]`), and the wording of times and browsers for people.
//!
//! The branding is configuration, set once when the router is built and the same on every
//! node; templates read it through [`org_name`] and [`has_logo`].

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use twofold_core::Timestamp;

use crate::AppState;

/// The organisation's name and logo, as the header shows them.
#[derive(Debug, Clone, Default)]
pub struct Branding {
    /// Shown in the header and page titles; "Twofold" when not configured.
    pub name: Option<String>,
    /// The logo: its content type and bytes (served at `/static/logo`).
    pub logo: Option<(String, Vec<u8>)>,
    /// The words of the pages in every language offered (shipped, plus `messages_dir`).
    pub messages: std::sync::Arc<crate::i18n::Catalogues>,
}

static BRANDING: OnceLock<Branding> = OnceLock::new();

/// Sets the branding for this process (the first call wins: it is configuration).
pub(crate) fn set(branding: Branding) {
    let _ = BRANDING.set(branding);
}

/// The organisation's name, for the header and titles.
pub fn org_name() -> &'static str {
    BRANDING.get().and_then(|b| b.name.as_deref()).unwrap_or("Twofold")
}

/// Whether a logo is configured.
pub fn has_logo() -> bool {
    BRANDING.get().is_some_and(|b| b.logo.is_some())
}

/// `GET /static/logo`.
pub(crate) async fn logo(State(_): State<AppState>) -> Response {
    match BRANDING.get().and_then(|b| b.logo.as_ref()) {
        // An SVG opened on its own could carry script: nothing runs in it, whatever it holds.
        Some((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type.clone()),
                (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; sandbox".to_owned()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ],
            bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A time for people: "3 minutes ago", "just now", "on 2027-03-12" (UTC, which the page
/// script turns into the reader's own time zone), relative to `now`, in the reader's language.
#[must_use]
pub fn friendly(at: Timestamp, now: Timestamp) -> String {
    use crate::i18n::{plural, t, t1};
    let secs = (now.millis() - at.millis()) / 1000;
    match secs {
        s if s < -60 => t1("when.on", "date", at.to_minute_utc()),
        s if s < 60 => t("when.just_now").to_owned(),
        s if s < 60 * 60 => plural("when.minutes_ago", s / 60),
        s if s < 24 * 60 * 60 => plural("when.hours_ago", s / 3600),
        s if s < 7 * 24 * 60 * 60 => plural("when.days_ago", s / 86_400),
        _ => t1("when.on", "date", at.to_minute_utc().split(' ').next().unwrap_or_default()),
    }
}

/// A time as a `<time>` element's parts: the machine-readable instant, the exact time for the
/// tooltip, and the friendly words.
#[derive(Debug, Clone)]
pub struct When {
    /// RFC 3339, for `datetime`.
    pub iso: String,
    /// The exact minute in UTC, for `title`.
    pub exact: String,
    /// "3 minutes ago".
    pub words: String,
}

impl When {
    /// `at` as seen at `now`.
    #[must_use]
    pub fn of(at: Timestamp, now: Timestamp) -> Self {
        Self { iso: at.to_rfc3339(), exact: at.to_minute_utc(), words: friendly(at, now) }
    }
}

impl std::fmt::Display for When {
    /// The whole `<time>` element. The instant and exact time are escaped by construction
    /// (digits, letters, spaces, colons and dashes only); the words come from a catalogue an
    /// organisation may override, so they are escaped here.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<time datetime=\"{}\" title=\"{}\">{}</time>", self.iso, self.exact, escape(&self.words))
    }
}

/// Text for HTML content: `&`, `<`, `>` and quotes as entities.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The browser and operating system a user-agent string names ("Firefox on Windows"), or
/// "Unknown browser", in the reader's language (product names as they are).
#[must_use]
pub fn browser(user_agent: &str) -> String {
    let ua = user_agent;
    let name = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.contains("curl/") {
        "curl"
    } else {
        ""
    };
    let os = if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        ""
    };
    match (name, os) {
        ("", "") => crate::i18n::t("browser.unknown").to_owned(),
        ("", os) => crate::i18n::t1("browser.on_os", "os", os),
        (name, "") => name.to_owned(),
        (name, os) => crate::i18n::t2("browser.name_on_os", "name", name, "os", os),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_people_say_them() {
        let now = Timestamp(1_800_000_000_000);
        assert_eq!(friendly(now.plus_seconds(-5), now), "just now");
        assert_eq!(friendly(now.plus_seconds(-60), now), "1 minute ago");
        assert_eq!(friendly(now.plus_seconds(-3 * 3600), now), "3 hours ago");
        assert_eq!(friendly(now.plus_seconds(-86_400), now), "1 day ago");
        assert!(friendly(now.plus_seconds(-30 * 86_400), now).starts_with("on 2026-12-"));
        assert!(friendly(now.plus_seconds(30 * 86_400), now).starts_with("on 2027-"), "the future");
        let when = When::of(now, now).to_string();
        assert!(
            when.starts_with("<time datetime=\"") && when.contains("title=\"") && when.ends_with("just now</time>")
        );
    }

    #[test]
    fn user_agents_become_browser_and_system_names() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser(chrome), "Chrome on Linux");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser(safari), "Safari on iOS");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(browser(edge), "Edge on Windows");
        let firefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.0; rv:120.0) Gecko/20100101 Firefox/120.0";
        assert_eq!(browser(firefox), "Firefox on macOS");
        assert_eq!(browser("reqwest/0.12"), "Unknown browser");
        assert_eq!(browser(""), "Unknown browser");
    }
}
