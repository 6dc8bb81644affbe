//! `twofold policy check` and `twofold policy whatif` on the documented example policy
//! (docs/policy-example.toml): valid against the demo directory, every problem of a broken
//! file listed with its line, and a hypothetical sign-in explained in words.

use std::path::PathBuf;

use crate::helpers::{Env, stderr, stdout};

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy-example.toml").display().to_string()
}

#[tokio::test]
async fn the_example_policy_checks_and_explains_sign_ins() {
    let env = Env::new(&twofold_testkit::sqlite());
    let _server = env.serve(&["--demo"]).await;
    let checked = env.cli(&["policy", "check", &example()]);
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(stdout(&checked).contains("8 rules, no problems"), "{}", stdout(&checked));

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

    let broken = env.data_dir.join("..").join("broken.toml");
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
    let typo = env.data_dir.join("..").join("typo.toml");
    std::fs::write(&typo, "[[rule]]\nname = \"a\"\noutcome = \"block\"\nwhom = { users = [\"bob\"] }\n").unwrap();
    let refused = env.cli(&["policy", "check", typo.to_str().unwrap()]);
    assert!(stderr(&refused).contains("line 4, column 1") && stderr(&refused).contains("whom"), "{}", stderr(&refused));
}
