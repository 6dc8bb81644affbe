//! The closed sets of names a case uses: why the person called, how a case ended, what a
//! verified case may change, and whether it is open.

use serde::{Deserialize, Serialize};

/// Defines a closed set of names with parsing and listing.
macro_rules! case_names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal, $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored name.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// The name for people.
            #[must_use]
            pub const fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }

            /// Parses a stored name.
            ///
            /// # Errors
            /// A message naming the accepted values.
            pub fn parse(text: &str) -> Result<Self, String> {
                match text.trim() {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!("'{}' is not one of: {}", text, [$($text),+].join(", "))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

case_names!(
    /// Why the person needs the help desk.
    CaseKind {
        /// A phone or key was lost or stolen.
        LostDevice => "lost_device", "Lost device",
        /// Moving to a new phone.
        NewPhone => "new_phone", "New phone",
        /// Locked out after failed attempts.
        LockedOut => "locked_out", "Locked out",
        /// An authenticator app's codes are refused (its clock drifts).
        TotpDrift => "totp_drift", "Authenticator codes refused",
        /// A hardware token is broken or replaced.
        TokenReplacement => "token_replacement", "Hardware token replacement",
        /// No method and no recovery code left.
        AllMethodsLost => "all_methods_lost", "All methods lost",
        /// The person reports activity they did not cause.
        SuspiciousActivity => "suspicious_activity", "Suspicious activity",
    }
);

case_names!(
    /// How a case ended.
    Resolution {
        /// The person can sign in again.
        Resolved => "resolved", "Resolved",
        /// Nothing needed changing.
        NoChangeNeeded => "no_change_needed", "No change needed",
        /// The caller could not be verified; nothing was changed.
        VerificationFailed => "verification_failed", "Verification failed",
        /// The caller withdrew the request.
        Withdrawn => "withdrawn", "Withdrawn",
        /// Handed to the security team.
        EscalatedToSecurity => "escalated_to_security", "Escalated to security",
    }
);

case_names!(
    /// A change a verified case may make.
    CaseAction {
        /// Issue a temporary access pass.
        IssueAccessPass => "issue_access_pass", "Temporary access pass issued",
        /// Retire the methods of a lost or replaced device.
        RetireMethods => "retire_methods", "Methods retired",
        /// Remove every method and recovery code (followed by a pass).
        ResetAllMethods => "reset_all_methods", "All methods reset",
        /// Put an authenticator back in step with its clock or counter.
        ResyncMethod => "resync_method", "Method resynchronised",
    }
);

/// Whether a case is still being worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Being worked.
    Open,
    /// Ended with a resolution.
    Closed,
}

impl CaseState {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}
