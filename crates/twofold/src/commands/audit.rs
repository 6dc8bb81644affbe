//! `twofold audit verify|export`.

use std::process::ExitCode;

use twofold_app::App;
use twofold_app::audit::{ExportFormat, Verification};
use twofold_core::Timestamp;

use crate::cli::{AuditCommand, OutputFormat};

pub async fn run(command: AuditCommand, app: &App, format: Option<OutputFormat>) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify => {
            let result = app.verify_audit().await?;
            if format == Some(OutputFormat::Json) {
                println!("{}", serde_json::to_string_pretty(&result)?);
            }
            match result {
                Verification::Intact { events, head_hash } => {
                    if format != Some(OutputFormat::Json) {
                        println!("audit log intact: {events} events, head {head_hash}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Verification::Broken(broken) => {
                    eprintln!("{broken}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        AuditCommand::Export { since } => {
            let since =
                since.as_deref().map(Timestamp::parse).transpose().map_err(|e| anyhow::anyhow!("--since {e}"))?;
            let export_format = match format {
                None | Some(OutputFormat::Jsonl | OutputFormat::Json) => ExportFormat::Jsonl,
                Some(OutputFormat::Csv) => ExportFormat::Csv,
                Some(OutputFormat::Table) => anyhow::bail!("audit export writes --format jsonl or csv"),
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let count = app.export_audit(since.unwrap_or(Timestamp(0)), export_format, &mut out).await?;
            drop(out);
            eprintln!("exported {count} event(s)");
            Ok(ExitCode::SUCCESS)
        }
    }
}
