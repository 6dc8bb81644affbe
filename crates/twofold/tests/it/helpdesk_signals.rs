//! What support activity sets off, through the real binary on every backend: the risk of the
//! person's sign-ins, alerts to the security team (read from a real SMTP server), and the
//! text-message channel (a real SMS webhook).

use twofold_testkit::{Env, SmtpSink, stderr, stdout};

use crate::BIN;
use crate::helpdesk::{PASSWORD, json, open_case};

/// Detection: a help-desk change of a person's methods raises the risk of their sign-ins
/// for a day (a policy's `risk_at_least` sees it), and the security team is told of repeated
/// verification failures for one person.
#[tokio::test]
async fn support_activity_feeds_the_risk_engine_and_alerts_the_security_team() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let config = env.write(
            "detect.toml",
            "[emergency]\nsecurity_team = \"soc@example.com\"\n[helpdesk]\ntiers = [\"standard\", \"external\", \"privileged\"]\n",
        );
        let server = env.serve(&["--demo", "--smtp-url", &smtp.url, "--config", &config]).await;
        let cli = |args: &[&str]| {
            env.command(args).env("TWOFOLD_SMTP_URL", &smtp.url).env("TWOFOLD_CONFIG", &config).output().unwrap()
        };
        let policy = env.write(
            "risky.toml",
            "[[rule]]\nname = \"risky sign-ins stop\"\nwhen = { risk_at_least = \"medium\" }\noutcome = \"block\"\n",
        );
        assert!(env.cli(&["policy", "apply", &policy]).status.success(), "{b}");

        let carol = server.browser();
        carol.password_step("carol").await;
        let app = carol.enrol_totp().await;
        carol.sign_out().await;
        env.advance(30);
        let id = open_case(&env, "carol", "new_phone");
        assert!(
            cli(&["case", "verify", &id, "--channel", "factor_proof", "--code", &env.totp(&app, 0)]).status.success(),
            "{b}"
        );
        assert!(cli(&["case", "pass", &id]).status.success(), "{b}");
        let refused = carol.sign_in("carol", PASSWORD).await;
        let status = refused.status();
        let page = refused.text().await.unwrap();
        assert_eq!(status, 403, "{b}: {page}");
        assert!(page.contains("risky sign-ins stop"), "{b}: the help-desk change raised the risk: {page}");

        // Three failed verifications for dave within a day: the security team hears of it.
        for _ in 0..3 {
            env.advance(30);
            let case = open_case(&env, "dave", "locked_out");
            assert!(cli(&["case", "verify", &case, "--channel", "email_code"]).status.success(), "{b}");
            assert!(
                !cli(&["case", "verify", &case, "--channel", "email_code", "--code", "000000"]).status.success(),
                "{b}"
            );
        }
        let alert = smtp.wait_for("Repeated failed verification for dave").await;
        assert!(alert.contains("soc@example.com"), "{b}: {alert}");
    }
}

/// A temporary access pass used from a network none of the person's sign-ins came from (an
/// IPv4 /24 or IPv6 /64) is told to the security team.
#[tokio::test]
async fn a_pass_used_from_a_network_never_seen_for_the_person_alerts_the_security_team() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let config = env.write("soc.toml", "[emergency]\nsecurity_team = \"soc@example.com\"\n");
        let server = env
            .serve(&["--demo", "--smtp-url", &smtp.url, "--config", &config, "--trusted-proxy", "127.0.0.1/32"])
            .await;
        let bob = server.browser();
        bob.password_step("bob").await;
        let app = bob.enrol_totp().await;
        env.advance(30);
        let id = open_case(&env, "bob", "new_phone");
        assert!(
            env.cli(&["case", "verify", &id, "--channel", "factor_proof", "--code", &env.totp(&app, 0)])
                .status
                .success(),
            "{b}"
        );
        let passcode =
            json(&env.cli(&["case", "pass", &id, "--format", "json"]))["passcode"].as_str().unwrap().to_owned();

        // From an address bob never signed in from, behind the trusted proxy.
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let from = |request: reqwest::RequestBuilder| request.header("x-forwarded-for", "198.51.100.7");
        let form =
            from(client.get(format!("{}/login/access-pass", server.url))).send().await.unwrap().text().await.unwrap();
        let csrf = twofold_testkit::html::hidden(&form, "csrf");
        let signed_in = from(client.post(format!("{}/login/access-pass", server.url)))
            .form(&[("username", "bob"), ("passcode", passcode.as_str()), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303, "{b}");
        let alert = smtp.wait_for("Temporary access pass used from a new network: bob").await;
        assert!(alert.contains("198.51.100.7") && alert.contains("soc@example.com"), "{b}: {alert}");
    }
}

