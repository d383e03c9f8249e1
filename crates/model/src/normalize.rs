//! One record's JSON text → one [`Event`] row, or a [`Rejection`] saying
//! why it cannot be one.
//!
//! The normalizer borrows from the input wherever it can: JSON-valued
//! columns are the record's own text (re-serialized only to redact a
//! secret), and string columns without escapes are slices of it.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_128;

use crate::attribution::{attribute, looks_like_access_key, RecordParts};
use crate::columns::Event;
use crate::json::{self, canonical_json, CowStr, RawObject, WrongType};
use crate::principal::UserIdentity;
use crate::redact::redact_json as redact_secrets;
use crate::resources::touched;
use crate::time::{epoch_number_to_micros, is_plausible, parse_event_time};

/// Where a record came from; copied into the provenance columns.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// `file`, `s3`, `cloudwatch_logs`, `cloudtrail_lookup`.
    pub source_kind: &'a str,
    /// `records_file`, `json_lines`, `filter_log_events`, `lookup_events`, …
    pub source_format: &'a str,
    /// The file path or URI.
    pub source_uri: &'a str,
    /// `line 12`, `Records[3]`, …
    pub position: &'a str,
    /// When the record's carrier says it happened (a CloudWatch Logs event's
    /// timestamp), in microseconds; used only by shapes without a time of
    /// their own (API Gateway access logs without `requestTime`).
    pub fallback_time: Option<i64>,
}

/// Limits and run facts the normalizer needs.
#[derive(Debug, Clone)]
pub struct NormalizeOptions {
    /// Records larger than this are quarantined.
    pub max_record_bytes: usize,
    /// When this run writes (microseconds since the epoch).
    pub ingested_at: i64,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        Self {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            ingested_at: chrono::Utc::now().timestamp_micros(),
        }
    }
}

/// CloudTrail records reach 256 KB in CloudWatch Logs and can be larger in
/// S3; beyond 4 MiB a record is treated as damage, not data.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 4 * 1024 * 1024;

/// Why a record was not turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("record is a JSON {found}, expected an object")]
    NotAnObject { found: &'static str },
    #[error("record is {bytes} bytes, above the limit of {limit} bytes (ingest.max_record_bytes)")]
    TooLarge { bytes: usize, limit: usize },
    #[error("field `eventTime` is missing: the record cannot be placed in time")]
    MissingEventTime,
    #[error("field `eventTime` is not a timestamp: {0}")]
    BadEventTime(String),
    #[error("unknown event shape: neither `eventName` nor `eventSource` (keys: {0})")]
    UnknownShape(String),
    #[error("an EventBridge envelope inside an EventBridge envelope: AWS wraps a record once, so this is not an event")]
    NestedEnvelope,
    #[error("event time {0} is implausible: before 2013 or more than a day after it was ingested (a wrong clock, or a record made to move every relative window)")]
    ImplausibleTime(String),
}

/// Top-level record fields mapped to their own columns. Anything else goes
/// to the `extra` JSON column.
const MAPPED_FIELDS: &[&str] = &[
    "eventVersion",
    "eventID",
    "eventTime",
    "eventSource",
    "eventName",
    "eventType",
    "eventCategory",
    "managementEvent",
    "readOnly",
    "awsRegion",
    "recipientAccountId",
    "requestID",
    "sharedEventID",
    "sourceIPAddress",
    "userAgent",
    "vpcEndpointId",
    "errorCode",
    "errorMessage",
    "userIdentity",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "resources",
    "tlsDetails",
];

#[derive(Deserialize)]
struct ResourceEntry<'a> {
    #[serde(rename = "ARN", alias = "arn", borrow, default)]
    arn: Option<CowStr<'a>>,
    #[serde(rename = "ARNPrefix", borrow, default)]
    arn_prefix: Option<CowStr<'a>>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<CowStr<'a>>,
}

/// Normalizes one record (a CloudTrail record, or an EventBridge envelope
/// whose `detail` is one).
///
/// EventBridge wraps a record once (`{"detail-type":…,"detail":{…}}`);
/// forwarding between buses keeps that one envelope. So exactly one level is
/// unwrapped, without recursion: an envelope inside an envelope is not
/// something AWS writes and is rejected ([`Rejection::NestedEnvelope`]),
/// whatever its depth.
pub fn normalize<'a>(
    text: &'a str,
    origin: &Origin<'a>,
    options: &NormalizeOptions,
) -> Result<Event<'a>, Rejection> {
    if text.len() > options.max_record_bytes {
        return Err(Rejection::TooLarge {
            bytes: text.len(),
            limit: options.max_record_bytes,
        });
    }
    let object = parse_object(text)?;
    if !is_envelope(&object) {
        return normalize_record(text, &object, origin, options);
    }
    let detail = object.get("detail").map(RawValue::get).unwrap_or_default();
    let inner = parse_object(detail)?;
    if is_envelope(&inner) {
        return Err(Rejection::NestedEnvelope);
    }
    let inner_origin = Origin {
        source_format: "eventbridge",
        ..origin.clone()
    };
    normalize_record(detail, &inner, &inner_origin, options)
}

