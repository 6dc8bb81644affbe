//! `twofold policy ...` on the documented example policy (docs/policy-example.toml): valid
//! against the demo directory, every problem of a broken file listed with its line, a
//! hypothetical sign-in explained in words, versions applied, compared and rolled back.

use std::path::PathBuf;

use twofold_testkit::{Env, stderr, stdout};

use crate::BIN;

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy-example.toml").display().to_string()
}

#[tokio::test]
async fn the_example_policy_checks_and_explains_sign_ins() {
    let env = Env::sqlite(BIN);
    let _server = env.serve(&["--demo"]).await;
    let checked = env.cli(&["policy", "check", &example()]);
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(stdout(&checked).contains("8 rules, no problems"), "{}", stdout(&checked));
    let yaml = example().replace(".toml", ".yaml");
    let checked = env.cli(&["policy", "check", &yaml]);
    assert!(stdout(&checked).contains("8 rules, no problems"), "YAML too: {}{}", stdout(&checked), stderr(&checked));
    let from_yaml = env.cli(&["policy", "whatif", "--file", &yaml, "--user", "bob", "--ip", "203.0.113.9"]);
    assert!(stdout(&from_yaml).starts_with("Decision: require mfa."), "{}", stdout(&from_yaml));

    let whatif = |args: &[&str]| {
        let mut all = vec!["policy", "whatif", "--file"];
        let file = example();
        all.push(&file);
        all.extend_from_slice(args);
        let out = env.cli(&all);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let home = whatif(&["--user", "bob", "--ip", "203.0.113.9", "--device", "trusted"]);
    assert!(home.starts_with("Decision: require mfa."), "{home}");
    assert!(
        home.contains("rule 'mfa outside the office' says require mfa, because the address is outside corporate"),
        "{home}"
    );
    let office = whatif(&["--user", "bob", "--ip", "10.1.2.3", "--device", "trusted"]);
    assert!(office.starts_with("Decision: allow."), "{office}");
    let admin = whatif(&["--user", "alice", "--ip", "10.1.2.3", "--device", "trusted", "--action", "export"]);
    assert!(admin.starts_with("Decision: require phr within 15 minutes."), "{admin}");
    let finance = whatif(&["--user", "carol", "--ip", "203.0.113.9", "--action", "export"]);
    assert!(finance.contains("would have (report only) block"), "{finance}");
    assert!(finance.contains("With the report-only rules enforced: block."), "{finance}");
    let bad = env.cli(&["policy", "whatif", "--file", &example(), "--user", "bob", "--device", "lost"]);
    assert!(!bad.status.success() && stderr(&bad).contains("--device"), "{}", stderr(&bad));

    let broken = env.path("broken.toml");
    std::fs::write(
        &broken,
        "[zones]\ncorporate = [\"10.0.0.0/33\"]\n\n[[rule]]\nname = \"a\"\nwho = { groups = [\"ghosts\"] }\noutcome = \"require\"\nstrength = \"mfa\"\n\n[[rule]]\nname = \"a\"\noutcome = \"block\"\nwhen = { zones = [\"moon\"] }\n",
    )
    .unwrap();
    let refused = env.cli(&["policy", "check", broken.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    let report = stderr(&refused);
    for expected in [
        "line 1: zones.corporate: '10.0.0.0/33' is not a network",
        "line 4 (rule 'a'): rule[0].who: group 'ghosts' does not exist",
        "line 10 (rule 'a'): rule[1].name: 'a' names two rules",
        "line 10 (rule 'a'): rule[1].when: zone 'moon' is not defined",
        "4 problem(s); nothing was applied",
    ] {
        assert!(report.contains(expected), "{expected}\n{report}");
    }
    let typo = env.path("typo.toml");
    std::fs::write(&typo, "[[rule]]\nname = \"a\"\noutcome = \"block\"\nwhom = { users = [\"bob\"] }\n").unwrap();
    let refused = env.cli(&["policy", "check", typo.to_str().unwrap()]);
    assert!(stderr(&refused).contains("line 4, column 1") && stderr(&refused).contains("whom"), "{}", stderr(&refused));
}

#[tokio::test]
async fn policies_are_applied_as_versions_compared_and_rolled_back() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let _server = env.serve(&["--demo"]).await;
        let nothing = env.cli(&["policy", "whatif", "--user", "bob"]);
        assert!(stderr(&nothing).contains("no policy has been applied"), "{b}: {}", stderr(&nothing));
        let applied = env.cli(&["policy", "apply", &example(), "--note", "first rules"]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));
        assert!(stdout(&applied).contains("policy version 1"), "{b}");

        // A file with a problem is refused whole: still one version.
        let broken = env.path("broken.toml");
        std::fs::write(&broken, "[[rule]]\nname = \"x\"\nwho = { groups = [\"ghosts\"] }\noutcome = \"block\"\n")
            .unwrap();
        let refused = env.cli(&["policy", "apply", broken.to_str().unwrap()]);
        assert!(!refused.status.success() && stderr(&refused).contains("ghosts"), "{b}: {}", stderr(&refused));

        let home = stdout(&env.cli(&["policy", "whatif", "--user", "bob", "--ip", "203.0.113.9"]));
        assert!(home.starts_with("Decision: require mfa"), "{b}: the policy in force decides: {home}");

        let source = std::fs::read_to_string(example()).unwrap();
        let cut = source.find("[[rule]]\nname = \"mfa on a new device\"").unwrap();
        let end = cut + source[cut..].find("\n\n").unwrap() + 2;
        let edited = env.path("edited.toml");
        std::fs::write(&edited, format!("{}{}", &source[..cut], &source[end..])).unwrap();
        assert!(
            env.cli(&["policy", "apply", edited.to_str().unwrap(), "--note", "no new-device rule"]).status.success()
        );
        let diff = stdout(&env.cli(&["policy", "diff", "1", "2"]));
        assert!(diff.contains("- name = \"mfa on a new device\""), "{b}: {diff}");
        assert!(!diff.contains("+ "), "{b}: only removals: {diff}");

        let back = env.cli(&["policy", "rollback", "1"]);
        assert!(stdout(&back).contains("applied again as policy version 3"), "{b}: {}", stderr(&back));
        assert_eq!(stdout(&env.cli(&["policy", "show"])), source, "{b}: version 3 is version 1's file");
        let versions: serde_json::Value =
            serde_json::from_slice(&env.cli(&["policy", "versions", "--format", "json"]).stdout).unwrap();
        let notes: Vec<_> = versions.as_array().unwrap().iter().map(|v| v["note"].clone()).collect();
        assert_eq!(
            notes,
            [serde_json::json!("rollback to version 1"), "no new-device rule".into(), "first rules".into()],
            "{b}"
        );
        assert!(versions[0]["author"].as_str().unwrap().starts_with("cli:"), "{b}");
        let log = env.audit_log();
        assert_eq!(log.matches("\"policy.apply\"").count(), 3, "{b}");
    }
}

