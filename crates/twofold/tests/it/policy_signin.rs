//! The sign-in pages ask the conditional-access policy in force: an explicit `allow` skips
//! the second step, `block` refuses after the password, no matching rule leaves Twofold's
//! default (whoever has a second factor proves it), Twofold's own pages step up when a rule
//! asks. Every sign-in event records the decision, report-only rules included, which
//! `report policy` sums up and `policy simulate` replays against a draft — through the CLI
//! and the admin API alike.

use serde_json::{Value, json};
use twofold_testkit::{DEMO_PASSWORD, Env, Server, api, stderr, stdout};

use crate::BIN;

const POLICY: &str = r#"[zones]
here = ["127.0.0.0/8"]

[[rule]]
name = "quiet here for bob"
who = { users = ["bob"] }
what = { apps = ["twofold"] }
when = { zones = ["here"] }
outcome = "allow"

[[rule]]
name = "no carol"
who = { users = ["carol"] }
outcome = "block"

[[rule]]
name = "trial: keys for everyone"
mode = "report_only"
outcome = "require"
strength = "phr"
"#;

async fn post_login(server: &Server, username: &str) -> (u16, String) {
    login_from(server, username, None).await
}

#[tokio::test]
async fn sign_in_follows_the_policy_in_force_and_records_every_decision() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let admin = server.api(&env.admin_token());

        // No policy yet: Twofold's default asks bob for the app he sets up.
        let web = server.browser();
        web.password_step("bob").await;
        let secret = web.enrol_totp().await;
        assert!(server.browser().password_step("bob").await.starts_with("/login/mfa"), "{b}: the default");

        // A file with a problem is refused whole through the API, every problem listed.
        let refused = admin.post_json("/api/v1/policies", &json!({"source": "[[rule]]\nname = \"x\"\nwho = { groups = [\"ghosts\"] }\noutcome = \"block\"\nwhen = { zones = [\"moon\"] }\n"})).await;
        assert_eq!(refused.status(), 422, "{b}");
        let problems = refused.text().await.unwrap();
        assert!(problems.contains("ghosts") && problems.contains("moon"), "{b}: {problems}");
        let applied = admin.post_json("/api/v1/policies", &json!({"source": POLICY, "note": "through the API"})).await;
        assert_eq!(applied.status(), 201, "{b}");
        assert_eq!(applied.json::<Value>().await.unwrap()["version"], 1, "{b}");

        // bob, here, on Twofold's own pages: an explicit allow, so no second step.
        let web = server.browser();
        assert_eq!(web.password_step("bob").await, "/account", "{b}: allowed without a prompt");
        let account = web.get_path("/account").await;
        assert_eq!(account.status(), 200, "{b}");
        assert!(account.text().await.unwrap().contains("Password only"), "{b}");
        // carol is blocked after her password, and told which rule did it.
        let (status, page) = post_login(&server, "carol").await;
        assert_eq!(status, 403, "{b}");
        assert!(page.contains("no carol"), "{b}: {page}");
        // dave matches no enforced rule: the default (he has no second factor: set one up).
        assert!(server.browser().password_step("dave").await.starts_with("/account/security"), "{b}");

        // A rule that asks more of Twofold's own pages steps bob's session up, at once on
        // this node (the apply went through it).
        let stricter = format!(
            "{POLICY}\n[[rule]]\nname = \"bob proves it\"\nwho = {{ users = [\"bob\"] }}\nwhat = {{ apps = [\"twofold\"] }}\noutcome = \"require\"\nstrength = \"mfa\"\n"
        );
        let applied = admin.post_json("/api/v1/policies", &json!({"source": stricter})).await;
        assert_eq!(applied.status(), 201, "{b}");
        let gated = web.get_path("/account").await;
        assert_eq!(gated.status(), 303, "{b}");
        assert_eq!(gated.headers()["location"], "/login/mfa?return_to=/account&strength=mfa", "{b}");
        // Attack: downgrade. Asked for a passkey, the page offers no code and no other method.
        let keys_only = web.get_path("/login/mfa?return_to=/account&strength=phr").await;
        let keys_only = keys_only.text().await.unwrap();
        assert!(!keys_only.contains("Verification code") && !keys_only.contains("Recovery code"), "{b}: {keys_only}");
        assert!(keys_only.contains("None of the methods you have set up meets this"), "{b}");
        assert_eq!(web.second_step("code", &env.totp(&secret, 30)).await.status(), 303, "{b}");
        assert_eq!(web.get_path("/account").await.status(), 200, "{b}: stepped up");

        // Effective coverage on /metrics: bob's password-only sign-ins and his step-up.
        let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
        assert!(metrics.contains(r#"twofold_sign_ins_by_protection_total{mfa="yes"} 1"#), "{b}: {metrics}");
        assert!(metrics.contains(r#"twofold_sign_ins_by_protection_total{mfa="no"}"#), "{b}");

        // Every decided sign-in carries its decision: the report counts the rules, the
        // report-only one as what it would have done.
        let report: Value = serde_json::from_slice(&env.cli(&["report", "policy", "--format", "json"]).stdout).unwrap();
        let rule = |name: &str| {
            report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == name).cloned().unwrap_or_else(|| {
                panic!("{b}: no rule {name} in {report:#}");
            })
        };
        assert_eq!(rule("no carol")["users"], json!(["carol"]), "{b}");
        let trial = rule("trial: keys for everyone");
        assert_eq!(trial["mode"], "report_only", "{b}");
        assert_eq!(trial["users"], json!(["bob", "carol", "dave"]), "{b}: {trial}");
        assert!(report["would_change"].as_u64().unwrap() >= 3, "{b}: {report}");
        let latest = &report["report_only_sign_ins"][0];
        assert_eq!(latest["username"], "bob", "{b}: the step-up is the latest: {report:#}");
        assert_eq!(latest["would_be"], "require phr", "{b}");
        let text = stdout(&env.cli(&["report", "policy"]));
        assert!(text.contains("would have: require phr"), "{b}: {text}");

        // A draft replayed against those sign-ins names whom it would lock out.
        let draft = env.path("keys.toml");
        std::fs::write(&draft, "[[rule]]\nname = \"keys for everyone\"\noutcome = \"require\"\nstrength = \"phr\"\n")
            .unwrap();
        let simulated = env.cli(&["policy", "simulate", draft.to_str().unwrap(), "--days", "1"]);
        let words = stdout(&simulated);
        assert!(simulated.status.success(), "{b}: {}", stderr(&simulated));
        assert!(words.contains("challenged for a stronger or fresher sign-in"), "{b}: {words}");
        assert!(words.contains("would be locked out") && words.contains("bob, carol, dave"), "{b}: {words}");
        assert!(words.contains("treated differently from the policy in force"), "{b}: {words}");
        let through_api = admin
            .post_json(
                "/api/v1/policies/simulate",
                &json!({"source": std::fs::read_to_string(&draft).unwrap(), "days": 1}),
            )
            .await;
        assert_eq!(through_api.status(), 200, "{b}");
        let body: Value = through_api.json().await.unwrap();
        assert_eq!(body["report"]["locked_out"], json!(["bob", "carol", "dave"]), "{b}: {body:#}");
        assert_eq!(body["explanation"].as_str().unwrap(), words.trim_end(), "{b}: the API says the same");

        // What-if and the version list through the API.
        let whatif = admin.post_json("/api/v1/policies/whatif", &json!({"user": "carol", "ip": "127.0.0.1"})).await;
        let whatif: Value = whatif.json().await.unwrap();
        assert!(whatif["explanation"].as_str().unwrap().starts_with("Decision: block."), "{b}: {whatif}");
        let versions: Value = admin.get_json("/api/v1/policies").await;
        assert_eq!(versions["versions"].as_array().unwrap().len(), 2, "{b}");
        assert_eq!(versions["versions"][1]["note"], "through the API", "{b}");
    }
}

/// Signs in (through a trusted proxy that says the browser is at `ip`, when given): the
/// status and page.
async fn login_from(server: &Server, username: &str, ip: Option<&str>) -> (u16, String) {
    let web = server.browser();
    let (csrf, _) = web.csrf("/login").await;
    let mut request = web.post(format!("{}/login", server.url));
    if let Some(ip) = ip {
        request = request.header("x-forwarded-for", ip);
    }
    let form = [("username", username), ("password", DEMO_PASSWORD), ("csrf", &csrf)];
    let response = request.form(&form).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Country rules and impossible travel, with a GeoIP database written by another tool
/// (tests/geoip/make_db.py, PyPI mmdb-writer): London, Paris and Sydney networks.
#[tokio::test]
async fn countries_and_impossible_travel_come_from_the_geoip_database() {
    let env = Env::sqlite(BIN);
    let geo = twofold_testkit::scratch_dir("geoip").join("cities.mmdb");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/geoip/make_db.py");
    assert!(std::process::Command::new("python3").arg(script).arg(&geo).status().unwrap().success());
    let server =
        env.serve(&["--demo", "--trusted-proxy", "127.0.0.1/32", "--geoip-database", geo.to_str().unwrap()]).await;
    let policy = env.path("geo.toml");
    std::fs::write(
        &policy,
        "[[rule]]\nname = \"not from France\"\nwhen = { countries = [\"FR\"] }\noutcome = \"block\"\n\n[[rule]]\nname = \"stop the risky\"\nwhen = { risk_at_least = \"high\" }\noutcome = \"block\"\n",
    )
    .unwrap();
    assert!(env.cli(&["policy", "apply", policy.to_str().unwrap()]).status.success());

    // bob in London, then "in Sydney" two seconds later: no one travels that fast.
    assert_eq!(login_from(&server, "bob", Some("198.51.100.7")).await.0, 303, "London is fine");
    let (status, page) = login_from(&server, "bob", Some("203.0.113.9")).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("stop the risky"), "{page}");
    // carol in Paris: the country rule.
    let (status, page) = login_from(&server, "carol", Some("192.0.2.10")).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("not from France"), "{page}");
    // Sydney itself is no problem for someone who was not just in London.
    assert_eq!(login_from(&server, "dave", Some("203.0.113.9")).await.0, 303);

    let report: Value = serde_json::from_slice(&env.cli(&["report", "policy", "--format", "json"]).stdout).unwrap();
    let users =
        |rule: &str| report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == rule).map(|r| r["users"].clone());
    assert_eq!(users("not from France"), Some(json!(["carol"])), "{report:#}");
    assert_eq!(users("stop the risky"), Some(json!(["bob"])), "{report:#}");
}

