//! Forward-auth behind a real nginx (Debian's package) with `auth_request`: an upstream app
//! that speaks no OpenID Connect is reached only with a Twofold session of the strength its
//! rule asks, sees who signed in in headers nginx sets (never ones the browser sent), and
//! sends people to sign in and back. Skipped nowhere: nginx is installed by `.ci/run`.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use twofold_testkit::html::hidden;
use twofold_testkit::{Browser, Env, location, stderr};

use crate::BIN;

/// A free port on 127.0.0.1 (bound, then released for nginx).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An upstream app that answers with the identity headers it was given.
async fn upstream() -> (u16, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap, uri: axum::http::Uri| async move {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
        format!(
            "path={} user={} groups={} acr={}",
            uri.path(),
            get("remote-user"),
            get("remote-groups"),
            get("remote-acr")
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (port, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM makes the master stop its workers too (KILL would orphan them).
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// The `auth_request` locations that protect `upstream` with Twofold at `twofold`, passing
/// the identity headers (always set here, so a browser cannot send its own).
fn protected_locations(twofold: &str, upstream: u16) -> String {
    format!(
        r#"    location = /internal/twofold {{
      internal;
      proxy_pass {twofold}/api/v1/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
    }}
    location / {{
      auth_request /internal/twofold;
      auth_request_set $tf_user $upstream_http_remote_user;
      auth_request_set $tf_groups $upstream_http_remote_groups;
      auth_request_set $tf_acr $upstream_http_remote_acr;
      auth_request_set $tf_login $upstream_http_location;
      error_page 401 =302 $tf_login;
      proxy_set_header Remote-User $tf_user;
      proxy_set_header Remote-Groups $tf_groups;
      proxy_set_header Remote-Acr $tf_acr;
      proxy_pass http://127.0.0.1:{upstream};
    }}
"#
    )
}

/// nginx in the foreground with its own prefix directory, serving `servers` on `port`.
async fn nginx_serving(dir: &Path, port: u16, servers: &str) -> Nginx {
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let d = dir.display();
    let conf = format!(
        r#"worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
{servers}}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf"), "-g", "daemon off;"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nginx is required (Debian package nginx; .ci/run installs it)");
    let nginx = Nginx(child);
    wait_for_port(port, &dir.join("error.log")).await;
    nginx
}

/// nginx protecting `upstream` on `port` with Twofold at `twofold`.
async fn nginx(dir: &Path, port: u16, twofold: &str, upstream: u16) -> Nginx {
    let locations = protected_locations(twofold, upstream);
    nginx_serving(dir, port, &format!("  server {{\n    listen 127.0.0.1:{port};\n{locations}  }}\n")).await
}

#[tokio::test]
async fn nginx_auth_request_protects_an_upstream_by_strength_group_and_path() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        std::fs::create_dir_all(&env.data_dir).unwrap();
        let dir = env.path("nginx");
        let port = free_port();
        let site = format!("localhost:{port}");
        let config = env.path("forward-auth.toml");
        std::fs::write(
            &config,
            format!(
                r#"[forward_auth]
default = "deny"
[[forward_auth.rules]]
host = "{site}"
require = "mfa"
[[forward_auth.rules]]
host = "{site}"
path = "/health"
require = "none"
[[forward_auth.rules]]
host = "{site}"
path = "/finance"
require = "mfa"
groups = ["finance"]
[[forward_auth.rules]]
host = "{site}"
path = "/keys"
require = "phr"
"#
            ),
        )
        .unwrap();
        let server = env.serve(&["--demo", "--config", config.to_str().unwrap()]).await;
        // Cookies belong to a host name, not a port: the app and Twofold share "localhost".
        let twofold = server.url.replace("127.0.0.1", "localhost");
        let (upstream_port, upstream_task) = upstream().await;
        let _nginx = nginx(&dir, port, &server.url, upstream_port).await;
        let app = format!("http://{site}");

        // bob has an authenticator app.
        let setup = Browser::new(&twofold, &env.clock);
        setup.password_step("bob").await;
        let secret = setup.enrol_totp().await;

        // Without a session: a public path passes, the rest sends the browser to sign in.
        let web = Browser::new(&twofold, &env.clock);
        let health = web.get(format!("{app}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200, "{b}");
        assert_eq!(health.text().await.unwrap(), "path=/health user=- groups=- acr=-", "{b}");
        let forged = web.get(format!("{app}/reports?q=1")).header("Remote-User", "alice").send().await.unwrap();
        assert_eq!(forged.status(), 302, "{b}: a header from the browser opens nothing");
        let login = location(&forged);
        assert!(login.starts_with(&format!("{twofold}/login?return_to=")), "{b}: {login}");

        // Sign in through the URL nginx gave: password, code, then back to the app.
        let page = web.get(&login).send().await.unwrap().text().await.unwrap();
        let return_to = hidden(&page, "return_to").replace("&amp;", "&");
        assert!(return_to.starts_with("/forward-auth/continue?rd="), "{b}: {return_to}");
        let after_password = web
            .post(format!("{twofold}/login"))
            .form(&[
                ("username", "bob"),
                ("password", "twofold-demo-pass"),
                ("csrf", &hidden(&page, "csrf")),
                ("return_to", &return_to),
            ])
            .send()
            .await
            .unwrap();
        assert!(location(&after_password).starts_with("/login/mfa?return_to="), "{b}");
        let mfa =
            web.get(format!("{twofold}{}", location(&after_password))).send().await.unwrap().text().await.unwrap();
        let after_code = web
            .post(format!("{twofold}/login/mfa"))
            .form(&[
                ("code", env.totp(&secret, 30).as_str()),
                ("csrf", &hidden(&mfa, "csrf")),
                ("return_to", &hidden(&mfa, "return_to").replace("&amp;", "&")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&after_code), return_to, "{b}");
        let back = web.get(format!("{twofold}{return_to}")).send().await.unwrap();
        assert_eq!(location(&back), format!("{app}/reports?q=1"), "{b}");

        // The app sees bob, from nginx; a forged header is overwritten.
        let reports = web.get(format!("{app}/reports?q=1")).header("Remote-User", "alice").send().await.unwrap();
        assert_eq!(reports.status(), 200, "{b}");
        assert_eq!(reports.text().await.unwrap(), "path=/reports user=bob groups=engineering,pilot acr=mfa", "{b}");

        // A group bob is not in, and a strength none of his methods reaches: 403, no loop.
        assert_eq!(web.get(format!("{app}/finance/q3")).send().await.unwrap().status(), 403, "{b}");
        assert_eq!(web.get(format!("{app}/keys")).send().await.unwrap().status(), 403, "{b}");

        // The way back goes only to hosts a rule names.
        let open_redirect = web.get(format!("{twofold}/forward-auth/continue?rd=https://evil.example/")).send().await;
        assert_eq!(open_redirect.unwrap().status(), 400, "{b}");
        // Asked directly without the original request, the endpoint says what is missing.
        let direct = web.get(format!("{twofold}/api/v1/forward-auth")).send().await.unwrap();
        assert_eq!(direct.status(), 400, "{b}");
        // Signed out, the app is closed again.
        web.sign_out().await;
        assert_eq!(web.get(format!("{app}/reports")).send().await.unwrap().status(), 302, "{b}");
        upstream_task.abort();
    }
}

#[tokio::test]
async fn forward_auth_also_asks_the_conditional_access_policy_in_force() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        std::fs::create_dir_all(&env.data_dir).unwrap();
        let config = env.path("forward-auth.toml");
        std::fs::write(
            &config,
            "[forward_auth]\ndefault = \"deny\"\n[[forward_auth.rules]]\nhost = \"app.test\"\nrequire = \"mfa\"\n",
        )
        .unwrap();
        let server = env.serve(&["--demo", "--config", config.to_str().unwrap()]).await;
        let policy = env.path("policy.toml");
        std::fs::write(
            &policy,
            r#"[zones]
corporate = ["10.0.0.0/8"]

[[rule]]
name = "no changes from outside the office"
what = { hosts = ["app.test/docs"], actions = ["modify"] }
when = { outside_zones = ["corporate"] }
outcome = "block"

[[rule]]
name = "keys for the vault"
what = { hosts = ["app.test/vault"] }
outcome = "require"
strength = "phr"

[[rule]]
name = "trial: block reports"
mode = "report_only"
what = { hosts = ["app.test/reports"] }
outcome = "block"

[[rule]]
name = "exports need a passkey"
what = { actions = ["export"] }
outcome = "require"
strength = "phr"

[[action]]
name = "downloads are exports"
hosts = ["app.test/reports/*/download"]
methods = ["GET"]
action = "export"
"#,
        )
        .unwrap();
        let applied = env.cli(&["policy", "apply", policy.to_str().unwrap()]);
        assert!(applied.status.success(), "{b}: {}", stderr(&applied));

        let url = &server.url;
        let web = server.browser();
        web.password_step("bob").await;
        let secret = web.enrol_totp().await;
        web.sign_out().await;
        web.sign_in_with_totp("bob", &secret).await;

        let ask = |path: &str, method: &str| {
            let (web, url) = (web.clone(), url.clone());
            let original = format!("http://app.test{path}");
            let method = method.to_owned();
            async move {
                let response = web
                    .get(format!("{url}/api/v1/forward-auth"))
                    .header("X-Original-URL", original)
                    .header("X-Original-Method", method)
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            }
        };
        assert_eq!(ask("/docs/a", "GET").await.0, 200, "{b}: reading is fine");
        let (status, body) = ask("/docs/a", "POST").await;
        assert_eq!(status, 403, "{b}: {body}");
        assert!(body.contains("no changes from outside the office"), "{b}: the rule is named: {body}");
        let (status, body) = ask("/vault", "GET").await;
        assert_eq!(status, 403, "{b}: bob has no passkey: {body}");
        assert!(body.contains("phr"), "{b}: {body}");
        assert_eq!(ask("/reports", "GET").await.0, 200, "{b}: a report-only rule never blocks");
        // A path the policy names an export meets the export rule; the page beside it does not.
        let (status, body) = ask("/reports/q3/download", "GET").await;
        assert_eq!(status, 403, "{b}: {body}");
        assert!(body.contains("phr"), "{b}: {body}");
        assert_eq!(ask("/reports/q3", "GET").await.0, 200, "{b}: reading the report is not an export");
    }
}

