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

/// What a failed verb prints after `error: `: each cause in the chain, outermost first (as
/// `{:#}` would), with a use case's refusal worded here for whoever runs the CLI.
///
/// A cause whose words its outer error already says (`invalid input: redirect_uri: ...`
/// wrapping `redirect_uri: ...`) is not said again.
pub fn error_message(error: &anyhow::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = match cause.downcast_ref::<twofold_app::AppError>() {
            Some(twofold_app::AppError::Refused(refusal)) => refusal_words(refusal),
            _ => cause.to_string(),
        };
        if causes.last().is_some_and(|outer| outer.contains(&text)) {
            continue;
        }
        causes.push(text);
    }
    causes.join(": ")
}

/// A refusal in the CLI's words: to an administrator acting on someone's behalf.
fn refusal_words(refusal: &twofold_app::Refusal) -> String {
    use twofold_app::Refusal;
    match refusal {
        Refusal::MethodAlreadySetUp => "this method is already set up".into(),
        Refusal::EnrolmentExpired => {
            "this set-up waited too long and has expired; start again from Security info".into()
        }
        Refusal::LastMethod(reason) | Refusal::MayNotDecide(reason) => (*reason).to_owned(),
        Refusal::Fallback(reason) => reason.to_string(),
        Refusal::NoEmailAddress => "the account has no email address; add one first".into(),
        Refusal::TooManyPendingSetUps => "email and SMS set-ups are already waiting for their code".into(),
        Refusal::SignInBlocked { rules } => format!("the access policy does not allow this sign-in ({rules})"),
        Refusal::MissingScope { scope } => format!("the token does not carry the scope {scope}"),
        Refusal::NoPhaseToAdvance => "every phase that has started enforces already".into(),
        Refusal::AmbiguousExceptionId => "that id prefix names several exceptions; give more of it".into(),
        Refusal::DecidedMeanwhile => "this exception was decided meanwhile".into(),
        Refusal::NotTheirManager { username } => format!("only {username}'s manager confirms their exceptions"),
        Refusal::NoConfirmationAsked => "no confirmation of this exception is being asked".into(),
        Refusal::AlreadyEnded => "this exception was rejected or revoked already".into(),
        Refusal::FirstMethodNeedsProof { email_code, network } => {
            let mut ways = vec!["a temporary access pass"];
            if *email_code {
                ways.insert(0, "a code emailed to the address on file");
            }
            if *network {
                ways.insert(0, "a named network");
            }
            format!("a first sign-in method needs more than the password: {}", ways.join(", or "))
        }
        Refusal::OutOfScope(reason) => reason.to_string(),
        Refusal::Case(reason) => reason.to_string(),
        Refusal::Emergency(reason) => reason.to_string(),
        Refusal::HrSystem(reason) => reason.to_string(),
        Refusal::Approval(reason) => reason.to_string(),
        Refusal::NoApprovalNeeded => "no approval rule covers this request".into(),
        Refusal::NeedsConfidentialClient => "only a confidential app raises approval requests".into(),
        Refusal::TooManyPendingApprovals { limit } => format!("{limit} requests are waiting for approval already"),
        Refusal::ApprovalChangedMeanwhile => "someone else decided on this request meanwhile".into(),
        Refusal::OperatorStepUp { minutes } => format!(
            "working cases needs your own passkey or security key, proved within the last {minutes} minutes: sign in again with it"
        ),
        Refusal::CaseChangedMeanwhile => "someone else changed this case meanwhile; look at it again and retry".into(),
        Refusal::ChannelUnavailable(why) => (*why).to_owned(),
    }
}

/// A writer that remembers whether its reader went away (`twofold audit export | head`), so
/// the verb can end quietly instead of reporting the closed pipe as an error.
pub struct PipeAware<W> {
    inner: W,
    closed: bool,
}

impl<W: std::io::Write> PipeAware<W> {
    /// Writes to `inner`.
    pub const fn new(inner: W) -> Self {
        Self { inner, closed: false }
    }

    /// Whether a write failed because the reader closed the pipe.
    pub const fn reader_left(&self) -> bool {
        self.closed
    }

    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        }
        result
    }
}

impl<W: std::io::Write> std::io::Write for PipeAware<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_says_each_thing_once() {
        let invalid = twofold_core::ValidationErrors::one("redirect_uri", "'ftp://x' must be https");
        let error = anyhow::Error::new(twofold_app::AppError::Invalid(invalid));
        assert_eq!(error_message(&error), "invalid input: redirect_uri: 'ftp://x' must be https");
        let wrapped = anyhow::Error::new(std::io::Error::other("disk full")).context("cannot write the export");
        assert_eq!(error_message(&wrapped), "cannot write the export: disk full");
    }
}
