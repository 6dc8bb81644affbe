//! Help desk: support cases ([`twofold_core::store::CaseStore`] on [`crate::SqlStore`]), each
//! one row holding the whole case as JSON beside the columns lists filter on.

mod support_cases;
