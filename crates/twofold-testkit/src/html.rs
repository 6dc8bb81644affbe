//! Reading the server's pages as text: no HTML parser, just the markers the templates use.

/// The text between the first `start` in `html` and the next `end` after it.
#[must_use]
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start} in {html}")) + start.len();
    let to = html[from..].find(end).unwrap_or_else(|| panic!("no {end} after {start} in {html}"));
    &html[from..from + to]
}

/// The value of the first form field named `name` (`name="csrf" value="..."`).
#[must_use]
pub fn hidden(html: &str, name: &str) -> String {
    between(html, &format!(r#"name="{name}" value=""#), "\"").to_owned()
}

/// The `action` of the form whose button (or other text) `label` is the first one after it.
#[must_use]
pub fn form_action_before(page: &str, label: &str) -> String {
    let end = page.find(label).unwrap_or_else(|| panic!("no {label} in {page}"));
    let form = &page[..end];
    let start = form.rfind(r#"action=""#).unwrap_or_else(|| panic!("no form before {label}")) + r#"action=""#.len();
    form[start..start + form[start..].find('"').expect("closing quote")].to_owned()
}

/// The id of the first sign-in method listed on a Security info page (from its rename form).
#[must_use]
pub fn first_method_id(page: &str) -> String {
    let end = page.find("/rename\"").expect("a method on the page");
    let start = page[..end].rfind("/account/security/").expect("its form") + "/account/security/".len();
    page[start..end].to_owned()
}
