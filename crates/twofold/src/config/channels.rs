//! `[email_otp]` and `[sms_otp]`: the transitional fallbacks, off unless enabled, forbidden
//! for the privileged tiers unless the file says otherwise, ended on a date.

/// `[email_otp]` and `[sms_otp]`: the transitional fallbacks, off unless enabled.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelSection {
    #[serde(default)]
    pub(super) enabled: bool,
    pub(super) until: Option<toml::value::Datetime>,
    pub(super) forbidden_tiers: Option<Vec<String>>,
    /// SMS only: calling codes text messages may go to (empty or absent: any but premium ranges).
    pub(super) allowed_calling_codes: Option<Vec<String>>,
    pub(super) webhook_url: Option<String>,
    pub(super) webhook_authorization: Option<String>,
}

/// Tiers that may not use email or SMS codes unless the file says otherwise.
pub(super) const DEFAULT_FORBIDDEN_TIERS: &[twofold_core::identity::Tier] =
    &[twofold_core::identity::Tier::Privileged, twofold_core::identity::Tier::BreakGlass];

/// The start (00:00 UTC) of a TOML date, as a timestamp.
pub(super) fn date_start(value: &toml::value::Datetime) -> Result<twofold_core::Timestamp, String> {
    let date = value.date.filter(|_| value.time.is_none()).ok_or("must be a date like 2027-06-30")?;
    let month = time::Month::try_from(date.month).map_err(|e| e.to_string())?;
    let day = time::Date::from_calendar_date(i32::from(date.year), month, date.day).map_err(|e| e.to_string())?;
    let seconds = day.midnight().assume_utc().unix_timestamp();
    Ok(twofold_core::Timestamp(seconds * 1000))
}

impl ChannelSection {
    /// The channel's rules: enabled or not, its end date, forbidden tiers and calling codes.
    pub(super) fn policy(&self) -> Result<twofold_core::factors::one_time_codes::ChannelPolicy, String> {
        let forbidden_tiers = match &self.forbidden_tiers {
            Some(names) => {
                names.iter().map(|n| twofold_core::identity::Tier::parse(n)).collect::<Result<Vec<_>, _>>()?
            }
            None => DEFAULT_FORBIDDEN_TIERS.to_vec(),
        };
        Ok(twofold_core::factors::one_time_codes::ChannelPolicy {
            enabled: self.enabled,
            until: self.until.as_ref().map(date_start).transpose()?,
            forbidden_tiers,
            allowed_calling_codes: {
                let codes = self.allowed_calling_codes.clone().unwrap_or_default();
                for code in &codes {
                    twofold_core::factors::one_time_codes::check_calling_code(code)
                        .map_err(|e| format!("allowed_calling_codes: {e}"))?;
                }
                codes
            },
        })
    }
}
