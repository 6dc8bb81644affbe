//! The store contract: campaigns and their snapshots.

use super::*;

#[tokio::test]
async fn campaigns_keep_their_file_status_and_one_snapshot_a_day() {
    use twofold_core::rollout::CampaignStatus;
    use twofold_core::rollout::progress::Snapshot;
    for (backend, store) in stores().await {
        store.put_campaign("mfa", "first", Timestamp(1), &ctx(1)).await.unwrap();
        assert!(store.set_campaign_status("mfa", CampaignStatus::Running, Timestamp(2), &ctx(2)).await.unwrap());
        store.put_campaign("mfa", "second", Timestamp(3), &ctx(3)).await.unwrap();
        let all = store.campaigns().await.unwrap();
        assert_eq!(all.len(), 1, "{backend}");
        assert_eq!(
            (all[0].source.as_str(), all[0].status),
            ("second", CampaignStatus::Running),
            "{backend}: status kept"
        );
        assert!(!store.set_campaign_status("nope", CampaignStatus::Paused, Timestamp(4), &ctx(4)).await.unwrap());
        let day = 86_400_000;
        for (at, registered) in [(day + 5, 1), (day + 9, 2), (2 * day + 1, 3)] {
            let snapshot = Snapshot { at: Timestamp(at), in_scope: 10, registered };
            store.put_campaign_snapshot("mfa", &snapshot).await.unwrap();
        }
        let curve: Vec<(i64, u64)> =
            store.campaign_snapshots("mfa").await.unwrap().iter().map(|s| (s.at.millis(), s.registered)).collect();
        assert_eq!(curve, [(day, 2), (2 * day, 3)], "{backend}: the day's latest counts");
        verify_chain(&store).await.unwrap();
    }
}
