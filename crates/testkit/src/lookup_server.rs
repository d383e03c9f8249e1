//! A CloudTrail `LookupEvents` server for tests, speaking the service's real
//! protocol (AWS JSON 1.1: `POST /`, `X-Amz-Target:
//! com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`,
//! timestamps as epoch seconds), so the real `aws-sdk-cloudtrail` client is
//! exercised over HTTP.
//!
//! It serves fixture records the way CloudTrail does: management events only
//! (records with `"managementEvent": false` are left out), newest first,
//! `StartTime`/`EndTime` inclusive, at most one `LookupAttributes` entry,
//! `MaxResults` up to 50, an opaque `NextToken` bound to the query (a token
//! reused with other parameters is `InvalidNextTokenException`), and
//! `ThrottlingException` when requests come faster than the configured rate.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::http::{aws_json_response, serve, ResponseBody, Running, TokenBucket};

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct LookupServerOptions {
    /// Requests per second allowed (a token bucket holding one second's
    /// worth); faster requests get `ThrottlingException`. `None`: no limit.
    pub max_tps: Option<f64>,
    /// The first this-many requests are throttled whatever the rate.
    pub throttle_first: u64,
    /// Events per page when the request's `MaxResults` is absent (CloudTrail: 50).
    pub default_page_size: usize,
}

impl Default for LookupServerOptions {
    fn default() -> Self {
        Self {
            max_tps: Some(2.0),
            throttle_first: 0,
            default_page_size: 50,
        }
    }
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct LookupStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub pages: AtomicU64,
    pub events_returned: AtomicU64,
    pub bad_requests: AtomicU64,
}

struct Fixture {
    id: String,
    name: String,
    source: String,
    time_seconds: f64,
    read_only: String,
    access_key: Option<String>,
    username: Option<String>,
    resources: Vec<(String, String)>,
    raw: String,
}

struct State {
    fixtures: Mutex<Vec<Arc<Fixture>>>,
    options: LookupServerOptions,
    bucket: TokenBucket,
    stats: Arc<LookupStats>,
}

/// A running LookupEvents server; stopped on drop.
pub struct LookupServer {
    running: Running,
    state: Arc<State>,
}

impl LookupServer {
    /// Serves `records` (CloudTrail record JSON texts).
    pub fn start(records: &[String], options: LookupServerOptions) -> Self {
        let state = Arc::new(State {
            fixtures: Mutex::new(Vec::new()),
            bucket: TokenBucket::new(options.max_tps),
            options,
            stats: Arc::new(LookupStats::default()),
        });
        let server = Self {
            running: {
                let state = Arc::clone(&state);
                serve(move |request| handle(Arc::clone(&state), request))
            },
            state,
        };
        server.add_records(records);
        server
    }

    /// Adds records (as CloudTrail would, when new events arrive).
    pub fn add_records(&self, records: &[String]) {
        let mut fixtures = self.state.fixtures.lock().expect("fixtures lock");
        for raw in records {
            if let Some(fixture) = fixture_of(raw) {
                fixtures.push(Arc::new(fixture));
            }
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.running.address)
    }

    pub fn stats(&self) -> Arc<LookupStats> {
        Arc::clone(&self.state.stats)
    }
}

fn fixture_of(raw: &str) -> Option<Fixture> {
    let record: Value = serde_json::from_str(raw).ok()?;
    if record.get("managementEvent") == Some(&Value::Bool(false)) {
        return None;
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let time = text(record.get("eventTime"))?;
    let time_seconds = chrono::DateTime::parse_from_rfc3339(&time)
        .ok()?
        .timestamp_micros() as f64
        / 1e6;
    let identity = record.get("userIdentity");
    let username = text(identity.and_then(|i| i.get("userName"))).or_else(|| {
        text(identity.and_then(|i| i.pointer("/sessionContext/sessionIssuer/userName")))
    });
    let resources = record
        .get("resources")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| Some((text(r.get("type"))?, text(r.get("ARN"))?)))
                .collect()
        })
        .unwrap_or_default();
    Some(Fixture {
        id: text(record.get("eventID"))?,
        name: text(record.get("eventName")).unwrap_or_default(),
        source: text(record.get("eventSource")).unwrap_or_default(),
        time_seconds,
        read_only: match record.get("readOnly") {
            Some(Value::Bool(true)) => "true".into(),
            _ => "false".into(),
        },
        access_key: text(identity.and_then(|i| i.get("accessKeyId"))),
        username,
        resources,
        raw: raw.to_string(),
    })
}

fn error(state: &State, kind: &str, message: &str) -> Response<ResponseBody> {
    if kind != "ThrottlingException" {
        state.stats.bad_requests.fetch_add(1, Ordering::Relaxed);
    }
    aws_json_response(
        StatusCode::BAD_REQUEST,
        json!({ "__type": kind, "Message": message }),
    )
}

