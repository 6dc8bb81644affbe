//! Racing the limits (THREATS): hundreds of attempts released at the same instant — codes on
//! one pending session, passwords for one username, verify calls for one user — against the
//! real server. Each attempt claims its slot in the database before it is checked, so only
//! as many are evaluated as the limit allows, however many arrive together; and a gateway's
//! address does not lock out everyone behind it.

use serde_json::{Value, json};
use twofold_testkit::html::hidden;
use twofold_testkit::{Env, api};

use crate::BIN;

/// How many of a burst's answers have each status.
fn tally(statuses: &[u16]) -> (usize, usize, usize) {
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    (count(401), count(429), count(303) + count(200))
}

/// Attack: racing the OTP throttle. With the free attempts used up but one, 300 code
/// guesses held open on one pending session and released together: before the fix every one
/// was checked (299 × 401); now at most the one free slot (and, were the burst to outlast
/// the 2 s delay, the next) is evaluated, the rest are refused unchecked, and the right code
/// sent once the limit is reached is refused too.
#[tokio::test]
async fn a_burst_of_codes_on_one_pending_session_is_cut_off_at_the_limit() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let client = server.browser();
        client.password_step("bob").await;
        let secret = client.enrol_totp().await;
        client.sign_out().await;
        client.password_step("bob").await;
        for guess in ["111111", "222222", "333333", "444444"] {
            assert_eq!(client.second_step("code", guess).await.status(), 401, "{b}");
        }
        // Four failures: the fifth attempt is free, the sixth too (the limit lets 5 + 1 through).
        let page = client.page("/login/mfa").await;
        let csrf = hidden(&page, "csrf");
        let burst: Vec<_> = (0..300)
            .map(|n| {
                let (client, csrf) = (client.clone(), csrf.clone());
                let guess = format!("{:06}", 100_000 + n);
                tokio::spawn(async move {
                    let form = [("code", guess.as_str()), ("csrf", csrf.as_str())];
                    client.post_form("/login/mfa", &form).await.status().as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for attempt in burst {
            statuses.push(attempt.await.unwrap());
        }
        let (checked, refused, _) = tally(&statuses);
        assert!((2..=3).contains(&checked), "{b}: only the free slots are evaluated, got {checked} ({statuses:?})");
        assert_eq!(checked + refused, 300, "{b}: every other attempt refused unchecked");
        let right = client.second_step("code", &env.totp(&secret, 30)).await;
        assert_eq!(right.status(), 429, "{b}: the right code waits too once the limit is reached");
    }
}

/// Attack: racing the password throttle. After throttling has begun, 60 passwords for one
/// username sent at once (59 wrong, the right one among them) were all checked and the right
/// one let in; now at most one slot opens per delay, so nearly all are refused unchecked.
#[tokio::test]
async fn a_burst_of_passwords_for_one_username_is_cut_off_at_the_limit() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let page = server.browser().get_path("/login").await;
        assert!(page.status().is_success());
        let attempt = |password: String| {
            let client = server.browser();
            async move { client.sign_in("carol", &password).await.status().as_u16() }
        };
        for n in 0..5 {
            assert_eq!(attempt(format!("wrong guess {n}")).await, 401, "{b}");
        }
        let burst: Vec<_> = (0..60)
            .map(|n| {
                let password = if n == 30 { "twofold-demo-pass".to_owned() } else { format!("wrong burst {n}") };
                tokio::spawn(attempt(password))
            })
            .collect();
        let mut statuses = Vec::new();
        for response in burst {
            statuses.push(response.await.unwrap());
        }
        let (wrong, refused, admitted) = tally(&statuses);
        assert!(wrong + admitted <= 2, "{b}: at most the free slot (and one more after its delay): {statuses:?}");
        assert!(refused >= 58, "{b}: the rest wait unchecked: {statuses:?}");
    }
}

/// Attack: racing the verify API, and locking out a gateway's users. 100 verify calls for one
/// user at once were all checked; now only the free ones are. And 51 bad codes for made-up
/// users from one gateway used to throttle its address, locking out every user behind it:
/// the limit is per calling client and per user now, so another client (and people signing
/// in from the same address) are unaffected, and a trusted gateway may be given more.
#[tokio::test]
async fn verify_calls_are_limited_per_user_and_per_calling_client() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let config = env.data_dir.join("../verify.toml");
        std::fs::create_dir_all(env.data_dir.join("..")).unwrap();
        std::fs::write(
            &config,
            "[[verify.trusted_callers]]\ncaller = \"api_key:trusted-gateway\"\nfree_failures = 500\n",
        )
        .unwrap();
        let server = env.serve(&["--demo", "--config", config.to_str().unwrap()]).await;
        let url = server.url.clone();
        let client = server.browser();
        client.password_step("bob").await;
        let secret = client.enrol_totp().await;
        let token = |name: &str| {
            let out = env.cli(&["apikey", "create", "--name", name, "--role", "admin", "--format", "json"]);
            assert!(out.status.success());
            serde_json::from_slice::<Value>(&out.stdout).unwrap()["token"].as_str().unwrap().to_owned()
        };
        let (gateway, other, trusted) =
            (api(&token("gateway")), api(&token("other-app")), api(&token("trusted-gateway")));
        let verify = |caller: &reqwest::Client, username: String, code: String| {
            let (caller, url) = (caller.clone(), url.clone());
            async move {
                let body = json!({"username": username, "code": code});
                caller.post(format!("{url}/api/v1/verify")).json(&body).send().await.unwrap().status().as_u16()
            }
        };

        // 100 wrong codes for bob at once: the free six evaluated (200 with valid:false).
        let burst: Vec<_> =
            (0..100).map(|n| tokio::spawn(verify(&gateway, "bob".into(), format!("{:06}", 200_000 + n)))).collect();
        let mut statuses = Vec::new();
        for call in burst {
            statuses.push(call.await.unwrap());
        }
        let checked = statuses.iter().filter(|&&s| s == 200).count();
        assert!((6..=7).contains(&checked), "{b}: only the free attempts are checked: {statuses:?}");
        assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 100 - checked, "{b}");

        // 51 bad codes for made-up users from one gateway: that gateway is delayed ...
        for n in 0..51 {
            verify(&gateway, format!("nobody{n}"), "123456".into()).await;
        }
        assert_eq!(verify(&gateway, "carol".into(), "123456".into()).await, 429, "{b}: this caller is throttled");
        // ... but another client from the same address, and people signing in there, are not.
        assert_eq!(verify(&other, "carol".into(), "123456".into()).await, 200, "{b}: another client is not");
        server.browser().password_step("dave").await;
        // A trusted gateway is allowed more failures than the default.
        for n in 0..60 {
            assert_eq!(verify(&trusted, format!("ghost{n}"), "123456".into()).await, 200, "{b}: trusted caller {n}");
        }
        drop(secret);
    }
}
