//! API Gateway access log lines (JSON format) → events.
//!
//! With IAM authorization, an API's access log can carry
//! `$context.identity.cognitoIdentityId`, `cognitoIdentityPoolId`,
//! `cognitoAuthenticationType` and `cognitoAuthenticationProvider`: calls
//! made with identity-pool credentials that CloudTrail never sees. The
//! format is the API owner's choice, so fields are read by their usual
//! names, flat or under an `identity` object, with the aliases the AWS
//! documentation's examples use. Such a line becomes an event with
//! `event_source = "apigateway"`, `event_name = "<METHOD> <resource path>"`
//! (or the HTTP API's `routeKey`), attributed to its identity.

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::attribution::{
    looks_like_access_key, source as sources, AUTHENTICATED, UNAUTHENTICATED,
};
use crate::columns::Event;
use crate::json::{self, RawObject};
use crate::normalize::{NormalizeOptions, Origin, Rejection};
use crate::redact::redact_json as redact_secrets;
use crate::resources::identity_ids_of;
use crate::time::{epoch_number_to_micros, parse_event_time};

const COGNITO_KEYS: &[&str] = &[
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "cognitoAuthenticationType",
    "cognitoAuthenticationProvider",
];

/// Whether a JSON object without `eventName`/`eventSource` is an API
/// Gateway access log line: it names a request (`requestId` or
/// `httpMethod`) and either a Cognito identity field or an HTTP status.
pub fn looks_like_access_log(object: &RawObject<'_>) -> bool {
    let has = |key: &str| object.get(key).is_some();
    let identity = object.get("identity").and_then(nested_keys);
    let cognito = COGNITO_KEYS.iter().any(|k| has(k))
        || identity
            .as_ref()
            .is_some_and(|keys| COGNITO_KEYS.iter().any(|k| keys.contains_key(*k)));
    (has("requestId") || has("httpMethod"))
        && (cognito || has("status"))
        && !has("eventName")
        && !has("eventSource")
}

