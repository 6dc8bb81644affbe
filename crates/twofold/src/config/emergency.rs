//! `[emergency]`: how long emergency access may last, where its alerts go, and how often each
//! break-glass account must be tested.
//!
//! ```toml
//! [emergency]
//! max_hours = 8                          # 1 to 24: hours, not days
//! security_team = "security@example.com" # every sign-in under emergency access, every end
//! break_glass_test_every_days = 90
//! ```

use twofold_app::emergency::EmergencyPolicy;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmergencySection {
    max_hours: Option<i64>,
    security_team: Option<String>,
    break_glass_test_every_days: Option<i64>,
}

impl EmergencySection {
    /// The policy, or every problem as (key, message).
    pub(super) fn policy(&self) -> Result<EmergencyPolicy, Vec<(String, String)>> {
        let defaults = EmergencyPolicy::default();
        let mut problems = Vec::new();
        let max_hours = self.max_hours.unwrap_or(defaults.max_hours);
        if !(1..=twofold_core::emergency::CEILING_HOURS).contains(&max_hours) {
            problems.push(("emergency.max_hours".to_owned(), format!("{max_hours} is not 1–24: hours, not days")));
        }
        let every = self.break_glass_test_every_days.unwrap_or(defaults.break_glass_test_every_days);
        if !(1..=366).contains(&every) {
            problems.push(("emergency.break_glass_test_every_days".to_owned(), format!("{every} is not 1–366")));
        }
        if let Some(to) = &self.security_team
            && !twofold_core::identity::is_email_address(to)
        {
            problems.push(("emergency.security_team".to_owned(), format!("'{to}' is not an email address")));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(EmergencyPolicy { max_hours, security_team: self.security_team.clone(), break_glass_test_every_days: every })
    }
}

/// Problems in the `[emergency]` table of a file, for `twofold config check`.
pub(super) fn check(table: &toml::Table) -> Vec<(String, String)> {
    let Some(value) = table.get("emergency") else { return Vec::new() };
    match <EmergencySection as serde::Deserialize>::deserialize(value.clone()) {
        Ok(section) => section.policy().err().unwrap_or_default(),
        Err(e) => vec![("emergency".into(), e.message().to_owned())],
    }
}
