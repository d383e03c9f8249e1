//! Every real CloudTrail record from AWS's documentation normalizes, loses no
//! field, and each of its quirks is handled (see fixtures/real/README.md).

mod common;

use chrono::{DateTime, Utc};
use common::{event_with_id, fixture_lines, list, normalize_line, s};
use serde_json::Value;

const FILES: &[&str] = &[
    "real/cognito_identity.jsonl",
    "real/sts_assume_role.jsonl",
    "real/data_events_s3.jsonl",
    "real/data_events_dynamodb.jsonl",
];

fn iso(micros: Option<i64>) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros.expect("time"))
        .unwrap()
        .to_rfc3339()
}

#[test]
fn every_real_record_normalizes() {
    let mut count = 0;
    for file in FILES {
        for (index, line) in fixture_lines(file).iter().enumerate() {
            let event =
                normalize_line(line).unwrap_or_else(|e| panic!("{file} line {}: {e}", index + 1));
            assert!(event.event_time.is_some());
            assert!(event.event_key.is_some());
            count += 1;
        }
    }
    assert_eq!(count, 24);
}

/// Rebuilds the record's top level from the row and compares it with the
/// original: every field is somewhere, nothing is changed except redacted secrets.
#[test]
fn no_field_is_lost() {
    for file in FILES {
        for line in fixture_lines(file) {
            let original: Value = serde_json::from_str(&line).unwrap();
            let event = normalize_line(&line).unwrap();
            let extra: Value = event
                .extra
                .as_deref()
                .map(|t| serde_json::from_str(t).unwrap())
                .unwrap_or(Value::Null);
            for (key, value) in original.as_object().unwrap() {
                let json_column = |column: &Option<std::borrow::Cow<'static, str>>| {
                    column
                        .as_deref()
                        .map(|t| serde_json::from_str::<Value>(t).unwrap())
                        .unwrap_or(Value::Null)
                };
                let kept: Value = match key.as_str() {
                    "userIdentity" => json_column(&event.user_identity),
                    "requestParameters" => json_column(&event.request_parameters),
                    "responseElements" => json_column(&event.response_elements),
                    "additionalEventData" => json_column(&event.additional_event_data),
                    "resources" => json_column(&event.resources),
                    "tlsDetails" => json_column(&event.tls_details),
                    "eventTime" => {
                        let parsed =
                            poolsight_model::time::parse_event_time(value.as_str().unwrap());
                        assert_eq!(parsed, event.event_time, "{key}");
                        continue;
                    }
                    "readOnly" => Value::from(event.read_only),
                    "managementEvent" => Value::from(event.management_event),
                    other => {
                        let column = match other {
                            "eventVersion" => &event.event_version,
                            "eventID" => &event.event_id,
                            "eventSource" => &event.event_source,
                            "eventName" => &event.event_name,
                            "eventType" => &event.event_type,
                            "eventCategory" => &event.event_category,
                            "awsRegion" => &event.aws_region,
                            "recipientAccountId" => &event.recipient_account_id,
                            "requestID" => &event.request_id,
                            "sharedEventID" => &event.shared_event_id,
                            "sourceIPAddress" => &event.source_address,
                            "userAgent" => &event.user_agent,
                            "vpcEndpointId" => &event.vpc_endpoint_id,
                            "errorCode" => &event.error_code,
                            "errorMessage" => &event.error_message,
                            _ => {
                                assert_eq!(
                                    extra.get(other),
                                    Some(value),
                                    "{file}: field {other} not kept in extra"
                                );
                                continue;
                            }
                        };
                        match value {
                            Value::String(text) if text.is_empty() => Value::Null,
                            _ => column
                                .as_deref()
                                .map(|t| Value::String(t.into()))
                                .unwrap_or(Value::Null),
                        }
                    }
                };
                let expected = match value {
                    Value::String(text) if text.is_empty() => Value::Null,
                    other => other.clone(),
                };
                if key == "responseElements" && expected.to_string().contains("sessionToken") {
                    assert!(
                        !kept.to_string().contains("sessionToken\":\"aAaA"),
                        "session token must be redacted"
                    );
                    continue;
                }
                assert_eq!(
                    kept, expected,
                    "{file} {}: field {key}",
                    original["eventID"]
                );
            }
        }
    }
}

