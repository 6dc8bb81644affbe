//! Sign-in, the account page and sign-out over HTTP, as a browser without JavaScript
//! would use them; plus the attacks on them (THREATS.md: enumeration, CSRF, fixation,
//! open redirect). The rendered pages are driven in Chromium by tests/browser.

use twofold_testkit::html::hidden;
use twofold_testkit::{Browser, Env};

use crate::BIN;

/// The sign-in page's CSRF token (the page must load).
async fn login_form(client: &Browser) -> String {
    let page = client.get_path("/login").await;
    assert_eq!(page.status(), 200);
    hidden(&page.text().await.unwrap(), "csrf")
}

/// Posts the sign-in form, asking to return to `/account`.
async fn sign_in(client: &Browser, username: &str, password: &str) -> reqwest::Response {
    let csrf = login_form(client).await;
    let form = [("username", username), ("password", password), ("csrf", &csrf), ("return_to", "/account")];
    client.post_form("/login", &form).await
}

#[tokio::test]
async fn a_user_signs_in_sees_their_account_and_signs_out() {
    for env in Env::all(BIN).await {
        let server = env.serve(&["--demo"]).await;
        let b = env.backend;
        let client = server.browser();
        let response = sign_in(&client, "bob", "twofold-demo-pass").await;
        assert_eq!(response.status(), 303, "{b}");
        assert_eq!(response.headers()["location"], "/account/security?return_to=/account", "guided enrolment first");
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("twofold_session="))
            .unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain http has no Secure flag");

        let account = client.get_path("/account").await;
        assert_eq!(account.status(), 200, "{b}");
        let html = account.text().await.unwrap();
        assert!(html.contains("Signed in as Bob Brown") && html.contains("engineering"), "{b}");
        assert!(html.contains("this browser"), "{b}");

        // Sign-out without the form's token is refused and changes nothing.
        let forged = client.post_form("/logout", &[("csrf", "forged")]).await;
        assert_eq!(forged.status(), 403, "{b}");
        assert_eq!(client.get_path("/account").await.status(), 200);

        let out = client.post_form("/logout", &[("csrf", hidden(&html, "csrf"))]).await;
        assert_eq!(out.status(), 303, "{b}");
        assert_eq!(out.headers()["location"], "/login?signed_out=1", "{b}");
        let notice = client.get_path("/login?signed_out=1").await.text().await.unwrap();
        assert!(notice.contains(r#"role="status">You are signed out."#), "{b}: the person is told: {notice}");
        let after = client.get_path("/account").await;
        assert_eq!(after.status(), 303, "{b}: signed out");
        assert_eq!(after.headers()["location"], "/login?return_to=/account");

        let log = env.audit_log();
        assert!(log.contains(r#""action":"signin.success""#) && log.contains(r#""action":"session.revoke""#), "{b}");
    }
}

/// Attack: username enumeration. Unknown users, wrong passwords and disabled accounts
/// must get the same answer.
#[tokio::test]
async fn failures_look_the_same_whether_or_not_the_user_exists() {
    for env in Env::all(BIN).await {
        let server = env.serve(&["--demo"]).await;
        assert!(env.cli(&["user", "disable", "dave"]).status.success());
        let mut bodies = Vec::new();
        for (username, password) in
            [("nobody", "twofold-demo-pass"), ("bob", "wrong password!"), ("dave", "twofold-demo-pass")]
        {
            let response = sign_in(&server.browser(), username, password).await;
            assert_eq!(response.status(), 401, "{}: {username}", env.backend);
            let html = response.text().await.unwrap();
            assert!(html.contains("Incorrect username or password."));
            bodies.push(html.replace(&hidden(&html, "csrf"), "").replace(username, ""));
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{}: the pages differ", env.backend);
        let log = env.audit_log();
        for reason in ["unknown_user", "wrong_password", "account_disabled"] {
            assert!(log.contains(reason), "{}: {reason} is recorded for the administrator", env.backend);
        }
    }
}

/// Attack: login CSRF. A form posted without the matching cookie token is refused.
#[tokio::test]
async fn a_sign_in_without_the_forms_token_is_refused() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo"]).await;
    let client = server.browser();
    let response = client
        .post_form(
            "/login",
            &[("username", "bob"), ("password", "twofold-demo-pass"), ("csrf", "x".repeat(43).as_str())],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(client.get_path("/account").await.status(), 303, "not signed in");
}

/// Attack: open redirect through return_to, and session fixation (a new session id at
/// every sign-in, never one the browser brought).
#[tokio::test]
async fn sign_in_never_redirects_off_site_and_always_issues_a_new_session() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo"]).await;
    let client = server.browser();
    let csrf = login_form(&client).await;
    let response = client
        .post(format!("{}/login", server.url))
        .header("cookie", format!("twofold_csrf={csrf}; twofold_session=attacker-chosen-session-id-0000000000000"))
        .form(&[
            ("username", "bob"),
            ("password", "twofold-demo-pass"),
            ("csrf", &csrf),
            ("return_to", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/account/security?return_to=/account", "guided enrolment first");
    let issued =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(issued.iter().any(|c| c.starts_with("twofold_session=") && !c.contains("attacker")), "{issued:?}");
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&[]).await;
    let response = reqwest::get(format!("{}/login", server.url)).await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let html = response.text().await.unwrap();
    assert!(
        html.contains(r#"<label for="username">Username</label>"#)
            && html.contains(r#"<label for="password">Password</label>"#)
    );
    assert!(!html.contains("style="), "no inline styles for the CSP to block");
    let scripts: Vec<_> = html.split("<script").skip(1).collect();
    assert!(
        !scripts.is_empty() && scripts.iter().all(|s| s.starts_with(" src=\"/static/")),
        "only our own script files: {html}"
    );
}

/// Attack: password guessing. After a few failures each further attempt must wait a
/// growing delay, even with the right password, and unknown usernames are throttled alike.
#[tokio::test]
async fn repeated_failures_are_throttled_per_username_and_audited() {
    for env in Env::all(BIN).await {
        let server = env.serve(&["--demo"]).await;
        let b = env.backend;
        for username in ["bob", "nobody-here"] {
            for attempt in 1..=6 {
                let response = sign_in(&server.browser(), username, "wrong guess!").await;
                assert_eq!(response.status(), 401, "{b}: {username} attempt {attempt}");
            }
            let blocked = sign_in(&server.browser(), username, "twofold-demo-pass").await;
            assert_eq!(blocked.status(), 429, "{b}: {username} must wait, even with the right password");
            let html = blocked.text().await.unwrap();
            assert!(html.contains("Too many sign-in attempts. Try again in"), "{b}");
        }
        // Another user is not affected by bob's failures.
        assert_eq!(sign_in(&server.browser(), "carol", "twofold-demo-pass").await.status(), 303, "{b}");
        let log = env.audit_log();
        assert!(log.contains(r#"\"reason\":\"throttled\""#), "{b}: throttled attempts are audited");
    }
}

#[tokio::test]
async fn sign_in_events_name_the_browser_by_a_signed_device_cookie() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&["--demo"]).await;
    let client = server.browser();
    let response = sign_in(&client, "bob", "twofold-demo-pass").await;
    let device = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("twofold_device="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("a device cookie");
    let device_id = device.split('.').next().unwrap().to_owned();
    // The same browser signs in again: the same device, no new cookie.
    let account = client.get_path("/account").await.text().await.unwrap();
    let signed_out = client.post_form("/logout", &[("csrf", hidden(&account, "csrf"))]).await;
    assert_eq!(signed_out.status(), 303);
    let again = sign_in(&client, "bob", "twofold-demo-pass").await;
    assert!(again.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("twofold_device=")));
    // A forged device cookie is ignored and replaced.
    let forged = server.browser();
    let csrf = login_form(&forged).await;
    let replaced = forged
        .post(format!("{}/login", server.url))
        .header("cookie", format!("twofold_csrf={csrf}; twofold_device={}.forged", "0".repeat(32)))
        .form(&[("username", "bob"), ("password", "twofold-demo-pass"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert!(
        replaced.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("twofold_device="))
    );

    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&env.cli(&["audit", "export"]).stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["action"] == "signin.success")
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["device_id"], device_id.as_str());
    assert_eq!(events[1]["device_id"], device_id.as_str());
    assert_ne!(events[2]["device_id"], "0".repeat(32).as_str());
}

/// A page never shows a database's error text: while PostgreSQL refuses connections (and the
/// server's are cut), the account page (which reads the session) and a sign-in (which reads
/// the user) answer with an HTML error page — a title, a plain message, a reference for the
/// log and a way back — and nothing from the driver. SQLite is a file the process opens
/// itself, so the run without PostgreSQL has no outage to cause here.
#[tokio::test]
async fn a_page_shows_no_database_error_text_while_the_database_is_down() {
    let Some(admin) = twofold_testkit::postgres_url() else {
        eprintln!("pages with the database down: PostgreSQL only (TWOFOLD_TEST_DATABASE_URL is not set)");
        return;
    };
    let env = Env::new(&twofold_testkit::postgres(&admin).await, BIN);
    let server = env.serve(&["--demo"]).await;
    let name = env.database_url.rsplit('/').next().unwrap().to_owned();
    let signed_in = server.browser();
    assert_eq!(sign_in(&signed_in, "bob", "twofold-demo-pass").await.status(), 303);
    assert_eq!(signed_in.get_path("/account").await.status(), 200);
    let signing_in = server.browser();
    let csrf = login_form(&signing_in).await;

    twofold_testkit::execute(&admin, &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    twofold_testkit::execute(
        &admin,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"),
    )
    .await;
    // Whatever fails (a cut connection, a refused new one), the page shows nothing of it.
    let page_without_leaks = |what: &'static str| {
        let name = name.clone();
        move |status: u16, content_type: String, html: String| {
            assert!(content_type.starts_with("text/html"), "{what} {status}: {content_type}");
            assert!(html.contains("give your help desk this reference: <code>"), "{what} {status}: {html}");
            assert!(html.contains(r#"<a href="/account">"#), "{what} {status}: a way back");
            let lower = html.to_lowercase();
            for leak in ["sqlx", "postgres", "database", "connection", "pool", "sqlstate", "terminat", &name] {
                assert!(!lower.contains(leak), "{what} {status}: '{leak}' in {html}");
            }
            html
        }
    };
    // The cut connections fail first, then new ones are refused (a driver error the store
    // reports as 503 or 500 by its kind): every answer is an error page without its text.
    // More asks than the pool holds (16), so new connections are tried too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let check = page_without_leaks("account page");
    let mut failed = 0;
    while failed < 20 {
        let response = signed_in.get_path("/account").await;
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let html = response.text().await.unwrap();
        if status == 200 {
            assert_eq!(failed, 0, "the account page came back during the outage");
            assert!(std::time::Instant::now() < deadline, "the account page stayed 200");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        }
        assert!(status == 503 || status == 500, "account page: {status}");
        let html = check(status, content_type, html);
        let heading = if status == 503 { "<h1>Twofold is unavailable</h1>" } else { "<h1>Something went wrong</h1>" };
        assert!(html.contains(heading), "{status}: {html}");
        failed += 1;
    }

    let attempt = signing_in
        .post_form(
            "/login",
            &[("username", "bob"), ("password", "twofold-demo-pass"), ("csrf", &csrf), ("return_to", "/account")],
        )
        .await;
    let status = attempt.status().as_u16();
    assert!(status == 503 || status == 500, "a sign-in while the database is down: {status}");
    let content_type = attempt.headers()["content-type"].to_str().unwrap().to_owned();
    page_without_leaks("sign-in")(status, content_type, attempt.text().await.unwrap());

    twofold_testkit::execute(&admin, &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
}

/// An address nothing serves answers a page with a title and a way back for a browser, and
/// problem+json under the API (both were an empty 404).
#[tokio::test]
async fn an_unknown_address_says_so_with_a_way_back() {
    let env = Env::sqlite(BIN);
    let server = env.serve(&[]).await;
    let page = server.browser().get_path("/no/such/page").await;
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Not found</h1>") && html.contains("<a href="), "{html}");
    let api = reqwest::get(format!("{}/api/v1/no-such-thing", server.url)).await.unwrap();
    assert_eq!(api.status(), 404);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
}

/// Where a person is signed in, with a way to sign one other browser out; the organisation's
/// name and logo in every page's header (`[branding]`); and no "Skip for now" for an
/// account worth the most (a privileged administrator).
#[tokio::test]
async fn a_person_signs_one_other_browser_out_under_the_organisations_name() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        std::fs::create_dir_all(&env.data_dir).unwrap();
        let logo = env.path("logo.svg");
        std::fs::write(&logo, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>").unwrap();
        let config = env
            .write("brand.toml", &format!("[branding]\nname = \"Example Corp\"\nlogo_file = \"{}\"\n", logo.display()));
        let server = env.serve(&["--demo", "--config", &config]).await;
        let laptop = server.browser();
        let phone = server.browser();
        for client in [&laptop, &phone] {
            assert_eq!(sign_in(client, "bob", "twofold-demo-pass").await.status(), 303, "{b}");
        }
        let page = laptop.page("/account").await;
        assert!(page.contains("<span>Example Corp</span>") && page.contains("src=\"/static/logo\""), "{b}");
        assert!(page.contains("<title>Your account · Example Corp</title>"), "{b}");
        let served = laptop.get_path("/static/logo").await;
        assert_eq!(served.headers()["content-type"], "image/svg+xml", "{b}");
        let policy = served.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("sandbox") && policy.contains("default-src 'none'"),
            "{b}: an SVG opened alone runs nothing: {policy}"
        );
        let ends: Vec<&str> = page.split("action=\"/account/sessions/").skip(1).map(|s| &s[..32]).collect();
        assert_eq!(ends.len(), 1, "{b}: one other session to sign out, not this one: {page}");
        let out =
            laptop.post_form(&format!("/account/sessions/{}/end", ends[0]), &[("csrf", hidden(&page, "csrf"))]).await;
        assert_eq!(out.status(), 303, "{b}");
        assert!(laptop.page("/account?ended=1").await.contains("That session is signed out."), "{b}");
        assert_eq!(phone.get_path("/account").await.status(), 303, "{b}: the phone must sign in again");
        assert_eq!(laptop.get_path("/account").await.status(), 200, "{b}: the laptop stays signed in");
        // A forged handle ends nothing.
        let forged = laptop
            .post_form("/account/sessions/00000000000000000000000000000000/end", &[("csrf", hidden(&page, "csrf"))])
            .await;
        assert_eq!(forged.status(), 404, "{b}");

        // bob may skip setting up a second factor for now; alice (a privileged admin) may not.
        let bobs = server.browser();
        assert_eq!(sign_in(&bobs, "bob", "twofold-demo-pass").await.status(), 303, "{b}");
        assert!(bobs.page("/account/security?return_to=/account").await.contains("Skip for now"), "{b}");
        let alices = server.browser();
        assert_eq!(sign_in(&alices, "alice", "twofold-demo-pass").await.status(), 303, "{b}");
        let security = alices.page("/account/security?return_to=/account").await;
        assert!(!security.contains("Skip for now"), "{b}");
        assert!(security.contains("accounts with privileges like yours: add one below"), "{b}: {security}");
        // Typing another address does not get round it: with no policy in force, her
        // password-only session opens Security info and nothing else, an app included.
        let account = alices.get_path("/account").await;
        assert_eq!(
            (account.status().as_u16(), twofold_testkit::location(&account)),
            (303, "/account/security".to_owned()),
            "{b}"
        );
        // The demo app's own sign-in address, as the server printed it.
        let printed = server.stdout_lines();
        let authorize = printed.iter().find(|l| l.contains("/oauth2/authorize?")).expect("printed").trim().to_owned();
        let app = alices.get_path(&authorize[authorize.find("/oauth2/").unwrap_or_default()..]).await;
        let to = app.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(
            app.status() != 200 && !to.contains("code="),
            "{b}: no consent page and no code: {} {to}",
            app.status()
        );
        // bob, standard and holding no role over Twofold, may go on without one.
        assert_eq!(bobs.get_path("/account").await.status(), 200, "{b}");
    }
}
