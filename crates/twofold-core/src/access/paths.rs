//! What a request through forward-auth does, from the policy's `[[action]]` entries: the
//! paths (and methods) an organisation names as exports, approvals or administration, so
//! that rules about those actions match requests an app behind a proxy receives. Where no
//! entry matches, reading methods (GET, HEAD, OPTIONS) read and the rest modify.

use serde::{Deserialize, Serialize};

use super::{Action, Policy};
use crate::validation::ValidationErrors;

/// The methods an entry may name.
const METHODS: &[&str] = &["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"];

/// One `[[action]]` entry: requests to one of `hosts` with one of `methods` are `action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathAction {
    /// Unique; named in the decision's explanation.
    pub name: String,
    /// `host/path-pattern` each: the path and everything under it, `*` standing for any one
    /// segment (`reports.example.com/reports/*/download`); a bare host is all of it.
    pub hosts: Vec<String>,
    /// Upper-case HTTP methods; empty for any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// What such a request does.
    pub action: Action,
}

/// What a forward-auth request for `host` and `path` with `method` does: the first
/// `[[action]]` entry that matches, else read for GET, HEAD and OPTIONS and modify for the
/// rest. Returns the entry's name too, when one decided.
#[must_use]
pub fn forward_action<'p>(policy: &'p Policy, host: &str, path: &str, method: &str) -> (Action, Option<&'p str>) {
    let method = method.to_ascii_uppercase();
    let named = policy.actions.iter().find(|entry| {
        (entry.methods.is_empty() || entry.methods.contains(&method))
            && entry.hosts.iter().any(|pattern| pattern_matches(pattern, host, path))
    });
    match named {
        Some(entry) => (entry.action, Some(entry.name.as_str())),
        None if matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") => (Action::Read, None),
        None => (Action::Modify, None),
    }
}

/// Whether `pattern` (`host/path-pattern`) covers `host` and `path`. Both are compared as
/// the app behind the proxy may read them, so that another spelling of the same path cannot
/// pass as another action: the query is ignored, percent-escapes decoded (`%2F` too),
/// backslashes read as slashes, `;parameters` dropped, empty and `.` segments skipped, `..`
/// applied, letters compared without case, and a host's trailing dot and port ignored.
fn pattern_matches(pattern: &str, host: &str, path: &str) -> bool {
    let (pattern_host, pattern_path) = pattern.find('/').map_or((pattern, ""), |i| (&pattern[..i], &pattern[i..]));
    let host =
        host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    if !pattern_host.eq_ignore_ascii_case(host.trim_end_matches('.')) {
        return false;
    }
    let wanted = segments(pattern_path);
    let mut given = segments(path).into_iter();
    wanted.iter().all(|w| given.next().is_some_and(|segment| w == "*" || *w == segment))
}

/// A path's segments as an app may read them (see [`pattern_matches`]), in lower case.
fn segments(path: &str) -> Vec<String> {
    let raw = path.split(['?', '#']).next().unwrap_or_default().as_bytes();
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], hex(raw.get(i + 1)), hex(raw.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                bytes.push(u8::try_from(high * 16 + low).unwrap_or(b'%'));
                i += 3;
            }
            (b'\\', _, _) => {
                bytes.push(b'/');
                i += 1;
            }
            (b, _, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    let decoded = String::from_utf8_lossy(&bytes).to_lowercase();
    let mut out: Vec<String> = Vec::new();
    for segment in decoded.split('/').map(|s| s.split(';').next().unwrap_or_default()) {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other.to_owned()),
        }
    }
    out
}

