#![allow(clippy::unwrap_used)]

use uuid::Uuid;

use super::rules::{self, ApprovalRules, RuleMatch};
use super::*;
use crate::identity::{Role, Tier, UserStatus};

const MINUTE: i64 = 60 * 1000;

fn person(n: u128) -> User {
    User {
        id: Uuid::from_u128(n),
        username: format!("u{n}"),
        email: None,
        display_name: format!("U{n}"),
        phone: None,
        department: None,
        manager: None,
        status: UserStatus::Active,
        tier: Tier::Standard,
        roles: vec![Role::User],
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
    }
}

fn passkey(at: i64) -> AuthContext {
    AuthContext { amr: vec!["hwk".into(), "user".into()], acr: "phr".into(), auth_time: Some(Timestamp(at)) }
}

fn otp(at: i64) -> AuthContext {
    AuthContext { amr: vec!["pwd".into(), "otp".into()], acr: "mfa".into(), auth_time: Some(Timestamp(at)) }
}

fn forecast(percent: i64) -> Proposal {
    Proposal {
        action: "adjust_forecast".into(),
        resource: "forecast/2027-Q1/emea".into(),
        before: serde_json::json!({"units": 1000}),
        after: serde_json::json!({"units": 1000 + percent * 10}),
        magnitude: Some(Magnitude { percent: Some(percent.into()), ..Magnitude::default() }),
        reason: "new distributor".into(),
        expires_in: Some(3600),
        callback_url: None,
    }
}

const RULES: &str = r#"
[[rule]]
name = "forecast-over-50-percent"
action = "adjust_forecast"
percent_above = 50
approvers = "executives"
required = 2
strength = "phr"

[[rule]]
name = "forecast-over-10-percent"
apps = ["forecast"]
action = "adjust_forecast"
percent_above = 10
approvers = "supervisors"
strength = "phr"

[[rule]]
name = "large-order"
action = "approve_order"
amount_above = 100000
currency = "EUR"
approvers = "executives"
"#;

fn groups() -> Vec<String> {
    vec!["supervisors".into(), "executives".into()]
}

fn loaded() -> ApprovalRules {
    rules::load(RULES, &groups()).unwrap()
}

fn requester() -> Requester {
    Requester {
        user_id: Uuid::from_u128(1),
        username: "u1".into(),
        acr: "mfa".into(),
        amr: vec!["pwd".into(), "otp".into()],
        auth_time: Some(Timestamp(0)),
        ip: None,
        app_ip: None,
    }
}

fn raised(percent: i64) -> ApprovalRequest {
    let proposal = forecast(percent);
    check_proposal(&proposal).unwrap();
    let RuleMatch::Decided(rule) = loaded().rule_for("forecast", &proposal, 3) else { panic!("a rule decides") };
    ApprovalRequest::raise(("forecast", "Forecast"), requester(), proposal, rule, Timestamp(0))
}

#[test]
fn the_first_matching_rule_decides_by_app_action_and_size() {
    let rules = loaded();
    let decided = |client: &str, p: &Proposal| match rules.rule_for(client, p, 1) {
        RuleMatch::Decided(rule) => Some(rule),
        _ => None,
    };
    assert_eq!(decided("forecast", &forecast(15)).unwrap().name, "forecast-over-10-percent");
    assert_eq!(decided("forecast", &forecast(-15)).unwrap().name, "forecast-over-10-percent", "a cut counts");
    assert_eq!(decided("forecast", &forecast(60)).unwrap().required, 2);
    assert_eq!(rules.rule_for("forecast", &forecast(10), 1), RuleMatch::NotNeeded, "10% is not over 10%");
    // The 50% rule covers every app: from crm, 15% is within it.
    assert_eq!(rules.rule_for("crm", &forecast(15), 1), RuleMatch::NotNeeded, "another app");
    assert_eq!(rules.rule_for("crm", &forecast(60), 1), decided("crm", &forecast(60)).map(RuleMatch::Decided).unwrap());
    let order = |amount: i64, currency: &str| Proposal {
        action: "approve_order".into(),
        magnitude: Some(Magnitude { amount: Some(amount.into()), currency: Some(currency.into()), percent: None }),
        ..forecast(0)
    };
    assert_eq!(decided("orders", &order(150_000, "EUR")).unwrap().approvers, "executives");
    assert_eq!(rules.rule_for("orders", &order(90_000, "EUR"), 1), RuleMatch::NotNeeded);
}

