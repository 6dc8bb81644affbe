//! SMS through a webhook: one JSON `POST` per message to a URL the administrator configured
//! (never a user-supplied one), with an optional authorisation header that is never logged.
//!
//! Body: `{"to": "+447700900123", "text": "Your Twofold verification code is ..."}`. Any 2xx
//! answer means the provider accepted the message. Most SMS providers (or a small relay in
//! front of them) take this shape.

use std::time::Duration;

use async_trait::async_trait;
use twofold_core::factors::one_time_codes::{SmsError, SmsGateway};

/// How long a provider may take to accept a message.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Sends SMS by posting to one webhook.
pub struct WebhookSms {
    client: reqwest::Client,
    url: reqwest::Url,
    authorization: Option<String>,
}

impl WebhookSms {
    /// A gateway posting to `url` (http or https), sending `authorization` (e.g.
    /// `Bearer ...`) as the `Authorization` header when given.
    ///
    /// # Errors
    /// A malformed URL, or an HTTP client that cannot be built.
    pub fn new(url: &str, authorization: Option<String>) -> Result<Self, SmsError> {
        let url = reqwest::Url::parse(url).map_err(|e| SmsError(format!("invalid SMS webhook URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SmsError("the SMS webhook URL must be http or https".into()));
        }
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsError(e.to_string()))?;
        Ok(Self { client, url, authorization })
    }
}

#[async_trait]
impl SmsGateway for WebhookSms {
    async fn send(&self, to: &str, text: &str) -> Result<(), SmsError> {
        let mut request = self.client.post(self.url.clone()).json(&serde_json::json!({"to": to, "text": text}));
        if let Some(value) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        // Errors name the host and status only: never the header, the number or the text.
        let host = self.url.host_str().unwrap_or("").to_owned();
        let response = request.send().await.map_err(|e| SmsError(format!("{host}: {}", e.without_url())))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(SmsError(format!("{host} answered {}", response.status())))
        }
    }
}