/// `{"detail-type":…,"detail":…}`.
fn is_envelope(object: &RawObject<'_>) -> bool {
    object.get("detail").is_some() && object.get("detail-type").is_some()
}

/// The top-level fields of `text`, which must be a JSON object.
fn parse_object(text: &str) -> Result<RawObject<'_>, Rejection> {
    let trimmed = text.trim_start();
    match trimmed.as_bytes().first() {
        Some(b'{') => {}
        Some(b'"') => return Err(Rejection::NotAnObject { found: "string" }),
        Some(b'[') => return Err(Rejection::NotAnObject { found: "array" }),
        Some(b't') | Some(b'f') => return Err(Rejection::NotAnObject { found: "boolean" }),
        Some(b'n') => return Err(Rejection::NotAnObject { found: "null" }),
        None => return Err(Rejection::InvalidJson("empty record".into())),
        _ => {
            return match serde_json::from_str::<Value>(trimmed) {
                Ok(_) => Err(Rejection::NotAnObject { found: "number" }),
                Err(error) => Err(Rejection::InvalidJson(error.to_string())),
            }
        }
    }
    RawObject::parse(text).map_err(|e| Rejection::InvalidJson(e.to_string()))
}

/// A CloudTrail record or an API Gateway access log line, with a
/// plausible time.
fn normalize_record<'a>(
    text: &'a str,
    object: &RawObject<'a>,
    origin: &Origin<'a>,
    options: &NormalizeOptions,
) -> Result<Event<'a>, Rejection> {
    let event = if crate::apigateway::looks_like_access_log(object) {
        crate::apigateway::normalize_access_log(text, object, origin, options)?
    } else {
        normalize_object(text, object, origin, options)?
    };
    match event.event_time {
        Some(micros) if !is_plausible(micros, options.ingested_at) => {
            let shown = chrono::DateTime::from_timestamp_micros(micros)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| format!("{micros} µs"));
            Err(Rejection::ImplausibleTime(shown))
        }
        _ => Ok(event),
    }
}

