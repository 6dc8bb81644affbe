//! Progress of long work on the terminal: one line on standard error, redrawn at most five
//! times a second, wiped when the work ends. Nothing when standard error is not a terminal
//! (piped, redirected, CI), so scripts see only the result.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use twofold_app::progress::Progress;

/// The least time between two redraws.
const REDRAW: Duration = Duration::from_millis(200);

/// Draws progress on standard error when it is a terminal.
pub struct Terminal {
    enabled: bool,
    last: Mutex<Option<Instant>>,
}

impl Terminal {
    /// Progress for this process's standard error (off unless it is a terminal, and with
    /// `TERM=dumb`).
    pub fn new() -> Self {
        let enabled = std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Self { enabled, last: Mutex::new(None) }
    }
}

impl Progress for Terminal {
    fn step(&self, stage: &'static str, done: u64, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let Ok(mut last) = self.last.lock() else { return };
        if last.is_some_and(|at| at.elapsed() < REDRAW) {
            return;
        }
        *last = Some(Instant::now());
        let line = match total {
            Some(total) if total > 0 => format!("{stage}: {done} of {total} ({}%)", done * 100 / total),
            _ => format!("{stage}: {done}"),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
    }
}

impl Drop for Terminal {
    /// Wipes the progress line, so the result prints on a clean one.
    fn drop(&mut self) {
        if self.enabled && self.last.get_mut().is_ok_and(|l| l.is_some()) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}
