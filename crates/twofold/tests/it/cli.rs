//! The admin CLI against the same database the server uses.

use serde_json::Value;
use twofold_testkit::{Env, stderr, stdout};

use crate::BIN;

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[tokio::test]
async fn users_and_groups_are_managed_from_the_cli() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        assert!(env.cli(&["group", "add", "planners", "--description", "Planning"]).status.success(), "{b}");
        let added = env.cli_with_stdin(
            &[
                "user",
                "add",
                "Heidi",
                "--email",
                "heidi@example.com",
                "--tier",
                "privileged",
                "--role",
                "admin",
                "--group",
                "planners",
                "--password-stdin",
                "--format",
                "json",
            ],
            "a sufficiently long passphrase\n",
        );
        let user = json(&added);
        assert_eq!(user["username"], "heidi", "{b}");
        let table = stdout(&env.cli(&["user", "list"]));
        assert!(table.starts_with("USERNAME") && table.contains("heidi"), "{b}: {table}");
        let shown = json(&env.cli(&["user", "show", "heidi", "--format", "json"]));
        assert_eq!(shown["groups"][0], "planners");
        let updated =
            json(&env.cli(&["user", "update", "heidi", "--department", "Ops", "--email", "", "--format", "json"]));
        assert_eq!((updated["department"].as_str(), updated["email"].is_null()), (Some("Ops"), true), "{b}");
        let members = json(&env.cli(&["group", "members", "planners", "--format", "json"]));
        assert_eq!(members[0]["username"], "heidi");
        let disabled = json(&env.cli(&["user", "disable", "heidi", "--format", "json"]));
        assert_eq!(disabled["status"], "suspended");

        let weak = env.cli_with_stdin(&["user", "add", "ivan", "--password-stdin"], "password1\n");
        assert!(!weak.status.success(), "{b}");
        assert!(stderr(&weak).contains("too common"), "{b}: {}", stderr(&weak));
        assert!(!stderr(&weak).contains("password1"), "{b}: the password is never echoed");
        let unknown = env.cli(&["user", "show", "nobody"]);
        assert_eq!(stderr(&unknown).trim(), "error: user not found", "{b}");

        let events = env.audit_log();
        let create = events
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|e| e["action"] == "user.create")
            .unwrap();
        assert_eq!(create["actor_kind"], "cli", "{b}");
        assert_eq!(create["user_agent"].as_str().map(|ua| ua.starts_with("twofold-cli/")), Some(true));
        assert!(!events.contains("argon2"), "{b}: no password hash in the audit log");
    }
}

#[tokio::test]
async fn a_csv_with_a_bad_row_is_refused_whole_unless_told_to_skip() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        assert!(env.cli(&["group", "add", "finance"]).status.success());
        let dir = env.data_dir.parent().unwrap().to_owned();
        let csv = dir.join("people.csv");
        std::fs::write(
            &csv,
            "username,email,department,tier,roles,groups,manager\n\
             judy,judy@example.com,Finance,standard,user,finance,\n\
             ken,not-an-email,Finance,gold,user,finance,\n\
             leo,leo@example.com,Finance,standard,user;approver,nosuchgroup,judy\n\
             mia,mia@example.com,Finance,external,user,,judy\n",
        )
        .unwrap();
        let before = env.audit_event_count();
        let refused = env.cli(&["user", "import", csv.to_str().unwrap()]);
        assert!(!refused.status.success(), "{b}");
        let errors = stderr(&refused);
        assert!(
            errors.contains("people.csv:3: email: 'not-an-email' is not an email address; tier: 'gold'"),
            "{b}: {errors}"
        );
        assert!(errors.contains("people.csv:4: groups: no group named 'nosuchgroup'"), "{b}: {errors}");
        assert!(errors.contains("nothing imported"), "{b}");
        assert_eq!(env.audit_event_count(), before, "{b}: nothing applied");
        assert!(!env.cli(&["user", "show", "judy"]).status.success(), "{b}");

        let partial = env.cli(&["user", "import", csv.to_str().unwrap(), "--skip-invalid", "--format", "json"]);
        let report = json(&partial);
        assert_eq!(report["created"], serde_json::json!(["judy", "mia"]), "{b}");
        let mia = json(&env.cli(&["user", "show", "mia", "--format", "json"]));
        assert_eq!((mia["manager"].as_str(), mia["tier"].as_str()), (Some("judy"), Some("external")));

        let unknown_column = dir.join("bad-header.csv");
        std::fs::write(&unknown_column, "username,favourite_colour\nnora,blue\n").unwrap();
        let out = env.cli(&["user", "import", unknown_column.to_str().unwrap()]);
        assert!(stderr(&out).contains(":1: unknown column(s) favourite_colour"), "{b}: {}", stderr(&out));
    }
}

