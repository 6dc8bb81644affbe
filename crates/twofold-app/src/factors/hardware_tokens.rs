//! Hardware OATH tokens: import from the vendor's CSV, assign and unassign, resynchronise.

use super::Factors;
use std::collections::{HashMap, HashSet};
use std::io::Read;

use twofold_core::factors::authenticator::{Authenticator, AuthenticatorKind};
use twofold_core::factors::hardware_tokens::{COLUMNS, parse_row};
use twofold_core::identity::normalize_username;
use twofold_core::sealed;
use uuid::Uuid;

use crate::identity::import::RowError;
use crate::{Actor, AppError, AppResult, RequestMeta};

/// What a token import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TokenImportReport {
    /// How many tokens were stored.
    pub imported: usize,
    /// How many were assigned to a user on the way.
    pub assigned: usize,
    /// Refused rows: any refuses the whole file.
    pub errors: Vec<RowError>,
}

impl Factors {
    /// Imports tokens from CSV (`serial,secret,type,digits,period,username`). A file with any
    /// bad row is refused whole, with each bad row's line; nothing is stored.
    ///
    /// # Errors
    /// Storage failures and a missing master key; row problems are in the report.
    pub async fn import_tokens(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        csv: impl Read,
        progress: &dyn crate::progress::Progress,
    ) -> AppResult<TokenImportReport> {
        let mut report = TokenImportReport::default();
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(csv);
        let header_ok = reader
            .headers()
            .map(|h| h.iter().map(|c| c.trim().to_lowercase()).collect::<Vec<_>>() == COLUMNS)
            .unwrap_or(false);
        if !header_ok {
            report.errors.push(RowError { line: 1, message: format!("the header must be: {}", COLUMNS.join(",")) });
            return Ok(report);
        }
        let seal_key = self.keys()?.seal;
        let users: HashMap<String, Uuid> =
            self.identity.all_users().await?.into_iter().map(|u| (u.username, u.id)).collect();
        let known: HashSet<String> = self.store.tokens().await?.into_iter().filter_map(|t| t.serial).collect();
        let now = self.now();
        let mut seen = HashSet::new();
        let mut tokens = Vec::new();
        for (index, record) in reader.records().enumerate() {
            progress.step("checking tokens", index as u64, None);
            let line = record.as_ref().ok().and_then(|r| r.position()).map_or(index as u64 + 2, csv::Position::line);
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    report.errors.push(RowError { line, message: format!("cannot read the row: {e}") });
                    continue;
                }
            };
            let fields: Vec<&str> = record.iter().collect();
            let row = match parse_row(&fields) {
                Ok(row) => row,
                Err(problems) => {
                    report.errors.push(RowError { line, message: problems.join("; ") });
                    continue;
                }
            };
            let mut problems = Vec::new();
            if known.contains(&row.serial) || !seen.insert(row.serial.clone()) {
                problems.push(format!("serial: '{}' is already known", row.serial));
            }
            let user_id = match row.username.as_deref().map(normalize_username) {
                Some(name) => match users.get(&name) {
                    Some(id) => Some(*id),
                    None => {
                        problems.push(format!("username: no user named '{name}'"));
                        None
                    }
                },
                None => None,
            };
            if !problems.is_empty() {
                report.errors.push(RowError { line, message: problems.join("; ") });
                continue;
            }
            let id = Uuid::now_v7();
            let kind = if row.time_based { AuthenticatorKind::Totp } else { AuthenticatorKind::Hotp };
            tokens.push(Authenticator {
                id,
                user_id,
                kind,
                name: format!("Hardware token {}", row.serial),
                sealed_secret: sealed::seal(&seal_key, &Authenticator::seal_context(id), &row.secret),
                serial: Some(row.serial),
                destination: None,
                attested: false,
                credential: None,
                otp: Some(row.params),
                last_used_step: None,
                drift_steps: 0,
                created_at: now,
                confirmed_at: user_id.map(|_| now),
                last_used_at: None,
            });
        }
        if !report.errors.is_empty() || tokens.is_empty() {
            return Ok(report);
        }
        self.store.import_tokens(&tokens, &self.audit_context(actor, meta)).await?;
        report.imported = tokens.len();
        report.assigned = tokens.iter().filter(|t| t.user_id.is_some()).count();
        Ok(report)
    }

    /// Every hardware token, by serial.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn tokens(&self) -> AppResult<Vec<Authenticator>> {
        Ok(self.store.tokens().await?)
    }

    /// Gives a free token to a user; it works for them at once.
    ///
    /// # Errors
    /// An unknown token or user, or a token assigned already.
    pub async fn assign_token(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        serial: &str,
        user: &str,
    ) -> AppResult<Authenticator> {
        let user = self.identity.find_user(user).await?;
        Ok(self.store.assign_token(serial, Some(user.id), &self.audit_context(actor, meta)).await?)
    }

    /// Takes a token back; it stops working for its user at once.
    ///
    /// # Errors
    /// An unknown or unassigned token.
    pub async fn unassign_token(&self, actor: &Actor, meta: &RequestMeta, serial: &str) -> AppResult<Authenticator> {
        Ok(self.store.assign_token(serial, None, &self.audit_context(actor, meta)).await?)
    }

    /// Resynchronises a drifting token from two consecutive codes: HOTP moves its counter to
    /// the second code's; TOTP remembers the clock offset. Neither code can be used again.
    ///
    /// # Errors
    /// An unknown token, or codes that do not match consecutive positions nearby.
    pub async fn resync_token(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        serial: &str,
        first: &str,
        second: &str,
    ) -> AppResult<()> {
        let token = self
            .store
            .tokens()
            .await?
            .into_iter()
            .find(|t| t.serial.as_deref() == Some(serial))
            .ok_or(AppError::NotFound("token"))?;
        let (last_used, drift) = self.resync_position(&token, first, second)?;
        Ok(self.store.set_otp_position(token.id, last_used, drift, &self.audit_context(actor, meta)).await?)
    }
}