/// The text-message channel: a code to the phone number on file when the case opened (read
/// from a real SMS webhook), read back by the caller; a number changed since is refused.
/// (Two threads: the admin verb waits for the webhook, which this test serves.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_texted_to_the_phone_on_file_verifies_the_caller() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let sms = twofold_testkit::SmsSink::start().await;
        let config = env.write("sms.toml", &format!("[sms_otp]\nwebhook_url = \"{}\"\n", sms.url));
        let _server = env.serve(&["--demo", "--config", &config]).await;
        let cli = |args: &[&str]| env.command(args).env("TWOFOLD_CONFIG", &config).output().unwrap();
        assert!(cli(&["user", "update", "bob", "--phone", "+447700900123"]).status.success(), "{b}");
        let id = open_case(&env, "bob", "locked_out");
        let sent = cli(&["case", "verify", &id, "--channel", "sms_code"]);
        assert!(sent.status.success() && stderr(&sent).contains("•••• 0123"), "{b}: {}", stderr(&sent));
        let (text, _) = sms.wait_for(1).await;
        assert_eq!(text["to"], "+447700900123", "{b}");
        let body = text["text"].as_str().unwrap();
        let code: String = body.split("read them this code: ").nth(1).unwrap().chars().take(6).collect();
        let email_path = cli(&["case", "verify", &id, "--channel", "email_code", "--code", &code]);
        assert!(!email_path.status.success(), "{b}: a texted code is no email code");
        let verified = cli(&["case", "verify", &id, "--channel", "sms_code", "--code", &code]);
        assert!(verified.status.success(), "{b}: {}", stderr(&verified));

        let other = open_case(&env, "bob", "lost_device");
        assert!(cli(&["user", "update", "bob", "--phone", "+447700900999"]).status.success(), "{b}");
        let moved = cli(&["case", "verify", &other, "--channel", "sms_code"]);
        assert!(stderr(&moved).contains("phone number on file changed"), "{b}: {}", stderr(&moved));
    }
}

