//! Bulk import of users from CSV, all or nothing unless told to skip invalid rows.
//!
//! Columns (header row required, any order): `username` (required), `email`,
//! `display_name`, `phone`, `department`, `manager`, `tier`, `roles` and `groups`
//! (both `;`-separated). Imported users have no password yet.

use super::Identities;
use std::collections::HashSet;
use std::io::Read;

use twofold_core::identity::{NewUser, User};
use twofold_core::store::UserRecord;
use uuid::Uuid;

use crate::{Actor, AppResult, RequestMeta};

const COLUMNS: &[&str] =
    &["username", "email", "display_name", "phone", "department", "manager", "tier", "roles", "groups"];

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// Why, naming the field.
    pub message: String,
}

/// What an import did or would do.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// Usernames created.
    pub created: Vec<String>,
    /// Rows refused.
    pub errors: Vec<RowError>,
    /// False when errors stopped the whole file.
    pub applied: bool,
}

struct ParsedRow {
    line: u64,
    user: User,
    groups: Vec<String>,
}

fn list(value: Option<&str>) -> Vec<String> {
    value.unwrap_or("").split(';').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect()
}

impl Identities {
    /// Imports users from CSV. Without `skip_invalid`, any bad row means nothing is applied;
    /// with it, the good rows are applied and the bad ones reported. `progress` hears of
    /// every row checked.
    ///
    /// # Errors
    /// Only failures of the store; row problems are in the report.
    pub async fn import_users(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        csv: impl Read,
        skip_invalid: bool,
        progress: &dyn crate::progress::Progress,
    ) -> AppResult<ImportReport> {
        let mut report = ImportReport::default();
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(csv);
        let headers = match reader.headers() {
            Ok(h) => h.iter().map(str::to_lowercase).collect::<Vec<_>>(),
            Err(e) => {
                report.errors.push(RowError { line: 1, message: format!("cannot read the header row: {e}") });
                return Ok(report);
            }
        };
        let unknown: Vec<_> = headers.iter().filter(|h| !COLUMNS.contains(&h.as_str())).cloned().collect();
        if !unknown.is_empty() || !headers.iter().any(|h| h == "username") {
            let message = if unknown.is_empty() {
                "the header has no 'username' column".to_owned()
            } else {
                format!("unknown column(s) {}; expected some of: {}", unknown.join(", "), COLUMNS.join(", "))
            };
            report.errors.push(RowError { line: 1, message });
            return Ok(report);
        }
        let column = |record: &csv::StringRecord, name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };

        let existing_groups: HashSet<String> =
            self.store.list_groups().await?.into_iter().map(|g| g.group.name).collect();
        let now = self.now();
        let mut rows: Vec<ParsedRow> = Vec::new();
        let mut seen = HashSet::new();
        for (index, record) in reader.records().enumerate() {
            progress.step("checking rows", index as u64, None);
            let line = record.as_ref().ok().and_then(|r| r.position()).map_or(index as u64 + 2, csv::Position::line);
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    report.errors.push(RowError { line, message: format!("cannot read the row: {e}") });
                    continue;
                }
            };
            let new_user = NewUser {
                username: column(&record, "username").unwrap_or_default(),
                email: column(&record, "email"),
                display_name: column(&record, "display_name"),
                phone: column(&record, "phone"),
                department: column(&record, "department"),
                manager: column(&record, "manager"),
                tier: column(&record, "tier"),
                roles: column(&record, "roles").map(|r| list(Some(&r))),
            };
            let groups = list(column(&record, "groups").as_deref());
            let mut problems: Vec<String> = Vec::new();
            let user = match new_user.validate(Uuid::now_v7(), now) {
                Ok(user) => Some(user),
                Err(errors) => {
                    problems.extend(errors.0.into_iter().map(|e| format!("{}: {}", e.field, e.message)));
                    None
                }
            };
            for group in groups.iter().filter(|g| !existing_groups.contains(*g)) {
                problems.push(format!("groups: no group named '{group}'"));
            }
            if let Some(user) = &user {
                if !seen.insert(user.username.clone()) {
                    problems.push(format!("username: '{}' appears earlier in the file", user.username));
                } else if self.store.user_by_username(&user.username).await?.is_some() {
                    problems.push(format!("username: '{}' is already taken", user.username));
                }
            }
            match user {
                Some(user) if problems.is_empty() => rows.push(ParsedRow { line, user, groups }),
                _ => report.errors.push(RowError { line, message: problems.join("; ") }),
            }
        }
        // A manager must exist already or be created by this file.
        let in_file: HashSet<String> = rows.iter().map(|r| r.user.username.clone()).collect();
        let mut valid = Vec::new();
        for row in rows {
            if let Some(manager) = row.user.manager.as_deref()
                && !in_file.contains(manager)
                && self.store.user_by_username(manager).await?.is_none()
            {
                report.errors.push(RowError { line: row.line, message: format!("manager: no user named '{manager}'") });
                continue;
            }
            valid.push(row);
        }
        report.errors.sort_by_key(|e| e.line);
        if (!report.errors.is_empty() && !skip_invalid) || valid.is_empty() {
            return Ok(report);
        }
        progress.step("writing users", 0, Some(valid.len() as u64));
        let records: Vec<UserRecord> =
            valid.into_iter().map(|r| UserRecord { user: r.user, password_hash: None, groups: r.groups }).collect();
        self.store.create_users(&records, &self.audit_context(actor, meta)).await?;
        report.created = records.into_iter().map(|r| r.user.username).collect();
        report.applied = true;
        Ok(report)
    }
}
