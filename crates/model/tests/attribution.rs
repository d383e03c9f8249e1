//! Identity attribution on the Cognito-flavoured shapes (fixtures/cognito/).

mod common;

use common::{event_with_id, fixture_lines, list, normalize_line, s};

const FILE: &str = "cognito/cognito_shapes.jsonl";
const POOL: &str = "us-east-1:11111111-2222-4333-8444-555555555555";
const A: &str = "us-east-1:aaaaaaaa-1111-4222-8333-444444444444";
const G: &str = "us-east-1:99999999-8888-4777-8666-555555555555";
const V: &str = "us-east-1:bbbbbbbb-cccc-4ddd-8eee-ffffffffffff";

#[test]
fn pool_credentials_through_web_identity_federation() {
    let event = event_with_id(FILE, "fx-pool-s3-auth");
    assert_eq!(s(&event.identity_id), Some(A));
    assert_eq!(s(&event.identity_pool_id), Some(POOL));
    assert_eq!(s(&event.auth_type), Some("authenticated"));
    assert_eq!(list(&event.login_providers), vec!["accounts.google.com"]);
    assert_eq!(
        s(&event.attribution_source),
        Some("web_identity_federation")
    );
    assert_eq!(
        s(&event.role_arn),
        Some("arn:aws:iam::111122223333:role/Cognito_AppAuth_Role")
    );
    assert_eq!(
        s(&event.role_session_name),
        Some("CognitoIdentityCredentials")
    );
    assert_eq!(s(&event.access_key_id), Some("ASIAFIXTUREAUTH00001"));
    assert_eq!(
        s(&event.identity_provider),
        Some("cognito-identity.amazonaws.com")
    );
    // Whose data it reaches for: another identity's private folder.
    assert_eq!(list(&event.target_identity_ids), vec![V]);
    assert_eq!(s(&event.error_code), Some("AccessDenied"));
}

#[test]
fn guest_pool_credentials_on_dynamodb() {
    let event = event_with_id(FILE, "fx-pool-ddb-guest");
    assert_eq!(s(&event.auth_type), Some("unauthenticated"));
    assert!(event.login_providers.is_empty());
    assert_eq!(s(&event.dynamodb_table), Some("Notes"));
    assert_eq!(list(&event.dynamodb_key_values), vec![G]);
    assert_eq!(list(&event.target_identity_ids), vec![G]);
}

#[test]
fn pool_credentials_without_attributes_keep_the_key_for_the_join() {
    let event = event_with_id(FILE, "fx-pool-no-attrs");
    assert_eq!(event.identity_id, None);
    assert_eq!(event.attribution_source, None);
    assert_eq!(s(&event.access_key_id), Some("ASIAFIXTURENOATTRS01"));
    assert_eq!(
        s(&event.identity_provider),
        Some("cognito-identity.amazonaws.com")
    );
    assert_eq!(
        s(&event.role_arn),
        Some("arn:aws:iam::111122223333:role/Cognito_AppAuth_Role")
    );
}

#[test]
fn assume_role_with_web_identity_through_cognito() {
    let event = event_with_id(FILE, "fx-sts-cognito");
    assert_eq!(s(&event.identity_id), Some(A));
    assert_eq!(s(&event.identity_pool_id), Some(POOL));
    assert_eq!(s(&event.attribution_source), Some("sts_web_identity"));
    assert_eq!(s(&event.issued_access_key_id), Some("ASIAFIXTURESTS000001"));
    assert_eq!(s(&event.web_identity_audience), Some(POOL));
    assert!(event.credentials_expiration.is_some());
    assert!(!event
        .response_elements
        .as_deref()
        .unwrap()
        .contains("FwoGZXIvYXdzEXAMPLETOKEN"));

    // Denied, no response: identity and (foreign) pool from the principal id.
    let denied = event_with_id(FILE, "fx-sts-cognito-denied");
    assert_eq!(
        s(&denied.identity_pool_id),
        Some("eu-west-1:deadbeef-0000-4000-8000-000000000001")
    );
    assert_eq!(
        s(&denied.identity_id),
        Some("eu-west-1:0badf00d-0000-4000-8000-000000000002")
    );
    assert_eq!(denied.issued_access_key_id, None);
    assert_eq!(s(&denied.error_code), Some("AccessDenied"));
}

#[test]
fn cognito_identity_calls_guest_and_error() {
    let guest = event_with_id(FILE, "fx-gcfi-guest");
    assert_eq!(
        s(&guest.auth_type),
        Some("unauthenticated"),
        "no logins = guest"
    );
    assert_eq!(s(&guest.identity_id), Some(G));
    assert_eq!(s(&guest.identity_pool_id), Some(POOL));
    assert_eq!(s(&guest.issued_access_key_id), Some("ASIAFIXTUREGUEST0001"));

    let failed = event_with_id(FILE, "fx-gcfi-error");
    assert_eq!(s(&failed.auth_type), Some("authenticated"));
    assert_eq!(s(&failed.identity_id), Some(A));
    assert_eq!(s(&failed.identity_pool_id), Some(POOL));
    assert_eq!(s(&failed.error_code), Some("NotAuthorizedException"));
    assert_eq!(failed.issued_access_key_id, None);
}