#[test]
fn unknown_principal_with_logins_is_authenticated_not_guest() {
    // Elastic's public rule calls userIdentity.type:"Unknown" a guest. These
    // records are Unknown *and* carry `logins`: signed-in users.
    for id in [
        "6ad1c766-5a41-4b28-b5ca-e223ccb00f0d", // GetCredentialsForIdentity
        "c5c459d9-40ec-41fd-8f6b-57865d5a9975", // GetId
        "19ffc1a6-6ed8-4580-a4e1-3062c5ce6457", // GetOpenIdToken
        "d8e26126-202a-43c2-b458-3f225efaedc7", // UnlinkIdentity
    ] {
        let event = event_with_id("real/cognito_identity.jsonl", id);
        assert_eq!(s(&event.principal_type), Some("Unknown"));
        assert_eq!(s(&event.auth_type), Some("authenticated"), "{id}");
        assert_eq!(
            list(&event.login_providers),
            vec!["cognito-idp.us-east-1.amazonaws.com/us-east-1_aaaaaaaaa"]
        );
        // Identity ids are kept in lower case (AWS's example spells it mixed).
        assert_eq!(
            s(&event.identity_id),
            Some("us-east-1:1cf667a2-49a6-454b-9e45-23199example")
        );
        assert_eq!(s(&event.attribution_source), Some("cognito_identity_call"));
    }
}

#[test]
fn get_credentials_for_identity_quirks() {
    let event = event_with_id(
        "real/cognito_identity.jsonl",
        "6ad1c766-5a41-4b28-b5ca-e223ccb00f0d",
    );
    // No pool id in the request: it comes from resources[].ARN.
    assert_eq!(
        s(&event.identity_pool_id),
        Some("us-east-1:2dg778b3-50b7-565c-0f56-34200EXAMPLE")
    );
    // Non-ISO expiration.
    assert_eq!(
        iso(event.credentials_expiration),
        "2023-01-19T17:55:08+00:00"
    );
    assert_eq!(s(&event.issued_access_key_id), Some("ASIAIOSFODNN7EXAMPLE"));
    // The session token never reaches the lake.
    let response = event.response_elements.as_deref().unwrap();
    assert!(
        !response.contains("aAaAaAaAaAaAab1111111111EXAMPLE"),
        "{response}"
    );
    assert!(response.contains("REDACTED_BY_POOLSIGHT"));
    assert_eq!(event.access_key_id, None);
}

#[test]
fn null_response_and_developer_identity() {
    let unlink = event_with_id(
        "real/cognito_identity.jsonl",
        "d8e26126-202a-43c2-b458-3f225efaedc7",
    );
    assert_eq!(unlink.response_elements, None);
    let developer = event_with_id(
        "real/cognito_identity.jsonl",
        "f26fed91-3340-4d70-91ae-cdf555547b76",
    );
    assert_eq!(s(&developer.auth_type), Some("authenticated"));
    assert_eq!(s(&developer.login_provider), Some("JohnsDeveloperProvider"));
    assert_eq!(
        s(&developer.identity_pool_id),
        Some("us-east-1:2dg778b3-50b7-565c-0f56-34200EXAMPLE")
    );
    assert_eq!(s(&developer.principal_type), Some("AssumedRole"));
    assert_eq!(
        s(&developer.role_arn),
        Some("arn:aws:iam::111122223333:role/Admin")
    );
    assert_eq!(s(&developer.access_key_id), Some("ASIAIOSFODNN7EXAMPLE"));
}

#[test]
fn old_create_identity_pool_record() {
    let event = event_with_id(
        "real/cognito_identity.jsonl",
        "f1d47f93-c708-495b-bff1-cb935a6064b2",
    );
    assert_eq!(s(&event.event_version), Some("1.03"));
    assert_eq!(
        (event.read_only, event.event_category.as_deref()),
        (None, None)
    );
    // The placeholder access key is not a key, but stays in user_identity.
    assert_eq!(event.access_key_id, None);
    assert!(event
        .user_identity
        .as_deref()
        .unwrap()
        .contains("['EXAMPLE_KEY_ID']"));
    assert_eq!(
        s(&event.identity_pool_id),
        Some("us-east-1:1cf667a2-49a6-454b-9e45-23199EXAMPLE")
    );
    assert_eq!(event.identity_id, None);
    assert_eq!(event.auth_type, None);
}

