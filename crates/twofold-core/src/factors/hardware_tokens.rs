//! Hardware OATH tokens as vendors ship them: one CSV row per token with the columns
//! `serial,secret,type,digits,period,username` (as Entra ID's OATH token upload), secret in
//! base32, type `totp` or `hotp`, username optional (assigns the token on import).

use crate::factors::otp::{OtpAlgorithm, TotpParams, base32_decode};

/// The header an import file must start with.
pub const COLUMNS: [&str; 6] = ["serial", "secret", "type", "digits", "period", "username"];

/// One checked row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Serial number, unique across tokens.
    pub serial: String,
    /// The decoded seed.
    pub secret: Vec<u8>,
    /// `totp` or `hotp`.
    pub time_based: bool,
    /// Algorithm, digits and (for TOTP) period.
    pub params: TotpParams,
    /// The user to assign the token to, if named.
    pub username: Option<String>,
}

/// Checks one row's fields (in [`COLUMNS`] order); returns every problem.
///
/// # Errors
/// The problems, each naming its column.
pub fn parse_row(fields: &[&str]) -> Result<TokenRow, Vec<String>> {
    let mut problems = Vec::new();
    let field = |i: usize| fields.get(i).map_or("", |f| f.trim());
    if fields.len() != COLUMNS.len() {
        return Err(vec![format!("has {} fields; expected {}: {}", fields.len(), COLUMNS.len(), COLUMNS.join(","))]);
    }
    let serial = field(0).to_owned();
    if serial.is_empty()
        || serial.len() > 64
        || !serial.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        problems.push("serial: must be 1–64 letters, digits or - _ . :".to_owned());
    }
    let secret = base32_decode(field(1)).map_err(|e| problems.push(format!("secret: {e}"))).unwrap_or_default();
    let time_based = match field(2).to_ascii_lowercase().as_str() {
        "totp" => true,
        "hotp" => false,
        other => {
            problems.push(format!("type: '{other}' is not totp or hotp"));
            true
        }
    };
    let digits = match field(3) {
        "" | "6" => 6,
        "8" => 8,
        other => {
            problems.push(format!("digits: '{other}' is not 6 or 8"));
            6
        }
    };
    let period = match field(4) {
        "" => 30,
        text => match text.parse::<u32>() {
            Ok(p) if (10..=120).contains(&p) => p,
            _ => {
                problems.push(format!("period: '{text}' is not a number of seconds from 10 to 120"));
                30
            }
        },
    };
    let username = Some(field(5).to_lowercase()).filter(|u| !u.is_empty());
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(TokenRow {
        serial,
        secret,
        time_based,
        params: TotpParams { algorithm: OtpAlgorithm::Sha1, digits, period },
        username,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_row_parses_with_defaults() {
        let row = parse_row(&["TK-0001", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "HOTP", "", "", "Alice"]).unwrap();
        assert_eq!((row.serial.as_str(), row.time_based, row.params.digits), ("TK-0001", false, 6));
        assert_eq!(row.secret, b"12345678901234567890");
        assert_eq!(row.username.as_deref(), Some("alice"));
    }

    #[test]
    fn every_problem_in_a_row_is_named() {
        let problems = parse_row(&["", "not-base32!", "sms", "7", "0", ""]).unwrap_err();
        let columns: Vec<_> = problems.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(columns, ["serial", "secret", "type", "digits", "period"]);
        assert!(parse_row(&["a", "b"]).unwrap_err()[0].contains("has 2 fields"));
    }
}
