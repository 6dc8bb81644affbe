//! `[branding]`: the organisation's name and logo in every page's header.
//!
//! ```toml
//! [branding]
//! name = "Example Corp"
//! logo_file = "/etc/twofold/logo.svg"   # PNG, JPEG, SVG or WebP, at most 256 KiB; served by Twofold
//! messages_dir = "/etc/twofold/messages" # en.toml to reword, fr.toml to add French, …
//! default_language = "en"                # when the browser asks for none we speak
//! ```

use std::path::PathBuf;

/// The largest logo served.
const MAX_LOGO_BYTES: u64 = 256 * 1024;

/// The largest message catalogue read (the shipped English one is a few KiB).
const MAX_MESSAGES_BYTES: usize = 512 * 1024;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BrandingSection {
    name: Option<String>,
    logo_file: Option<PathBuf>,
    messages_dir: Option<PathBuf>,
    default_language: Option<String>,
}

impl BrandingSection {
    /// The branding, with the logo read from its file, or every problem as (key, message).
    pub(super) fn branding(&self) -> Result<twofold_http::pages::chrome::Branding, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let name = self.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if let Some(name) = &name
            && (name.chars().count() > 60 || name.chars().any(char::is_control))
        {
            problems.push(("branding.name".to_owned(), "must be 1 to 60 printable characters".to_owned()));
        }
        let logo = match &self.logo_file {
            None => None,
            Some(path) => match logo(path) {
                Ok(logo) => Some(logo),
                Err(e) => {
                    problems.push(("branding.logo_file".to_owned(), e));
                    None
                }
            },
        };
        let messages = match self.messages() {
            Ok(messages) => messages,
            Err(more) => {
                problems.extend(more);
                twofold_http::i18n::Catalogues::shipped()
            }
        };
        if problems.is_empty() {
            Ok(twofold_http::pages::chrome::Branding { name, logo, messages: std::sync::Arc::new(messages) })
        } else {
            Err(problems)
        }
    }

    /// The shipped catalogues with every `<language>.toml` of `messages_dir` merged in.
    fn messages(&self) -> Result<twofold_http::i18n::Catalogues, Vec<(String, String)>> {
        let mut overrides = Vec::new();
        let mut problems = Vec::new();
        if let Some(dir) = &self.messages_dir {
            match std::fs::read_dir(dir) {
                Err(e) => {
                    problems.push(("branding.messages_dir".to_owned(), format!("cannot read {}: {e}", dir.display())))
                }
                Ok(entries) => {
                    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                    paths.sort();
                    for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
                        let code = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
                        match std::fs::read_to_string(&path) {
                            Ok(text) if text.len() <= MAX_MESSAGES_BYTES => overrides.push((code, text)),
                            Ok(_) => problems.push((
                                "branding.messages_dir".to_owned(),
                                format!("{} is larger than {MAX_MESSAGES_BYTES} bytes", path.display()),
                            )),
                            Err(e) => problems.push((
                                "branding.messages_dir".to_owned(),
                                format!("cannot read {}: {e}", path.display()),
                            )),
                        }
                    }
                }
            }
        }
        let default = self.default_language.as_deref().unwrap_or("en");
        match twofold_http::i18n::Catalogues::build(&overrides, default) {
            Ok(catalogues) if problems.is_empty() => Ok(catalogues),
            Ok(_) => Err(problems),
            Err(errors) => {
                for error in errors {
                    for problem in error.problems {
                        problems.push((format!("branding.messages_dir: {}", error.file), problem));
                    }
                }
                Err(problems)
            }
        }
    }
}

/// The logo's content type (from its name) and bytes.
fn logo(path: &std::path::Path) -> Result<(String, Vec<u8>), String> {
    let kind = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("webp") => "image/webp",
        _ => return Err(format!("{} is not a .png, .jpg, .svg or .webp file", path.display())),
    };
    let size = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
    if size > MAX_LOGO_BYTES {
        return Err(format!("{} is {size} bytes; at most {MAX_LOGO_BYTES}", path.display()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok((kind.to_owned(), bytes))
}

/// Problems in the `[branding]` table of a file, for `twofold config check`.
pub(super) fn check(table: &toml::Table) -> Vec<(String, String)> {
    let Some(value) = table.get("branding") else { return Vec::new() };
    match <BrandingSection as serde::Deserialize>::deserialize(value.clone()) {
        Ok(section) => section.branding().err().unwrap_or_default(),
        Err(e) => vec![("branding".into(), e.message().to_owned())],
    }
}
