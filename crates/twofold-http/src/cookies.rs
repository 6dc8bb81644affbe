//! Reading and writing cookies with the attributes DESIGN.md requires.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie: the server-side session's token.
pub const SESSION: &str = "twofold_session";
/// The device cookie: a signed random id that lets events name the browser.
pub const DEVICE: &str = "twofold_device";
/// The CSRF cookie used by forms shown before sign-in (double submit).
pub const CSRF: &str = "twofold_csrf";

/// The value of cookie `name` in the request, if present.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, path `/`, `Secure` on https.
/// `max_age` of zero deletes the cookie; `None` makes it a browser-session cookie.
pub fn set(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; twofold_session=abc; b=2"));
        assert_eq!(get(&headers, SESSION), Some("abc"));
        assert_eq!(get(&headers, "missing"), None);
    }

    #[test]
    fn cookies_are_http_only_and_lax_and_secure_on_https() {
        let plain = set(SESSION, "x", None, false);
        assert_eq!(plain, "twofold_session=x; Path=/; HttpOnly; SameSite=Lax");
        assert!(set(SESSION, "x", Some(0), true).to_str().unwrap().ends_with("Max-Age=0; Secure"));
    }
}
