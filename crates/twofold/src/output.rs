//! Human tables, JSON and CSV for the admin verbs.

use serde::Serialize;
use twofold_app::csv_out::CsvWriter;

use crate::cli::OutputFormat;

/// Prints `value` as JSON, or `rows` under `headers` as an aligned table or as CSV.
pub fn print<T: Serialize>(
    format: OutputFormat,
    value: &T,
    headers: &[&str],
    rows: Vec<Vec<String>>,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(value)?),
        OutputFormat::Table => print_table(headers, &rows),
        OutputFormat::Csv => {
            // The one CSV writer: cells a spreadsheet would run as formulas are neutralised.
            let mut out = CsvWriter::new(std::io::stdout().lock());
            out.write_row(headers)?;
            for row in &rows {
                out.write_row(row)?;
            }
            out.flush()?;
        }
        OutputFormat::Jsonl => anyhow::bail!("--format jsonl applies only to `audit export`; use table, json or csv"),
    }
    Ok(())
}

fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// `Some` text or a dash.
pub fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}