/// THREATS: maker–checker bypass — a size the rules cannot compare is refused, never waved
/// through as "needs no approval".
#[test]
fn a_size_no_rule_can_compare_is_refused_not_let_through() {
    let rules = loaded();
    let order = |magnitude: Option<Magnitude>| Proposal { action: "approve_order".into(), magnitude, ..forecast(0) };
    let usd = Magnitude { amount: Some(150_000.into()), currency: Some("USD".into()), percent: None };
    assert!(
        matches!(rules.rule_for("orders", &order(Some(usd)), 1), RuleMatch::Incomparable(why) if why.contains("in EUR"))
    );
    assert!(matches!(rules.rule_for("orders", &order(None), 1), RuleMatch::Incomparable(_)), "no magnitude");
    let percent = Magnitude { percent: Some(5.into()), ..Magnitude::default() };
    assert!(matches!(rules.rule_for("orders", &order(Some(percent)), 1), RuleMatch::Incomparable(_)));
    let no_size = Proposal { magnitude: None, ..forecast(15) };
    assert!(matches!(rules.rule_for("forecast", &no_size, 1), RuleMatch::Incomparable(_)));
    let unruled = Proposal { action: "rename_region".into(), magnitude: None, ..forecast(0) };
    assert_eq!(rules.rule_for("forecast", &unruled, 1), RuleMatch::NotNeeded, "no rule names the action");
}

#[test]
fn a_rules_file_with_problems_lists_each_at_its_line() {
    let bad = r#"
[[rule]]
name = "a"
approvers = "nobody"
required = 0
strength = "pwd"

[[rule]]
name = "a"
approvers = "supervisors"
currency = "euro"
"#;
    let problems = rules::load(bad, &groups()).unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        ["rule[0].approvers", "rule[0].required", "rule[0].strength", "rule[1].name", "rule[1].currency"]
    );
    assert!(problems[0].at.starts_with("line 2"), "{:?}", problems[0]);
    assert!(problems[3].at.starts_with("line 8"), "{:?}", problems[3]);
    assert!(rules::load("[[rule]]\nname = \"x\"\napprovers = \"supervisors\"\nwho = 1\n", &groups()).is_err());
}

#[test]
fn a_proposal_is_checked_whole() {
    let mut p = forecast(15);
    p.action = "Adjust Forecast".into();
    p.reason = " ".into();
    p.expires_in = Some(10);
    p.after = serde_json::json!("x".repeat(MAX_VALUE_BYTES));
    p.magnitude = Some(Magnitude { amount: Some(5.into()), currency: None, percent: None });
    let fields: Vec<String> = check_proposal(&p).unwrap_err().0.into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["action", "reason", "after", "magnitude.currency", "expires_in"]);
    // Text that would read as something else in an approver's mail or page.
    let mut spoof = forecast(15);
    spoof.resource = "order/1\u{202E}gpj.exe".into();
    spoof.reason = "ok\n\nClick https://evil.example\u{0007}".into();
    let fields: Vec<String> = check_proposal(&spoof).unwrap_err().0.into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["resource", "reason"]);
    spoof.reason = "two lines\nare fine".into();
    spoof.resource = "order/1".into();
    assert!(check_proposal(&spoof).is_ok());
}

/// THREATS: maker–checker bypass — the requester never approves their own change, one person
/// never counts twice, and an expired request cannot be approved.
#[test]
fn no_self_approval_no_second_vote_no_approval_after_expiry() {
    let supervisors = vec!["supervisors".to_owned()];
    let mut request = raised(15);
    assert_eq!(
        request.vote(&person(1), &supervisors, &passkey(0), true, None, Timestamp(MINUTE)),
        Err(ApprovalRefusal::SelfApproval)
    );
    let mut two = raised(60);
    let executives = vec!["executives".to_owned()];
    two.vote(&person(2), &executives, &passkey(0), true, None, Timestamp(MINUTE)).unwrap();
    assert_eq!(two.state, ApprovalState::Pending, "one of two");
    assert_eq!(
        two.vote(&person(2), &executives, &passkey(MINUTE), true, None, Timestamp(2 * MINUTE)),
        Err(ApprovalRefusal::AlreadyVoted)
    );
    two.vote(&person(3), &executives, &passkey(MINUTE), true, None, Timestamp(2 * MINUTE)).unwrap();
    assert_eq!(two.state, ApprovalState::Approved);
    assert_eq!(two.version, 2);
    assert_eq!(
        two.vote(&person(4), &executives, &passkey(MINUTE), true, None, Timestamp(2 * MINUTE)),
        Err(ApprovalRefusal::AlreadyDecided("approved"))
    );

    let hour = 60 * MINUTE;
    assert_eq!(
        request.vote(&person(2), &supervisors, &passkey(hour), true, None, Timestamp(hour)),
        Err(ApprovalRefusal::Expired)
    );
    assert!(request.expire(Timestamp(hour)));
    assert_eq!(request.state, ApprovalState::Expired);
    assert!(!request.expire(Timestamp(hour)), "once");
}

