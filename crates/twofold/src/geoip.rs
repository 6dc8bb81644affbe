//! The GeoIP adapter: a MaxMind-format database (GeoLite2-City or -Country, or any file of
//! that shape) read once into memory, answering the core's [`Geolocator`] port.

use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
use twofold_core::access::geo::{Geolocator, Located};

/// A loaded MaxMind database.
pub struct MaxMind(maxminddb::Reader<Vec<u8>>);

impl MaxMind {
    /// Reads the database at `path`.
    ///
    /// # Errors
    /// A file that cannot be read or is not a MaxMind database.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let reader = maxminddb::Reader::open_readfile(path)
            .with_context(|| format!("cannot read the GeoIP database {}", path.display()))?;
        Ok(Self(reader))
    }
}

impl Geolocator for MaxMind {
    fn locate(&self, ip: IpAddr) -> Option<Located> {
        let found = self.0.lookup(ip).ok()?;
        let city = found.decode::<maxminddb::geoip2::City>().ok()??;
        let country = city.country.iso_code.map(str::to_ascii_uppercase);
        let coordinates = city.location.latitude.zip(city.location.longitude);
        (country.is_some() || coordinates.is_some()).then_some(Located { country, coordinates })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The tests' database (tests/geoip/make_db.py, written with PyPI's mmdb-writer).
    #[test]
    fn a_database_written_by_another_tool_is_read() {
        let dir = std::env::temp_dir().join(format!("twofold-geoip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("test.mmdb");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/geoip/make_db.py");
        let made = std::process::Command::new("python3").arg(script).arg(&file).status();
        assert!(made.is_ok_and(|s| s.success()), "python3 with mmdb-writer is required (.ci/run installs it)");
        let geo = MaxMind::open(&file).unwrap();
        let london = geo.locate("198.51.100.7".parse().unwrap()).unwrap();
        assert_eq!(london.country.as_deref(), Some("GB"));
        let (lat, lon) = london.coordinates.unwrap();
        assert!((lat - 51.5072).abs() < 1e-6 && (lon + 0.1276).abs() < 1e-6, "{lat} {lon}");
        assert_eq!(geo.locate("203.0.113.1".parse().unwrap()).unwrap().country.as_deref(), Some("AU"));
        assert_eq!(geo.locate("127.0.0.1".parse().unwrap()), None);
        assert!(MaxMind::open(&dir.join("missing.mmdb")).is_err());
    }
}
