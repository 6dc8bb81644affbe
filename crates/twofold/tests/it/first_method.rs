//! The access policy as a condition on first enrolment (THREATS: enrolment hijack), through
//! the real binary on every backend: rules naming `enrol_first_method` decide where they
//! match, in place of `[enrolment] first_method`.

use twofold_testkit::{Env, SmtpSink, stderr};

use crate::BIN;
use crate::helpdesk::PASSWORD;

#[tokio::test]
async fn a_policy_rule_decides_how_a_first_method_is_enrolled_where_it_matches() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let smtp = SmtpSink::start();
        // The setting alone would let an emailed code do.
        let server = env.serve(&["--smtp-url", &smtp.url]).await;
        for user in ["nina", "nora"] {
            let added = env.cli_with_stdin(
                &["user", "add", user, "--email", &format!("{user}@example.com"), "--password-stdin"],
                &format!("{PASSWORD}\n"),
            );
            assert!(added.status.success(), "{b}: {}", stderr(&added));
        }
        let policy = |name: &str, outcome: &str| {
            env.write(
                name,
                &format!(
                    "[zones]\nhere = [\"127.0.0.0/8\"]\n\n[[rule]]\nname = \"first methods from here\"\nwhat = {{ actions = [\"enrol_first_method\"] }}\nwhen = {{ zones = [\"here\"] }}\noutcome = \"{outcome}\"\n"
                ),
            )
        };

        // "Only with a pass from here": the password is not enough and no emailed code is offered.
        let applied = env.cli(&["policy", "apply", &policy("passes.toml", "block")]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));
        let nina = server.browser();
        nina.password_step("nina").await;
        let page = nina.page("/account/security").await;
        assert!(
            page.contains("Ask your help desk for a temporary access pass") && !page.contains("Email me a code"),
            "{b}: {page}"
        );
        let (csrf, _) = nina.csrf("/account").await;
        let (status, refused) = nina.submit("/account/security/totp", &[("name", "Mine"), ("csrf", &csrf)]).await;
        assert_eq!(status, 403, "{b}: {refused}");
        assert!(!env.audit_log().contains("authenticator.enrol_start"), "{b}: nothing was started");

        // A limit is no answer for first enrolment: the policy is refused and nothing changes.
        let refused = env.cli(&["policy", "apply", &policy("limit.toml", "limit")]);
        assert!(!refused.status.success() && stderr(&refused).contains("enrol_first_method"), "{b}");

        // "The password is enough from here": nora enrols with it alone.
        let applied = env.cli(&["policy", "apply", &policy("here.toml", "allow")]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));
        env.advance(10);
        let nora = server.browser();
        nora.password_step("nora").await;
        let page = nora.page("/account/security").await;
        assert!(page.contains("Add authenticator app") && !page.contains("Confirm it's you first"), "{b}: {page}");
        nora.enrol_totp().await;
    }
}
