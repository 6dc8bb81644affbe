//! The catalogues: shipped English and German, with an organisation's overrides merged in.

use std::collections::{BTreeSet, HashMap};

const ENGLISH: &str = include_str!("../../messages/en.toml");
const GERMAN: &str = include_str!("../../messages/de.toml");

/// Why a catalogue file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problems:?}")]
pub struct MessagesError {
    /// The language file, e.g. `fr.toml`.
    pub file: String,
    /// Every problem in it.
    pub problems: Vec<String>,
}

/// One language's texts, keyed `page.item`.
struct Language {
    code: &'static str,
    name: &'static str,
    texts: HashMap<String, &'static str>,
}

/// Every language this process speaks; English first, always complete.
pub struct Catalogues {
    languages: Vec<Language>,
    default: usize,
}

impl Default for Catalogues {
    fn default() -> Self {
        Self::shipped()
    }
}

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.languages.iter().map(|l| l.code)).finish()
    }
}

impl Catalogues {
    /// The shipped catalogues only.
    #[must_use]
    pub fn shipped() -> Self {
        Self::build(&[], "en").unwrap_or_else(|_| Self { languages: Vec::new(), default: 0 })
    }

    /// The shipped catalogues with `overrides` — (language code, file text) pairs — merged in,
    /// answering in `default_language` when a request names none it has.
    ///
    /// # Errors
    /// Every problem of every override, and an unknown default language.
    pub fn build(overrides: &[(String, String)], default_language: &str) -> Result<Self, Vec<MessagesError>> {
        let mut languages = vec![parse_shipped("en", ENGLISH), parse_shipped("de", GERMAN)];
        let mut errors = Vec::new();
        for (code, text) in overrides {
            let problems = check_override(code, text, &languages[0].texts);
            if !problems.is_empty() {
                errors.push(MessagesError { file: format!("{code}.toml"), problems });
                continue;
            }
            let texts = flatten(text).unwrap_or_default();
            match languages.iter_mut().find(|l| l.code == code) {
                Some(language) => {
                    for (key, value) in texts {
                        language.texts.insert(key, leak(value));
                    }
                    if let Some(name) = language.texts.get("language.name") {
                        language.name = name;
                    }
                }
                None => {
                    let texts: HashMap<String, &'static str> = texts.into_iter().map(|(k, v)| (k, leak(v))).collect();
                    let name = texts.get("language.name").copied().unwrap_or_else(|| leak(code.clone()));
                    languages.push(Language { code: leak(code.clone()), name, texts });
                }
            }
        }
        let default = languages.iter().position(|l| l.code == default_language);
        if default.is_none() {
            errors.push(MessagesError {
                file: "branding.default_language".to_owned(),
                problems: vec![format!("no catalogue for \"{default_language}\"")],
            });
        }
        if errors.is_empty() { Ok(Self { languages, default: default.unwrap_or(0) }) } else { Err(errors) }
    }

    pub(super) fn default_index(&self) -> usize {
        self.default
    }

    pub(super) fn text(&self, language: usize, key: &str) -> &'static str {
        let find = |i: usize| self.languages.get(i).and_then(|l| l.texts.get(key).copied());
        find(language).or_else(|| find(0)).unwrap_or_else(|| {
            tracing::warn!(key, "no text for this message key");
            ""
        })
    }

    pub(super) fn code(&self, language: usize) -> &'static str {
        self.languages.get(language).map_or("en", |l| l.code)
    }

    pub(super) fn languages(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.languages.iter().map(|l| (l.code, l.name))
    }

    /// The index of the language `code` names ("de", or "de-AT" for German), if spoken.
    pub(super) fn find(&self, code: &str) -> Option<usize> {
        let code = code.trim().to_ascii_lowercase();
        let primary = code.split('-').next().unwrap_or_default();
        self.languages
            .iter()
            .position(|l| l.code == code)
            .or_else(|| self.languages.iter().position(|l| l.code == primary))
    }
}