/// A long import shows how far it got on a terminal, and nothing when its output is piped.
#[tokio::test]
async fn a_long_import_shows_progress_on_a_terminal_and_stays_quiet_when_piped() {
    let env = Env::sqlite(BIN);
    let csv = env.path("many.csv");
    let rows: String = (0..300).map(|i| format!("person{i:04},person{i:04}@example.com\n")).collect();
    std::fs::write(&csv, format!("username,email\n{rows}")).unwrap();
    let shown = env.cli_on_terminal(&["user", "import", csv.to_str().unwrap()]);
    assert!(shown.contains("checking rows: 0") && shown.contains("\x1b[K"), "drawn on the terminal: {shown:?}");
    assert!(shown.contains("imported 300 user(s)"), "{shown:?}");
    let last = shown.rsplit('\r').next().unwrap_or_default();
    assert!(!last.contains("checking rows"), "the progress line is wiped before the result: {shown:?}");

    let more = env.path("more.csv");
    std::fs::write(&more, "username\nzed\n").unwrap();
    let piped = env.cli(&["user", "import", more.to_str().unwrap()]);
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert!(!stderr(&piped).contains("checking rows") && !stderr(&piped).contains('\r'), "{}", stderr(&piped));
}

#[tokio::test]
async fn audit_verify_finds_the_first_broken_link_and_export_streams_events() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        for name in ["one", "two", "three", "four"] {
            assert!(env.cli(&["group", "add", name]).status.success());
        }
        let ok = env.cli(&["audit", "verify"]);
        assert!(ok.status.success() && stdout(&ok).contains("intact: 4 events"), "{b}: {}", stdout(&ok));

        let csv = stdout(&env.cli(&["audit", "export", "--format", "csv"]));
        assert!(csv.starts_with("seq,id,time,actor_kind"), "{b}");
        assert_eq!(csv.lines().count(), 5, "{b}: header and four events");
        let future = env.cli(&["audit", "export", "--since", "2999-01-01"]);
        assert_eq!(stdout(&future), "", "{b}");
        let bad_since = env.cli(&["audit", "export", "--since", "last tuesday"]);
        assert!(!bad_since.status.success() && stderr(&bad_since).contains("--since"), "{b}");

        twofold_testkit::execute(&env.database_url, "UPDATE audit_events SET target_id = 'x' WHERE seq = 2").await;
        let edited = env.cli(&["audit", "verify"]);
        assert_eq!(edited.status.code(), Some(2), "{b}");
        assert!(stderr(&edited).contains("broken at event 2"), "{b}: {}", stderr(&edited));

        twofold_testkit::execute(&env.database_url, "DELETE FROM audit_events WHERE seq = 2").await;
        let deleted = env.cli(&["audit", "verify"]);
        assert_eq!(deleted.status.code(), Some(2), "{b}");
        assert!(stderr(&deleted).contains("event 2 is missing"), "{b}: {}", stderr(&deleted));

        twofold_testkit::execute(&env.database_url, "UPDATE audit_events SET seq = 2 WHERE seq = 3").await;
        let reordered = env.cli(&["audit", "verify"]);
        assert_eq!(reordered.status.code(), Some(2), "{b}");
        assert!(stderr(&reordered).contains("broken at event 2"), "{b}: {}", stderr(&reordered));
    }
}

#[tokio::test]
async fn migrate_reports_the_schema_version() {
    let env = Env::sqlite(BIN);
    let first = stdout(&env.cli(&["migrate"]));
    assert!(first.starts_with("applied migrations [1, 2"), "{first}");
    let version = first.trim().rsplit(' ').next().unwrap().to_owned();
    let second = stdout(&env.cli(&["migrate"]));
    assert_eq!(second.trim(), format!("schema is up to date (version {version})"));
}

/// `apikey create --role` names, in its error, only the roles it accepts (it used to list
/// `approver` and `user` as valid and then refuse them); a mistake is said once.
#[tokio::test]
async fn an_api_key_role_error_names_only_the_roles_a_key_may_have() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        for role in ["approver", "user", "superuser"] {
            let out = env.cli(&["apikey", "create", "--name", "ci", "--role", role]);
            assert!(!out.status.success(), "{b}: {role}");
            let error = stderr(&out);
            assert!(error.contains("may have: admin, helpdesk, auditor"), "{b}: {role}: {error}");
            assert!(!error.contains("approver,") && !error.contains(", user"), "{b}: {role}: {error}");
        }
        let out = env.cli(&["apikey", "create", "--name", "ci", "--role", "auditor"]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));

        let repeated = env.cli(&["client", "add", "shop", "--redirect-uri", "ftp://shop.example/cb"]);
        let error = stderr(&repeated);
        assert!(!repeated.status.success(), "{b}");
        assert_eq!(error.matches("redirect_uri").count(), 1, "{b}: said once: {error}");
    }
}
