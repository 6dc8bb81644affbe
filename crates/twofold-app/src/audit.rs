//! Verifying and exporting the audit log.

use std::io::Write;

use twofold_core::Timestamp;
use twofold_core::audit::{AuditEvent, BrokenLink, ChainHead, ChainVerifier};

use crate::csv_out::CsvWriter;
use crate::{App, AppError, AppResult};

const PAGE: i64 = 1000;

/// How to write exported events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180 CSV with a header row, for spreadsheets: a cell that would be read as a
    /// formula (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`, so use the
    /// JSON lines form to recompute hashes.
    Csv,
}

/// The result of a verification: intact up to the head, or broken at a link.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// Every event checked out against the head.
    Intact {
        /// Number of events checked.
        events: i64,
        /// The verified head hash.
        head_hash: String,
    },
    /// The first broken link.
    Broken(BrokenLink),
}

impl App {
    /// Walks the whole chain in pages and checks it against the stored head.
    ///
    /// # Errors
    /// Storage failures (a broken chain is an `Ok(Verification::Broken)`).
    pub async fn verify_audit(&self) -> AppResult<Verification> {
        let head = self.shared.store.audit_head().await?;
        let mut verifier = ChainVerifier::default();
        let mut first_break = None;
        self.for_each_audit_event(Timestamp(0), |event| {
            if first_break.is_none() {
                first_break = verifier.push(event).err();
            }
            Ok(())
        })
        .await?;
        if let Some(broken) = first_break {
            return Ok(Verification::Broken(broken));
        }
        Ok(match verifier.finish(&head) {
            Ok(ChainHead { seq, hash }) => Verification::Intact { events: seq, head_hash: hash },
            Err(broken) => Verification::Broken(broken),
        })
    }

    /// Streams events at or after `since` to `out`, page by page; returns how many.
    ///
    /// # Errors
    /// Storage or write failures.
    pub async fn export_audit(&self, since: Timestamp, format: ExportFormat, out: &mut impl Write) -> AppResult<u64> {
        let write_error = |e: &dyn std::fmt::Display| AppError::Internal(format!("cannot write the export: {e}"));
        match format {
            ExportFormat::Jsonl => {
                let count = self
                    .for_each_audit_event(since, |event| {
                        serde_json::to_writer(&mut *out, &export_json(event)).map_err(|e| write_error(&e))?;
                        out.write_all(b"\n").map_err(|e| write_error(&e))
                    })
                    .await?;
                out.flush().map_err(|e| write_error(&e))?;
                Ok(count)
            }
            ExportFormat::Csv => {
                let mut writer = CsvWriter::new(out);
                writer.write_row(CSV_HEADER).map_err(|e| write_error(&e))?;
                let count = self
                    .for_each_audit_event(since, |event| writer.write_row(csv_row(event)).map_err(|e| write_error(&e)))
                    .await?;
                writer.flush().map_err(|e| write_error(&e))?;
                Ok(count)
            }
        }
    }

    /// Calls `emit` for each event at or after `since`, in chain order, a page at a time.
    async fn for_each_audit_event(
        &self,
        since: Timestamp,
        mut emit: impl FnMut(&AuditEvent) -> AppResult<()>,
    ) -> AppResult<u64> {
        let mut count = 0;
        let mut after = 0;
        loop {
            let page = self.shared.store.audit_events(after, since, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in &page {
                emit(event)?;
                count += 1;
            }
        }
        Ok(count)
    }
}

const CSV_HEADER: [&str; 17] = [
    "seq",
    "id",
    "time",
    "actor_kind",
    "actor_id",
    "actor_name",
    "actor_auth",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "ip",
    "user_agent",
    "device_id",
    "prev_hash",
    "hash",
];

fn csv_row(e: &AuditEvent) -> [String; 17] {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        e.seq.to_string(),
        e.id.to_string(),
        e.at.to_rfc3339(),
        e.actor_kind.clone(),
        o(&e.actor_id),
        e.actor_name.clone(),
        e.actor_auth.clone(),
        e.action.clone(),
        e.target_type.clone(),
        o(&e.target_id),
        o(&e.before),
        o(&e.after),
        o(&e.ip),
        o(&e.user_agent),
        o(&e.device_id),
        e.prev_hash.clone(),
        e.hash.clone(),
    ]
}

/// The JSON export form: stored fields plus a readable `time`. `before`, `after` and
/// `actor_auth` stay the exact stored text so the hash can be recomputed from an export.
fn export_json(e: &AuditEvent) -> serde_json::Value {
    let mut value = serde_json::to_value(e).unwrap_or_default();
    value["time"] = serde_json::json!(e.at.to_rfc3339());
    value
}

impl App {
    /// One page of events: `seq > after_seq`, at or after `since`, at most `limit`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn audit_events(&self, after_seq: i64, since: Timestamp, limit: i64) -> AppResult<Vec<AuditEvent>> {
        Ok(self.shared.store.audit_events(after_seq, since, limit).await?)
    }

    /// Events matching `filter`, newest first (the console's audit search).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn search_audit(&self, filter: &twofold_core::store::AuditFilter) -> AppResult<Vec<AuditEvent>> {
        Ok(self.shared.store.search_audit(filter).await?)
    }

    /// The chain head as recorded (count and hash), without walking the chain.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn audit_head(&self) -> AppResult<ChainHead> {
        Ok(self.shared.store.audit_head().await?)
    }
}

impl App {
    /// Links committed audit events into the hash chain (the server runs this in the
    /// background; every read of the log does it first too).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn chain_audit(&self) -> AppResult<u64> {
        Ok(self.shared.store.chain_audit().await?)
    }
}
