//! Outbox deliveries over HTTP ([`Deliverer`]): one `POST` per message to a URL an
//! administrator registered (never one a request supplied), with a timeout, no redirects
//! followed, and errors that name only the host and the status.

use std::time::Duration;

use async_trait::async_trait;
use twofold_core::outbox::{Deliverer, DeliveryError};

/// How long a receiver may take to acknowledge.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Posts outbox messages.
pub struct HttpDeliverer {
    client: reqwest::Client,
}

impl HttpDeliverer {
    /// A deliverer with its own HTTP client.
    ///
    /// # Errors
    /// An HTTP client that cannot be built.
    pub fn new() -> Result<Self, DeliveryError> {
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DeliveryError(e.to_string()))?;
        Ok(Self { client })
    }
}

#[async_trait]
impl Deliverer for HttpDeliverer {
    async fn post(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<(), DeliveryError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| DeliveryError("not a URL".into()))?;
        let host = parsed.host_str().unwrap_or("").to_owned();
        let mut request =
            self.client.post(parsed).header(reqwest::header::CONTENT_TYPE, content_type).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|e| DeliveryError(format!("{host}: {}", e.without_url())))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(DeliveryError(format!("{host} answered {}", response.status())))
        }
    }
}
