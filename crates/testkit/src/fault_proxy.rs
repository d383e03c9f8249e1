//! A fault-injecting HTTP proxy: forwards requests to an upstream server
//! (moto) and, by a deterministic plan, answers some of them itself with the
//! errors AWS really returns, or cuts the upstream's response off halfway.
//!
//! Throttling looks like the service's: S3 gets `503 SlowDown` (XML),
//! JSON-protocol services (CloudWatch Logs, CloudTrail) get `400
//! ThrottlingException`. Server errors are `500 InternalError` /
//! `InternalFailure`. A dropped response sends the status, the headers
//! (with the full `Content-Length`) and half the body, then closes the
//! connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::http::{full, serve, BoxError, ResponseBody, Running};

/// Which requests fail: request number `n` (from 1) is throttled when
/// `n % throttle_every == 0`, else answered 500 when `n % error_every == 0`,
/// else cut off when `n % drop_every == 0`; zero turns a fault off.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultPlan {
    pub throttle_every: u64,
    pub error_every: u64,
    pub drop_every: u64,
}

/// What the proxy did.
#[derive(Debug, Default)]
pub struct FaultStats {
    pub requests: AtomicU64,
    pub forwarded: AtomicU64,
    pub throttled: AtomicU64,
    pub server_errors: AtomicU64,
    pub dropped: AtomicU64,
}

/// A running proxy; stopped on drop.
pub struct FaultProxy {
    running: Running,
    stats: Arc<FaultStats>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`http://host:port`).
    pub fn start(upstream: &str, plan: FaultPlan) -> Self {
        let stats = Arc::new(FaultStats::default());
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.trim_end_matches('/').to_string();
        let running = {
            let stats = Arc::clone(&stats);
            serve(move |request| {
                forward(
                    client.clone(),
                    upstream.clone(),
                    plan,
                    Arc::clone(&stats),
                    request,
                )
            })
        };
        Self { running, stats }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.running.address)
    }

    pub fn stats(&self) -> Arc<FaultStats> {
        Arc::clone(&self.stats)
    }
}

fn hits(every: u64, number: u64) -> bool {
    every > 0 && number.is_multiple_of(every)
}

fn canned(json_protocol: bool, status: StatusCode, code: &str) -> Response<ResponseBody> {
    let (content_type, body) = if json_protocol {
        (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"{code}","message":"injected by the poolsight fault proxy"}}"#),
        )
    } else {
        (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the poolsight fault proxy</Message><RequestId>FAULT</RequestId></Error>"
            ),
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(full(body))
        .expect("valid response")
}

async fn forward(
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    upstream: String,
    plan: FaultPlan,
    stats: Arc<FaultStats>,
    request: Request<hyper::body::Incoming>,
) -> Response<ResponseBody> {
    let number = stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let json_protocol = request.headers().contains_key("x-amz-target");
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return canned(json_protocol, StatusCode::BAD_REQUEST, "IncompleteBody");
    };
    if hits(plan.throttle_every, number) {
        stats.throttled.fetch_add(1, Ordering::Relaxed);
        return if json_protocol {
            canned(true, StatusCode::BAD_REQUEST, "ThrottlingException")
        } else {
            canned(false, StatusCode::SERVICE_UNAVAILABLE, "SlowDown")
        };
    }
    if hits(plan.error_every, number) {
        stats.server_errors.fetch_add(1, Ordering::Relaxed);
        let code = if json_protocol {
            "InternalFailure"
        } else {
            "InternalError"
        };
        return canned(json_protocol, StatusCode::INTERNAL_SERVER_ERROR, code);
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut upstream_request = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST {
            upstream_request = upstream_request.header(name, value);
        }
    }
    let Ok(upstream_request) = upstream_request.body(Full::new(body)) else {
        return canned(json_protocol, StatusCode::BAD_REQUEST, "BadRequest");
    };
    let response = match client.request(upstream_request).await {
        Ok(response) => response,
        Err(e) => {
            return canned(
                json_protocol,
                StatusCode::BAD_GATEWAY,
                &format!("UpstreamUnavailable: {e}"),
            )
        }
    };
    let (parts, body) = response.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return canned(json_protocol, StatusCode::BAD_GATEWAY, "UpstreamBodyError");
    };
    stats.forwarded.fetch_add(1, Ordering::Relaxed);
    let mut builder = Response::builder().status(parts.status);
    for (name, value) in &parts.headers {
        if name != hyper::header::TRANSFER_ENCODING && name != hyper::header::CONTENT_LENGTH {
            builder = builder.header(name, value);
        }
    }
    builder = builder.header(hyper::header::CONTENT_LENGTH, body.len());
    if hits(plan.drop_every, number) && body.len() >= 2 {
        stats.dropped.fetch_add(1, Ordering::Relaxed);
        let half = body.slice(..body.len() / 2);
        let frames: Vec<Result<Frame<Bytes>, BoxError>> = vec![
            Ok(Frame::data(half)),
            Err("connection dropped by the poolsight fault proxy".into()),
        ];
        let body = StreamBody::new(futures::stream::iter(frames));
        return builder.body(BodyExt::boxed(body)).expect("valid response");
    }
    builder.body(full(body)).expect("valid response")
}
