//! Rich authorization requests (RFC 9396): an app says which action a sign-in is for with
//! `authorization_details`, so conditional access can hold it to the rules about that action
//! (an `export` needing a fresh passkey), and the granted details come back in the token
//! response and the access token.
//!
//! One type is understood, [`ACTION_TYPE`]:
//! `[{"type": "twofold_action", "action": "export", "resource": "reports/q3"}]`; `action` is
//! `read`, `modify`, `export`, `approve` or `admin`, `resource` is optional. Anything else is
//! refused with `invalid_authorization_details` (§5), never ignored.

use serde::{Deserialize, Serialize};

use crate::access::Action;

/// The `type` of an action detail.
pub const ACTION_TYPE: &str = "twofold_action";
/// The most details one request may carry.
pub const MAX_DETAILS: usize = 10;

/// One granted action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDetail {
    /// Always [`ACTION_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// What the sign-in is for.
    pub action: Action,
    /// What it is done to, in the app's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// Parses an `authorization_details` parameter (a JSON array).
///
/// # Errors
/// Why it is refused, for `error_description`.
pub fn parse(text: &str) -> Result<Vec<ActionDetail>, String> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|_| "authorization_details must be a JSON array of objects".to_owned())?;
    if items.is_empty() || items.len() > MAX_DETAILS {
        return Err(format!("authorization_details must hold 1 to {MAX_DETAILS} objects"));
    }
    items
        .into_iter()
        .map(|item| {
            let kind = item.get("type").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
            if kind != ACTION_TYPE {
                return Err(format!("authorization_details type '{kind}' is not supported (only {ACTION_TYPE})"));
            }
            let detail: ActionDetail = serde_json::from_value(item).map_err(|e| {
                format!("a {ACTION_TYPE} detail has an action (read, modify, export, approve, admin) and optionally a resource: {e}")
            })?;
            if detail.action == Action::EnrolFirstMethod {
                return Err("enrol_first_method is not an action an app asks for".into());
            }
            if detail.resource.as_deref().is_some_and(|r| r.is_empty() || r.chars().count() > 500 || r.chars().any(char::is_control)) {
                return Err("a resource is 1 to 500 characters on one line".into());
            }
            Ok(detail)
        })
        .collect()
}

/// The actions `details` ask about, each once, in order; `read` when they ask about none.
#[must_use]
pub fn actions(details: &[ActionDetail]) -> Vec<Action> {
    let mut actions: Vec<Action> = Vec::new();
    for detail in details {
        if !actions.contains(&detail.action) {
            actions.push(detail.action);
        }
    }
    if actions.is_empty() {
        actions.push(Action::Read);
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_detail_is_parsed_and_anything_else_refused() {
        let parsed = parse(r#"[{"type":"twofold_action","action":"export","resource":"reports/q3"}]"#).unwrap();
        assert_eq!(parsed[0].action, Action::Export);
        assert_eq!(parsed[0].resource.as_deref(), Some("reports/q3"));
        assert_eq!(actions(&parsed), [Action::Export]);
        assert_eq!(actions(&[]), [Action::Read]);
        for bad in [
            "{}",
            "[]",
            r#"[{"type":"payment_initiation","actions":["initiate"]}]"#,
            r#"[{"type":"twofold_action","action":"delete"}]"#,
            r#"[{"type":"twofold_action","action":"export","locations":["https://x"]}]"#,
            r#"[{"type":"twofold_action","action":"enrol_first_method"}]"#,
            r#"[{"type":"twofold_action","action":"export","resource":"a\nb"}]"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let twice = parse(r#"[{"type":"twofold_action","action":"modify"},{"type":"twofold_action","action":"modify","resource":"x"},{"type":"twofold_action","action":"export"}]"#).unwrap();
        assert_eq!(actions(&twice), [Action::Modify, Action::Export]);
    }
}
