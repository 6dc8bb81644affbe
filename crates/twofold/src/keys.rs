//! The master key: 32 random bytes in a file (hex), created with mode 0600 when absent.
//! Every node of a cluster is given the same file. Keys for particular purposes are
//! derived from it, so the file is the only secret to distribute.

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
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
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
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let probe = dir.join(".twofold-write-test");
    std::fs::write(&probe, b"").with_context(|| format!("data directory {} is not writable", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}
