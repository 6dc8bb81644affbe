//! `twofold audit verify|export`.

use std::process::ExitCode;

use twofold_app::App;
use twofold_app::audit::{ExportFormat, Verification};
use twofold_core::Timestamp;

use crate::cli::{AuditCommand, OutputFormat};
use crate::output::PipeAware;

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
            let mut out = std::io::BufWriter::new(PipeAware::new(std::io::stdout().lock()));
            let exported = app.export_audit(since.unwrap_or(Timestamp(0)), export_format, &mut out).await;
            // A reader that stopped early (`| head`) took what it wanted: end quietly.
            let reader_left = out.get_ref().reader_left();
            let count = match exported {
                Err(_) if reader_left => return Ok(ExitCode::SUCCESS),
                other => other?,
            };
            drop(out);
            eprintln!("exported {count} event(s)");
            Ok(ExitCode::SUCCESS)
        }
    }
}