async fn handle(
    state: Arc<State>,
    request: Request<hyper::body::Incoming>,
) -> Response<ResponseBody> {
    let number = state.stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return error(&state, "InvalidRequestException", "unreadable body"),
    };
    if !target.ends_with(".LookupEvents") {
        return error(
            &state,
            "UnknownOperationException",
            &format!("this test server only answers LookupEvents, not {target:?}"),
        );
    }
    if number <= state.options.throttle_first || !state.bucket.take() {
        state.stats.throttled.fetch_add(1, Ordering::Relaxed);
        return error(&state, "ThrottlingException", "Rate exceeded");
    }
    let Ok(query) = serde_json::from_slice::<Value>(&body) else {
        return error(&state, "InvalidRequestException", "the body is not JSON");
    };
    let seconds = |key: &str| query.get(key).and_then(Value::as_f64);
    let start = seconds("StartTime").unwrap_or(f64::MIN);
    let end = seconds("EndTime").unwrap_or(f64::MAX);
    if start > end {
        return error(
            &state,
            "InvalidTimeRangeException",
            "StartTime is after EndTime",
        );
    }
    let page_size = match query.get("MaxResults").and_then(Value::as_u64) {
        Some(n) if (1..=50).contains(&n) => n as usize,
        Some(_) => {
            return error(
                &state,
                "InvalidMaxResultsException",
                "MaxResults must be between 1 and 50",
            )
        }
        None => state.options.default_page_size,
    };
    let attribute = match query.get("LookupAttributes").and_then(Value::as_array) {
        None => None,
        Some(list) if list.is_empty() => None,
        Some(list) if list.len() == 1 => {
            let key = list[0].get("AttributeKey").and_then(Value::as_str);
            let value = list[0].get("AttributeValue").and_then(Value::as_str);
            match (key, value) {
                (Some(k), Some(v)) => Some((k.to_string(), v.to_string())),
                _ => {
                    return error(
                        &state,
                        "InvalidLookupAttributesException",
                        "AttributeKey and AttributeValue are required",
                    )
                }
            }
        }
        Some(_) => {
            return error(
                &state,
                "InvalidLookupAttributesException",
                "only one lookup attribute is allowed",
            )
        }
    };
    let mut fingerprint = DefaultHasher::new();
    start.to_bits().hash(&mut fingerprint);
    end.to_bits().hash(&mut fingerprint);
    attribute.hash(&mut fingerprint);
    let fingerprint = fingerprint.finish();
    let offset = match query.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => match token
            .split_once('.')
            .and_then(|(o, f)| Some((o.parse::<usize>().ok()?, u64::from_str_radix(f, 16).ok()?)))
        {
            Some((offset, f)) if f == fingerprint => offset,
            _ => {
                return error(
                    &state,
                    "InvalidNextTokenException",
                    "the token does not belong to this query",
                )
            }
        },
    };
    let mut matching: Vec<Arc<Fixture>> = state
        .fixtures
        .lock()
        .expect("fixtures lock")
        .iter()
        .filter(|f| f.time_seconds >= start && f.time_seconds <= end)
        .filter(|f| match &attribute {
            None => true,
            Some((key, value)) => match key.as_str() {
                "EventId" => &f.id == value,
                "EventName" => &f.name == value,
                "EventSource" => &f.source == value,
                "ReadOnly" => &f.read_only == value,
                "Username" => f.username.as_ref() == Some(value),
                "AccessKeyId" => f.access_key.as_ref() == Some(value),
                "ResourceType" => f.resources.iter().any(|(t, _)| t == value),
                "ResourceName" => f.resources.iter().any(|(_, n)| n == value),
                _ => false,
            },
        })
        .cloned()
        .collect();
    matching.sort_by(|a, b| {
        b.time_seconds
            .total_cmp(&a.time_seconds)
            .then_with(|| a.id.cmp(&b.id))
    });
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|f| {
            json!({
                "EventId": f.id,
                "EventName": f.name,
                "ReadOnly": f.read_only,
                "AccessKeyId": f.access_key,
                "EventTime": f.time_seconds,
                "EventSource": f.source,
                "Username": f.username,
                "Resources": f.resources.iter().map(|(t, n)| json!({"ResourceType": t, "ResourceName": n})).collect::<Vec<_>>(),
                "CloudTrailEvent": f.raw,
            })
        })
        .collect();
    state.stats.pages.fetch_add(1, Ordering::Relaxed);
    state
        .stats
        .events_returned
        .fetch_add(page.len() as u64, Ordering::Relaxed);
    let mut body = json!({ "Events": page });
    if offset + page_size < matching.len() {
        body["NextToken"] = json!(format!("{}.{fingerprint:x}", offset + page_size));
    }
    aws_json_response(StatusCode::OK, body)
}
