//! The SQLite database's files on disk: the database itself (password hashes, sealed seeds,
//! the audit log) and SQLite's `-wal` and `-shm` companions. Twofold creates the database
//! file itself with mode 0600 before SQLite opens it, whatever the process umask; SQLite
//! gives the companions it creates later the database file's mode.

use std::path::{Path, PathBuf};

/// The file a `sqlite:` URL names (`sqlite://PATH`, `sqlite:PATH`, with or without a
/// `?query`); `None` for an in-memory database or another scheme.
#[must_use]
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

/// The database file and its companions, whether they exist or not.
#[must_use]
pub fn sqlite_files(database: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [database.to_path_buf(), with("-wal"), with("-shm")]
}

/// Creates `database` empty with mode 0600 when it does not exist yet (SQLite then fills it
/// and gives its companions the same mode). An existing file is left as it is.
///
/// # Errors
/// The file could not be created.
pub(crate) fn create_private(database: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(database) {
        Ok(_) => set_private(database),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Gives the `-wal` and `-shm` files mode 0600 when the database file itself is private,
/// so companions left by an older version (or another umask) follow it.
///
/// # Errors
/// A mode could not be read or set.
pub(crate) fn restrict_companions(database: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(database)?.permissions().mode() & 0o077 != 0 {
            return Ok(());
        }
        for file in sqlite_files(database).iter().skip(1) {
            match std::fs::metadata(file) {
                Ok(meta) if meta.permissions().mode() & 0o077 != 0 => set_private(file)?,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Mode 0600, set explicitly (a umask does not apply to it).
fn set_private(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_read_from_every_url_form() {
        assert_eq!(sqlite_path("sqlite:///var/lib/twofold/twofold.db"), Some("/var/lib/twofold/twofold.db".into()));
        assert_eq!(sqlite_path("sqlite://data/twofold.db?mode=rwc"), Some("data/twofold.db".into()));
        assert_eq!(sqlite_path("sqlite:twofold.db"), Some("twofold.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://x.db?mode=memory&cache=shared"), None);
        assert_eq!(sqlite_path("postgres://db/twofold"), None);
    }

    #[test]
    fn companions_are_named_after_the_database() {
        let [db, wal, shm] = sqlite_files(Path::new("/d/twofold.db"));
        assert_eq!((db, wal, shm), ("/d/twofold.db".into(), "/d/twofold.db-wal".into(), "/d/twofold.db-shm".into()));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_database_file_is_private_and_an_existing_one_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("twofold-sqlite-file-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let fresh = dir.join("fresh.db");
        create_private(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);
        let old = dir.join("old.db");
        std::fs::write(&old, b"").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        create_private(&old).unwrap();
        assert_eq!(mode(&old), 0o644, "an operator's choice is reported, not changed");

        let wal = dir.join("fresh.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict_companions(&fresh).unwrap();
        assert_eq!(mode(&wal), 0o600);
        std::fs::remove_dir_all(&dir).ok();
    }
}
