//! A three-phase campaign run over simulated time (an injected clock, moved a day at a time)
//! from pilot to full enforcement, on each backend, with reminders and the manager's copies
//! delivered over SMTP to a real server (aiosmtpd), an exception granted by an approver with
//! a one-time code and then expiring, people moving through every compliance state (each
//! move audited), and the coverage matching what happened.

use std::sync::Arc;

use twofold_app::{Actor, App, AppSettings, RequestMeta, SecretKeys};
use twofold_core::Timestamp;
use twofold_core::clock::FixedClock;
use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
use twofold_core::factors::otp::TotpParams;
use twofold_core::identity::NewUser;
use twofold_core::rollout::CampaignStatus;
use twofold_core::store::{AuditStore, FactorStore, SignInStore, UserStore};
use twofold_store::SqlStore;
use twofold_testkit::SmtpSink;
use uuid::Uuid;

const CAMPAIGN: &str = r#"
name = "MFA rollout"
target = { percent = 95, within_days = 90 }

[[phase]]
name = "pilot"
cohort = { groups = ["pilot"] }
starts = "2027-01-04"
deadline = "2027-01-18"
grace_days = 7
enforce_on = "2027-01-18"

[[phase]]
name = "planners"
cohort = { groups = ["planners"] }
starts = "2027-01-25"
deadline = "2027-02-15"
grace_days = 14
enforce_at_percent = 90

[[phase]]
name = "read-only"
cohort = { tiers = ["external"] }
starts = "2027-02-22"
deadline = "2027-03-22"
grace_days = 30
enforce_on = "2027-03-22"
"#;

fn day(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

struct World {
    app: App,
    store: Arc<SqlStore>,
    clock: Arc<FixedClock>,
    keys: SecretKeys,
}

impl World {
    /// A node on `url` at `date` (midnight UTC), mailing through `sink`.
    async fn open(url: &str, sink: &SmtpSink, date: &str) -> Self {
        Self::node(Arc::new(SqlStore::open(url).await.unwrap()), sink, Arc::new(FixedClock::new(day(date))))
    }

    /// A node over `store` on `clock`, mailing through `sink`.
    fn node(store: Arc<SqlStore>, sink: &SmtpSink, clock: Arc<FixedClock>) -> Self {
        Self::node_with(store, sink, clock, twofold_core::rollout::exception::DEFAULT_MAX_DAYS)
    }

    /// As [`Self::node`], letting exceptions run at most `max_days` days.
    fn node_with(store: Arc<SqlStore>, sink: &SmtpSink, clock: Arc<FixedClock>, max_days: u32) -> Self {
        let keys = SecretKeys { seal: [7; 32], recovery: [8; 32] };
        let mailer = twofold_mail::SmtpMailer::new(&sink.url, "Twofold <twofold@localhost>").unwrap();
        let app = App::builder(store.clone(), clock.clone(), AppSettings::default(), Some(keys.clone()))
            .with_mailer(Arc::new(mailer))
            .with_exception_max_days(max_days)
            .build();
        Self { app, store, clock, keys }
    }

    fn set(&self, date: &str) {
        let by = (day(date).millis() - self.clock_now().millis()) / 1000;
        self.clock.advance_seconds(by);
    }

    fn clock_now(&self) -> Timestamp {
        twofold_core::Clock::now(self.clock.as_ref())
    }

    async fn person(&self, name: &str, tier: &str, group: Option<&str>, manager: Option<&str>, roles: &[&str]) -> Uuid {
        let new = NewUser {
            username: name.into(),
            email: Some(format!("{name}@example.com")),
            display_name: Some(name.to_uppercase()),
            tier: Some(tier.into()),
            manager: manager.map(str::to_owned),
            roles: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
            ..NewUser::default()
        };
        let groups = group.map(str::to_owned).into_iter().collect();
        self.app
            .identity()
            .create_user(&Actor::cli("test"), &RequestMeta::default(), new, None, groups)
            .await
            .unwrap()
            .id
    }

    /// Registers an authenticator app (confirmed now); returns its key.
    async fn registers(&self, user: Uuid) -> Vec<u8> {
        let secret = twofold_core::secret::random_bytes::<20>().to_vec();
        let id = Uuid::now_v7();
        let now = self.clock_now();
        let app = Authenticator {
            id,
            user_id: Some(user),
            kind: AuthenticatorKind::Totp,
            name: "Phone".into(),
            serial: None,
            destination: None,
            otp: Some(TotpParams::default()),
            last_used_step: None,
            drift_steps: 0,
            attested: false,
            credential: None,
            sealed_secret: twofold_core::sealed::seal(&self.keys.seal, &Authenticator::seal_context(id), &secret),
            created_at: now,
            confirmed_at: None,
            last_used_at: None,
        };
        let ctx = self.app.audit_context(&Actor::cli("test"), &RequestMeta::default());
        self.store.create_authenticator(&app, &ctx).await.unwrap();
        let step = twofold_core::factors::otp::totp_step(now, 30) - 1;
        assert!(self.store.confirm_authenticator(id, step, &ctx).await.unwrap());
        secret
    }

    async fn states(&self) -> Vec<(String, &'static str)> {
        let mut rows: Vec<_> = self
            .app
            .rollout()
            .compliance_report(None, None)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.username, r.state.as_str()))
            .collect();
        rows.sort();
        rows
    }
}