/// THREATS: maker–checker bypass — a vote needs the rule's group, a second factor of the
/// rule's strength, and one proved minutes ago.
#[test]
fn an_approver_needs_the_group_and_a_fresh_second_factor_of_the_rules_strength() {
    let mut request = raised(15);
    let now = Timestamp(10 * MINUTE);
    assert_eq!(
        request.vote(&person(2), &["executives".into()], &passkey(9 * MINUTE), true, None, now),
        Err(ApprovalRefusal::NotAnApprover("supervisors".into()))
    );
    let supervisors = vec!["supervisors".to_owned()];
    assert_eq!(
        request.vote(&person(2), &supervisors, &otp(9 * MINUTE), true, None, now),
        Err(ApprovalRefusal::TooWeak("phr".into()))
    );
    assert_eq!(
        request.vote(&person(2), &supervisors, &passkey(4 * MINUTE), true, None, now),
        Err(ApprovalRefusal::NotFresh)
    );
    let emergency = AuthContext {
        amr: vec!["pwd".into(), crate::emergency::EMERGENCY_AMR.into()],
        acr: "mfa".into(),
        auth_time: Some(now),
    };
    assert_eq!(request.vote(&person(2), &supervisors, &emergency, true, None, now), Err(ApprovalRefusal::NotFresh));
    assert!(request.votes.is_empty() && request.version == 0, "nothing recorded");
    request.vote(&person(2), &supervisors, &passkey(9 * MINUTE), false, Some(" too much ".into()), now).unwrap();
    assert_eq!(request.state, ApprovalState::Rejected, "one rejection decides");
    assert_eq!(request.votes[0].comment.as_deref(), Some("too much"));
    assert!(check_comment(Some(&"x".repeat(MAX_COMMENT_CHARS))).is_ok());
    assert!(check_comment(Some(&"x".repeat(MAX_COMMENT_CHARS + 1))).is_err(), "refused, not cut short");
    assert!(check_comment(Some("fine\u{202E}")).is_err());
}

#[test]
fn the_content_hash_covers_what_changes_and_is_canonical() {
    let request = raised(15);
    let canonical = canonical_content("forecast", request.requester.user_id, &request.proposal, request.expires_at);
    assert!(canonical.starts_with(r#"{"action":"adjust_forecast","after":{"units":1150},"before""#), "{canonical}");
    assert!(canonical.contains(r#""magnitude":{"percent":15}"#), "numbers as sent: {canonical}");
    assert_eq!(request.content_hash, format!("sha256:{}", crate::secret::sha256_hex(canonical.as_bytes())));
    let mut other = request.proposal.clone();
    other.after = serde_json::json!({"units": 1151});
    assert_ne!(request.content_hash, content_hash("forecast", request.requester.user_id, &other, request.expires_at));
}

#[test]
fn the_receipt_names_the_request_its_hash_and_each_approver() {
    let mut request = raised(15);
    request.vote(&person(2), &["supervisors".into()], &passkey(MINUTE), true, None, Timestamp(2 * MINUTE)).unwrap();
    let claims = receipt::claims(&request, "https://id.example", Timestamp(2 * MINUTE));
    assert_eq!(claims["aud"], "forecast");
    assert_eq!(claims["jti"], request.id.to_string());
    assert_eq!(claims["approval"]["state"], "approved");
    assert_eq!(claims["approval"]["content_hash"], request.content_hash);
    assert_eq!(claims["approval"]["approvers"][0]["username"], "u2");
    assert_eq!(claims["approval"]["approvers"][0]["amr"], serde_json::json!(["hwk", "user"]));
    assert_eq!(claims["approval"]["approvers"][0]["auth_time"], 60);
    assert_eq!(claims["approval"]["rule"]["version"], 3);
}
