//! Addresses shared by the pages, the OpenID Connect endpoints and forward-auth: escaping a
//! value for a query string, and letting a page's form lead to the app a sign-in ends at
//! (its CSP `form-action`).

use axum::http::header;
use axum::response::Response;

use crate::AppState;

/// Percent-encodes a same-origin path (or any text) for use as a query value; `/` is kept
/// so return paths stay readable.
pub(crate) fn query_escape(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The origin a sign-in form's `return_to` ends at when it leaves Twofold: a registered
/// redirect URI of the client an authorization request names, or a host a forward-auth rule
/// names. Browsers apply the page's CSP `form-action` to every redirect after a form is
/// submitted, so that origin must be allowed there too; nothing else is.
async fn form_target_origin(state: &AppState, return_to: &str) -> Option<String> {
    let uri: axum::http::Uri = return_to.parse().ok()?;
    let axum::extract::Query(params) =
        axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(&uri).ok()?;
    let target = match uri.path() {
        "/oauth2/authorize" => {
            let redirect_uri = params.get("redirect_uri")?;
            let client = state.app.oidc().oidc_client(params.get("client_id")?).await.ok()??;
            client.redirect_uris.iter().find(|r| *r == redirect_uri)?.clone()
        }
        "/forward-auth/continue" => params.get("rd").cloned()?,
        _ => return None,
    };
    let (scheme, rest) = target.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let safe = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    let allowed = match uri.path() {
        "/forward-auth/continue" => state.app.forward_auth().forward_auth_knows_host(&authority.to_ascii_lowercase()),
        _ => true,
    };
    (allowed && ["http", "https"].contains(&scheme) && !authority.is_empty() && safe(authority))
        .then(|| format!("{scheme}://{authority}"))
}

/// Sets the CSP of a page whose form leads to `return_to`, allowing the origin it ends at
/// (see [`form_target_origin`]).
pub(crate) async fn allow_form_target(state: &AppState, return_to: &str, response: &mut Response) {
    if let Some(origin) = form_target_origin(state, return_to).await {
        let policy =
            crate::CONTENT_SECURITY_POLICY.replace("form-action 'self'", &format!("form-action 'self' {origin}"));
        if let Ok(value) = header::HeaderValue::from_str(&policy) {
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::query_escape;

    #[test]
    fn a_query_value_keeps_slashes_and_escapes_the_rest() {
        assert_eq!(query_escape("/account?x=1&y=a b"), "/account%3Fx%3D1%26y%3Da%20b");
        assert_eq!(query_escape("https://app.test/"), "https%3A//app.test/");
    }
}