#[test]
fn sts_shapes() {
    let lines = fixture_lines("real/sts_assume_role.jsonl");
    let events: Vec<_> = lines.iter().map(|l| normalize_line(l).unwrap()).collect();
    let oidc = events
        .iter()
        .find(|e| s(&e.event_name) == Some("AssumeRoleWithWebIdentity"))
        .unwrap();
    assert_eq!(s(&oidc.principal_type), Some("WebIdentityUser"));
    // A generic OIDC provider is not a Cognito identity.
    assert_eq!(oidc.identity_id, None);
    assert_eq!(oidc.identity_pool_id, None);
    assert_eq!(s(&oidc.web_identity_audience), Some("<id of application>"));
    assert_eq!(s(&oidc.issued_access_key_id), Some("ASIAIOSFODNN7EXAMPLE"));
    assert_eq!(
        iso(oidc.credentials_expiration),
        "2024-07-09T16:41:37+00:00"
    );
    assert_eq!(
        s(&oidc.role_arn),
        Some("arn:aws:iam::444455556666:role/FederatedWebIdentityRole")
    );
    assert!(!oidc
        .response_elements
        .as_deref()
        .unwrap()
        .contains("<encoded session token blob>"));

    let saml = events
        .iter()
        .find(|e| s(&e.event_name) == Some("AssumeRoleWithSAML"))
        .unwrap();
    assert_eq!(s(&saml.principal_type), Some("SAMLUser"));
    assert_eq!(s(&saml.source_address), Some("AWS Internal"));
    assert_eq!(saml.source_ip, None);

    let types: Vec<Option<&str>> = events.iter().map(|e| s(&e.principal_type)).collect();
    assert!(types.contains(&Some("AWSAccount")), "{types:?}");
    let bare = events
        .iter()
        .find(|e| e.event_type.is_none())
        .expect("a record without eventType");
    assert_eq!(bare.recipient_account_id, None);
    assert!(bare.resource_arns.is_empty());
}

#[test]
fn s3_quirks() {
    let lines = fixture_lines("real/data_events_s3.jsonl");
    let events: Vec<_> = lines.iter().map(|l| normalize_line(l).unwrap()).collect();
    let list_buckets = &events[0];
    assert_eq!(s(&list_buckets.user_agent), Some("[]"));
    assert!(list_buckets
        .request_parameters
        .as_deref()
        .unwrap()
        .contains("[\"s3.us-west-2.amazonaws.com\"]"));
    let acl = events
        .iter()
        .find(|e| s(&e.event_name) == Some("PutBucketAcl"))
        .unwrap();
    assert_eq!(acl.source_address, None, "empty sourceIPAddress is null");
    assert_eq!(acl.source_ip, None);
    assert_eq!(acl.s3_bucket, None, "empty bucketName is null");
    let outposts = events
        .iter()
        .find(|e| s(&e.event_name) == Some("PutObject"))
        .unwrap();
    assert_eq!(
        s(&outposts.s3_key),
        Some("path/upload.sh"),
        "capitalised Key"
    );
    assert_eq!(s(&outposts.s3_bucket), Some("DOC-EXAMPLE-BUCKET1"));
    assert_eq!(s(&outposts.source_ip), Some("26.29.66.20"));
    assert_eq!(outposts.resource_arns.len(), 2);
}

#[test]
fn dynamodb_quirks() {
    let lines = fixture_lines("real/data_events_dynamodb.jsonl");
    let events: Vec<_> = lines.iter().map(|l| normalize_line(l).unwrap()).collect();
    let put = &events[2];
    assert_eq!(s(&put.event_name), Some("PutItem"));
    assert_eq!(s(&put.dynamodb_table), Some("Music"));
    assert_eq!(
        list(&put.dynamodb_key_values),
        vec!["No One You Know", "Scared of My Shadow"]
    );
    let update = &events[3];
    assert_eq!(
        put.event_id, update.event_id,
        "the dedup hazard: two records, one eventID"
    );
    assert_eq!(
        s(&update.error_code),
        Some("ConditionalCheckFailedException")
    );
    let transact = events
        .iter()
        .find(|e| s(&e.event_name) == Some("TransactWriteItems"))
        .unwrap();
    assert_eq!(s(&transact.dynamodb_table), Some("Music"));
    assert!(list(&transact.dynamodb_key_values).contains(&"Call Me Today"));
    let partiql = events
        .iter()
        .find(|e| s(&e.event_name) == Some("ExecuteStatement"))
        .unwrap();
    assert_eq!(s(&partiql.dynamodb_table), Some("Music"));
    assert_eq!(
        list(&partiql.dynamodb_key_values),
        vec!["No One You Know", "Call Me Today"]
    );
    let batch = events
        .iter()
        .find(|e| s(&e.event_name) == Some("BatchExecuteStatement"))
        .unwrap();
    assert_eq!(s(&batch.dynamodb_table), Some("Music"));
    assert!(s(&batch.dynamodb_statement)
        .unwrap()
        .starts_with("UPDATE Music"));
}