/// Problems with an organisation's catalogue file for `code`, against the English texts: a
/// bad code, bad TOML, keys English does not have, values that are not text, placeholders
/// English's text does not offer.
#[must_use]
pub fn check_override(code: &str, text: &str, english: &HashMap<String, &'static str>) -> Vec<String> {
    let mut problems = Vec::new();
    let valid_code = {
        let mut parts = code.split('-');
        let primary = parts.next().unwrap_or_default();
        (2..=3).contains(&primary.len())
            && primary.chars().all(|c| c.is_ascii_lowercase())
            && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    if !valid_code {
        problems.push(format!("\"{code}\" is not a language code (e.g. fr, pt-br)"));
    }
    let texts = match flatten(text) {
        Ok(texts) => texts,
        Err(e) => {
            problems.push(e);
            return problems;
        }
    };
    for (key, value) in &texts {
        let Some(original) = english.get(key) else {
            problems.push(format!("unknown key {key}"));
            continue;
        };
        let offered = placeholders(original);
        for name in placeholders(value).difference(&offered) {
            problems.push(format!("{key}: {{{name}}} is not offered here (offered: {offered:?})"));
        }
    }
    problems
}

/// The shipped file for `code`; a broken one is a build mistake the tests catch.
fn parse_shipped(code: &'static str, text: &str) -> Language {
    let texts: HashMap<String, &'static str> =
        flatten(text).unwrap_or_default().into_iter().map(|(k, v)| (k, leak(v))).collect();
    let name = texts.get("language.name").copied().unwrap_or(code);
    Language { code, name, texts }
}

/// `[login] title = "Sign in"` as `login.title` → `Sign in`.
fn flatten(text: &str) -> Result<Vec<(String, String)>, String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>, problems: &mut Vec<String>) {
        for (key, value) in table {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::String(s) => out.push((path, s.clone())),
                toml::Value::Table(t) => walk(&path, t, out, problems),
                _ => problems.push(format!("{path}: must be text")),
            }
        }
    }
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.message().to_owned())?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    walk("", &table, &mut out, &mut problems);
    if problems.is_empty() { Ok(out) } else { Err(problems.join("; ")) }
}

/// The `{name}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            names.insert(name.to_owned());
        }
        rest = &rest[end + 1..];
    }
    names
}

/// Catalogues live as long as the process: their texts are handed out as `&'static str`.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The English texts, for checking an organisation's file.
#[must_use]
pub fn english_texts() -> HashMap<String, &'static str> {
    parse_shipped("en", ENGLISH).texts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_has_every_english_key_and_the_same_placeholders() {
        let english = parse_shipped("en", ENGLISH);
        let german = parse_shipped("de", GERMAN);
        assert!(english.texts.len() > 50, "the English catalogue parses");
        for (key, text) in &english.texts {
            let Some(translated) = german.texts.get(key) else { panic!("de.toml lacks {key}") };
            assert_eq!(placeholders(text), placeholders(translated), "{key}: placeholders differ");
        }
        for key in german.texts.keys() {
            assert!(english.texts.contains_key(key), "de.toml has {key}, which English does not");
        }
    }

    #[test]
    fn every_key_the_templates_and_pages_use_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/");
        let english = english_texts();
        let mut sources = Vec::new();
        for folder in ["templates", "src/pages", "src/oidc", "src", "static"] {
            for entry in std::fs::read_dir(format!("{dir}{folder}")).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_file() {
                    sources.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap_or_default()));
                }
            }
        }
        let mut used = 0;
        for (file, source) in &sources {
            for call in ["t(\"", "t1(\"", "t2(\"", "plural(\""] {
                let mut pieces = source.split(call);
                let mut before = pieces.next().unwrap_or_default();
                for piece in pieces {
                    // `request("…")` ends in `t("` too: only a call of the function itself.
                    let called = !before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                    before = piece;
                    let key = piece.split('"').next().unwrap_or_default();
                    if called && key.contains('.') && !key.contains(' ') {
                        used += 1;
                        let found = if call == "plural(\"" {
                            english.contains_key(&format!("{key}.one")) && english.contains_key(&format!("{key}.other"))
                        } else {
                            english.contains_key(key)
                        };
                        assert!(found, "{file} uses {key}, which en.toml lacks");
                    }
                }
            }
        }
        assert!(used > 50, "the pages read their words from the catalogue ({used} uses found)");
    }

    #[test]
    fn an_organisation_file_may_reword_and_add_a_language_but_not_invent_keys() {
        let ours = "[login]\ntitle = \"Anmelden bei Example\"\n".to_owned();
        let french = "[language]\nname = \"Français\"\n[login]\ntitle = \"Connexion\"\n".to_owned();
        let catalogues = Catalogues::build(&[("de".into(), ours), ("fr".into(), french)], "fr").unwrap();
        let de = catalogues.find("de-AT").unwrap();
        assert_eq!(catalogues.text(de, "login.title"), "Anmelden bei Example");
        let fr = catalogues.find("fr").unwrap();
        assert_eq!(catalogues.default_index(), fr);
        assert_eq!(catalogues.text(fr, "login.title"), "Connexion");
        assert_eq!(
            catalogues.text(fr, "login.password"),
            catalogues.text(0, "login.password"),
            "falls back to English"
        );
        assert!(catalogues.languages().any(|(code, name)| code == "fr" && name == "Français"));

        let english = english_texts();
        let problems = check_override("xx_1", "[login]\ntitel = \"x\"\nsubmit = 3\n", &english);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let problems = check_override("nl", "[login]\ntitel = \"x\"\n", &english);
        assert!(problems.iter().any(|p| p.contains("unknown key login.titel")), "{problems:?}");
        let problems = check_override("nl", "[login]\ntitle = \"{secret}\"\n", &english);
        assert!(problems.iter().any(|p| p.contains("{secret} is not offered")), "{problems:?}");
        assert!(Catalogues::build(&[], "tlh").is_err(), "a default nobody speaks");
    }
}
