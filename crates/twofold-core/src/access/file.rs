//! Policy files, TOML or YAML (the same keys): parsed and checked, every problem located by
//! line (and column for syntax), so an administrator can fix them all in one go. The format
//! is told from the text itself, so a stored version always reads back the same way.

use serde::Serialize;

use super::{Policy, check};

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: `line L, column C`, or `line L (rule 'name')`.
    pub at: String,
    /// Which setting (`rule[2].when`), empty for a syntax error.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Whether `source` is YAML: its first line that is neither blank nor a comment is not a TOML
/// table header (`[zones]`, `[[rule]]`) nor a `key = value` line.
#[must_use]
pub fn is_yaml(source: &str) -> bool {
    source.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).is_some_and(|first| {
        let toml_key = first.split_once('=').is_some_and(|(key, _)| !key.contains(':'));
        !first.starts_with('[') && !toml_key
    })
}

/// Line numbers (1-based) of each rule, in order: each `[[rule]]` header in TOML, each item
/// of the `rule:` list in YAML.
fn rule_lines(source: &str, yaml: bool) -> Vec<usize> {
    if !yaml {
        return source
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[rule]]"))
            .map(|(i, _)| i + 1)
            .collect();
    }
    let mut lines = Vec::new();
    let mut in_rules = false;
    let mut item_indent = None;
    for (i, line) in source.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if indent == 0 && !text.starts_with('-') {
            in_rules = text.starts_with("rule:");
            item_indent = None;
            continue;
        }
        if in_rules && text.starts_with('-') && item_indent.is_none_or(|at| at == indent) {
            item_indent = Some(indent);
            lines.push(i + 1);
        }
    }
    lines
}

/// Parses a file of rules, TOML or YAML (told from the text), into `T`: the policy model, or
/// any other rules file written the same way (approval rules).
///
/// # Errors
/// The syntax error, located by line and column.
pub fn parse_any<T: serde::de::DeserializeOwned>(source: &str) -> Result<T, Problem> {
    if is_yaml(source) {
        return serde_yaml_ng::from_str(source).map_err(|e| {
            let at = e
                .location()
                .map_or_else(|| "(file)".to_owned(), |l| format!("line {}, column {}", l.line(), l.column()));
            // The message carries its own "at line L column C"; the location says it once.
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
            Problem { at, field: String::new(), message }
        });
    }
    toml::from_str(source).map_err(|e| {
        let at = e.span().map_or_else(|| "(file)".to_owned(), |span| crate::validation::line_col(source, span.start));
        Problem { at, field: String::new(), message: e.message().to_owned() }
    })
}

/// Places each error of a checked rules file at its line: `rule[i].field` at the `i`-th
/// rule's header (`name_of(i)` names it), `table.field` at the table's header.
#[must_use]
pub fn locate(
    source: &str,
    errors: &crate::ValidationErrors,
    name_of: impl Fn(usize) -> Option<String>,
) -> Vec<Problem> {
    let lines = rule_lines(source, is_yaml(source));
    errors
        .0
        .iter()
        .map(|e| {
            let index =
                e.field.strip_prefix("rule[").and_then(|r| r.split(']').next()).and_then(|n| n.parse::<usize>().ok());
            let at = match index {
                Some(i) => {
                    let name = name_of(i).unwrap_or_default();
                    lines.get(i).map_or_else(|| format!("rule '{name}'"), |l| format!("line {l} (rule '{name}')"))
                }
                None => e.field.split('.').next().map_or_else(String::new, |table| {
                    source
                        .lines()
                        .position(|l| l.trim() == format!("[{table}]") || l.trim_end() == format!("{table}:"))
                        .map_or_else(String::new, |i| format!("line {}", i + 1))
                }),
            };
            Problem { at, field: e.field.clone(), message: e.message.clone() }
        })
        .collect()
}

/// Problems of a rules file as validation errors keyed by where each is (`line 4 (rule 'x')
/// rule[0].strength`): how a use case refuses a file whole.
#[must_use]
pub fn into_errors(problems: Vec<Problem>) -> crate::ValidationErrors {
    let mut errors = crate::ValidationErrors::default();
    for p in problems {
        errors.add(format!("{} {}", p.at, p.field).trim().to_owned(), p.message);
    }
    errors
}

/// Parses and checks a policy file (TOML or YAML) against the directory's groups.
///
/// # Errors
/// Every problem found.
pub fn load(source: &str, known_groups: &[String]) -> Result<Policy, Vec<Problem>> {
    let policy: Policy = parse_any(source).map_err(|problem| vec![problem])?;
    check(&policy, known_groups)
        .map_err(|errors| locate(source, &errors, |i| policy.rules.get(i).map(|r| r.name.clone())))?;
    Ok(policy)
}

/// A line diff of two policy texts: each line of the longest common subsequence as `  line`,
/// removed lines as `- line`, added as `+ line`.
#[must_use]
pub fn diff(old: &str, new: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // lcs[i][j]: length of the common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_line() {
        let source = "[zones]\ncorporate = [\"10.0.0.0/33\"]\n\n[[rule]]\nname = \"a\"\noutcome = \"require\"\n\n[[rule]]\nname = \"b\"\noutcome = \"block\"\nwhen = { zones = [\"moon\"] }\n";
        let problems = load(source, &[]).err().unwrap();
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(at, ["line 1", "line 4 (rule 'a')", "line 8 (rule 'b')"]);
        let typo = load("[[rule]]\nname = \"a\"\noutcom = \"block\"\n", &[]).err().unwrap();
        assert!(typo[0].at.starts_with("line "), "{}", typo[0].at);
        assert!(typo[0].message.contains("outcom"), "{}", typo[0].message);
    }

    #[test]
    fn yaml_files_say_the_same_and_their_problems_name_lines_too() {
        let toml = "[zones]\ncorporate = [\"10.0.0.0/8\"]\n\n[[rule]]\nname = \"mfa outside\"\nwhen = { outside_zones = [\"corporate\"] }\noutcome = \"require\"\nstrength = \"mfa\"\n";
        let yaml = "# the same policy\nzones:\n  corporate: [\"10.0.0.0/8\"]\nrule:\n  - name: mfa outside\n    when:\n      outside_zones: [corporate]\n    outcome: require\n    strength: mfa\n";
        assert!(!is_yaml(toml) && is_yaml(yaml));
        assert_eq!(load(yaml, &[]).unwrap(), load(toml, &[]).unwrap());
        let broken = "zones:\n  corporate: [\"10.0.0.0/33\"]\nrule:\n  - name: a\n    outcome: require\n  - name: b\n    outcome: block\n    when:\n      zones: [moon]\n";
        let problems = load(broken, &[]).err().unwrap();
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(at, ["line 1", "line 4 (rule 'a')", "line 6 (rule 'b')"], "{problems:?}");
        let typo = load("rule:\n  - name: a\n    outcom: block\n", &[]).err().unwrap();
        assert!(typo[0].at.starts_with("line 3"), "{typo:?}");
        assert!(typo[0].message.contains("outcom"), "{typo:?}");
    }

    #[test]
    fn a_diff_shows_what_changed() {
        let changed = diff("a\nb\nc\n", "a\nB\nc\nd\n");
        assert_eq!(changed, ["  a", "+ B", "- b", "  c", "+ d"]);
    }
}