/// nginx with two virtual hosts on `port`: `id.example.test` in front of Twofold at
/// `twofold`, and `wiki.example.test` protected by it (auth_request) in front of `upstream`.
async fn nginx_for_two_hosts(dir: &Path, port: u16, twofold: &str, upstream: u16) -> Nginx {
    let locations = protected_locations(twofold, upstream);
    let servers = format!(
        "  server {{\n    listen 127.0.0.1:{port};\n    server_name id.example.test;\n    location / {{\n      proxy_pass {twofold};\n      proxy_set_header Host $http_host;\n    }}\n  }}\n  server {{\n    listen 127.0.0.1:{port};\n    server_name wiki.example.test;\n{locations}  }}\n"
    );
    nginx_serving(dir, port, &servers).await
}

/// Caddy (Debian's package) on `port` for `crm.example.test`, protected by Twofold at
/// `twofold` with `forward_auth`, in front of `upstream`.
async fn caddy(dir: &Path, port: u16, twofold: &str, upstream: u16) -> Nginx {
    std::fs::create_dir_all(dir).unwrap();
    let twofold = twofold.trim_start_matches("http://");
    let conf = format!(
        "{{\n  admin off\n  auto_https off\n}}\nhttp://crm.example.test:{port} {{\n  bind 127.0.0.1\n  forward_auth {twofold} {{\n    uri /api/v1/forward-auth?redirect=true\n    copy_headers Remote-User\n  }}\n  reverse_proxy 127.0.0.1:{upstream}\n}}\n"
    );
    std::fs::write(dir.join("Caddyfile"), conf).unwrap();
    let log = dir.join("caddy.log");
    let child = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env("HOME", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("caddy is required (Debian package caddy; .ci/run installs it)");
    let caddy = Nginx(child);
    wait_for_port(port, &log).await;
    caddy
}

async fn wait_for_port(port: u16, log: &Path) {
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the proxy did not start: {}", std::fs::read_to_string(log).unwrap_or_default());
}

/// With `[session] cookie_domain`, one sign-in at `id.example.test` opens apps on other hosts
/// of the domain behind two real proxies (nginx `auth_request` and Caddy `forward_auth`);
/// the way back still goes only to hosts a rule names, signing out closes both, and a domain
/// that does not cover the public URL stops the server from starting.
#[tokio::test]
async fn a_cookie_domain_shares_one_sign_in_across_hosts_behind_nginx_and_caddy() {
    let env = Env::sqlite(BIN);
    std::fs::create_dir_all(&env.data_dir).unwrap();
    let (nginx_port, caddy_port) = (free_port(), free_port());
    let id = format!("http://id.example.test:{nginx_port}");
    let wiki = format!("http://wiki.example.test:{nginx_port}");
    let crm = format!("http://crm.example.test:{caddy_port}");
    let config = env.write(
        "twofold.toml",
        &format!(
            "[session]\ncookie_domain = \"example.test\"\n[forward_auth]\ndefault = \"deny\"\n[[forward_auth.rules]]\nhost = \"wiki.example.test:{nginx_port}\"\nrequire = \"mfa\"\n[[forward_auth.rules]]\nhost = \"crm.example.test:{caddy_port}\"\nrequire = \"mfa\"\n"
        ),
    );
    let bad = env.write("bad.toml", "[session]\ncookie_domain = \"example.org\"\n");
    let refused = env.cli(&["serve", "--listen", "127.0.0.1:0", "--public-url", &id, "--config", &bad]);
    assert!(!refused.status.success(), "a domain that does not cover the public URL");
    assert!(
        stderr(&refused).contains("does not cover the public URL's host 'id.example.test'"),
        "{}",
        stderr(&refused)
    );

    let server = env.serve(&["--demo", "--config", &config, "--public-url", &id]).await;
    let (upstream_port, upstream_task) = upstream().await;
    let _nginx = nginx_for_two_hosts(&env.path("nginx"), nginx_port, &server.url, upstream_port).await;
    let _caddy = caddy(&env.path("caddy"), caddy_port, &server.url, upstream_port).await;
    let names = ["id.example.test", "wiki.example.test", "crm.example.test", "evil.example.test"];

    let setup = Browser::resolving(&id, &env.clock, &names);
    setup.password_step("bob").await;
    let secret = setup.enrol_totp().await;

    // bob opens the wiki, signs in once at id.example.test, and is sent back.
    let web = Browser::resolving(&id, &env.clock, &names);
    let to_login = web.get(format!("{wiki}/reports")).send().await.unwrap();
    assert_eq!(to_login.status(), 302);
    let login = location(&to_login);
    assert!(login.starts_with(&format!("{id}/login?return_to=")), "{login}");
    let page = web.get(&login).send().await.unwrap().text().await.unwrap();
    let return_to = hidden(&page, "return_to").replace("&amp;", "&");
    let form = [
        ("username", "bob"),
        ("password", "twofold-demo-pass"),
        ("csrf", &hidden(&page, "csrf")),
        ("return_to", &return_to),
    ];
    let after_password = web.post(format!("{id}/login")).form(&form).send().await.unwrap();
    let set_cookie: Vec<String> =
        after_password.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(
        set_cookie.iter().any(|c| c.starts_with("twofold_session=") && c.contains("Domain=example.test")),
        "the session cookie is shared across the domain: {set_cookie:?}"
    );
    let mfa = web.get(format!("{id}{}", location(&after_password))).send().await.unwrap().text().await.unwrap();
    let code = env.totp(&secret, 30);
    let step = [("code", code.as_str()), ("csrf", &hidden(&mfa, "csrf")), ("return_to", &return_to)];
    let after_code = web.post(format!("{id}/login/mfa")).form(&step).send().await.unwrap();
    assert_eq!(location(&after_code), return_to);
    let back = web.get(format!("{id}{return_to}")).send().await.unwrap();
    assert_eq!(location(&back), format!("{wiki}/reports"));
    let reports = web.get(format!("{wiki}/reports")).send().await.unwrap();
    assert_eq!(reports.text().await.unwrap().split(' ').nth(1), Some("user=bob"), "behind nginx");

    // The CRM on another host, behind Caddy, needs no second sign-in.
    let deals = web.get(format!("{crm}/deals")).send().await.unwrap();
    assert_eq!(deals.status(), 200, "behind Caddy with the same sign-in");
    assert_eq!(deals.text().await.unwrap().split(' ').nth(1), Some("user=bob"));

    // The way back goes only to hosts a rule names, even inside the cookie domain.
    let elsewhere =
        web.get(format!("{id}/forward-auth/continue?rd=http://evil.example.test:{nginx_port}/")).send().await;
    assert_eq!(elsewhere.unwrap().status(), 400, "no open redirect within the domain");

    // Signing out ends the shared cookie: both apps are closed again.
    web.sign_out().await;
    assert_eq!(web.get(format!("{wiki}/reports")).send().await.unwrap().status(), 302);
    let closed = web.get(format!("{crm}/deals")).send().await.unwrap();
    assert_eq!(closed.status(), 302, "Caddy passes Twofold's redirect to sign in");
    assert!(location(&closed).starts_with(&format!("{id}/login?return_to=")), "{}", location(&closed));
    upstream_task.abort();
}
