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
    set_for(name, value, max_age, secure, None)
}

/// [`set`] for every host under `domain` (`Domain=example.com`: sent to `wiki.example.com`
/// and `crm.example.com` too), or for this host only when `None`.
pub fn set_for(name: &str, value: &str, max_age: Option<i64>, secure: bool, domain: Option<&str>) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(domain) = domain {
        cookie.push_str(&format!("; Domain={domain}"));
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Checks a configured cookie domain against the public URL: the public host must be the
/// domain or under it (a browser refuses the cookie otherwise), and the domain must be a name
/// with at least two labels (never a whole top-level domain, never an address). The domain,
/// lower-cased and without a leading dot.
///
/// # Errors
/// Why it cannot be used.
pub fn cookie_domain(domain: &str, public_url: &str) -> Result<String, String> {
    let domain = domain.trim().trim_start_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) || labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("cookie_domain '{domain}' must be a DNS name such as example.com"));
    }
    let host = public_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':', '?']).next())
        .unwrap_or("")
        .to_ascii_lowercase();
    if host != domain && !host.ends_with(&format!(".{domain}")) {
        return Err(format!("cookie_domain '{domain}' does not cover the public URL's host '{host}'"));
    }
    Ok(domain)
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
        let shared = set_for(SESSION, "x", None, true, Some("example.com"));
        assert_eq!(shared, "twofold_session=x; Path=/; HttpOnly; SameSite=Lax; Domain=example.com; Secure");
    }

    #[test]
    fn a_cookie_domain_must_cover_the_public_host() {
        assert_eq!(cookie_domain(".Example.COM", "https://id.example.com"), Ok("example.com".into()));
        assert_eq!(cookie_domain("example.com", "https://example.com:8443/"), Ok("example.com".into()));
        assert!(cookie_domain("example.com", "https://id.example.org").is_err(), "another site");
        assert!(cookie_domain("ample.com", "https://id.example.com").is_err(), "a label boundary");
        assert!(cookie_domain("com", "https://id.example.com").is_err(), "a whole top-level domain");
        assert!(cookie_domain("127.0.0.1", "http://127.0.0.1:8080").is_err(), "an address");
        assert!(cookie_domain("exa mple.com", "https://id.exa mple.com").is_err());
    }
}
