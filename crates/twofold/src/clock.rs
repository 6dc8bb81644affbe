//! The clock the server and every admin verb read: the system clock, or — in debug builds
//! only — the system clock moved by an offset the black-box tests write to a file.
//!
//! `TWOFOLD_TEST_CLOCK_FILE=FILE` names a file holding a whole number of seconds (negative
//! moves back) added to the system time. The file is read again at every reading of the
//! clock (an open and a read of a few bytes), so a test that rewrites it moves the time of
//! every server and admin verb sharing it at once, without restarting anything. A missing
//! file is an offset of 0; a file that cannot be read or parsed keeps the last offset read.
//!
//! Release builds (`debug_assertions` off) do not compile this code path: they ignore the
//! variable entirely (it is then an unknown `TWOFOLD_*` variable, and warned about as one),
//! so a production binary cannot be told what time it is.

use std::sync::Arc;

use twofold_core::clock::{Clock, SystemClock};

/// The environment variable naming the offset file (honoured by debug builds only).
pub const TEST_CLOCK_VAR: &str = "TWOFOLD_TEST_CLOCK_FILE";

/// The process's clock. In a debug build with [`TEST_CLOCK_VAR`] set, the test clock, with a
/// loud warning: always for `serve`, for an admin verb when the time it acts on is moved.
pub fn for_process(serving: bool) -> Arc<dyn Clock> {
    #[cfg(debug_assertions)]
    if let Some(clock) = test_clock::TestClock::from_env() {
        let offset = clock.offset_seconds();
        if serving || offset != 0 {
            tracing::warn!(
                file = %clock.file().display(),
                offset_seconds = offset,
                "{TEST_CLOCK_VAR} is set: this debug build's clock is the system time plus the offset in the file; \
                 never run a debug build in production (release builds ignore the variable)"
            );
        }
        return Arc::new(clock);
    }
    let _ = serving;
    Arc::new(SystemClock)
}

#[cfg(debug_assertions)]
mod test_clock {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    use twofold_core::Timestamp;
    use twofold_core::clock::{Clock, SystemClock};

    /// The system time plus the offset in a file the tests write.
    #[derive(Debug)]
    pub struct TestClock {
        file: PathBuf,
        /// The offset last read, in milliseconds, kept when a read fails.
        last_millis: AtomicI64,
        /// Set once a failed read has been logged, so a broken file warns once.
        warned: AtomicBool,
    }

    impl TestClock {
        /// The clock named by the environment, if the variable is set and not empty.
        pub fn from_env() -> Option<Self> {
            let file = std::env::var_os(super::TEST_CLOCK_VAR).filter(|v| !v.is_empty())?;
            let clock =
                Self { file: PathBuf::from(file), last_millis: AtomicI64::new(0), warned: AtomicBool::new(false) };
            clock.offset_millis();
            Some(clock)
        }

        /// The offset file.
        pub fn file(&self) -> &Path {
            &self.file
        }

        /// The offset now, in whole seconds.
        pub fn offset_seconds(&self) -> i64 {
            self.offset_millis() / 1000
        }

        fn offset_millis(&self) -> i64 {
            let read = match std::fs::read_to_string(&self.file) {
                Ok(text) => text.trim().parse::<i64>().map_err(|e| format!("not a whole number of seconds: {e}")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
                Err(e) => Err(e.to_string()),
            };
            match read {
                Ok(seconds) => {
                    let millis = seconds.saturating_mul(1000);
                    self.last_millis.store(millis, Ordering::Relaxed);
                    millis
                }
                Err(error) => {
                    if !self.warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!(file = %self.file.display(), %error, "test clock file unreadable; keeping the last offset");
                    }
                    self.last_millis.load(Ordering::Relaxed)
                }
            }
        }
    }

    impl Clock for TestClock {
        fn now(&self) -> Timestamp {
            Timestamp(SystemClock.now().millis().saturating_add(self.offset_millis()))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn clock_on(file: PathBuf) -> TestClock {
            TestClock { file, last_millis: AtomicI64::new(0), warned: AtomicBool::new(false) }
        }

        #[test]
        fn the_offset_file_moves_the_time_as_soon_as_it_is_rewritten() {
            let dir = std::env::temp_dir().join(format!("twofold-clock-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            let clock = clock_on(dir.join("offset"));
            assert_eq!(clock.offset_seconds(), 0, "no file: the system time");
            std::fs::write(clock.file(), "86400\n").unwrap();
            let moved = clock.now().millis() - SystemClock.now().millis();
            assert!((86_399_000..=86_400_000).contains(&moved), "{moved}");
            std::fs::write(clock.file(), "-30").unwrap();
            assert_eq!(clock.offset_seconds(), -30, "read again at once");
            std::fs::write(clock.file(), "soon").unwrap();
            assert_eq!(clock.offset_seconds(), -30, "a broken file keeps the last offset");
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}
