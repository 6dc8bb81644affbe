//! The clock the server and every admin verb read: the system clock, or — in debug builds
//! only — the system clock moved by an offset the black-box tests write to a file.
//!
//! `TWOFOLD_TEST_CLOCK_FILE=FILE` names a file holding a whole number of seconds (negative
//! moves back) added to the system time. The file is read again at every reading of the
//! clock (an open and a read of a few bytes), so a test that rewrites it moves the time of
//! every server and admin verb sharing it at once, without restarting anything. A missing
//! file is an offset of 0; a file that cannot be read or parsed, that is not a regular file,
//! that others than its owner may write, or that moves the time more than ten years, is
//! refused and the last offset kept. Every move is logged.
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
            match read_offset(&self.file) {
                Ok(seconds) => {
                    let millis = seconds * 1000;
                    if self.last_millis.swap(millis, Ordering::Relaxed) != millis {
                        tracing::info!(file = %self.file.display(), offset_seconds = seconds, "test clock moved");
                    }
                    millis
                }
                Err(error) => {
                    if !self.warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!(file = %self.file.display(), %error, "test clock file refused; keeping the last offset");
                    }
                    self.last_millis.load(Ordering::Relaxed)
                }
            }
        }
    }

    /// The most the test clock moves, either way: ten years.
    const MAX_OFFSET_SECS: i64 = 10 * 366 * 24 * 3600;
    /// The longest offset file read.
    const MAX_FILE_BYTES: u64 = 32;

    /// The offset in `file`: 0 when it does not exist. Refused unless it is a regular file
    /// (not a link, a FIFO or a device), no one but its owner may write it, it holds at most
    /// a few bytes, and the offset is within ten years, so a debug server started with the
    /// variable cannot be hung, flooded or overflowed through the file.
    fn read_offset(file: &Path) -> Result<i64, String> {
        let meta = match std::fs::symlink_metadata(file) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.to_string()),
        };
        if !meta.file_type().is_file() {
            return Err("not a regular file".into());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o022 != 0 {
                return Err("writable by others than its owner".into());
            }
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(format!("longer than {MAX_FILE_BYTES} bytes"));
        }
        let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
        let seconds = text.trim().parse::<i64>().map_err(|e| format!("not a whole number of seconds: {e}"))?;
        if seconds.abs() > MAX_OFFSET_SECS {
            return Err(format!("an offset of {seconds} s is more than ten years"));
        }
        Ok(seconds)
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
            std::fs::write(clock.file(), "999999999999").unwrap();
            assert_eq!(clock.offset_seconds(), -30, "more than ten years is refused");
            std::fs::write(clock.file(), " ".repeat(40)).unwrap();
            assert_eq!(clock.offset_seconds(), -30, "a long file is refused");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::write(clock.file(), "60").unwrap();
                std::fs::set_permissions(clock.file(), std::fs::Permissions::from_mode(0o666)).unwrap();
                assert_eq!(clock.offset_seconds(), -30, "a file others may write is refused");
                std::fs::set_permissions(clock.file(), std::fs::Permissions::from_mode(0o600)).unwrap();
                assert_eq!(clock.offset_seconds(), 60);
                std::fs::remove_file(clock.file()).unwrap();
                std::os::unix::fs::symlink("/dev/zero", clock.file()).unwrap();
                assert_eq!(clock.offset_seconds(), 60, "a link is refused");
            }
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}