#[tokio::test]
async fn sign_ins_to_apps_follow_the_conditional_access_policy_in_force() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let redirect = "http://localhost:9999/callback";
        let client = |name: &str| {
            let out = env.cli(&["client", "add", name, "--redirect-uri", redirect, "--format", "json"]);
            let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            value["client_id"].as_str().unwrap().to_owned()
        };
        let (payroll, crm, wiki) = (client("Payroll"), client("CRM"), client("Wiki"));
        let wiki = wiki.as_str();
        let policy = env.path("apps.toml");
        std::fs::write(
            &policy,
            format!(
                "[zones]\ncorporate = [\"10.0.0.0/8\"]\n\n[[rule]]\nname = \"payroll from the office only\"\nwhat = {{ apps = [\"{payroll}\"] }}\nwhen = {{ outside_zones = [\"corporate\"] }}\noutcome = \"block\"\n\n[[rule]]\nname = \"crm needs mfa\"\nwhat = {{ apps = [\"{crm}\"] }}\noutcome = \"require\"\nstrength = \"mfa\"\n"
            ),
        )
        .unwrap();
        assert!(env.cli(&["policy", "apply", policy.to_str().unwrap()]).status.success(), "{b}");

        // bob signs in with his password only (no second factor yet).
        let web = server.browser();
        web.password_step("bob").await;
        let blocked = web.authorize(&payroll, redirect).await;
        assert!(blocked.starts_with(&format!("{redirect}?error=access_denied")), "{b}: {blocked}");
        assert!(blocked.contains("payroll%20from%20the%20office%20only"), "{b}: the rule is named: {blocked}");
        let unmet = web.authorize(&crm, redirect).await;
        assert!(unmet.contains("error=unmet_authentication_requirements"), "{b}: bob has no second factor: {unmet}");
        let allowed = web.authorize(wiki, redirect).await;
        assert!(allowed.starts_with(&format!("{redirect}?code=")), "{b}: no rule for the wiki: {allowed}");
        // Each authorization is a sign-in event to its app, the refusal with its rule.
        let report: serde_json::Value =
            serde_json::from_slice(&env.cli(&["report", "policy", "--format", "json"]).stdout).unwrap();
        let payroll_rule =
            report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "payroll from the office only");
        assert_eq!(payroll_rule.map(|r| r["users"].clone()), Some(serde_json::json!(["bob"])), "{b}: {report:#}");
        let draft = env.path("crm.toml");
        std::fs::write(
            &draft,
            format!("[[rule]]\nname = \"wiki closed\"\nwhat = {{ apps = [\"{wiki}\"] }}\noutcome = \"block\"\n"),
        )
        .unwrap();
        let simulated = stdout(&env.cli(&["policy", "simulate", draft.to_str().unwrap(), "--days", "1"]));
        assert!(
            simulated.contains("- blocked: 1 sign-ins by 1 people (bob)"),
            "{b}: the wiki sign-in replayed: {simulated}"
        );
    }
}

