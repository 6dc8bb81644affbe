//! Hardware OATH tokens through the CLI and the verify API, with codes from `oathtool`.

use std::fmt::Write as _;
use std::process::Command;

use serde_json::{Value, json};
use twofold_testkit::{Env, api, stderr, stdout};

use crate::BIN;

/// The HOTP code `oathtool` computes for `secret` at `counter`.
fn hotp(secret: &str, counter: u64) -> String {
    let out = Command::new("oathtool").args(["-b", secret, "-c", &counter.to_string()]).output().expect("oathtool");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// RFC 4648 base32 of `bytes` (a small encoder of the test's own).
fn base32(bytes: &[u8]) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(alphabet[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(alphabet[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

const HOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

#[tokio::test]
async fn hardware_tokens_are_imported_assigned_used_and_resynchronised() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let server = env.serve(&["--demo"]).await;
        let file = env.data_dir.join("tokens.csv");
        std::fs::write(
            &file,
            format!("serial,secret,type,digits,period,username\nTK-1,{HOTP_SECRET},hotp,6,,bob\nTK-2,{TOTP_SECRET},totp,6,30,\n"),
        )
        .unwrap();
        let imported = env.cli(&["token", "import", file.to_str().unwrap()]);
        assert!(
            stdout(&imported).contains("imported 2 token(s), 1 assigned"),
            "{b}: {}{}",
            stdout(&imported),
            stderr(&imported)
        );
        let again = env.cli(&["token", "import", file.to_str().unwrap()]);
        assert!(stderr(&again).contains(":2: serial: 'TK-1' is already known"), "{b}: {}", stderr(&again));

        let gateway = api(&env.admin_token());
        let verify = |user: &'static str, code: String| {
            let (gateway, url) = (gateway.clone(), server.url.clone());
            async move {
                let body: Value = gateway
                    .post(format!("{url}/api/v1/verify"))
                    .json(&json!({"username": user, "code": code}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                body["valid"] == true
            }
        };
        assert!(verify("bob", hotp(HOTP_SECRET, 0)).await, "{b}: counter 0");
        assert!(!verify("bob", hotp(HOTP_SECRET, 0)).await, "{b}: a used counter never works again");
        assert!(verify("bob", hotp(HOTP_SECRET, 5)).await, "{b}: within the look-ahead window");
        assert!(!verify("bob", hotp(HOTP_SECRET, 3)).await, "{b}: behind the counter");
        assert!(!verify("bob", hotp(HOTP_SECRET, 40)).await, "{b}: too far ahead");
        let resync = env.cli(&["token", "resync", "TK-1", &hotp(HOTP_SECRET, 40), &hotp(HOTP_SECRET, 41)]);
        assert!(resync.status.success(), "{b}: {}", stderr(&resync));
        assert!(verify("bob", hotp(HOTP_SECRET, 42)).await, "{b}: after resync");

        assert!(!verify("carol", env.clock.oathtool(TOTP_SECRET, 0)).await, "{b}: unassigned tokens work for nobody");
        assert!(env.cli(&["token", "assign", "TK-2", "carol"]).status.success());
        assert!(verify("carol", env.clock.oathtool(TOTP_SECRET, 0)).await, "{b}: assigned");
        let steal = env.cli(&["token", "assign", "TK-2", "dave"]);
        assert!(stderr(&steal).contains("assigned already"), "{b}");
        assert!(env.cli(&["token", "unassign", "TK-2"]).status.success());
        assert!(!verify("carol", env.clock.oathtool(TOTP_SECRET, 30)).await, "{b}: unassigned stops working at once");

        let listed: Vec<Value> =
            serde_json::from_slice(&env.cli(&["token", "list", "--format", "json"]).stdout).unwrap();
        assert_eq!(listed.len(), 2, "{b}");
        assert!(listed.iter().all(|t| t.get("sealed_secret").is_none()), "{b}: no secrets listed");
        let raw =
            twofold_testkit::fetch_column_bytes(&env.database_url, "SELECT sealed_secret FROM authenticators").await;
        assert!(raw.iter().all(|r| !r.windows(20).any(|w| w == b"12345678901234567890")), "{b}: seeds sealed at rest");
        let log = env.audit_log();
        for action in ["token.import", "token.assign", "token.unassign", "authenticator.resync"] {
            assert!(log.contains(&format!(r#""action":"{action}""#)), "{b}: {action}");
        }
    }
}

#[tokio::test]
async fn a_token_file_with_a_bad_row_is_refused_whole_with_its_line() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let _server = env.serve(&["--demo"]).await;
        let file = env.data_dir.join("tokens.csv");
        std::fs::write(
            &file,
            format!(
                "serial,secret,type,digits,period,username\nOK-1,{HOTP_SECRET},hotp,6,,\nBAD-1,not base32!,hotp,6,,\nBAD-2,{TOTP_SECRET},sms,7,30,nobody\n"
            ),
        )
        .unwrap();
        let out = env.cli(&["token", "import", file.to_str().unwrap()]);
        assert!(!out.status.success(), "{b}");
        let errors = stderr(&out);
        assert!(errors.contains("tokens.csv:3: secret: is not base32"), "{b}: {errors}");
        assert!(
            errors.contains("tokens.csv:4: type: 'sms' is not totp or hotp; digits: '7' is not 6 or 8"),
            "{b}: {errors}"
        );
        let listed: Vec<Value> =
            serde_json::from_slice(&env.cli(&["token", "list", "--format", "json"]).stdout).unwrap();
        assert!(listed.is_empty(), "{b}: nothing imported");
    }
}

#[tokio::test]
async fn ten_thousand_tokens_import_in_one_go() {
    for env in Env::all(BIN).await {
        let _server = env.serve(&[]).await;
        let mut csv = String::from("serial,secret,type,digits,period,username\n");
        for n in 0..10_000u32 {
            let seed: Vec<u8> = (0..20u32).map(|i| (n.wrapping_mul(31).wrapping_add(i * 7) % 251) as u8).collect();
            writeln!(csv, "BULK-{n:05},{},{},6,30,", base32(&seed), if n % 2 == 0 { "totp" } else { "hotp" }).unwrap();
        }
        let file = env.data_dir.join("bulk.csv");
        std::fs::write(&file, csv).unwrap();
        let out = env.cli(&["token", "import", file.to_str().unwrap()]);
        assert!(stdout(&out).contains("imported 10000 token(s)"), "{}: {}{}", env.backend, stdout(&out), stderr(&out));
    }
}

/// `token import` resolves usernames across the whole directory: it used to read only the
/// first 10,000 users, so a token for the 10,001st person (by username) was refused as for
/// an unknown user.
#[tokio::test]
async fn a_token_is_assigned_to_the_ten_thousand_and_first_person() {
    for env in Env::all(BIN).await {
        let b = env.backend;
        let _server = env.serve(&[]).await; // makes the master key token secrets are sealed under
        let files = twofold_testkit::scratch_dir("tokens");
        let people = files.join("people.csv");
        let mut csv = String::from("username\n");
        for i in 0..10_001 {
            writeln!(csv, "person{i:05}").unwrap();
        }
        std::fs::write(&people, csv).unwrap();
        let imported = env.cli(&["user", "import", people.to_str().unwrap()]);
        assert!(imported.status.success(), "{b}: {}", stderr(&imported));
        let tokens = files.join("last.csv");
        std::fs::write(
            &tokens,
            format!("serial,secret,type,digits,period,username\nLAST-1,{TOTP_SECRET},totp,6,30,person10000\n"),
        )
        .unwrap();
        let out = env.cli(&["token", "import", tokens.to_str().unwrap()]);
        assert!(stdout(&out).contains("imported 1 token(s), 1 assigned"), "{b}: {}{}", stdout(&out), stderr(&out));

        // `user show` lists a person's methods (it showed none), never their secrets.
        let shown: Value =
            serde_json::from_slice(&env.cli(&["user", "show", "person10000", "--format", "json"]).stdout).unwrap();
        assert_eq!(shown["methods"].as_array().map(Vec::len), Some(1), "{b}: {shown}");
        assert_eq!(shown["methods"][0]["kind"], "totp", "{b}: {shown}");
        assert_eq!(shown["recovery_codes_left"], 0, "{b}");
        assert!(!shown.to_string().contains(TOTP_SECRET) && shown["methods"][0].get("sealed_secret").is_none(), "{b}");
        let text = stdout(&env.cli(&["user", "show", "person10000"]));
        assert!(text.contains("(totp)") && text.contains("0 unused"), "{b}: {text}");

        // `user list` says when it shows a page of everyone, and pages to the last person.
        let first_page = env.cli(&["user", "list", "--format", "json"]);
        let shown: Value = serde_json::from_slice(&first_page.stdout).unwrap();
        assert_eq!(shown.as_array().map(Vec::len), Some(1000), "{b}");
        assert!(
            stderr(&first_page).contains("showing 1–1000 of 10001; --offset 1000 for the next"),
            "{b}: {}",
            stderr(&first_page)
        );
        let last_page = env.cli(&["user", "list", "--offset", "10000", "--format", "json"]);
        let last: Value = serde_json::from_slice(&last_page.stdout).unwrap();
        assert_eq!(last[0]["username"], "person10000", "{b}: {last}");
        assert!(stderr(&last_page).contains("showing 10001–10001 of 10001"), "{b}: {}", stderr(&last_page));

        // `report gaps` for people: a count and the first names per gap (it printed one
        // line of every name); everyone with --details.
        let gaps = stdout(&env.cli(&["report", "gaps"]));
        assert!(gaps.lines().all(|l| l.len() < 300), "{b}: short lines: {}", &gaps[..gaps.len().min(600)]);
        assert!(gaps.contains("No second factor") && gaps.contains("and 99"), "{b}: {gaps}");
        let everyone = stdout(&env.cli(&["report", "gaps", "--details"]));
        assert!(everyone.contains("person09999"), "{b}: --details names everyone");

        // `audit export | head -1` over those ten thousand events: the reader leaves after a
        // line, and the export ends quietly (it said "internal error: Broken pipe").
        let mut export = env
            .command(&["audit", "export"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(export.stdout.take().unwrap()), &mut first).unwrap();
        assert!(first.starts_with('{'), "{b}: {first}");
        let ended = export.wait_with_output().unwrap();
        assert!(ended.status.success(), "{b}: {}", stderr(&ended));
        assert!(!stderr(&ended).contains("error"), "{b}: {}", stderr(&ended));
    }
}
