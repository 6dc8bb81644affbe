//! Mail: the port that sends it, and the notifications Twofold writes (pure: they only
//! build messages; the app sends them after the change they describe has committed).

use async_trait::async_trait;

use crate::Timestamp;
use crate::identity::User;

/// One plain-text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Copies (e.g. a manager on escalations).
    pub cc: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct MailError(pub String);

/// The mail port: implemented over SMTP by `twofold-mail`.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message.
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

const NOT_YOU: &str = "If this was not you, someone may know your password: contact your help desk now.";

fn to_user(user: &User, subject: &str, body: String) -> Option<Email> {
    let to = user.email.clone()?;
    Some(Email { to, cc: Vec::new(), subject: subject.to_owned(), body })
}

/// "A sign-in method was added to your account".
#[must_use]
pub fn method_added(user: &User, kind: &str, name: &str, at: Timestamp) -> Option<Email> {
    let body = format!(
        "Hello {},\n\nA sign-in method was added to your account ({}) at {at}:\n\n    {kind}: {name}\n\n{NOT_YOU}\n",
        user.display_name, user.username
    );
    to_user(user, "A sign-in method was added to your account", body)
}

/// "A sign-in method was removed from your account".
#[must_use]
pub fn method_removed(user: &User, kind: &str, name: &str, at: Timestamp) -> Option<Email> {
    let body = format!(
        "Hello {},\n\nA sign-in method was removed from your account ({}) at {at}; it no longer works:\n\n    {kind}: {name}\n\n{NOT_YOU}\n",
        user.display_name, user.username
    );
    to_user(user, "A sign-in method was removed from your account", body)
}

/// "A recovery code was used".
#[must_use]
pub fn recovery_code_used(user: &User, remaining: i64, at: Timestamp) -> Option<Email> {
    let body = format!(
        "Hello {},\n\nA recovery code was used to sign in to your account ({}) at {at}. {remaining} unused code(s) remain.\n\n{NOT_YOU}\n",
        user.display_name, user.username
    );
    to_user(user, "A recovery code was used to sign in", body)
}

/// "Sign-in attempts on your account were paused" after repeated failures.
#[must_use]
pub fn sign_in_paused(user: &User, failures: i64, at: Timestamp) -> Option<Email> {
    let body = format!(
        "Hello {},\n\nThere were {failures} failed sign-in attempts on your account ({}) by {at}, so further attempts are delayed for a while. Your account is not locked: you can sign in once the delay passes.\n\nIf this was not you, someone may know your password or be guessing codes: contact your help desk now.\n",
        user.display_name, user.username
    );
    to_user(user, "Failed sign-in attempts on your account", body)
}

/// "A temporary access pass was issued for your account" (the help desk gave it on a case).
#[must_use]
pub fn access_pass_issued(user: &User, operator: &str, expires_at: Timestamp) -> Option<Email> {
    let body = format!(
        "Hello {},\n\nYour help desk ({operator}) issued a temporary access pass for your account ({}). It lets you sign in once to Security info to set up new sign-in methods, and stops working at {expires_at}.\n\nIf you did not ask the help desk for this, contact your security team now.\n",
        user.display_name, user.username
    );
    to_user(user, "A temporary access pass was issued for your account", body)
}

/// "A temporary access pass was used to sign in".
#[must_use]
pub fn access_pass_used(user: &User, at: Timestamp, ip: Option<&str>) -> Option<Email> {
    let from = ip.map(|ip| format!(" from {ip}")).unwrap_or_default();
    let body = format!(
        "Hello {},\n\nA temporary access pass was used to sign in to your account ({}) at {at}{from}.\n\n{NOT_YOU}\n",
        user.display_name, user.username
    );
    to_user(user, "A temporary access pass was used to sign in", body)
}

/// "Your help desk asks you to confirm a request from someone who reports to you": the
/// manager's (or HR's) part in verifying a caller. The link needs them to sign in with their
/// own second factor; it grants nothing by itself.
#[must_use]
pub fn case_review_asked(to: &str, name: &str, target: &str, what: &str, operator: &str, link: &str) -> Email {
    let body = format!(
        "Hello {name},\n\nThe help desk ({operator}) is working a support case for {target}: {what}.\n\nBefore anything changes on their account, please confirm it is really them asking. Sign in with your own second factor and answer here:\n\n    {link}\n\nIf you do not know about this request, say so on that page: nothing will change.\n"
    );
    Email {
        to: to.to_owned(),
        cc: Vec::new(),
        subject: format!("Please confirm a help-desk request for {target}"),
        body,
    }
}

/// "A verification step on a support case is overdue", to the help desk's team lead.
#[must_use]
pub fn case_step_overdue(to: &str, case: &str, target: &str, step: &str, due: Timestamp, operator: &str) -> Email {
    let body = format!(
        "A verification step on a support case is overdue.\n\n    case:     {case}\n    person:   {target}\n    step:     {step}\n    due:      {due}\n    operator: {operator}\n\nThe case stays open and changes nothing until it is verified; follow it up or close it.\n"
    );
    Email { to: to.to_owned(), cc: Vec::new(), subject: format!("Overdue help-desk step for {target}"), body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NewUser;

    #[test]
    fn notifications_go_to_the_users_address_and_name_the_method() {
        let user = NewUser { username: "ann".into(), email: Some("ann@example.com".into()), ..NewUser::default() }
            .validate(uuid::Uuid::nil(), Timestamp(0))
            .unwrap();
        let mail = method_added(&user, "Authenticator app", "Phone", Timestamp(0)).unwrap();
        assert_eq!(mail.to, "ann@example.com");
        assert!(mail.body.contains("Authenticator app: Phone") && mail.body.contains("help desk"));
        let no_address = User { email: None, ..user };
        assert_eq!(recovery_code_used(&no_address, 3, Timestamp(0)), None);
    }
}
