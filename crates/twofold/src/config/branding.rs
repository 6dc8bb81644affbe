//! `[branding]`: the organisation's name and logo in every page's header.
//!
//! ```toml
//! [branding]
//! name = "Example Corp"
//! logo_file = "/etc/twofold/logo.svg"   # PNG, JPEG, SVG or WebP, at most 256 KiB; served by Twofold
//! ```

use std::path::PathBuf;

/// The largest logo served.
const MAX_LOGO_BYTES: u64 = 256 * 1024;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BrandingSection {
    name: Option<String>,
    logo_file: Option<PathBuf>,
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
        if problems.is_empty() { Ok(twofold_http::pages::chrome::Branding { name, logo }) } else { Err(problems) }
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
