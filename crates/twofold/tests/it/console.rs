//! The admin console's gate and its audit log, through the real binary: every page checks the
//! role on the server, the console asks two-step sign-in of every role and a passkey of
//! admins, and an auditor searches the log read-only.

use twofold_testkit::{Browser, Env, location, stderr};

use crate::BIN;

/// `who` signs in with password and a fresh authenticator app.
async fn with_totp(web: &Browser, who: &str) {
    web.password_step(who).await;
    let secret = web.enrol_totp().await;
    web.sign_out().await;
    web.sign_in_with_totp(who, &secret).await;
}

#[tokio::test]
async fn the_console_checks_roles_and_strength_and_an_auditor_searches_the_audit_log() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let added = env.cli_with_stdin(
            &["user", "add", "audrey", "--email", "audrey@example.com", "--role", "auditor", "--password-stdin"],
            "twofold-demo-pass\n",
        );
        assert!(added.status.success(), "{b}: {}", stderr(&added));

        let stranger = server.browser();
        let to_login = stranger.get_path("/admin/audit").await;
        assert_eq!(to_login.status(), 303, "{b}");
        assert!(location(&to_login).starts_with("/login"), "{b}");

        // A password-only sign-in does not open the console, whatever the role.
        let audrey = server.browser();
        audrey.password_step("audrey").await;
        let weak = audrey.get_path("/admin").await;
        assert_eq!(weak.status(), 303, "{b}");
        let sent = location(&weak);
        assert!(sent.contains("strength=mfa") || sent == "/account/security", "{b}: sent to set one up: {sent}");
        let audrey = server.browser();
        with_totp(&audrey, "audrey").await;
        assert!(audrey.page("/account").await.contains(r#"href="/admin""#), "{b}: the console is linked");
        let home = audrey.page("/admin").await;
        assert!(home.contains(r#"href="/admin/audit""#), "{b}: the auditor's section");
        let log = audrey.page("/admin/audit?action=user.create").await;
        assert!(log.contains("user.create") && !log.contains(">session.create<"), "{b}: filtered by action");
        assert!(log.contains("cli:"), "{b}: made by the CLI");
        let by_actor = audrey.page("/admin/audit?actor=nobody-at-all").await;
        assert!(by_actor.contains("No event matches."), "{b}");
        let bad = audrey.page("/admin/audit?since=yesterday").await;
        assert!(bad.contains("give a date like"), "{b}: a clear error for a bad date");
        let verified = audrey.page("/admin/audit?verify=1").await;
        assert!(verified.contains("Intact: all"), "{b}: {verified}");

        // The help desk has a console, but not the audit log; a plain user has none.
        let erin = server.browser();
        with_totp(&erin, "erin").await;
        let erins = erin.page("/admin").await;
        assert!(!erins.contains(r#"href="/admin/audit""#) && erins.contains(r#"href="/helpdesk""#), "{b}");
        assert_eq!(erin.get_path("/admin/audit").await.status(), 403, "{b}: refused by the server");
        let bob = server.browser();
        with_totp(&bob, "bob").await;
        assert_eq!(bob.get_path("/admin").await.status(), 403, "{b}");
        assert!(!bob.page("/account").await.contains(r#"href="/admin""#), "{b}: no console link for a plain user");

        // An admin needs a passkey or security key: a code sends her to step up.
        let alice = server.browser();
        with_totp(&alice, "alice").await;
        let admin = alice.get_path("/admin/audit").await;
        assert_eq!(admin.status(), 303, "{b}");
        assert!(location(&admin).contains("strength=phr"), "{b}: {}", location(&admin));
    }
}
