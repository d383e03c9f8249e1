//! Hardening #4 and #5: one record per secret shape, good and bad, through
//! `ingest` (with debug logs), the quarantine, `sql`, `detect` and the lake
//! read back by pyarrow: none of the secret values appears anywhere.

mod common;

use common::poolsight;
use std::process::Command;

use serde_json::json;

/// A session-token-shaped value, unique per `n`.
fn token(n: usize) -> String {
    format!("IQoJb3JpZ2luX2VjE{n:03}Secret/Value+Q29nbml0bw{n:03}zZWNyZXQ")
}

const JWT: &str = "eyJraWQiOiJ1cy1lYXN0LTExIiwiYWxnIjoiUlM1MTIifQ.eyJzdWIiOiJ1cy1lYXN0LTE6c2VjcmV0In0.c2lnbmF0dXJlLXNlY3JldC12YWx1ZQ";

fn base(id: &str, source: &str, name: &str) -> serde_json::Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "Unknown"},
        "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-sdk-js/3.0",
        "eventID": id,
        "recipientAccountId": "111122223333",
        "eventType": "AwsApiCall"
    })
}

#[test]
fn no_secret_reaches_the_lake_the_quarantine_or_any_output() {
    let mut secrets: Vec<String> = (0..12).map(token).collect();
    secrets.push(JWT.to_string());
    let mut lines: Vec<String> = Vec::new();

    let mut record = base(
        "s-creds",
        "cognito-identity.amazonaws.com",
        "GetCredentialsForIdentity",
    );
    record["requestParameters"] = json!({"identityId": "us-east-1:11111111-2222-4333-8444-555555555555",
        "logins": {"accounts.google.com": token(0)}});
    record["responseElements"] = json!({"identityId": "us-east-1:11111111-2222-4333-8444-555555555555",
        "credentials": {"accessKeyId": "ASIAEXAMPLEEXAMPLE01", "sessionToken": token(1),
            "SecretKey": token(2), "expiration": "Jan 19, 2023 5:55:08 PM"}});
    lines.push(record.to_string());

    let mut record = base(
        "s-openid",
        "cognito-identity.amazonaws.com",
        "GetOpenIdToken",
    );
    record["responseElements"] =
        json!({"identityId": "us-east-1:11111111-2222-4333-8444-555555555555", "token": JWT});
    lines.push(record.to_string());

    let mut record = base("s-web", "sts.amazonaws.com", "AssumeRoleWithWebIdentity");
    record["requestParameters"] =
        json!({"roleArn": "arn:aws:iam::111122223333:role/r", "WebIdentityToken": token(3)});
    lines.push(record.to_string());

    let mut record = base("s-saml", "sts.amazonaws.com", "AssumeRoleWithSAML");
    record["requestParameters"] = json!({"SAMLAssertion": token(4), "principalArn": "arn:aws:iam::111122223333:saml-provider/x"});
    lines.push(record.to_string());

    let mut record = base("s-idp", "cognito-idp.amazonaws.com", "InitiateAuth");
    record["requestParameters"] = json!({"authParameters": {"PASSWORD": token(5), "REFRESH_TOKEN": token(6)},
        "IdToken": token(7), "accessToken": token(8)});
    lines.push(record.to_string());

    // Secrets inside a JSON-encoded string value and a header map.
    let mut record = base("s-lambda", "lambda.amazonaws.com", "Invoke");
    record["requestParameters"] = json!({"functionName": "f",
        "payload": json!({"headers": {"Authorization": format!("Bearer {}", token(9))}}).to_string()});
    record["additionalEventData"] = json!({"x-amz-security-token": token(10)});
    lines.push(record.to_string());

    // An API Gateway access log line with an API key.
    lines.push(
        json!({"requestId": "r-1", "httpMethod": "GET", "status": 200,
        "requestTime": "20/Nov/2026:10:00:00 +0000", "ip": "203.0.113.8",
        "cognitoIdentityId": "us-east-1:11111111-2222-4333-8444-555555555555",
        "apiKey": token(11), "resourcePath": "/photos"})
        .to_string(),
    );

    // Bad records holding secrets go to the quarantine.
    let mut bad_time = base(
        "s-bad-time",
        "sts.amazonaws.com",
        "AssumeRoleWithWebIdentity",
    );
    bad_time["eventTime"] = json!({"not": "a time"});
    bad_time["requestParameters"] = json!({"webIdentityToken": JWT});
    lines.push(bad_time.to_string());
    let cut = format!(
        r#"{{"eventID":"s-cut","responseElements":{{"credentials":{{"sessionToken":"{}","secretAccessKey":"{}","expira"#,
        token(1),
        token(2)
    );
    lines.push(cut);
    lines.push(format!(
        "GET /x HTTP/1.1 Authorization: Bearer {JWT} x-amz-security-token: {}",
        token(10)
    ));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secrets.jsonl"), lines.join("\n") + "\n").unwrap();
    // And a trail file cut inside a credentials response: the bytes kept
    // around the cut are the tail of the token.
    let trail = format!(
        r#"{{"Records":[{}, {{"eventID":"tail","responseElements":{{"credentials":{{"sessionToken":"{}"#,
        lines[0],
        token(1)
    );
    std::fs::write(dir.path().join("cut.json"), trail).unwrap();

    let mut outputs = String::new();
    let mut run = |args: &[&str]| {
        let output = poolsight(args, dir.path());
        outputs.push_str(&String::from_utf8_lossy(&output.stdout));
        outputs.push_str(&String::from_utf8_lossy(&output.stderr));
        output
    };
    let ingest = run(&[
        "-vv",
        "ingest",
        "secrets.jsonl",
        "cut.json",
        "--lake",
        "lake",
        "--json",
    ]);
    assert_eq!(ingest.status.code(), Some(0));
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&ingest.stdout).trim()).unwrap();
    assert_eq!(summary["written"], 7, "{summary}");
    assert_eq!(summary["quarantined"], 4, "{summary}");
    for query in ["SELECT * FROM events", "SELECT * FROM quarantine"] {
        for format in ["table", "jsonl", "csv"] {
            let output = run(&["sql", "--lake", "lake", "--format", format, query]);
            assert!(
                output.status.success(),
                "{query} as {format}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    let rows = run(&[
        "sql",
        "--lake",
        "lake",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM quarantine WHERE raw LIKE '%REDACTED_BY_POOLSIGHT%'",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&rows.stdout),
        "n\n4\n",
        "every quarantined raw text was redacted"
    );
    run(&["detect", "--lake", "lake", "--format", "json"]);
    run(&["detect", "--lake", "lake"]);

    // Every file of the lake, Parquet read back by a second engine.
    let python = std::env::var("POOLSIGHT_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import os, sys, pyarrow.parquet as pq
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(root, name)
        if name.endswith(".parquet"):
            print(pq.read_table(path).to_pylist())
        else:
            print(open(path, "rb").read().decode("utf-8", "replace"))
"#;
    let dump = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(dir.path().join("lake"))
        .output()
        .expect("python runs (scripts/test installs pyarrow)");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let lake_text = String::from_utf8_lossy(&dump.stdout);
    assert!(lake_text.contains("s-creds") && lake_text.contains("ASIAEXAMPLEEXAMPLE01"));
    assert!(
        lake_text.contains("accounts.google.com"),
        "login providers are kept"
    );

    for secret in &secrets {
        // Any 16-byte piece of a secret would be a leak too.
        for piece in [&secret[..16], &secret[secret.len() - 16..]] {
            assert!(
                !lake_text.contains(piece),
                "{piece} (of {secret}) in the lake"
            );
            assert!(
                !outputs.contains(piece),
                "{piece} (of {secret}) in the output"
            );
        }
    }
}