fn pair(name: &str, state: &'static str) -> (String, &'static str) {
    (name.to_owned(), state)
}

#[tokio::test]
async fn a_three_phase_campaign_runs_from_pilot_to_full_enforcement_over_simulated_time() {
    twofold_mail::install_crypto_provider();
    for db in twofold_testkit::databases().await {
        let b = db.backend;
        let sink = SmtpSink::start();
        let w = World::open(&db.url, &sink, "2027-01-01").await;
        let (actor, meta) = (Actor::cli("test"), RequestMeta::default());
        for group in ["pilot", "planners"] {
            w.app.identity().create_group(&actor, &meta, group, None).await.unwrap();
        }
        w.person("mia", "standard", None, None, &["approver", "user"]).await;
        let ann = w.person("ann", "standard", Some("pilot"), Some("mia"), &["user"]).await;
        let ben = w.person("ben", "standard", Some("pilot"), Some("mia"), &["user"]).await;
        let pat = w.person("pat", "standard", Some("planners"), Some("mia"), &["user"]).await;
        let rob = w.person("rob", "external", None, Some("mia"), &["user"]).await;
        let mia_key = w.registers(w.store.user_by_username("mia").await.unwrap().unwrap().id).await;

        w.app.rollout().apply_campaign(&actor, &meta, CAMPAIGN).await.unwrap();
        w.app.rollout().set_campaign_status(&actor, &meta, "MFA rollout", CampaignStatus::Running).await.unwrap();

        let mut exception = None;
        let mut seen = std::collections::BTreeSet::new();
        let mut date = day("2027-01-01");
        while date <= day("2027-04-30") {
            w.set(&date.to_rfc3339()[..10]);
            match &date.to_rfc3339()[..10] {
                "2027-01-10" => {
                    w.registers(ben).await;
                    // ... and signs in with it.
                    let user = w.store.user_by_id(ben).await.unwrap().unwrap();
                    let event = twofold_core::signin::SignInEvent {
                        id: Uuid::now_v7(),
                        at: w.clock_now(),
                        username: "ben".into(),
                        user_id: Some(ben),
                        outcome: twofold_core::signin::SignInOutcome::Success,
                        reason: None,
                        methods: vec!["pwd".into(), "otp".into()],
                        ip: None,
                        user_agent: None,
                        source: None,
                        context: twofold_core::signin::SignInContext::default(),
                    };
                    let ctx = w.app.audit_context(&Actor::cli(&user.username), &RequestMeta::default());
                    w.store.record_sign_in_attempt(&event, &ctx).await.unwrap();
                }
                "2027-01-26" => {
                    let asked = w
                        .app
                        .rollout()
                        .request_exception(
                            &actor,
                            &meta,
                            "ann",
                            "phone lost; replacement on the way",
                            day("2027-02-05"),
                            Some("ben"),
                        )
                        .await
                        .unwrap();
                    let code = twofold_core::factors::otp::totp(&mia_key, w.clock_now(), TotpParams::default());
                    let approved = w
                        .app
                        .rollout()
                        .decide_exception(&actor, &meta, &asked.id.to_string(), "mia", &code, true)
                        .await;
                    exception = Some(approved.unwrap().id);
                }
                "2027-02-20" => drop(w.registers(pat).await),
                "2027-03-01" => drop(w.registers(rob).await),
                _ => {}
            }
            w.app.rollout().run_campaign_jobs().await.unwrap();
            for (_, state) in w.states().await {
                seen.insert(state);
            }
            let checkpoint = match &date.to_rfc3339()[..10] {
                "2027-01-11" => Some(vec![pair("ann", "pending"), pair("ben", "compliant")]),
                "2027-01-20" => Some(vec![pair("ann", "limited"), pair("ben", "compliant")]),
                "2027-01-25" => Some(vec![pair("ann", "blocked"), pair("ben", "compliant"), pair("pat", "pending")]),
                "2027-01-27" => Some(vec![pair("ann", "exempt"), pair("ben", "compliant"), pair("pat", "pending")]),
                "2027-02-16" => Some(vec![pair("ann", "blocked"), pair("ben", "compliant"), pair("pat", "overdue")]),
                "2027-03-02" => Some(vec![
                    pair("ann", "blocked"),
                    pair("ben", "compliant"),
                    pair("pat", "compliant"),
                    pair("rob", "compliant"),
                ]),
                _ => None,
            };
            if let Some(expected) = checkpoint {
                assert_eq!(w.states().await, expected, "{b}: on {}", &date.to_rfc3339()[..10]);
            }
            date = date.plus_seconds(86_400);
        }
        assert!(exception.is_some());
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            ["blocked", "compliant", "exempt", "limited", "overdue", "pending"],
            "{b}: every state was visited"
        );

        // Each move is an audit event: ann's path through the campaign.
        w.app.chain_audit().await.unwrap();
        let events = w.store.audit_events(0, Timestamp(0), 100_000).await.unwrap();
        let path: Vec<String> = events
            .iter()
            .filter(|e| e.action == "compliance.transition" && e.target_id.as_deref() == Some(&ann.to_string()))
            .map(|e| {
                serde_json::from_str::<serde_json::Value>(e.after.as_deref().unwrap()).unwrap()["state"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(path, ["pending", "limited", "blocked", "exempt", "blocked"], "{b}");
        let expired: Vec<_> = events.iter().filter(|e| e.action == "exception.expire").collect();
        assert_eq!(expired.len(), 1, "{b}: the exception's end recorded once");
        assert_eq!(expired[0].target_id, exception.map(|id| id.to_string()), "{b}");
        assert_eq!(expired[0].at, day("2027-02-05"), "{b}: on its end date");

        // Reminders over SMTP: tightening before the deadline, the manager copied after it.
        let to_ann: Vec<String> = sink.messages().into_iter().filter(|m| m.contains("To: ann@example.com")).collect();
        for subject in [
            "Set up two-step sign-in: 14 days left",
            "Set up two-step sign-in: 7 days left",
            "Set up two-step sign-in: 3 days left",
            "Set up two-step sign-in: 1 days left",
            "Your access is limited until you set up two-step sign-in",
            "Sign-in now leads only to setting up two-step sign-in",
        ] {
            assert!(to_ann.iter().any(|m| m.contains(subject)), "{b}: {subject}: {to_ann:#?}");
        }
        assert!(
            to_ann.iter().any(|m| m.contains("Cc: mia@example.com") && m.contains("Sign-in now leads only")),
            "{b}: the manager is copied once the deadline is past"
        );
        assert!(!to_ann.iter().any(|m| m.contains("Cc:") && m.contains("days left")), "{b}: not before");
        let to_ben: Vec<String> = sink.messages().into_iter().filter(|m| m.contains("To: ben@example.com")).collect();
        assert_eq!(to_ben.len(), 1, "{b}: only the first, before he registered on the 10th: {to_ben:#?}");
        assert!(to_ben[0].contains("14 days left"), "{b}");
        assert_eq!(w.app.rollout().run_campaign_jobs().await.unwrap().reminders, 0, "{b}: each reminder goes out once");

        // Coverage matches what happened: 3 of the 4 people in scope registered.
        let status = w.app.rollout().campaign_status("MFA rollout").await.unwrap();
        assert_eq!((status.in_scope, status.registered), (4, 3), "{b}");
        let rows = w.app.rollout().compliance_report(None, None).await.unwrap();
        let ben_row = rows.iter().find(|r| r.username == "ben").unwrap();
        assert_eq!(ben_row.last_mfa, Some(day("2027-01-10")), "{b}: his last MFA sign-in");
        assert_eq!(ben_row.since, Some(day("2027-01-10")), "{b}: compliant since he registered");
        // ben 6 days after his phase began, rob 7, pat 26: the median is 7.
        assert_eq!(status.median_days_to_enrol, Some(7), "{b}");
        let curve: Vec<(String, u64)> =
            status.curve.iter().map(|s| (s.at.to_rfc3339()[..10].to_owned(), s.registered)).collect();
        assert_eq!(curve.len(), 120, "{b}: one snapshot a day from 2027-01-01 to 2027-04-30");
        assert!(curve.contains(&("2027-01-10".to_owned(), 1)), "{b}");
        assert!(curve.contains(&("2027-03-01".to_owned(), 3)), "{b}");
        let _ = (pat, rob);
    }
}

/// Two nodes (two applications, each with its own connections) run the jobs at the same
/// moment: every transition is recorded once and every reminder mailed once.
#[tokio::test]
async fn two_nodes_running_the_jobs_at_once_record_and_remind_once() {
    twofold_mail::install_crypto_provider();
    for db in twofold_testkit::databases().await {
        let b = db.backend;
        let sink = SmtpSink::start();
        let w = World::open(&db.url, &sink, "2027-01-05").await;
        let (actor, meta) = (Actor::cli("test"), RequestMeta::default());
        w.app.identity().create_group(&actor, &meta, "pilot", None).await.unwrap();
        for i in 0..12 {
            w.person(&format!("p{i}"), "standard", Some("pilot"), None, &["user"]).await;
        }
        w.app
            .rollout()
            .apply_campaign(&actor, &meta, &CAMPAIGN.replace("[\"planners\"]", "[\"pilot\"]"))
            .await
            .unwrap();
        w.app.rollout().set_campaign_status(&actor, &meta, "MFA rollout", CampaignStatus::Running).await.unwrap();
        // The other node: its own connections, the same clock.
        let other = World::node(Arc::new(SqlStore::open(&db.url).await.unwrap()), &sink, w.clock.clone());
        let (a, b_run) = tokio::join!(w.app.rollout().run_campaign_jobs(), other.app.rollout().run_campaign_jobs());
        let (a, b_run) = (a.unwrap(), b_run.unwrap());
        assert_eq!(a.transitions + b_run.transitions, 12, "{b}: {a:?} {b_run:?}");
        assert_eq!(a.reminders + b_run.reminders, 12, "{b}: {a:?} {b_run:?}");
        assert_eq!(sink.messages().len(), 12, "{b}: one reminder each");
    }
}

/// Long exceptions (the maximum configured at 200 days) are put to the covered person's
/// manager every quarter: confirmed with their code, one goes on; unanswered for 14 days, the
/// other ends and its person is held to the campaign again.
#[tokio::test]
async fn long_exceptions_are_confirmed_by_the_manager_every_quarter_or_end() {
    twofold_mail::install_crypto_provider();
    for db in twofold_testkit::databases().await {
        let b = db.backend;
        let sink = SmtpSink::start();
        let store = Arc::new(SqlStore::open(&db.url).await.unwrap());
        let w = World::node_with(store, &sink, Arc::new(FixedClock::new(day("2027-01-01"))), 200);
        let (actor, meta) = (Actor::cli("test"), RequestMeta::default());
        for group in ["pilot", "planners"] {
            w.app.identity().create_group(&actor, &meta, group, None).await.unwrap();
        }
        let mia = w.person("mia", "standard", None, None, &["approver", "user"]).await;
        w.person("erin", "standard", None, None, &["user"]).await;
        w.person("sam", "standard", Some("pilot"), Some("mia"), &["user"]).await;
        w.person("tom", "standard", Some("pilot"), Some("mia"), &["user"]).await;
        let mia_key = w.registers(mia).await;
        w.app.rollout().apply_campaign(&actor, &meta, CAMPAIGN).await.unwrap();
        w.app.rollout().set_campaign_status(&actor, &meta, "MFA rollout", CampaignStatus::Running).await.unwrap();

        w.set("2027-01-05");
        let mut ids = std::collections::HashMap::new();
        for person in ["sam", "tom"] {
            let asked = w
                .app
                .rollout()
                .request_exception(
                    &actor,
                    &meta,
                    person,
                    "lab machine without a camera",
                    day("2027-07-01"),
                    Some("erin"),
                )
                .await
                .unwrap();
            w.clock.advance_seconds(60);
            let code = twofold_core::factors::otp::totp(&mia_key, w.clock_now(), TotpParams::default());
            let approved = w
                .app
                .rollout()
                .decide_exception(&actor, &meta, &asked.id.to_string(), "mia", &code, true)
                .await
                .unwrap();
            ids.insert(person, approved.id);
        }
        let mut date = day("2027-01-06");
        while date <= day("2027-04-30") {
            w.set(&date.to_rfc3339()[..10]);
            if &date.to_rfc3339()[..10] == "2027-04-07" {
                let code = twofold_core::factors::otp::totp(&mia_key, w.clock_now(), TotpParams::default());
                let refused =
                    w.app.rollout().confirm_exception(&actor, &meta, &ids["sam"].to_string(), "erin", &code).await;
                assert!(refused.is_err(), "{b}: only sam's manager confirms");
                let confirmed =
                    w.app.rollout().confirm_exception(&actor, &meta, &ids["sam"].to_string(), "mia", &code).await;
                assert!(confirmed.is_ok(), "{b}: {confirmed:?}");
            }
            w.app.rollout().run_campaign_jobs().await.unwrap();
            let states = w.states().await;
            let tom = states.iter().find(|(name, _)| name == "tom").map(|(_, s)| *s);
            // Approved a minute after midnight on 01-05: asked on 04-06's run, lapsed 14 days on.
            let expected = if date < day("2027-04-20") { "exempt" } else { "blocked" };
            assert_eq!(tom, Some(expected), "{b}: tom on {}", &date.to_rfc3339()[..10]);
            date = date.plus_seconds(86_400);
        }
        assert!(w.states().await.contains(&pair("sam", "exempt")), "{b}: confirmed, it goes on");
        let asked: Vec<String> = sink
            .messages()
            .into_iter()
            .filter(|m| m.contains("To: mia@example.com") && m.contains("Please confirm"))
            .collect();
        assert_eq!(asked.len(), 2, "{b}: one question per exception: {asked:#?}");
        assert!(asked.iter().any(|m| m.contains(&format!("twofold exception confirm {}", ids["tom"]))), "{b}");

        w.app.chain_audit().await.unwrap();
        let events = w.store.audit_events(0, Timestamp(0), 100_000).await.unwrap();
        let of = |action: &str| events.iter().filter(|e| e.action == action).collect::<Vec<_>>();
        assert_eq!(of("exception.attestation_request").len(), 2, "{b}");
        let attested = of("exception.attest");
        assert_eq!((attested.len(), attested[0].actor_name.as_str()), (1, "mia"), "{b}");
        let expired = of("exception.expire");
        assert_eq!(expired.len(), 1, "{b}");
        assert_eq!(
            (expired[0].target_id.clone(), expired[0].at),
            (Some(ids["tom"].to_string()), day("2027-04-20")),
            "{b}"
        );
    }
}