fn normalize_object<'a>(
    text: &'a str,
    object: &RawObject<'a>,
    origin: &Origin<'a>,
    options: &NormalizeOptions,
) -> Result<Event<'a>, Rejection> {
    let mut event = Event::default();
    let mut extra: Vec<(&str, &'a RawValue)> = Vec::new();
    let mut user_identity_raw = None;
    let mut request_raw = None;
    let mut response_raw = None;
    let mut resources_raw = None;
    let mut event_time_raw = None;

    for (key, value) in &object.fields {
        let key_str = key.as_ref();
        // A wrong-typed scalar keeps its value in `extra` so nothing is lost.
        let mut string = |slot: &mut Option<Cow<'a, str>>| match json::text(value) {
            Ok(v) => *slot = v,
            Err(WrongType { .. }) => extra.push((key_str, value)),
        };
        match key_str {
            "eventVersion" => string(&mut event.event_version),
            "eventID" => string(&mut event.event_id),
            "eventSource" => string(&mut event.event_source),
            "eventName" => string(&mut event.event_name),
            "eventType" => string(&mut event.event_type),
            "eventCategory" => string(&mut event.event_category),
            "awsRegion" => string(&mut event.aws_region),
            "recipientAccountId" => string(&mut event.recipient_account_id),
            "requestID" => string(&mut event.request_id),
            "sharedEventID" => string(&mut event.shared_event_id),
            "sourceIPAddress" => string(&mut event.source_address),
            "userAgent" => string(&mut event.user_agent),
            "vpcEndpointId" => string(&mut event.vpc_endpoint_id),
            "errorCode" => string(&mut event.error_code),
            "errorMessage" => string(&mut event.error_message),
            "managementEvent" => match json::boolean(value) {
                Ok(v) => event.management_event = v,
                Err(_) => extra.push((key_str, value)),
            },
            "readOnly" => match json::boolean(value) {
                Ok(v) => event.read_only = v,
                Err(_) => extra.push((key_str, value)),
            },
            "eventTime" => event_time_raw = Some(value),
            "userIdentity" => user_identity_raw = Some(*value),
            "requestParameters" => request_raw = Some(*value),
            "responseElements" => response_raw = Some(*value),
            "resources" => resources_raw = Some(*value),
            "additionalEventData" => {
                event.additional_event_data = json::json_text(value).map(redact_secrets)
            }
            "tlsDetails" => event.tls_details = json::json_text(value).map(Cow::Borrowed),
            _ => {
                if !MAPPED_FIELDS.contains(&key_str) {
                    extra.push((key_str, value));
                }
            }
        }
    }

    if event.event_name.is_none() && event.event_source.is_none() {
        let keys: Vec<&str> = object.keys().take(12).collect();
        return Err(Rejection::UnknownShape(keys.join(", ")));
    }
    let Some(time_raw) = event_time_raw else {
        return Err(Rejection::MissingEventTime);
    };
    event.event_time = Some(read_event_time(time_raw)?);

    // Identity and principal.
    let user_identity: Option<UserIdentity<'a>> = user_identity_raw
        .filter(|raw| raw.get().starts_with('{'))
        .and_then(|raw| UserIdentity::parse(raw.get()));
    event.user_identity = user_identity_raw
        .and_then(json::json_text)
        .map(redact_secrets);
    if let Some(user_identity) = &user_identity {
        read_principal(user_identity, &mut event);
    }

    let source = event.event_source.as_deref();
    let wants_request = source.is_some_and(|s| {
        s.starts_with("s3")
            || matches!(
                s,
                "dynamodb.amazonaws.com"
                    | "lambda.amazonaws.com"
                    | "sts.amazonaws.com"
                    | "cognito-identity.amazonaws.com"
            )
    });
    let wants_response =
        source.is_some_and(|s| matches!(s, "sts.amazonaws.com" | "cognito-identity.amazonaws.com"));
    let parse_object = |raw: Option<&RawValue>| -> Option<Value> {
        raw.filter(|r| r.get().starts_with('{') || r.get().starts_with('['))
            .and_then(|r| serde_json::from_str(r.get()).ok())
    };
    let request = if wants_request {
        parse_object(request_raw)
    } else {
        None
    };
    let response = if wants_response {
        parse_object(response_raw)
    } else {
        None
    };
    let resources = if source == Some("cognito-identity.amazonaws.com") {
        parse_object(resources_raw)
    } else {
        None
    };
    event.request_parameters = request_raw.and_then(json::json_text).map(redact_secrets);
    event.response_elements = response_raw.and_then(json::json_text).map(redact_secrets);
    event.resources = resources_raw.and_then(json::json_text).map(Cow::Borrowed);
    if let Some(raw) = resources_raw {
        if let Ok(entries) = serde_json::from_str::<Vec<ResourceEntry<'a>>>(raw.get()) {
            for entry in entries {
                if let Some(CowStr(arn)) = entry.arn.or(entry.arn_prefix) {
                    event.resource_arns.push(arn);
                }
                if let Some(CowStr(kind)) = entry.kind {
                    event.resource_types.push(kind);
                }
            }
        }
    }

    let attribution = attribute(&RecordParts {
        event_source: event.event_source.as_deref(),
        event_name: event.event_name.as_deref(),
        user_identity: user_identity.as_ref(),
        request_parameters: request.as_ref(),
        response_elements: response.as_ref(),
        resources: resources.as_ref(),
    });
    event.identity_id = attribution.identity_id.map(Cow::Owned);
    event.identity_pool_id = attribution.identity_pool_id.map(Cow::Owned);
    event.auth_type = attribution.auth_type.map(Cow::Borrowed);
    event.login_provider = attribution.login_providers.first().cloned().map(Cow::Owned);
    event.login_providers = attribution
        .login_providers
        .into_iter()
        .map(Cow::Owned)
        .collect();
    event.attribution_source = attribution.source.map(Cow::Borrowed);
    if attribution.role_arn.is_some() {
        event.role_arn = attribution.role_arn.map(Cow::Owned);
    }
    event.issued_access_key_id = attribution.issued_access_key_id.map(Cow::Owned);
    event.credentials_expiration = attribution.credentials_expiration;
    event.web_identity_audience = attribution.web_identity_audience.map(Cow::Owned);
    if attribution.identity_provider.is_some() {
        event.identity_provider = attribution.identity_provider.map(Cow::Owned);
    }

    let touched = touched(
        event.event_source.as_deref(),
        request.as_ref(),
        &event.resource_arns,
    );
    event.s3_bucket = touched.s3_bucket.map(Cow::Owned);
    event.s3_key = touched.s3_key.map(Cow::Owned);
    event.s3_prefix = touched.s3_prefix.map(Cow::Owned);
    event.dynamodb_table = touched.dynamodb_table.map(Cow::Owned);
    event.dynamodb_item_key = touched.dynamodb_item_key.map(Cow::Owned);
    event.dynamodb_key_values = touched
        .dynamodb_key_values
        .into_iter()
        .map(Cow::Owned)
        .collect();
    event.dynamodb_statement = touched.dynamodb_statement.map(Cow::Owned);
    event.lambda_function = touched.lambda_function.map(Cow::Owned);
    event.target_identity_ids = touched
        .target_identity_ids
        .into_iter()
        .map(Cow::Owned)
        .collect();

    event.source_ip = event
        .source_address
        .as_deref()
        .filter(|address| address.parse::<IpAddr>().is_ok())
        .map(|address| Cow::Owned(address.to_string()));
    if !extra.is_empty() {
        event.extra = Some(redact_secrets(&extra_object(&extra)).into_owned().into());
    }

    event.event_key = Some(match &event.event_id {
        Some(id) => id.clone(),
        None => Cow::Owned(content_key(text)),
    });
    event.source_kind = Some(Cow::Borrowed(origin.source_kind));
    event.source_format = Some(Cow::Borrowed(origin.source_format));
    event.source_uri = Some(Cow::Borrowed(origin.source_uri));
    event.source_position = Some(Cow::Borrowed(origin.position));
    event.ingested_at = Some(options.ingested_at);
    event.record_bytes = Some(text.len() as i64);
    Ok(event)
}

