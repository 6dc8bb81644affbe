//! Trusted devices: after a second factor, a person may trust the browser for a while, so
//! signing in there asks only for the password. Which tiers may do so is a rule here
//! until the conditional-access engine takes it over.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::identity::Tier;

/// How long a device stays trusted by default.
pub const DEFAULT_TRUST_DAYS: i64 = 30;

/// Whether people of `tier` may trust a device. Privileged and break-glass identities prove
/// a second factor at every sign-in; service identities never sign in interactively.
#[must_use]
pub const fn tier_may_trust_devices(tier: Tier) -> bool {
    matches!(tier, Tier::Standard | Tier::External)
}

/// One trusted device of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedDevice {
    /// The signed device cookie's id.
    pub device_id: String,
    /// Whose trust it is.
    pub user_id: Uuid,
    /// Trust ends then.
    pub trusted_until: Timestamp,
    /// When the second factor that earned the trust was proved.
    pub mfa_at: Timestamp,
    /// When trust was granted.
    pub created_at: Timestamp,
    /// The browser, as it said at the time.
    pub user_agent: Option<String>,
    /// Where from.
    pub ip: Option<String>,
    /// When the user (or an admin) withdrew it.
    pub revoked_at: Option<Timestamp>,
}

impl TrustedDevice {
    /// Whether the trust still holds at `now`.
    #[must_use]
    pub fn is_valid(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.trusted_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ordinary_tiers_may_trust_a_device() {
        assert!(tier_may_trust_devices(Tier::Standard));
        assert!(tier_may_trust_devices(Tier::External));
        assert!(!tier_may_trust_devices(Tier::Privileged));
        assert!(!tier_may_trust_devices(Tier::BreakGlass));
        assert!(!tier_may_trust_devices(Tier::Service));
    }

    #[test]
    fn trust_ends_at_its_date_or_when_revoked() {
        let mut device = TrustedDevice {
            device_id: "d".into(),
            user_id: Uuid::nil(),
            trusted_until: Timestamp(100),
            mfa_at: Timestamp(0),
            created_at: Timestamp(0),
            user_agent: None,
            ip: None,
            revoked_at: None,
        };
        assert!(device.is_valid(Timestamp(99)));
        assert!(!device.is_valid(Timestamp(100)));
        device.revoked_at = Some(Timestamp(50));
        assert!(!device.is_valid(Timestamp(60)));
    }
}
