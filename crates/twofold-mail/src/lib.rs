//! Twofold's outbound messages: the core's [`Mailer`] port over SMTP, and its SMS port as an
//! HTTP webhook to an SMS provider ([`sms::WebhookSms`]), and the outbox's deliveries to
//! apps' callback URLs ([`webhook::HttpDeliverer`]).
//!
//! `smtp://host:25` (plain, for a local relay), `smtp://host:587?tls=required` (STARTTLS)
//! or `smtps://host:465`, with `user:password@` when the relay wants authentication.
//! Depends on `twofold-core` only.

pub mod sms;
pub mod webhook;

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use twofold_core::mail::{Email, MailError, Mailer};

/// Makes ring (the provider lettre uses) the process's TLS crypto provider, which the SMS
/// webhook's HTTP client needs. Idempotent; every HTTP client in the process then uses it.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Sends mail through one SMTP relay.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for the relay at `url`, sending as `from` (`Twofold <mfa@example.com>`).
    ///
    /// # Errors
    /// A malformed URL or sender address.
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError(format!("invalid SMTP URL: {e}")))?
            .build();
        let from = from.parse().map_err(|e| MailError(format!("invalid sender address '{from}': {e}")))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let to: Mailbox = email.to.parse().map_err(|e| MailError(format!("invalid recipient: {e}")))?;
        let mut builder = Message::builder().from(self.from.clone()).to(to).subject(&email.subject);
        for cc in &email.cc {
            builder = builder.cc(cc.parse().map_err(|e| MailError(format!("invalid copy recipient: {e}")))?);
        }
        let message =
            builder.header(ContentType::TEXT_PLAIN).body(email.body.clone()).map_err(|e| MailError(e.to_string()))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| MailError(e.to_string()))
    }
}