/// Every way in acts on a block the same way: a policy applied between the password step
/// and the second step refuses the second step too (it used to record the decision and sign
/// the person in), records the refusal, and leaves the session awaiting its second factor.
#[tokio::test]
async fn a_block_applied_between_the_steps_refuses_the_second_step() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let url = &server.url;
        let web = server.browser();
        web.password_step("bob").await;
        let secret = web.enrol_totp().await;

        let web = server.browser();
        assert!(web.password_step("bob").await.starts_with("/login/mfa"), "{b}: the second step is asked");
        let block = "[[rule]]\nname = \"bob is out\"\nwho = { users = [\"bob\"] }\noutcome = \"block\"\n";
        let applied = api(&env.admin_token())
            .post(format!("{url}/api/v1/policies"))
            .json(&json!({"source": block}))
            .send()
            .await
            .unwrap();
        assert_eq!(applied.status(), 201, "{b}");

        let code = env.totp(&secret, 30);
        let refused = web.second_step("code", &code).await;
        assert_eq!(refused.status(), 403, "{b}: the right code, but the policy now blocks");
        assert!(refused.text().await.unwrap().contains("bob is out"), "{b}: the rule is named");
        let account = web.get_path("/account").await;
        assert_ne!(account.status(), 200, "{b}: no session was completed");

        // The refused attempt is recorded with its decision: the report counts the rule for
        // bob (his password step came before the policy, so this is the second step's event).
        let report: Value = serde_json::from_slice(&env.cli(&["report", "policy", "--format", "json"]).stdout).unwrap();
        let rule = report["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "bob is out").cloned();
        assert_eq!(rule.map(|r| r["users"].clone()), Some(json!(["bob"])), "{b}: {report:#}");

        // The block was decided before the code was tried: once it is lifted, the same code
        // still completes the same pending sign-in.
        let lifted = api(&env.admin_token())
            .post(format!("{url}/api/v1/policies"))
            .json(&json!({"source": "[[rule]]\nname = \"bob is back\"\nwho = { users = [\"bob\"] }\noutcome = \"require\"\nstrength = \"mfa\"\n"}))
            .send()
            .await
            .unwrap();
        assert_eq!(lifted.status(), 201, "{b}");
        assert_eq!(web.second_step("code", &code).await.status(), 303, "{b}: the code was not used up by the block");
        assert_eq!(web.get_path("/account").await.status(), 200, "{b}: signed in");
    }
}