fn read_event_time(raw: &RawValue) -> Result<i64, Rejection> {
    let body = raw.get();
    match body.as_bytes().first() {
        Some(b'"') => {
            let CowStr(text) = serde_json::from_str::<CowStr>(body)
                .map_err(|e| Rejection::BadEventTime(e.to_string()))?;
            parse_event_time(&text).ok_or_else(|| Rejection::BadEventTime(format!("{text:?}")))
        }
        Some(b'n') => Err(Rejection::MissingEventTime),
        Some(b'-') | Some(b'0'..=b'9') => body
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| epoch_number_to_micros(n as i64))
            .ok_or_else(|| Rejection::BadEventTime(body.to_string())),
        _ => Err(Rejection::BadEventTime(format!(
            "expected an RFC 3339 string, found a JSON {}",
            json::json_type_name(raw)
        ))),
    }
}

fn read_principal<'a>(user_identity: &UserIdentity<'a>, event: &mut Event<'a>) {
    event.principal_type = user_identity.kind.to_cow();
    event.principal_id = user_identity.principal_id.to_cow();
    event.principal_arn = user_identity.arn.to_cow();
    event.principal_account_id = user_identity.account_id.to_cow();
    event.invoked_by = user_identity.invoked_by.to_cow();
    event.access_key_id = user_identity
        .access_key_id
        .to_cow()
        .filter(|key| looks_like_access_key(key));
    event.principal_name = user_identity.user_name.to_cow().or_else(|| {
        user_identity
            .session_issuer()
            .and_then(|issuer| issuer.user_name.to_cow())
    });
    if let Some(attributes) = user_identity
        .session_context
        .as_ref()
        .and_then(|context| context.attributes.as_ref())
    {
        event.session_created_at = attributes
            .creation_date
            .as_deref()
            .and_then(parse_event_time);
        event.mfa_authenticated = attributes
            .mfa_authenticated
            .as_deref()
            .and_then(|v| v.parse().ok());
    }
    if let Some(arn) = user_identity.arn.as_deref() {
        // arn:aws:sts::<acct>:assumed-role/<role>/<session>
        if let Some((_, rest)) = arn.split_once(":assumed-role/") {
            if let Some((_, session)) = rest.split_once('/') {
                event.role_session_name = Some(Cow::Owned(session.to_string()));
            }
        }
    }
}

/// The `extra` column: `{"key": <raw value>, …}` from the record's own text.
pub(crate) fn extra_object(fields: &[(&str, &RawValue)]) -> String {
    let mut out = String::from("{");
    for (index, (key, value)) in fields.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&Value::String((*key).to_string()).to_string());
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
    out
}

/// The dedup key of a record without `eventID`: a 128-bit hash of its
/// canonical JSON (keys sorted), so the same record from two sources
/// (different whitespace or key order) gets the same key.
pub fn content_key(text: &str) -> String {
    let canonical = serde_json::from_str::<Value>(text)
        .map(|value| canonical_json(&value))
        .unwrap_or_else(|_| text.to_string());
    format!("h:{:032x}", xxh3_128(canonical.as_bytes()))
}

/// The 128-bit dedup hash of an `event_key`.
pub fn key_hash(event_key: &str) -> u128 {
    xxh3_128(event_key.as_bytes())
}
