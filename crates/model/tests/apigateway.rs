//! API Gateway access log lines become attributed `apigateway` events.

use poolsight_model::time::parse_event_time;
use poolsight_model::{normalize, NormalizeOptions, Origin, Rejection};

fn normalize_at(
    line: &str,
    fallback: Option<i64>,
) -> Result<poolsight_model::Event<'_>, Rejection> {
    let origin = Origin {
        source_kind: "cloudwatch_logs",
        source_format: "cloudwatch_logs",
        source_uri: "cloudwatch-logs://API-Gateway-Execution-Logs/prod",
        position: "event 1",
        fallback_time: fallback,
    };
    normalize(line, &origin, &NormalizeOptions::default())
}

#[test]
fn a_guest_call_through_a_rest_api_is_attributed() {
    // The field names of the AWS documentation's JSON access log example,
    // plus the Cognito identity variables.
    let line = r#"{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","ip":"203.0.113.7","caller":"AROAEXAMPLE:CognitoIdentityCredentials","user":"AROAEXAMPLE:CognitoIdentityCredentials","requestTime":"27/Nov/2026:10:00:00 +0000","httpMethod":"GET","resourcePath":"/photos/{id}","path":"/prod/photos/us-east-1:11111111-2222-3333-4444-555555555555","status":"403","protocol":"HTTP/1.1","responseLength":"42","cognitoIdentityId":"us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","cognitoIdentityPoolId":"us-east-1:12345678-1234-1234-1234-123456789012","cognitoAuthenticationType":"unauthenticated","cognitoAuthenticationProvider":"-","accessKey":"ASIAEXAMPLEKEY000001","userAgent":"aws-cli/2.15.0","errorResponseType":"ACCESS_DENIED"}"#;
    let event = normalize_at(line, None).expect("an access log line");
    assert_eq!(event.event_source.as_deref(), Some("apigateway"));
    assert_eq!(event.event_name.as_deref(), Some("GET /photos/{id}"));
    assert_eq!(event.event_time, parse_event_time("2026-11-27T10:00:00Z"));
    assert_eq!(
        event.identity_id.as_deref(),
        Some("us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    );
    assert_eq!(
        event.identity_pool_id.as_deref(),
        Some("us-east-1:12345678-1234-1234-1234-123456789012")
    );
    assert_eq!(event.auth_type.as_deref(), Some("unauthenticated"));
    assert_eq!(event.login_provider, None, "`-` means no provider");
    assert_eq!(
        event.attribution_source.as_deref(),
        Some("apigateway_access_log")
    );
    assert_eq!(event.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(event.access_key_id.as_deref(), Some("ASIAEXAMPLEKEY000001"));
    assert_eq!(event.http_status, Some(403));
    assert_eq!(event.error_code.as_deref(), Some("ACCESS_DENIED"));
    assert_eq!(
        event.http_path.as_deref(),
        Some("/prod/photos/us-east-1:11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(
        event.target_identity_ids,
        vec!["us-east-1:11111111-2222-3333-4444-555555555555"]
    );
    assert_eq!(
        event.event_key.as_deref(),
        Some("apigateway:c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    );
    assert_eq!(event.aws_region.as_deref(), Some("us-east-1"));
    assert_eq!(
        event.source_format.as_deref(),
        Some("apigateway_access_log")
    );
    let extra = event.extra.as_deref().expect("unmapped fields are kept");
    assert!(
        extra.contains("\"protocol\":\"HTTP/1.1\"") && extra.contains("responseLength"),
        "{extra}"
    );
}

#[test]
fn an_http_api_line_with_nested_identity_and_epoch_time() {
    let line = r#"{"requestId":"Ab1cDEFGiAMEb2Q=","routeKey":"POST /uploads","status":200,"requestTimeEpoch":1795773600000,"identity":{"sourceIp":"198.51.100.4","cognitoIdentityId":"eu-west-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee","cognitoIdentityPoolId":"eu-west-1:12345678-1234-1234-1234-123456789012","cognitoAuthenticationType":"authenticated","cognitoAuthenticationProvider":"cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc,cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc:CognitoSignIn:7d8f"}}"#;
    let event = normalize_at(line, None).expect("an access log line");
    assert_eq!(event.event_name.as_deref(), Some("POST /uploads"));
    assert_eq!(event.event_time, Some(1_795_773_600_000_000));
    assert_eq!(event.error_code, None, "200 is not an error");
    assert_eq!(event.auth_type.as_deref(), Some("authenticated"));
    assert_eq!(
        event.login_provider.as_deref(),
        Some("cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc")
    );
    assert_eq!(event.source_ip.as_deref(), Some("198.51.100.4"));
    assert_eq!(event.aws_region.as_deref(), Some("eu-west-1"));
}

#[test]
fn time_comes_from_the_log_event_when_the_line_has_none() {
    let line = r#"{"requestId":"r-1","httpMethod":"GET","status":"200","cognitoIdentityId":"us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}"#;
    assert_eq!(
        normalize_at(line, None).unwrap_err(),
        Rejection::MissingEventTime
    );
    let event = normalize_at(line, Some(1_700_000_000_000_000)).unwrap();
    assert_eq!(event.event_time, Some(1_700_000_000_000_000));
    let bad = r#"{"requestId":"r-2","httpMethod":"GET","status":"200","requestTime":"yesterday"}"#;
    assert!(matches!(
        normalize_at(bad, Some(1)),
        Err(Rejection::BadEventTime(_))
    ));
}

#[test]
fn other_json_is_still_an_unknown_shape() {
    let line = r#"{"level":"info","msg":"hello","status":"ok"}"#;
    assert!(matches!(
        normalize_at(line, Some(1)),
        Err(Rejection::UnknownShape(_))
    ));
}

#[test]
fn identity_ids_are_lower_case_and_a_query_string_names_its_target() {
    let line = r#"{"requestId":"r-q","httpMethod":"GET","resourcePath":"/notes","status":200,"requestTimeEpoch":1795773600000,"queryString":"owner=us-east-1%3ABBBBBBBB-0000-4000-8000-000000000002&limit=50","cognitoIdentityId":"US-EAST-1:AAAAAAAA-0000-4000-8000-000000000001","cognitoAuthenticationType":"unauthenticated"}"#;
    let event = normalize_at(line, None).expect("an access log line");
    assert_eq!(
        event.identity_id.as_deref(),
        Some("us-east-1:aaaaaaaa-0000-4000-8000-000000000001")
    );
    let targets: Vec<&str> = event
        .target_identity_ids
        .iter()
        .map(|t| t.as_ref())
        .collect();
    assert_eq!(
        targets,
        vec!["us-east-1:bbbbbbbb-0000-4000-8000-000000000002"]
    );
    let extra = event.extra.as_deref().expect("unmapped fields are kept");
    assert!(extra.contains("queryString"), "{extra}");
}
