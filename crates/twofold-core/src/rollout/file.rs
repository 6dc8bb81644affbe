//! Campaign files (TOML): parsed and checked, every problem located by line, like policy files.

use super::Campaign;
pub use crate::access::file::Problem;

/// Parses and checks a campaign file against the directory's groups.
///
/// # Errors
/// Every problem found.
pub fn load(source: &str, known_groups: &[String]) -> Result<Campaign, Vec<Problem>> {
    let campaign: Campaign = toml::from_str(source).map_err(|e| {
        let at = e.span().map_or_else(|| "(file)".to_owned(), |span| crate::validation::line_col(source, span.start));
        vec![Problem { at, field: String::new(), message: e.message().to_owned() }]
    })?;
    let phase_lines: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[phase]]"))
        .map(|(i, _)| i + 1)
        .collect();
    campaign.check(known_groups).map_err(|errors| {
        errors
            .0
            .into_iter()
            .map(|e| {
                let index =
                    e.field.strip_prefix("phase[").and_then(|r| r.split(']').next()).and_then(|n| n.parse().ok());
                let at = index
                    .and_then(|i: usize| {
                        phase_lines.get(i).map(|l| format!("line {l} (phase '{}')", campaign.phases[i].name))
                    })
                    .unwrap_or_default();
                Problem { at, field: e.field, message: e.message }
            })
            .collect::<Vec<_>>()
    })?;
    Ok(campaign)
}

#[cfg(test)]
mod tests {
    #[test]
    fn problems_name_their_phase_and_line() {
        let source = "name = \"c\"\ntarget = { percent = 95, within_days = 90 }\n\n[[phase]]\nname = \"pilot\"\ncohort = { users = [\"bob\"] }\nstarts = \"2027-01-04\"\ndeadline = \"2026-01-01\"\n";
        let problems = super::load(source, &[]).unwrap_err();
        assert_eq!(problems[0].at, "line 4 (phase 'pilot')");
        assert_eq!(problems[0].field, "phase[0].deadline");
        let typo = super::load("name = \"c\"\ntargte = 1\n", &[]).unwrap_err();
        assert!(typo[0].at.starts_with("line 2"), "{typo:?}");
    }
}
