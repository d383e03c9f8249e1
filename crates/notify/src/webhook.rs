//! The webhook sink: one HTTPS (or HTTP) `POST` per finding version.
//!
//! Headers:
//! - `Idempotency-Key` and `X-Poolsight-Delivery`: the delivery id, the same
//!   on every attempt of one delivery (a receiver dedupes on it);
//! - `X-Poolsight-Timestamp`: Unix seconds of this attempt;
//! - `X-Poolsight-Signature: sha256=<hex>`: HMAC-SHA256 over
//!   `<timestamp>.<body>` with the secret from the environment variable
//!   `secret_env` names, when set (the receiver recomputes it, and rejects
//!   old timestamps to stop replays).
//!
//! A 2xx answer acknowledges. Timeouts, connection failures, 429 and 5xx
//! are retried within the run (3 attempts, 0.5 s then 1 s apart, or the
//! `Retry-After` of a 429 up to 5 s); anything else waits for a later run.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::notice::Notice;
use crate::DeliveryError;

/// Attempts per delivery within one run.
const ATTEMPTS: u32 = 3;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Body formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    /// `{"text": …}` for Slack and Teams.
    Chat,
}

/// A configured webhook, ready to send.
pub struct WebhookSink {
    url: hyper::Uri,
    format: BodyFormat,
    secret: Option<Vec<u8>>,
    timeout: Duration,
    client: HttpsClient,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the URL's path (a token, for Slack) nor the secret.
        f.debug_struct("WebhookSink")
            .field("host", &self.url.host())
            .field("format", &self.format)
            .field("signed", &self.secret.is_some())
            .finish()
    }
}

impl WebhookSink {
    /// A sink for `target`; the URL and secret are read from the
    /// environment when the config names variables.
    pub fn new(target: &poolsight_config::notify::WebhookTarget) -> Result<Self, String> {
        let url = match (&target.url, &target.url_env) {
            (Some(url), _) => url.clone(),
            (None, Some(env)) => std::env::var(env)
                .map_err(|_| format!("the environment variable {env} (url_env) is not set"))?,
            (None, None) => return Err("no url".into()),
        };
        let url: hyper::Uri = url.parse().map_err(|_| {
            format!(
                "the URL of {} is not a valid URL",
                poolsight_config::notify::host_of(&url)
            )
        })?;
        if !matches!(url.scheme_str(), Some("http" | "https")) {
            return Err("the URL is not http(s)".into());
        }
        let secret = match &target.secret_env {
            Some(env) => Some(
                std::env::var(env)
                    .map_err(|_| {
                        format!("the environment variable {env} (secret_env) is not set: refusing to send unsigned")
                    })?
                    .into_bytes(),
            ),
            None => None,
        };
        let format = match target.format.as_deref() {
            Some("slack" | "teams") => BodyFormat::Chat,
            _ => BodyFormat::Json,
        };
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("TLS set-up: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            url,
            format,
            secret,
            timeout: Duration::from_secs_f64(target.timeout_seconds.unwrap_or(10.0)),
            client,
        })
    }

    /// The body of a notice in this sink's format.
    pub fn body(&self, notice: &Notice<'_>) -> Vec<u8> {
        let value = match self.format {
            BodyFormat::Json => crate::message::json_body(notice, 1000),
            BodyFormat::Chat => crate::message::chat_body(notice),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// Sends one notice, retrying transient failures within the run.
    pub async fn deliver(&self, notice: &Notice<'_>) -> Result<(), DeliveryError> {
        let body = self.body(notice);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.post(notice.delivery_id, &body).await {
                Ok(()) => return Ok(()),
                Err((error, wait)) if error.transient && attempt < ATTEMPTS => {
                    tracing::debug!(delivery = notice.delivery_id, attempt, error = %error.message, "webhook attempt failed; retrying");
                    tokio::time::sleep(wait.unwrap_or(Duration::from_millis(500 << (attempt - 1))))
                        .await;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    async fn post(
        &self,
        delivery_id: &str,
        body: &[u8],
    ) -> Result<(), (DeliveryError, Option<Duration>)> {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let mut request = Request::post(self.url.clone())
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("poolsight/", env!("CARGO_PKG_VERSION")),
            )
            .header("idempotency-key", delivery_id)
            .header("x-poolsight-delivery", delivery_id)
            .header("x-poolsight-timestamp", &timestamp);
        if let Some(secret) = &self.secret {
            request = request.header(
                "x-poolsight-signature",
                format!("sha256={}", sign(secret, &timestamp, body)),
            );
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| (DeliveryError::permanent(format!("request: {e}")), None))?;
        let response = match tokio::time::timeout(self.timeout, self.client.request(request)).await
        {
            Err(_) => {
                return Err((
                    DeliveryError::transient(format!(
                        "no answer within {:.1} s",
                        self.timeout.as_secs_f64()
                    )),
                    None,
                ))
            }
            Ok(Err(e)) => {
                return Err((
                    DeliveryError::transient(format!("connection failed: {}", error_chain(&e))),
                    None,
                ))
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(5)));
        // Read (and drop) the body so the connection can be reused; a
        // receiver's answer is never shown in full (it is not ours to log).
        let answer = tokio::time::timeout(self.timeout, response.into_body().collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            return Ok(());
        }
        let snippet: String = String::from_utf8_lossy(&answer)
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let message = format!("HTTP {}: {snippet}", status.as_u16());
        let transient = status.as_u16() == 429 || status.is_server_error();
        Err((DeliveryError { message, transient }, retry_after))
    }
}

/// `hex(HMAC-SHA256(secret, "<timestamp>.<body>"))`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    hmac_sha256_hex(secret, &message)
}

/// `hex(HMAC-SHA256(secret, message))`.
pub fn hmac_sha256_hex(secret: &[u8], message: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_rfc_4231_hmac() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let signature = hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            signature,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            sign(b"Jefe", "1700000000", b"{}"),
            hmac_sha256_hex(b"Jefe", b"1700000000.{}")
        );
    }
}
