//! A campaign's progress against its target, and when it will get there at the pace so far:
//! a least-squares line through the recent daily snapshots of the adoption curve.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One day's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When it was taken.
    pub at: Timestamp,
    /// Identities in scope.
    pub in_scope: u64,
    /// ... of which registered (compliant or with methods weak for their tier excluded).
    pub registered: u64,
}

impl Snapshot {
    /// Registered, in percent of those in scope (100 with nobody in scope).
    #[must_use]
    pub fn percent(&self) -> f64 {
        if self.in_scope == 0 {
            return 100.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let share = self.registered as f64 / self.in_scope as f64;
        share * 100.0
    }
}

/// How many of the latest snapshots the projection follows: the recent pace, not the pilot's.
pub const PROJECTION_WINDOW: usize = 14;

/// When the registered share reaches `target` percent at the pace of the latest snapshots:
/// the first snapshot at or over it when one is; `None` when the pace is flat or falling (or
/// fewer than two snapshots).
#[must_use]
pub fn projected_completion(snapshots: &[Snapshot], target: f64) -> Option<Timestamp> {
    if let Some(reached) = snapshots.iter().find(|s| s.percent() >= target) {
        return Some(reached.at);
    }
    let recent = &snapshots[snapshots.len().saturating_sub(PROJECTION_WINDOW)..];
    if recent.len() < 2 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let days = |s: &Snapshot| (s.at.millis() - recent[0].at.millis()) as f64 / 86_400_000.0;
    #[allow(clippy::cast_precision_loss)]
    let n = recent.len() as f64;
    let mean_x = recent.iter().map(days).sum::<f64>() / n;
    let mean_y = recent.iter().map(Snapshot::percent).sum::<f64>() / n;
    let covariance: f64 = recent.iter().map(|s| (days(s) - mean_x) * (s.percent() - mean_y)).sum();
    let variance: f64 = recent.iter().map(|s| (days(s) - mean_x).powi(2)).sum();
    if variance <= 0.0 {
        return None;
    }
    let slope = covariance / variance;
    if slope <= 0.0 {
        return None;
    }
    let intercept = mean_y - slope * mean_x;
    let day = (target - intercept) / slope;
    #[allow(clippy::cast_possible_truncation)]
    let millis = (day * 86_400_000.0).round() as i64;
    Some(Timestamp(recent[0].at.millis() + millis))
}
