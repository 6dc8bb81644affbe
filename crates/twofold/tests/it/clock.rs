//! The clock the tests move. A debug build of `twofold` reads `TWOFOLD_TEST_CLOCK_FILE` (every
//! process of a test's `Env` is given one) and runs on the system time plus the offset in it;
//! a release build ignores the variable entirely (`crates/twofold/src/clock.rs`), which a
//! debug test run cannot show, so this shows the other half: the variable moves the time the
//! server and the admin verbs act on, at once, and says so loudly.

use std::time::Duration;

use twofold_testkit::{Env, Server, TEST_CLOCK_VAR, stderr};

use crate::BIN;

/// Waits (up to 5 s) for the server's start-up warning about the test clock.
async fn warned(server: &Server) -> bool {
    for _ in 0..200 {
        if server.stderr_lines().iter().any(|l| l.contains(&format!("{TEST_CLOCK_VAR} is set"))) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn the_test_clock_moves_the_time_the_server_and_the_admin_verbs_act_on() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo"]).await;
    assert!(warned(&server).await, "the server warns that its clock can be moved: {:#?}", server.stderr_lines());
    let unmoved = env.cli(&["user", "list"]);
    assert!(!stderr(&unmoved).contains(TEST_CLOCK_VAR), "an admin verb on the real time says nothing");

    let bob = server.browser();
    bob.password_step("bob").await;
    let secret = bob.enrol_totp().await;
    bob.sign_out().await;

    // An hour on, for the running server: the code of the moved time signs in, and the code
    // of the system time (120 steps back, far outside the window) does not.
    env.advance(3600);
    assert!(bob.password_step("bob").await.starts_with("/login/mfa"));
    let system_time_code = env.totp(&secret, -3600);
    let moved_code = env.totp(&secret, 0);
    if system_time_code != moved_code {
        assert_eq!(bob.second_step("code", &system_time_code).await.status(), 401, "the system time's code");
    }
    assert_eq!(bob.second_step("code", &moved_code).await.status(), 303, "the moved time's code");

    // An admin verb acts on the moved time too, and says so.
    let moved = env.cli(&["user", "list"]);
    assert!(moved.status.success(), "{}", stderr(&moved));
    assert!(stderr(&moved).contains(&format!("{TEST_CLOCK_VAR} is set")), "{}", stderr(&moved));
    let since = env.now().plus_seconds(-600).to_rfc3339();
    let log = twofold_testkit::stdout(&env.cli(&["audit", "export", "--since", &since]));
    assert!(log.contains(r#""action":"signin.success""#), "the sign-in is logged at the moved time: {log}");
    assert!(!log.contains(r#""action":"authenticator.add""#), "the enrolment an hour of test time ago is not: {log}");
}
