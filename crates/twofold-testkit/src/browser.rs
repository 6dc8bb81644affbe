//! A browser without JavaScript: a cookie jar bound to one server, with the page flows the
//! suites share — reading a form's CSRF token, the password step, the second step, adding an
//! authenticator app, signing out, asking an app's authorization.

use crate::DEMO_PASSWORD;
use crate::clock::TestClock;
use crate::html::{between, hidden};

/// An HTTP client that keeps cookies and does not follow redirects, bound to one server.
///
/// It dereferences to the [`reqwest::Client`] underneath, for requests a flow here does not
/// cover (those take full URLs, as reqwest's do).
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
    url: String,
    clock: TestClock,
}

impl std::ops::Deref for Browser {
    type Target = reqwest::Client;

    fn deref(&self) -> &reqwest::Client {
        &self.http
    }
}

/// An authenticator app added through the Security info page.
#[derive(Debug, Clone)]
pub struct TotpApp {
    /// Its base32 key, as the page showed it.
    pub secret: String,
    /// The code that confirmed it (its step is spent: replaying it must fail).
    pub confirming_code: String,
}

impl Browser {
    /// A fresh browser (empty cookie jar) for the server at `url`, on `clock`.
    #[must_use]
    pub fn new(url: &str, clock: &TestClock) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { http, url: url.to_owned(), clock: clock.clone() }
    }

    /// A fresh browser for the server at `url` that finds each of `names` (host names of
    /// the test's own, such as `wiki.example.test`) at 127.0.0.1, as DNS would send it there.
    #[must_use]
    pub fn resolving(url: &str, clock: &TestClock, names: &[&str]) -> Self {
        let mut builder = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none());
        for name in names {
            builder = builder.resolve(name, std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        }
        Self { http: builder.build().expect("client"), url: url.to_owned(), clock: clock.clone() }
    }

    /// The server's base URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `GET path` (e.g. `/account`).
    pub async fn get_path(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.url)).send().await.expect("GET")
    }

    /// The page at `path`, as text (whatever its status).
    pub async fn page(&self, path: &str) -> String {
        self.get_path(path).await.text().await.expect("page text")
    }

    /// The CSRF token of the page at `path`, and the page.
    pub async fn csrf(&self, path: &str) -> (String, String) {
        let page = self.page(path).await;
        (hidden(&page, "csrf"), page)
    }

    /// Posts `form` (pairs of name and value) to `path`.
    pub async fn post_form<F: serde::Serialize + ?Sized>(&self, path: &str, form: &F) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.url)).form(form).send().await.expect("POST")
    }

    /// Posts `form` to `path`; the status and the page.
    pub async fn submit<F: serde::Serialize + ?Sized>(&self, path: &str, form: &F) -> (u16, String) {
        let response = self.post_form(path, form).await;
        (response.status().as_u16(), response.text().await.expect("page text"))
    }

    /// Posts `form` to `path` with the CSRF token of the page at `page` added.
    pub async fn submit_from(&self, page: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let (csrf, _) = self.csrf(page).await;
        let mut all = form.to_vec();
        all.push(("csrf", &csrf));
        self.post_form(path, &all).await
    }

    /// Posts the sign-in form with `username` and `password`; the response (no redirect followed).
    pub async fn sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        let (csrf, _) = self.csrf("/login").await;
        self.post_form("/login", &[("username", username), ("password", password), ("csrf", &csrf)]).await
    }

    /// Signs in with the demo password; asserts it was accepted and returns where the server
    /// sent the browser (`/account`, `/login/mfa?...` for the second step, `/account/security...`
    /// to set one up).
    pub async fn password_step(&self, username: &str) -> String {
        let response = self.sign_in(username, DEMO_PASSWORD).await;
        assert_eq!(response.status(), 303, "password step for {username}");
        location(&response)
    }

    /// Posts the second-step form with `field` (`code`, `recovery_code`) set to `code`.
    pub async fn second_step(&self, field: &str, code: &str) -> reqwest::Response {
        let (csrf, _) = self.csrf("/login/mfa").await;
        self.post_form("/login/mfa", &[(field, code), ("csrf", &csrf)]).await
    }

    /// Signs in with the demo password and a code from the authenticator app `secret`: the
    /// code of the step after the current one (the window accepts it; enrolment spent the
    /// current one). A second sign-in within the same 30 s needs the clock moved first.
    pub async fn sign_in_with_totp(&self, username: &str, secret: &str) {
        let next = self.password_step(username).await;
        assert!(next.starts_with("/login/mfa"), "{username}: the second step is asked: {next}");
        let code = self.clock.totp(secret, 30);
        let done = self.second_step("code", &code).await;
        assert_eq!(done.status(), 303, "{username}: the second step with the app's code");
    }

    /// Adds an authenticator app named "Phone" on the Security info page (a wrong test code
    /// first, which must not finish it); returns its key.
    pub async fn enrol_totp(&self) -> String {
        self.enrol_totp_app().await.secret
    }

    /// As [`Browser::enrol_totp`], with the code that confirmed it.
    pub async fn enrol_totp_app(&self) -> TotpApp {
        let (csrf, _) = self.csrf("/account/security").await;
        let enrol = self.post_form("/account/security/totp", &[("name", "Phone"), ("csrf", &csrf)]).await;
        assert_eq!(enrol.status(), 200, "adding an authenticator app: sent to {:?}", enrol.headers().get("location"));
        let html = enrol.text().await.expect("enrolment page");
        assert!(html.contains("<svg") && html.contains("QR code"), "a server-rendered QR code");
        // Shown in groups of four for people; the key itself has no spaces.
        let secret = between(&html, r#"<code id="secret" class="key">"#, "</code>").replace(' ', "");
        let id = hidden(&html, "id");
        let confirm = "/account/security/totp/confirm";
        let view = hidden(&html, "view");
        let wrong = self
            .post_form(confirm, &[("id", id.as_str()), ("code", "000000"), ("csrf", &csrf), ("view", view.as_str())])
            .await;
        assert_eq!(wrong.status(), 422, "a wrong test code does not finish enrolment");
        let again = wrong.text().await.expect("page");
        assert!(again.contains(r#"<code id="secret" class="key">"#), "a wrong code keeps the key for this session");
        assert!(again.contains("wait for the next one"), "and says to wait for the next code");
        let code = self.clock.totp(&secret, 0);
        let confirmed = self.post_form(confirm, &[("id", id.as_str()), ("code", &code), ("csrf", &csrf)]).await;
        assert_eq!(confirmed.status(), 200);
        assert!(confirmed.text().await.expect("page").contains("Authenticator app added."));
        TotpApp { secret, confirming_code: code }
    }

    /// Asks for a new set of recovery codes on the Security info page; returns them.
    pub async fn recovery_codes(&self) -> Vec<String> {
        let page = self.submit_from("/account/security", "/account/security/recovery-codes", &[]).await;
        let page = page.text().await.expect("codes page");
        page.split("<li><code>").skip(1).map(|c| c.split('<').next().unwrap_or_default().to_owned()).collect()
    }

    /// Signs out with the account page's form.
    pub async fn sign_out(&self) {
        self.submit_from("/account", "/logout", &[]).await;
    }

    /// Asks the server to authorize `client_id` (code flow, `scope=openid`, `state=s`, no PKCE)
    /// for this browser's session; returns where it redirects.
    pub async fn authorize(&self, client_id: &str, redirect_uri: &str) -> String {
        let response = self
            .http
            .get(format!("{}/oauth2/authorize", self.url))
            .query(&[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("scope", "openid"),
                ("state", "s"),
            ])
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), 303, "authorize answers with a redirect");
        location(&response)
    }
}

