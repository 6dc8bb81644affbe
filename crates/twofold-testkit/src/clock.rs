//! The time the binary under test runs on: the system time plus an offset the test moves.
//!
//! A debug build of `twofold` given `TWOFOLD_TEST_CLOCK_FILE=FILE` adds the whole number of
//! seconds in FILE to the system time at every reading of its clock (release builds ignore
//! the variable; see the binary's `clock.rs`). Every server and admin verb of one [`Env`]
//! shares one file, so [`TestClock::advance`] moves them all at once, while they run.
//!
//! [`Env`]: crate::Env

use std::path::{Path, PathBuf};

use twofold_core::Timestamp;
use twofold_core::clock::{Clock, SystemClock};
use twofold_core::factors::otp;

/// The environment variable the binary reads the offset file's path from.
pub const TEST_CLOCK_VAR: &str = "TWOFOLD_TEST_CLOCK_FILE";

/// One test's clock: the offset file every process of the test is pointed at.
#[derive(Debug, Clone)]
pub struct TestClock {
    file: PathBuf,
}

impl TestClock {
    /// A clock kept in `file`, at the system time until moved (the file is written then).
    #[must_use]
    pub fn new(file: PathBuf) -> Self {
        Self { file }
    }

    /// The offset file, for the processes' environment.
    #[must_use]
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Seconds the time has been moved by so far.
    #[must_use]
    pub fn offset_seconds(&self) -> i64 {
        match std::fs::read_to_string(&self.file) {
            Ok(text) => text.trim().parse().unwrap_or_else(|e| panic!("{}: {e}: {text:?}", self.file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => panic!("{}: {e}", self.file.display()),
        }
    }

    /// Moves the time forward by `seconds` (negative moves back) for every process of the
    /// test, from their next reading of the clock on. The file is replaced whole (written
    /// beside it, then renamed), so no reader sees half an offset.
    pub fn advance(&self, seconds: i64) {
        let offset = self.offset_seconds() + seconds;
        let next = self.file.with_extension("next");
        std::fs::write(&next, format!("{offset}\n")).expect("write the test clock");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The server refuses an offset file others than its owner may write.
            std::fs::set_permissions(&next, std::fs::Permissions::from_mode(0o600)).expect("protect the test clock");
        }
        std::fs::rename(&next, &self.file).expect("replace the test clock");
    }

    /// The time the processes see now.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        SystemClock.now().plus_seconds(self.offset_seconds())
    }

    /// The TOTP code (SHA-1, 6 digits, 30 s: the app defaults) for the base32 `secret` at the
    /// processes' time moved by `offset_secs`, computed with the core's own RFC 6238 code.
    #[must_use]
    pub fn totp(&self, secret: &str, offset_secs: i64) -> String {
        let key = otp::base32_decode(secret).unwrap_or_else(|e| panic!("secret {secret:?} {e}"));
        otp::totp(&key, self.now().plus_seconds(offset_secs), otp::TotpParams::default())
    }

    /// The TOTP code Debian's `oathtool` (an implementation the project did not write)
    /// computes for the base32 `secret` at the processes' time moved by `offset_secs`.
    #[must_use]
    pub fn oathtool(&self, secret: &str, offset_secs: i64) -> String {
        let at = self.now().plus_seconds(offset_secs).millis() / 1000;
        let out = std::process::Command::new("oathtool")
            .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
            .output()
            .expect("oathtool is required (Debian package oathtool; .ci/run installs it)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `YYYY-MM-DD`, `days` from the processes' today (UTC).
    #[must_use]
    pub fn date(&self, days: i64) -> String {
        self.now().plus_seconds(days * 86_400).to_rfc3339()[..10].to_owned()
    }
}
