//! The catalogue's words for what the core says, on every page that shows it: method kinds,
//! the recommended-setup checklist, why a method cannot be removed, form problems; and the
//! two helpers templates use to place words (`words` keeps an apostrophe as typed, `around`
//! splits a sentence at the placeholder of a link inside it).

use twofold_core::factors::authenticator::AuthenticatorKind;

use crate::i18n::{t, t1};

/// What people call a kind of method, in the reader's language.
pub(crate) fn kind_label(kind: AuthenticatorKind) -> &'static str {
    match kind {
        AuthenticatorKind::Totp => t("methods.totp"),
        AuthenticatorKind::Hotp => t("methods.hotp"),
        AuthenticatorKind::Webauthn => t("methods.webauthn"),
        AuthenticatorKind::EmailOtp => t("methods.email_otp"),
        AuthenticatorKind::SmsOtp => t("methods.sms_otp"),
    }
}

/// Text for an element's content, escaped as it needs there (`&`, `<`, `>`), an apostrophe
/// kept as typed: "Confirm it's you first" reads so in the HTML, as it always did (the
/// default escaping would write `&#39;`).
pub(crate) fn words(text: &str) -> askama::filters::Safe<String> {
    askama::filters::Safe(text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"))
}

/// `text` split at `{placeholder}`: the words before and after a link or emphasis that
/// sits inside a sentence (all of `text` before it when the placeholder is missing).
pub(crate) fn around(text: &str, placeholder: &str) -> (String, String) {
    match text.split_once(&format!("{{{placeholder}}}")) {
        Some((before, after)) => (before.to_owned(), after.to_owned()),
        None => (text.to_owned(), String::new()),
    }
}

/// An item of the core's recommended setup, in the reader's language (the core's words,
/// capitalised, for an item not known here).
pub(crate) fn checklist_item(item: &str) -> String {
    known_checklist_item(item).map_or_else(|| super::account::capitalise(item), str::to_owned)
}

fn known_checklist_item(item: &str) -> Option<&'static str> {
    match item {
        "an authenticator app, hardware token or passkey" => Some(t("security.check_strong")),
        "a second sign-in method, in case you lose the first" => Some(t("security.check_second")),
        "recovery codes" => Some(t("security.check_codes")),
        _ => None,
    }
}

/// Why the core refuses to remove a method, as the sentence the confirmation page shows.
pub(crate) fn removal_refused(reason: &str) -> String {
    known_removal_refusal(reason).map_or_else(|| t1("remove.refused_other", "reason", reason), str::to_owned)
}

fn known_removal_refusal(reason: &str) -> Option<&'static str> {
    match reason {
        "add another method before removing your last one" => Some(t("remove.refused_last")),
        "add an authenticator app, hardware token or passkey first: email and SMS codes alone are not enough" => {
            Some(t("remove.refused_strong"))
        }
        _ => None,
    }
}

/// What was wrong with the values of a form on these pages, in the reader's language
/// (`field: problem; field: problem` as the core words them, for problems not known here).
pub(crate) fn problems(errors: &twofold_core::ValidationErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| known_problem(e).unwrap_or_else(|| format!("{}: {}", e.field, e.message)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn known_problem(e: &twofold_core::FieldError) -> Option<String> {
    use twofold_core::factors::otp::OtpRejection;
    Some(match (e.field.as_str(), e.message.as_str()) {
        ("name", "must be 1–64 printable characters") => t("enrol.problem_name").to_owned(),
        ("phone", "must be in international form, like +44 7700 900123") => t("enrol.problem_phone").to_owned(),
        ("code", "that code is wrong, used or expired") => t("enrol.problem_code_wrong").to_owned(),
        ("code", m) if m == OtpRejection::Invalid.to_string() => t("enrol.problem_code_invalid").to_owned(),
        ("code", m) if m == OtpRejection::Replayed.to_string() => t("enrol.problem_code_used").to_owned(),
        ("code", m) => {
            let digits = (1..=12).find(|n| OtpRejection::Malformed(*n).to_string() == m)?;
            t1("enrol.problem_code_digits", "digits", digits)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use twofold_core::factors::authenticator::{self, Authenticator};

    use twofold_core::Timestamp;
    use uuid::Uuid;

    use super::*;

    fn method(kind: AuthenticatorKind) -> Authenticator {
        Authenticator {
            id: Uuid::now_v7(),
            user_id: None,
            kind,
            name: "m".into(),
            serial: None,
            destination: None,
            attested: false,
            credential: None,
            otp: None,
            last_used_step: None,
            drift_steps: 0,
            sealed_secret: Vec::new(),
            created_at: Timestamp(0),
            confirmed_at: Some(Timestamp(1)),
            last_used_at: None,
        }
    }

    /// The core words these pages show come from the catalogue: each is known here (a change
    /// of the core's wording shows up here, not as English on a German page).
    #[test]
    fn the_cores_words_on_these_pages_have_catalogue_texts() {
        for (item, _) in authenticator::recommended_checklist(&[], 0) {
            assert!(known_checklist_item(item).is_some(), "{item}");
            assert_eq!(checklist_item(item), super::super::account::capitalise(item), "the same words in English");
        }
        let app = method(AuthenticatorKind::Totp);
        let sms = method(AuthenticatorKind::SmsOtp);
        let last = authenticator::removal_refusal(std::slice::from_ref(&app), app.id).unwrap();
        let strong = authenticator::removal_refusal(&[app.clone(), sms], app.id).unwrap();
        for reason in [last, strong] {
            assert!(known_removal_refusal(reason).is_some(), "{reason}");
            assert_eq!(removal_refused(reason), format!("You cannot remove it yet: {reason}."), "the same in English");
        }

        let name = authenticator::check_name("").unwrap_err();
        let phone = twofold_core::factors::one_time_codes::check_phone("12").unwrap_err();
        let mut code = twofold_core::ValidationErrors::default();
        for rejection in [
            twofold_core::factors::otp::OtpRejection::Invalid,
            twofold_core::factors::otp::OtpRejection::Replayed,
            twofold_core::factors::otp::OtpRejection::Malformed(6),
        ] {
            code.add("code", rejection.to_string());
        }
        for errors in [name, phone, code] {
            assert!(errors.0.iter().all(|e| known_problem(e).is_some()), "{errors}");
            assert_eq!(problems(&errors), errors.summary(), "the same words in English");
        }
        let mut both = twofold_core::ValidationErrors::one("name", "must be 1–64 printable characters");
        both.add("code", "the code must be 8 digits");
        assert_eq!(problems(&both), both.summary(), "the same words in English");
    }

    #[test]
    fn words_keep_an_apostrophe_and_escape_markup() {
        assert_eq!(words("it's <b>&").0, "it's &lt;b&gt;&amp;");
    }

    #[test]
    fn a_link_inside_a_sentence_splits_around_its_placeholder() {
        assert_eq!(around("Or ask, and {link}.", "link"), ("Or ask, and ".to_owned(), ".".to_owned()));
        assert_eq!(around("No link", "link"), ("No link".to_owned(), String::new()));
    }
}