/// A response's `Location` header (panics, naming the status, when there is none).
#[must_use]
#[track_caller]
pub fn location(response: &reqwest::Response) -> String {
    match response.headers().get("location") {
        Some(value) => value.to_str().expect("location").to_owned(),
        None => panic!("no redirect: {} {:?}", response.status(), response.headers()),
    }
}

/// An admin API client bound to one server, holding one key: `Authorization: Bearer token`.
///
/// It dereferences to the [`reqwest::Client`] underneath (full URLs) for requests the
/// helpers here do not cover.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    url: String,
}

impl std::ops::Deref for Api {
    type Target = reqwest::Client;

    fn deref(&self) -> &reqwest::Client {
        &self.http
    }
}

impl Api {
    /// A client for the server at `url` with the API key `token`.
    #[must_use]
    pub fn new(url: &str, token: &str) -> Self {
        Self { http: api(token), url: url.to_owned() }
    }

    /// `GET path` (e.g. `/api/v1/users`).
    pub async fn get_path(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.url)).send().await.expect("GET")
    }

    /// The JSON body of `GET path` (whatever its status).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.get_path(path).await.json().await.expect("a JSON body")
    }

    /// `POST path` with `body` as JSON.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.url)).json(body).send().await.expect("POST")
    }

    /// `POST path` with no body.
    pub async fn post_path(&self, path: &str) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.url)).send().await.expect("POST")
    }
}

/// A client with `Authorization: Bearer token` (and a User-Agent naming the tests).
#[must_use]
pub fn api(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    headers.insert(reqwest::header::USER_AGENT, "twofold-tests/1".parse().expect("header"));
    reqwest::Client::builder().default_headers(headers).build().expect("client")
}