/// Detection: within a day of a help-desk change, the person signing in from a country never
/// seen for them, or taking a sensitive action (a change through forward-auth), is told to
/// the security team and recorded on the case — once per change and kind, not per request.
/// Countries come from a GeoIP database written by another tool (tests/geoip/make_db.py).
#[tokio::test]
async fn a_new_country_or_a_sensitive_action_soon_after_a_help_desk_change_is_told_once() {
    let geo = twofold_testkit::scratch_dir("geoip-helpdesk").join("cities.mmdb");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/geoip/make_db.py");
    assert!(std::process::Command::new("python3").arg(script).arg(&geo).status().unwrap().success());
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let config = env.write(
            "watch.toml",
            "[emergency]\nsecurity_team = \"soc@example.com\"\n[forward_auth]\ndefault = \"deny\"\n[[forward_auth.rules]]\nhost = \"app.test\"\nrequire = \"pwd\"\n",
        );
        let args = ["--demo", "--smtp-url", &smtp.url, "--config", &config, "--trusted-proxy", "127.0.0.1/32"];
        let server = env.serve(&[&args[..], &["--geoip-database", geo.to_str().unwrap()]].concat()).await;
        let from = |ip: &'static str| {
            let (server, url) = (server.browser(), server.url.clone());
            async move {
                let (csrf, _) = server.csrf("/login").await;
                let form = [("username", "carol"), ("password", PASSWORD), ("csrf", csrf.as_str())];
                let response =
                    server.post(format!("{url}/login")).header("x-forwarded-for", ip).form(&form).send().await.unwrap();
                assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
                server
            }
        };
        // carol signs in from London: her country on record.
        from("198.51.100.7").await;
        env.advance(60);
        let id = open_case(&env, "carol", "locked_out");
        let cli = |args: &[&str]| env.command(args).env("TWOFOLD_SMTP_URL", &smtp.url).output().unwrap();
        assert!(cli(&["case", "verify", &id, "--channel", "email_code"]).status.success(), "{b}");
        let mail = smtp.wait_for("read them this code").await;
        let code: String =
            mail.split("read them this code: ").nth(1).unwrap().chars().filter(char::is_ascii_digit).take(6).collect();
        assert!(cli(&["case", "verify", &id, "--channel", "email_code", "--code", &code]).status.success(), "{b}");
        assert!(cli(&["case", "pass", &id]).status.success(), "{b}: the change");

        // From Paris an hour later, twice: told once.
        env.advance(60 * 60);
        let in_paris = from("192.0.2.10").await;
        from("192.0.2.11").await;
        let alert = smtp.wait_for("A sign-in from a new country for carol after a help-desk change").await;
        assert!(alert.contains("soc@example.com") && alert.contains("FR") && alert.contains(&id), "{b}: {alert}");

        // A change through forward-auth: a sensitive action, told once too.
        for _ in 0..2 {
            let asked = in_paris
                .get(format!("{}/api/v1/forward-auth", server.url))
                .header("x-original-url", "http://app.test/docs/a")
                .header("x-original-method", "POST")
                .header("x-forwarded-for", "192.0.2.10")
                .send()
                .await
                .unwrap();
            assert_eq!(asked.status(), 200, "{b}");
        }
        let alert = smtp.wait_for("A sensitive action for carol after a help-desk change").await;
        assert!(alert.contains("modify on app.test/docs/a"), "{b}: {alert}");

        let shown = json(&env.cli(&["case", "show", &id, "--format", "json"]));
        let uses: Vec<_> = shown["case"]["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["type"] == "used_after_change")
            .map(|e| e["event"]["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(uses, ["new_country", "sensitive_action"], "{b}: once each: {shown}");
        let log = env.audit_log();
        assert_eq!(log.matches("\"case.use_after_change\"").count(), 2, "{b}");
        // A day later the change is old news: nothing more is told.
        env.advance(25 * 60 * 60);
        from("203.0.113.9").await;
        let shown = json(&env.cli(&["case", "show", &id, "--format", "json"]));
        assert_eq!(shown["case"]["timeline"].to_string().matches("used_after_change").count(), 2, "{b}");
    }
}

/// The verification a tier needs comes from `[[helpdesk.verification]]` (the two-person rule
/// for privileged people cannot be configured away), and a case opened right after another
/// changed the person's methods asks the reset's verification whatever it is for.
#[tokio::test]
async fn verification_is_configured_per_tier_and_raised_after_a_recent_change() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        let weak = env.write(
            "weak.toml",
            "[[helpdesk.verification]]\ntier = \"privileged\"\nsteps = [[\"email_code\"]]\nsecond_operator = false\n",
        );
        let checked = env.cli(&["config", "check", &weak]);
        assert!(
            !checked.status.success() && stdout(&checked).contains("a second operator is always needed"),
            "{b}: {}",
            stdout(&checked)
        );
        let config = env.write(
            "strict.toml",
            "[[helpdesk.verification]]\ntier = \"standard\"\nsteps = [[\"factor_proof\"], [\"email_code\", \"sms_code\"]]\n",
        );
        let _server = env.serve(&["--demo", "--smtp-url", &smtp.url, "--config", &config]).await;
        let cli = |args: &[&str]| {
            env.command(args).env("TWOFOLD_SMTP_URL", &smtp.url).env("TWOFOLD_CONFIG", &config).output().unwrap()
        };
        let id = open_case(&env, "carol", "lost_device");
        let shown = json(&cli(&["case", "show", &id, "--format", "json"]));
        assert_eq!(shown["verification"]["missing"].as_array().map(Vec::len), Some(2), "{b}: two steps: {shown}");
        assert!(cli(&["case", "verify", &id, "--channel", "email_code"]).status.success(), "{b}");
        let mail = smtp.wait_for("read them this code").await;
        let code: String =
            mail.split("read them this code: ").nth(1).unwrap().chars().filter(char::is_ascii_digit).take(6).collect();
        assert!(cli(&["case", "verify", &id, "--channel", "email_code", "--code", &code]).status.success(), "{b}");
        let refused = cli(&["case", "pass", &id]);
        assert!(stderr(&refused).contains("code from a method the person still has"), "{b}: {}", stderr(&refused));

        // dave gets a pass on one case; a second case the same day asks the reset's verification.
        assert!(cli(&["user", "update", "dave", "--phone", "+447700900123"]).status.success(), "{b}");
        let first = open_case(&env, "dave", "locked_out");
        let default_tier = json(&cli(&["case", "show", &first, "--format", "json"]));
        assert!(!default_tier.to_string().contains("risk_raised"), "{b}: nothing raised yet");
        // External tier keeps its default: one channel.
        assert!(cli(&["case", "verify", &first, "--channel", "email_code"]).status.success(), "{b}");
        let mail = smtp.wait_for("dave@demo.twofold.test").await;
        let code: String =
            mail.split("read them this code: ").nth(1).unwrap().chars().filter(char::is_ascii_digit).take(6).collect();
        assert!(cli(&["case", "verify", &first, "--channel", "email_code", "--code", &code]).status.success(), "{b}");
        assert!(cli(&["case", "pass", &first]).status.success(), "{b}: the change");
        env.advance(60 * 60);
        let second = open_case(&env, "dave", "new_phone");
        let shown = json(&cli(&["case", "show", &second, "--format", "json"]));
        let timeline = shown["case"]["timeline"].to_string();
        assert!(timeline.contains("risk_raised") && timeline.contains(&first), "{b}: {timeline}");
        let missing = shown["verification"]["missing"].to_string();
        assert!(missing.contains("manager_approval") && missing.contains("email_code"), "{b}: {missing}");
    }
}
