//! The risk of one sign-in, from signals the caller gathers: recent failures on the account,
//! a country never seen for the person before, travel between consecutive sign-ins no
//! traveller could make, and a help-desk change of the person's methods in the last day (the
//! moment an account taken over through the help desk is used). Rules then ask for
//! `risk_at_least = "medium"` or `"high"`.

use super::Risk;
use crate::Timestamp;

/// Failures on the account since its last success from which the risk is medium.
pub const MEDIUM_AFTER_FAILURES: i64 = 3;
/// ... and high (the point where attempts also start to be delayed).
pub const HIGH_AFTER_FAILURES: i64 = crate::signin::throttle::FREE_FAILURES_PER_USERNAME;
/// Faster than an airliner: consecutive sign-ins this far apart are impossible travel.
pub const IMPOSSIBLE_KMH: f64 = 1000.0;
/// Closer than this is never impossible travel (GeoIP locations are coarse).
pub const MIN_TRAVEL_KM: f64 = 500.0;
/// A help-desk change of the person's methods within this many seconds raises the risk.
pub const HELP_DESK_WINDOW_SECS: i64 = 24 * 60 * 60;

/// Where and when a sign-in happened, as far as GeoIP knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
    /// When.
    pub at: Timestamp,
}

/// What is known about one attempt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// Failures (passwords and codes) on the account since its last success.
    pub recent_failures: i64,
    /// The country is known and none of the person's earlier sign-ins came from it (while
    /// some came from elsewhere).
    pub new_country: bool,
    /// The previous successful sign-in's place and this one's, when both are known.
    pub travel: Option<(Place, Place)>,
    /// The help desk changed the person's methods (a pass, a retirement, a reset) within
    /// [`HELP_DESK_WINDOW_SECS`].
    pub help_desk_change: bool,
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
#[must_use]
pub fn distance_km(a: &Place, b: &Place) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let d_lat = lat2 - lat1;
    let d_lon = (b.longitude - a.longitude).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// Whether going from `from` to `to` in the time between them needs more than
/// [`IMPOSSIBLE_KMH`] (and covers at least [`MIN_TRAVEL_KM`]).
#[must_use]
pub fn impossible_travel(from: &Place, to: &Place) -> bool {
    let km = distance_km(from, to);
    #[allow(clippy::cast_precision_loss)]
    let hours = ((to.at.millis() - from.at.millis()).abs() as f64 / 3_600_000.0).max(1.0 / 60.0);
    km >= MIN_TRAVEL_KM && km / hours > IMPOSSIBLE_KMH
}

/// The risk of an attempt and the reasons, in words. Impossible travel or many failures make
/// it high; a few failures or a new country medium; two medium signals together high.
#[must_use]
pub fn assess(signals: &Signals) -> (Risk, Vec<String>) {
    let mut reasons = Vec::new();
    let mut high = false;
    let mut medium = 0;
    if let Some((from, to)) = &signals.travel
        && impossible_travel(from, to)
    {
        high = true;
        reasons.push(format!("impossible travel ({:.0} km since the last sign-in)", distance_km(from, to)));
    }
    if signals.recent_failures >= HIGH_AFTER_FAILURES {
        high = true;
        reasons.push(format!("{} failed attempts since the last sign-in", signals.recent_failures));
    } else if signals.recent_failures >= MEDIUM_AFTER_FAILURES {
        medium += 1;
        reasons.push(format!("{} failed attempts since the last sign-in", signals.recent_failures));
    }
    if signals.new_country {
        medium += 1;
        reasons.push("a country never seen for this person".into());
    }
    if signals.help_desk_change {
        medium += 1;
        reasons.push("the help desk changed this person's sign-in methods in the last day".into());
    }
    let risk = if high || medium >= 2 {
        Risk::High
    } else if medium == 1 {
        Risk::Medium
    } else {
        Risk::Low
    };
    (risk, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONDON: (f64, f64) = (51.5072, -0.1276);
    const SYDNEY: (f64, f64) = (-33.8688, 151.2093);
    const PARIS: (f64, f64) = (48.8566, 2.3522);

    fn at(place: (f64, f64), hours: i64) -> Place {
        Place { latitude: place.0, longitude: place.1, at: Timestamp(hours * 3_600_000) }
    }

    #[test]
    fn distances_are_great_circles() {
        let km = distance_km(&at(LONDON, 0), &at(SYDNEY, 0));
        assert!((16_950.0..17_050.0).contains(&km), "{km}");
        assert!(distance_km(&at(LONDON, 0), &at(LONDON, 5)) < 0.001);
    }

    #[test]
    fn london_to_sydney_in_two_hours_is_impossible_london_to_paris_in_two_is_not() {
        assert!(impossible_travel(&at(LONDON, 0), &at(SYDNEY, 2)));
        assert!(!impossible_travel(&at(LONDON, 0), &at(SYDNEY, 30)), "a day and a bit by air is possible");
        assert!(!impossible_travel(&at(LONDON, 0), &at(PARIS, 0)), "too close to tell with GeoIP");
    }

    #[test]
    fn failures_travel_and_new_countries_raise_the_risk() {
        assert_eq!(assess(&Signals::default()).0, Risk::Low);
        assert_eq!(assess(&Signals { recent_failures: 2, ..Signals::default() }).0, Risk::Low);
        let (risk, why) = assess(&Signals { recent_failures: 3, ..Signals::default() });
        assert_eq!(risk, Risk::Medium);
        assert_eq!(why, ["3 failed attempts since the last sign-in"]);
        assert_eq!(assess(&Signals { recent_failures: 5, ..Signals::default() }).0, Risk::High);
        assert_eq!(assess(&Signals { new_country: true, ..Signals::default() }).0, Risk::Medium);
        assert_eq!(assess(&Signals { recent_failures: 3, new_country: true, ..Signals::default() }).0, Risk::High);
        let travel = Signals { travel: Some((at(LONDON, 0), at(SYDNEY, 2))), ..Signals::default() };
        let (risk, why) = assess(&travel);
        assert_eq!(risk, Risk::High);
        assert!(why[0].starts_with("impossible travel"), "{why:?}");
    }

    /// A help-desk change is medium risk on its own, and high with a new country: the pattern
    /// of an account taken over by talking the help desk round.
    #[test]
    fn a_help_desk_change_raises_the_risk() {
        let changed = Signals { help_desk_change: true, ..Signals::default() };
        assert_eq!(assess(&changed).0, Risk::Medium);
        let abroad = Signals { new_country: true, ..changed };
        let (risk, reasons) = assess(&abroad);
        assert_eq!(risk, Risk::High);
        assert!(reasons.iter().any(|r| r.contains("help desk")), "{reasons:?}");
    }
}
