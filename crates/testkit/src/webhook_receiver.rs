//! A webhook receiver for the delivery tests: it records every request
//! (idempotency key, timestamp, signature, body) and answers by a plan —
//! `500` to the first N requests, no answer for a while to chosen ones
//! (the sender times out; the receiver still processed them, as a real
//! slow receiver would), `500` to every k-th, else `200`.
//!
//! A receiver that dedupes on the idempotency key is
//! [`WebhookReceiver::processed_keys`]: the set of keys of requests it
//! processed (answered 2xx, late or not).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::{Response, StatusCode};

use crate::http::{full, serve, Running};

/// How the receiver answers request number `n` (from 1).
#[derive(Debug, Clone, Default)]
pub struct ReceiverPlan {
    /// `500 Internal Server Error` to requests 1..=fail_first.
    pub fail_first: usize,
    /// These request numbers get their `200` only after `hang_for`.
    pub hang: Vec<usize>,
    pub hang_for: Duration,
    /// `500` to every request whose number is a multiple of this (0: none).
    pub error_every: usize,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedDelivery {
    pub number: usize,
    pub idempotency_key: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// The status the receiver answered (after its delay, if any).
    pub status: u16,
}

impl ReceivedDelivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// Whether the receiver processed it (answered 2xx).
    pub fn processed(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Default)]
struct State {
    requests: usize,
    deliveries: Vec<ReceivedDelivery>,
}

/// A running receiver; stopped on drop.
pub struct WebhookReceiver {
    running: Running,
    state: Arc<Mutex<State>>,
}

impl WebhookReceiver {
    pub fn start(plan: ReceiverPlan) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let running = {
            let state = Arc::clone(&state);
            serve(move |request| {
                let state = Arc::clone(&state);
                let plan = plan.clone();
                async move {
                    let header = |name: &str| {
                        request
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let idempotency_key = header("idempotency-key");
                    let timestamp = header("x-poolsight-timestamp");
                    let signature = header("x-poolsight-signature");
                    let content_type = header("content-type");
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes().to_vec())
                        .unwrap_or_default();
                    let number = {
                        let mut state = state.lock().expect("receiver state");
                        state.requests += 1;
                        state.requests
                    };
                    let status = if number <= plan.fail_first
                        || (plan.error_every > 0 && number.is_multiple_of(plan.error_every))
                    {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    state
                        .lock()
                        .expect("receiver state")
                        .deliveries
                        .push(ReceivedDelivery {
                            number,
                            idempotency_key,
                            timestamp,
                            signature,
                            content_type,
                            body,
                            status: status.as_u16(),
                        });
                    // Processed (recorded), then slow to answer: the sender
                    // may give up before the answer comes.
                    if plan.hang.contains(&number) {
                        tokio::time::sleep(plan.hang_for).await;
                    }
                    Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(full(if status.is_success() {
                            "{\"ok\":true}"
                        } else {
                            "{\"error\":\"injected by the test receiver\"}"
                        }))
                        .expect("valid response")
                }
            })
        };
        Self { running, state }
    }

    /// `http://127.0.0.1:<port>/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.running.address)
    }

    /// Every request so far, in arrival order.
    pub fn deliveries(&self) -> Vec<ReceivedDelivery> {
        let mut all = self
            .state
            .lock()
            .expect("receiver state")
            .deliveries
            .clone();
        all.sort_by_key(|d| d.number);
        all
    }

    /// The idempotency keys of the requests it processed (a deduping receiver's view).
    pub fn processed_keys(&self) -> BTreeSet<String> {
        self.deliveries()
            .into_iter()
            .filter(ReceivedDelivery::processed)
            .filter_map(|d| d.idempotency_key)
            .collect()
    }
}