#[test]
fn pool_administration_names_the_pool_not_an_identity() {
    for id in ["fx-update-pool", "fx-set-roles"] {
        let event = event_with_id(FILE, id);
        assert_eq!(s(&event.identity_pool_id), Some(POOL), "{id}");
        assert_eq!(event.identity_id, None);
        assert_eq!(event.auth_type, None);
        assert_eq!(s(&event.principal_type), Some("IAMUser"));
    }
    let update = event_with_id(FILE, "fx-update-pool");
    assert!(update
        .request_parameters
        .as_deref()
        .unwrap()
        .contains("\"allowUnauthenticatedIdentities\":true"));
}

#[test]
fn eventbridge_envelope_is_unwrapped() {
    let event = event_with_id(FILE, "fx-eb-inner");
    assert_eq!(s(&event.source_format), Some("eventbridge"));
    assert_eq!(s(&event.event_key), Some("fx-eb-inner"));
    assert_eq!(s(&event.identity_id), Some(G));
    assert_eq!(s(&event.auth_type), Some("unauthenticated"));
}

#[test]
fn url_encoded_identity_in_a_key() {
    let event = event_with_id(FILE, "fx-encoded-key");
    assert_eq!(list(&event.target_identity_ids), vec![V]);
}

#[test]
fn wrong_field_types_are_coerced_or_kept_in_extra() {
    let event = event_with_id(FILE, "fx-wrong-types");
    assert_eq!(s(&event.event_version), Some("1.08"), "number read as text");
    assert_eq!(event.read_only, Some(true), "\"true\" read as boolean");
    assert_eq!(event.management_event, Some(false), "0 read as boolean");
    assert_eq!(event.aws_region, None, "an object is not a region");
    let extra: serde_json::Value = serde_json::from_str(event.extra.as_deref().unwrap()).unwrap();
    assert_eq!(extra["awsRegion"]["name"], "us-east-1", "kept, not lost");
    assert_eq!(extra["apiVersion"], 20060301);
}

#[test]
fn record_without_event_id_gets_a_stable_content_key() {
    let line = fixture_lines(FILE)
        .into_iter()
        .find(|l| !l.contains("\"eventID\""))
        .unwrap();
    let event = normalize_line(&line).unwrap();
    assert_eq!(event.event_id, None);
    let key = event.event_key.clone().unwrap();
    assert!(key.starts_with("h:") && key.len() == 34, "{key}");
    // Same record, other key order and whitespace: same key.
    let reordered: serde_json::Value = serde_json::from_str(&line).unwrap();
    let pretty = serde_json::to_string_pretty(&reordered).unwrap();
    assert_eq!(normalize_line(&pretty).unwrap().event_key, event.event_key);
}

#[test]
fn rejections_name_the_problem() {
    use poolsight_model::Rejection;
    assert_eq!(
        normalize_line("\"just a string\"").unwrap_err(),
        Rejection::NotAnObject { found: "string" }
    );
    assert!(matches!(
        normalize_line("{\"eventName\":").unwrap_err(),
        Rejection::InvalidJson(_)
    ));
    assert_eq!(
        normalize_line(r#"{"eventName":"GetObject"}"#).unwrap_err(),
        Rejection::MissingEventTime
    );
    assert!(matches!(
        normalize_line(r#"{"eventName":"GetObject","eventTime":{"when":"now"}}"#).unwrap_err(),
        Rejection::BadEventTime(reason) if reason.contains("object")
    ));
    assert!(matches!(
        normalize_line(r#"{"foo":1,"eventTime":"2024-01-01T00:00:00Z"}"#).unwrap_err(),
        Rejection::UnknownShape(keys) if keys.contains("foo")
    ));
}

#[test]
fn assume_role_with_pool_credentials_keeps_the_caller_and_records_the_chained_key() {
    let event = event_with_id(FILE, "fx-assume-role-chained");
    assert_eq!(s(&event.identity_id), Some(A), "the caller's identity");
    assert_eq!(s(&event.identity_pool_id), Some(POOL));
    assert_eq!(
        s(&event.role_arn),
        Some("arn:aws:iam::111122223333:role/Cognito_AppAuth_Role"),
        "the caller's role, not the one assumed"
    );
    assert_eq!(s(&event.issued_access_key_id), Some("ASIAFIXTURECHAIN0001"));
}

#[test]
fn identity_ids_come_from_the_response_in_lower_case() {
    let event = event_with_id(FILE, "fx-gcfi-upper-case");
    assert_eq!(s(&event.identity_id), Some(G));
    assert_eq!(s(&event.auth_type), Some("unauthenticated"));
}

#[test]
fn pool_credentials_calling_cognito_identity_stay_the_callers_activity() {
    let event = event_with_id(FILE, "fx-pool-delete-identities");
    assert_eq!(s(&event.identity_id), Some(G), "the guest who called");
    assert_eq!(s(&event.identity_pool_id), Some(POOL));
    assert_eq!(s(&event.auth_type), Some("unauthenticated"));
    assert_eq!(
        s(&event.attribution_source),
        Some("web_identity_federation")
    );
    assert_eq!(list(&event.target_identity_ids), vec![A, V]);
}
