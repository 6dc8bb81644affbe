//! Killing the server with SIGKILL in the middle of concurrent writes loses no write it
//! acknowledged, and leaves the audit chain verifiable.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Mutex;
use twofold_testkit::{Env, api};

use crate::BIN;

#[tokio::test]
async fn sigkill_during_concurrent_writes_loses_nothing_acknowledged() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let token = env.admin_token();
        let mut server = env.serve(&[]).await;
        let client = api(&token);
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let base = format!("{}/api/v1", server.url);
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                let (client, base, acknowledged) = (client.clone(), base.clone(), Arc::clone(&acknowledged));
                tokio::spawn(async move {
                    for n in 0..500 {
                        let username = format!("w{writer}-{n}");
                        let response =
                            client.post(format!("{base}/users")).json(&json!({"username": username})).send().await;
                        match response {
                            Ok(r) if r.status() == 201 => acknowledged.lock().await.push(username),
                            _ => break,
                        }
                    }
                })
            })
            .collect();
        // Let the writers get going, then pull the plug.
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            if acknowledged.lock().await.len() >= 40 {
                break;
            }
        }
        let status = server.signal_and_wait("KILL");
        assert!(!status.success(), "{b}: killed");
        for writer in writers {
            writer.await.unwrap();
        }
        let acknowledged = acknowledged.lock().await.clone();
        assert!(acknowledged.len() >= 40 && acknowledged.len() < 4000, "{b}: killed mid-run ({})", acknowledged.len());

        let listed = env.cli(&["user", "list", "--format", "json"]);
        let users: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
        let stored: std::collections::HashSet<_> =
            users.iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect();
        let lost: Vec<_> = acknowledged.iter().filter(|u| !stored.contains(*u)).collect();
        assert!(lost.is_empty(), "{b}: acknowledged but lost: {lost:?}");
        // Every stored user has its audit event, and the chain verifies.
        assert_eq!(
            env.audit_event_count(),
            i64::try_from(stored.len()).unwrap() + 4,
            "{b}: one event per user plus the API key and the first three token-signing keys (RS256, ES256, EdDSA)"
        );
    }
}
