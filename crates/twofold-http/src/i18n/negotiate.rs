//! Which language a request is answered in.

use axum::http::HeaderMap;

use super::Catalogues;

/// The cookie that remembers a reader's choice.
pub(super) const COOKIE: &str = "twofold_lang";

/// The language chosen for one request.
pub(crate) struct Choice {
    pub(crate) language: usize,
    /// True when `?lang=` chose it, so the answer sets the cookie.
    pub(crate) chosen_now: bool,
}

/// `?lang=` first, then the cookie, then `Accept-Language` by quality, then the default.
pub(crate) fn choose_language(catalogues: &Catalogues, query: Option<&str>, headers: &HeaderMap) -> Choice {
    let asked = query.into_iter().flat_map(|q| q.split('&')).find_map(|pair| pair.strip_prefix("lang="));
    if let Some(language) = asked.and_then(|code| catalogues.find(code)) {
        return Choice { language, chosen_now: true };
    }
    // OpenID Connect's `ui_locales`: the app's wish for this request, space-separated by preference.
    let app_wish = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("ui_locales="))
        .and_then(|v| v.split(['+', ' ']).take(10).find_map(|code| catalogues.find(&code.replace("%20", ""))));
    if let Some(language) = app_wish {
        return Choice { language, chosen_now: false };
    }
    let cookie = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')));
    if let Some(language) = cookie.and_then(|code| catalogues.find(code)) {
        return Choice { language, chosen_now: false };
    }
    let accepted = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut ranges: Vec<(u16, &str)> = accepted
        .split(',')
        .take(20)
        .filter_map(|range| {
            let mut parts = range.split(';');
            let tag = parts.next()?.trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| q.trim().parse::<f32>().ok().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16))?;
            (quality > 0 && !tag.is_empty() && tag != "*").then_some((quality, tag))
        })
        .collect();
    ranges.sort_by_key(|r| std::cmp::Reverse(r.0));
    let language =
        ranges.iter().find_map(|(_, tag)| catalogues.find(tag)).unwrap_or_else(|| catalogues.default_index());
    Choice { language, chosen_now: false }
}

/// `here` (a path with query) without any `lang=` parameter.
pub(super) fn without_lang(here: &str) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let kept: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("lang=")).collect();
    if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
}

/// `here` with `lang=code` added, for the language switcher.
pub(super) fn with_lang(here: &str, code: &str) -> String {
    let separator = if here.contains('?') { '&' } else { '?' };
    format!("{here}{separator}lang={code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_query_beats_the_cookie_which_beats_the_browser() {
        let c = Catalogues::shipped();
        let de = c.find("de").unwrap();
        let en = c.find("en").unwrap();
        let browser_de = headers(&[("accept-language", "fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7")]);
        assert_eq!(choose_language(&c, None, &browser_de).language, de, "French is not spoken; German comes next");
        let cookie_en = headers(&[("accept-language", "de"), ("cookie", "a=b; twofold_lang=en")]);
        assert_eq!(choose_language(&c, None, &cookie_en).language, en);
        let asked = choose_language(&c, Some("x=1&lang=de"), &cookie_en);
        assert!(asked.language == de && asked.chosen_now);
        let unknown = choose_language(&c, Some("lang=tlh"), &headers(&[("accept-language", "*;q=1, de;q=0")]));
        assert!(unknown.language == c.default_index() && !unknown.chosen_now);
        let app = choose_language(&c, Some("client_id=a&ui_locales=fr-CA+de"), &HeaderMap::new());
        assert!(app.language == de && !app.chosen_now, "OpenID Connect's ui_locales");
    }

    #[test]
    fn the_switcher_keeps_the_rest_of_the_address() {
        assert_eq!(without_lang("/authorize?client_id=a&lang=de&state=x"), "/authorize?client_id=a&state=x");
        assert_eq!(without_lang("/login?lang=de"), "/login");
        assert_eq!(with_lang("/login", "de"), "/login?lang=de");
        assert_eq!(with_lang("/authorize?client_id=a", "en"), "/authorize?client_id=a&lang=en");
    }
}
