//! Two `twofold serve` nodes on one database: a session made on one is honoured by the
//! other, and revoked everywhere at once. On PostgreSQL this is the scale-out set-up;
//! on SQLite it shows that no session state lives in a node's memory either way.

use twofold_testkit::Env;

use crate::BIN;

#[tokio::test]
async fn a_session_started_on_one_node_works_on_the_other() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let node_a = env.serve(&["--demo"]).await;
        let node_b = env.serve(&[]).await;
        assert_ne!(node_a.url, node_b.url);

        let client = node_a.browser();
        let signed_in = client.sign_in("carol", "twofold-demo-pass").await;
        assert_eq!(signed_in.status(), 303, "{b}");
        let session = signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("twofold_session="))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned();

        // The cookie is for localhost on another port: send it to node B by hand.
        let on_b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let account = on_b
            .get(format!("{}/account", node_b.url))
            .header("cookie", format!("twofold_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(account.status(), 200, "{b}: node B honours node A's session");
        assert!(account.text().await.unwrap().contains("Carol Chen"));

        assert!(env.cli(&["user", "revoke-sessions", "carol"]).status.success());
        let revoked = on_b
            .get(format!("{}/account", node_b.url))
            .header("cookie", format!("twofold_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 303, "{b}: revocation reaches every node");
    }
}
