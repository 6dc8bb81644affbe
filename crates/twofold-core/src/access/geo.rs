//! Where an address is: the port a GeoIP database (MaxMind's format) fills, for rules on
//! countries and for impossible travel between sign-ins.

use std::net::IpAddr;

/// What a GeoIP database knows of one address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Located {
    /// ISO 3166 alpha-2, upper case.
    pub country: Option<String>,
    /// Degrees north and east, when the database has coordinates (City databases do).
    pub coordinates: Option<(f64, f64)>,
}

/// Locates addresses. Implementations must be cheap: they are asked on every sign-in.
pub trait Geolocator: Send + Sync {
    /// What is known of `ip`, or `None` when it is not in the database.
    fn locate(&self, ip: IpAddr) -> Option<Located>;
}