/// Problems with the `[[action]]` entries, keyed `action[i].field`.
pub(super) fn check(policy: &Policy, errors: &mut ValidationErrors) {
    let mut names = std::collections::BTreeSet::new();
    for (i, entry) in policy.actions.iter().enumerate() {
        let key = |field: &str| format!("action[{i}].{field}");
        if entry.name.trim().is_empty() {
            errors.add(key("name"), "is required");
        } else if !names.insert(entry.name.as_str()) {
            errors.add(key("name"), format!("'{}' names two entries", entry.name));
        }
        if entry.hosts.is_empty() {
            errors.add(key("hosts"), "lists no host: the entry can never match");
        }
        for pattern in &entry.hosts {
            let host = pattern.split('/').next().unwrap_or_default();
            if host.is_empty() || host.contains(['*', ' ']) {
                errors.add(key("hosts"), format!("'{pattern}' does not start with a host name"));
            }
        }
        for method in &entry.methods {
            if !METHODS.contains(&method.as_str()) {
                errors.add(key("methods"), format!("'{method}' is not one of {}", METHODS.join(", ")));
            }
        }
        if entry.action == Action::EnrolFirstMethod {
            errors.add(key("action"), "a request through a proxy is never a first enrolment");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[(&str, &[&str], &[&str], Action)]) -> Policy {
        let actions = entries
            .iter()
            .map(|(name, hosts, methods, action)| PathAction {
                name: (*name).to_owned(),
                hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
                methods: methods.iter().map(|m| (*m).to_owned()).collect(),
                action: *action,
            })
            .collect();
        Policy { actions, ..Policy::default() }
    }

    #[test]
    fn named_paths_say_what_a_request_does_and_the_method_decides_the_rest() {
        let policy = policy(&[
            ("downloads", &["reports.example.com/reports/*/download"], &["GET"], Action::Export),
            ("sign-offs", &["erp.example.com/orders/*/approve"], &[], Action::Approve),
        ]);
        let ask = |host, path, method| forward_action(&policy, host, path, method);
        assert_eq!(ask("reports.example.com", "/reports/q3/download", "GET"), (Action::Export, Some("downloads")));
        assert_eq!(ask("Reports.Example.com", "/reports/q3/download/csv?x=1", "get").0, Action::Export);
        assert_eq!(ask("reports.example.com", "/reports/q3/download", "POST"), (Action::Modify, None), "GET only");
        assert_eq!(ask("reports.example.com", "/reports/q3", "GET"), (Action::Read, None));
        assert_eq!(ask("reports.example.com", "/reports/download", "GET").0, Action::Read, "* is one segment");
        assert_eq!(ask("other.example.com", "/reports/q3/download", "GET").0, Action::Read);
        assert_eq!(ask("erp.example.com", "/orders/7/approve", "POST").0, Action::Approve);
        assert_eq!(ask("erp.example.com", "/orders/7", "DELETE"), (Action::Modify, None));
    }

    #[test]
    fn another_spelling_of_a_named_path_is_still_that_action() {
        let policy = policy(&[("downloads", &["reports.example.com/reports/*/download"], &[], Action::Export)]);
        let export = |host, path| forward_action(&policy, host, path, "GET").0 == Action::Export;
        for path in [
            "/reports/q3/%64ownload",
            "/reports/q3%2Fdownload",
            "/Reports/Q3/DOWNLOAD",
            "/reports/q3/download;jsessionid=1",
            "//reports//q3/./download",
            "/reports/x/../q3/download",
            r"/reports/q3\download",
        ] {
            assert!(export("reports.example.com", path), "{path}");
        }
        assert!(export("reports.example.com.", "/reports/q3/download"), "a trailing dot");
        assert!(export("reports.example.com:443", "/reports/q3/download"), "a port");
        assert!(!export("reports.example.com", "/reports/q3/downloads"), "another word");
    }

    #[test]
    fn every_bad_entry_is_named() {
        let policy = policy(&[
            ("", &[], &["FETCH"], Action::EnrolFirstMethod),
            ("twice", &["*/x"], &[], Action::Export),
            ("twice", &["a.example.com"], &[], Action::Export),
        ]);
        let mut errors = ValidationErrors::default();
        check(&policy, &mut errors);
        let text = format!("{:?}", errors.into_result().unwrap_err());
        for expected in [
            "action[0].name",
            "action[0].hosts",
            "action[0].methods",
            "action[0].action",
            "action[1].hosts",
            "action[2].name",
        ] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
    }
}
