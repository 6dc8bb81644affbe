//! The master key: 32 random bytes in a file (hex), created with mode 0600 when absent.
//! Every node of a cluster is given the same file. Keys for particular purposes are
//! derived from it, so the file is the only secret to distribute.
//!
//! Also the data directory: created with mode 0700, and a warning at start-up when it, the
//! SQLite files or the master key can be read by the group or others.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use twofold_core::secret::{hmac_sha256, random_bytes};

/// The master key.
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// Reads the key at `path`, or creates it (and its directory) when absent.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(text.trim()).with_context(|| format!("master key file {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(e) => Err(e).with_context(|| format!("cannot read master key file {}", path.display())),
        }
    }

    /// Reads the key at `path` when the file exists.
    pub fn load_if_present(path: &Path) -> anyhow::Result<Option<Self>> {
        if path.exists() { Self::load_or_create(path).map(Some) } else { Ok(None) }
    }

    /// The keys the use cases need for secrets at rest.
    pub fn secret_keys(&self) -> twofold_app::SecretKeys {
        twofold_app::SecretKeys { seal: self.derive("seal"), recovery: self.derive("recovery-codes") }
    }

    fn parse(hex_text: &str) -> anyhow::Result<Self> {
        let bytes = hex::decode(hex_text).context("is not hexadecimal")?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| anyhow::anyhow!("must hold 32 bytes (64 hex characters)"))?;
        Ok(Self(key))
    }

    fn create(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
        let key = random_bytes::<32>();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file =
            options.open(path).with_context(|| format!("cannot create master key file {}", path.display()))?;
        writeln!(file, "{}", hex::encode(key)).and_then(|()| file.sync_all()).context("cannot write the master key")?;
        tracing::info!(path = %path.display(), "generated a new master key");
        Ok(Self(key))
    }

    /// A key for one purpose, e.g. `csrf`: HMAC(master, "twofold/<purpose>/v1").
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        hmac_sha256(&self.0, format!("twofold/{purpose}/v1").as_bytes())
    }
}

/// Refuses to go on when the data directory path exists but is not a directory.
pub fn check_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("data directory {} exists but is not a directory", dir.display());
    }
    create_private_dir(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let probe = dir.join(".twofold-write-test");
    std::fs::write(&probe, b"").with_context(|| format!("data directory {} is not writable", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// Creates `dir` (and missing parents) when absent, the directory itself with mode 0700
/// whatever the umask. An existing directory is left as it is.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(e),
    }
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

/// Warns (once per start) about each of the data directory, the SQLite database and its
/// companions, and the master key file that the group or others may access: they hold
/// password hashes, sealed secrets and the key that unseals them.
pub fn warn_on_open_permissions(data_dir: &Path, database_url: &str, master_key_file: &Path) {
    let mut paths = vec![data_dir.to_path_buf(), master_key_file.to_path_buf()];
    if let Some(database) = twofold_store::sqlite_path(database_url) {
        paths.extend(twofold_store::sqlite_files(&database));
    }
    for path in paths {
        if let Some(mode) = open_mode(&path) {
            let advice = if path.is_dir() { "chmod 700" } else { "chmod 600" };
            tracing::warn!(
                path = %path.display(),
                mode = %format!("{mode:04o}"),
                "readable by the group or others; {advice} it (it holds secrets or the data they protect)"
            );
        }
    }
}

/// The permission bits of `path` when the group or others have any access to it.
fn open_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_new_data_directory_is_private_and_open_modes_are_found() {
        let root = std::env::temp_dir().join(format!("twofold-keys-{}", uuid::Uuid::new_v4().simple()));
        let dir = root.join("nested").join("data");
        check_data_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(open_mode(&dir), None);
        let file = dir.join("twofold.db");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(open_mode(&file), Some(0o644));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(open_mode(&file), None);
        assert_eq!(open_mode(&dir.join("absent")), None);
        std::fs::remove_dir_all(&root).ok();
    }
}