fn nested_keys(raw: &RawValue) -> Option<serde_json::Map<String, Value>> {
    if !raw.get().trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// A field by any of its names, flat or under `identity`/`error`.
struct Fields<'o, 'a> {
    object: &'o RawObject<'a>,
    identity: Option<serde_json::Map<String, Value>>,
    error: Option<serde_json::Map<String, Value>>,
    used: Vec<&'static str>,
}

impl<'a> Fields<'_, 'a> {
    fn text(&mut self, names: &[&'static str]) -> Option<Cow<'a, str>> {
        for name in names {
            if let Some(raw) = self.object.get(name) {
                if let Ok(Some(value)) = json::text(raw) {
                    self.used.push(name);
                    let trimmed = value.trim();
                    if trimmed.is_empty() || trimmed == "-" {
                        return None;
                    }
                    return Some(value);
                }
            }
        }
        None
    }

    fn nested(&self, names: &[&str], from_error: bool) -> Option<String> {
        let map = if from_error {
            &self.error
        } else {
            &self.identity
        };
        let map = map.as_ref()?;
        names.iter().find_map(|name| match map.get(*name)? {
            Value::String(s) if !s.trim().is_empty() && s != "-" => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    fn identity_text(&mut self, flat: &[&'static str], nested: &[&str]) -> Option<Cow<'a, str>> {
        self.text(flat)
            .or_else(|| self.nested(nested, false).map(Cow::Owned))
    }
}

/// Access log fields that hold the request's query string (no `$context`
/// variable does; formats that log one name it one of these).
const QUERY_STRING_FIELDS: &[&str] = &["queryString", "querystring", "rawQueryString"];

/// Normalizes one access log line (see [`looks_like_access_log`]).
pub fn normalize_access_log<'a>(
    text: &'a str,
    object: &RawObject<'a>,
    origin: &Origin<'a>,
    options: &NormalizeOptions,
) -> Result<Event<'a>, Rejection> {
    let mut fields = Fields {
        object,
        identity: object.get("identity").and_then(nested_keys),
        error: object.get("error").and_then(nested_keys),
        used: vec!["identity", "error"],
    };
    let mut event = Event {
        event_source: Some(Cow::Borrowed("apigateway")),
        ..Default::default()
    };

    // Time: requestTimeEpoch (ms), requestTime (CLF or ISO), else the log
    // event's own timestamp.
    let epoch = object.get("requestTimeEpoch").and_then(|raw| {
        let body = raw.get().trim_matches('"');
        body.parse::<f64>().ok().filter(|n| n.is_finite())
    });
    fields.used.push("requestTimeEpoch");
    let request_time = fields.text(&["requestTime", "time", "timestamp"]);
    event.event_time = match (epoch, request_time.as_deref()) {
        (Some(n), _) => Some(epoch_number_to_micros(n as i64)),
        (None, Some(t)) => Some(
            parse_clf_time(t)
                .or_else(|| parse_event_time(t))
                .ok_or_else(|| Rejection::BadEventTime(format!("requestTime {t:?}")))?,
        ),
        (None, None) => Some(origin.fallback_time.ok_or(Rejection::MissingEventTime)?),
    };

    let method = fields.text(&["httpMethod", "method"]);
    let resource_path = fields.text(&["resourcePath"]);
    let path = fields.text(&["path", "requestPath"]);
    let route_key = fields.text(&["routeKey"]);
    event.event_name = Some(match (&route_key, &method, &resource_path, &path) {
        (Some(route), _, _, _) if route.as_ref() != "$default" => route.clone(),
        (_, Some(m), Some(r), _) => Cow::Owned(format!("{m} {r}")),
        (_, Some(m), None, Some(p)) => Cow::Owned(format!("{m} {p}")),
        (_, Some(m), None, None) => m.clone(),
        _ => Cow::Borrowed("request"),
    });
    event.http_method = method;
    event.http_path = path.or(resource_path);
    event.http_status = fields
        .text(&["status", "statusCode"])
        .and_then(|s| s.parse::<i64>().ok());

    event.request_id = fields.text(&["requestId"]);
    event.event_id = event.request_id.clone();
    event.source_address = fields.identity_text(&["ip", "sourceIp", "sourceIP"], &["sourceIp"]);
    event.user_agent = fields.identity_text(&["userAgent"], &["userAgent"]);
    event.aws_region = fields.text(&["region", "awsRegion"]);
    event.recipient_account_id = fields.text(&["accountId"]);
    event.principal_account_id = fields.identity_text(&["callerAccountId"], &["accountId"]);
    event.principal_id = fields.identity_text(&["caller", "user"], &["caller", "user"]);
    event.principal_arn = fields.identity_text(&["userArn"], &["userArn"]);
    event.access_key_id = fields
        .identity_text(&["accessKey"], &["accessKey"])
        .filter(|key| looks_like_access_key(key));

    let error_type = fields
        .text(&["errorResponseType", "responseType"])
        .or_else(|| fields.nested(&["responseType"], true).map(Cow::Owned));
    let error_message = fields
        .text(&["errorMessage", "errorMessageString"])
        .or_else(|| fields.nested(&["message"], true).map(Cow::Owned));
    if event.http_status.is_some_and(|status| status >= 400) {
        event.error_code = error_type.or_else(|| {
            event
                .http_status
                .map(|status| Cow::Owned(format!("HTTP {status}")))
        });
        event.error_message = error_message;
    }

    // Attribution.
    let identity_id = fields.identity_text(&["cognitoIdentityId"], &["cognitoIdentityId"]);
    let pool_id = fields.identity_text(&["cognitoIdentityPoolId"], &["cognitoIdentityPoolId"]);
    let auth_type = fields.identity_text(
        &["cognitoAuthenticationType"],
        &["cognitoAuthenticationType"],
    );
    let provider = fields.identity_text(
        &["cognitoAuthenticationProvider"],
        &["cognitoAuthenticationProvider"],
    );
    if identity_id.is_some() || pool_id.is_some() {
        event.attribution_source = Some(Cow::Borrowed(sources::APIGATEWAY_ACCESS_LOG));
    }
    event.identity_id = identity_id.map(|id| Cow::Owned(id.to_ascii_lowercase()));
    event.identity_pool_id = pool_id;
    event.auth_type = auth_type.and_then(|t| match t.to_ascii_lowercase().as_str() {
        "authenticated" => Some(Cow::Borrowed(AUTHENTICATED)),
        "unauthenticated" => Some(Cow::Borrowed(UNAUTHENTICATED)),
        _ => None,
    });
    let providers = provider.as_deref().map(login_providers).unwrap_or_default();
    event.login_provider = providers.first().cloned().map(Cow::Owned);
    event.login_providers = providers.into_iter().map(Cow::Owned).collect();
    if event.identity_id.is_some() && event.aws_region.is_none() {
        event.aws_region = event
            .identity_id
            .as_deref()
            .and_then(|id| id.split_once(':'))
            .map(|(region, _)| Cow::Owned(region.to_string()));
    }
    // Ids in the path, and in a query string when the log format carries
    // one (`/notes?owner=<id>`: the path says nothing about whose notes).
    // The query string stays in `extra` as logged.
    let query_string = QUERY_STRING_FIELDS
        .iter()
        .find_map(|name| object.get(name))
        .and_then(|raw| json::text(raw).ok().flatten());
    event.target_identity_ids = identity_ids_of(
        [event.http_path.as_deref(), query_string.as_deref()]
            .into_iter()
            .flatten(),
    )
    .into_iter()
    .map(Cow::Owned)
    .collect();

    event.source_ip = event
        .source_address
        .as_deref()
        .filter(|address| address.parse::<IpAddr>().is_ok())
        .map(|address| Cow::Owned(address.to_string()));
    // Unmapped fields, then the `identity` and `error` objects whole.
    let extra: Vec<(&str, &RawValue)> = object
        .fields
        .iter()
        .filter(|(key, _)| !fields.used.contains(&key.as_ref()))
        .map(|(key, value)| (key.as_ref(), *value))
        .chain(
            ["identity", "error"]
                .into_iter()
                .filter_map(|k| object.get(k).map(|v| (k, v))),
        )
        .collect();
    if !extra.is_empty() {
        event.extra = Some(Cow::Owned(
            redact_secrets(&crate::normalize::extra_object(&extra)).into_owned(),
        ));
    }
    event.event_key = Some(match &event.request_id {
        Some(id) => Cow::Owned(format!("apigateway:{id}")),
        None => Cow::Owned(crate::normalize::content_key(text)),
    });
    event.source_kind = Some(Cow::Borrowed(origin.source_kind));
    event.source_format = Some(Cow::Borrowed("apigateway_access_log"));
    event.source_uri = Some(Cow::Borrowed(origin.source_uri));
    event.source_position = Some(Cow::Borrowed(origin.position));
    event.ingested_at = Some(options.ingested_at);
    event.record_bytes = Some(text.len() as i64);
    Ok(event)
}

/// `27/Nov/2026:10:00:00 +0000` (Common Log Format, `$context.requestTime`).
fn parse_clf_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text, "%d/%b/%Y:%H:%M:%S %z")
        .ok()
        .map(|t| t.timestamp_micros())
}

/// `cognitoAuthenticationProvider`:
/// `cognito-idp.us-east-1.amazonaws.com/us-east-1_aaa,cognito-idp.us-east-1.amazonaws.com/us-east-1_aaa:CognitoSignIn:<sub>`
/// for a user pool, or the provider name (`graph.facebook.com`, …) — each
/// provider once, the `:CognitoSignIn:<sub>` suffix dropped.
pub fn login_providers(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in text.split(',') {
        let provider = part
            .split(":CognitoSignIn:")
            .next()
            .unwrap_or(part)
            .trim()
            .to_string();
        if !provider.is_empty() && !out.contains(&provider) {
            out.push(provider);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_of_a_user_pool_login() {
        assert_eq!(
            login_providers("cognito-idp.us-east-1.amazonaws.com/us-east-1_aaa,cognito-idp.us-east-1.amazonaws.com/us-east-1_aaa:CognitoSignIn:1234-abcd"),
            vec!["cognito-idp.us-east-1.amazonaws.com/us-east-1_aaa"]
        );
        assert_eq!(
            login_providers("graph.facebook.com"),
            vec!["graph.facebook.com"]
        );
    }

    #[test]
    fn clf_time() {
        assert_eq!(
            parse_clf_time("27/Nov/2026:10:00:00 +0000"),
            parse_event_time("2026-11-27T10:00:00Z")
        );
        assert_eq!(
            parse_clf_time("27/Nov/2026:11:00:00 +0100"),
            parse_event_time("2026-11-27T10:00:00Z")
        );
    }
}