/// An `hours` rule (UTC) holds only inside its window. Payroll is closed from one full hour to
/// the next; the test clock starts ten minutes into the hour before, then crosses into the
/// window and out of it again: the app's authorizations and `policy whatif` (an admin verb on
/// the same clock) follow each crossing.
#[tokio::test]
async fn an_hours_rule_holds_only_inside_its_window_as_the_clock_crosses_it() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let redirect = "http://localhost:9999/callback";
        let payroll = env.cli_json(&["client", "add", "Payroll", "--redirect-uri", redirect])["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Ten minutes past the next full hour: 50 minutes from either edge of the window.
        let into_hour = env.now().millis().rem_euclid(3_600_000) / 1000;
        env.advance(3600 - into_hour + 600);
        let hour = (env.now().millis() / 3_600_000).rem_euclid(24);
        let (from, to) = ((hour + 1) % 24, (hour + 1) % 24 + 1);
        let policy = env.write(
            "hours.toml",
            &format!(
                "[[rule]]\nname = \"payroll closed\"\nwhat = {{ apps = [\"{payroll}\"] }}\nwhen = {{ hours = [{from}, {to}] }}\noutcome = \"block\"\n"
            ),
        );
        let applied = env.cli(&["policy", "apply", &policy]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));
        // Each check signs in afresh: an hour of test time outlasts an idle session.
        let authorize = || async {
            let web = server.browser();
            web.password_step("dave").await;
            web.authorize(&payroll, redirect).await
        };
        let whatif = || stdout(&env.cli(&["policy", "whatif", "--user", "dave", "--app", &payroll]));

        let before = authorize().await;
        assert!(before.starts_with(&format!("{redirect}?code=")), "{b}: {hour}:10, before {from}:00: {before}");
        assert!(whatif().starts_with("Decision: allow."), "{b}: {}", whatif());
        env.advance(3600);
        let inside = authorize().await;
        assert!(inside.starts_with(&format!("{redirect}?error=access_denied")), "{b}: {from}:10: {inside}");
        assert!(inside.contains("payroll%20closed"), "{b}: the rule is named: {inside}");
        let words = whatif();
        assert!(words.starts_with("Decision: block."), "{b}: {words}");
        assert!(words.contains(&format!("it is between {from}:00 and {to}:00 UTC")), "{b}: {words}");
        env.advance(3600);
        let after = authorize().await;
        assert!(after.starts_with(&format!("{redirect}?code=")), "{b}: {to}:10, after the window: {after}");
        assert!(whatif().starts_with("Decision: allow."), "{b}: {}", whatif());
    }
}
