//! Shared helpers of the collector tests: records with known ids, a config
//! pointing at an emulator, one collection run, and what the lake holds.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, StringArray};
use chrono::{DateTime, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use poolsight_collect::{CollectOptions, Collector, SourceReport, Window};
use poolsight_config::Config;
use poolsight_ingest::{IngestOptions, IngestSummary, Pipeline};
use serde_json::{json, Value};

pub const POOL: &str = "us-east-1:12345678-1234-1234-1234-123456789012";

pub fn identity(n: usize) -> String {
    format!("us-east-1:{n:08x}-0000-4000-8000-000000000000")
}

/// A data-plane S3 call made with a guest's pool credentials.
pub fn record(id: &str, time: DateTime<Utc>, account: &str, region: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:CognitoIdentityCredentials",
            "arn": format!("arn:aws:sts::{account}:assumed-role/Cognito_Unauth_Role/CognitoIdentityCredentials"),
            "accountId": account,
            "accessKeyId": "ASIAEXAMPLE000000001",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "userName": "Cognito_Unauth_Role"},
                "webIdFederationData": {
                    "federatedProvider": "cognito-identity.amazonaws.com",
                    "attributes": {
                        "cognito-identity.amazonaws.com:amr": "[\"unauthenticated\"]",
                        "cognito-identity.amazonaws.com:aud": POOL,
                        "cognito-identity.amazonaws.com:sub": identity(7)
                    }
                }
            }
        },
        "eventTime": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-sdk-js/3.600.0",
        "requestParameters": {"bucketName": "photos", "key": format!("private/{}/a.jpg", identity(7))},
        "responseElements": null,
        "eventID": id,
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": false,
        "recipientAccountId": account,
        "eventCategory": "Data"
    })
}

/// A management event (LookupEvents serves these).
pub fn management_record(id: &str, time: DateTime<Utc>, name: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/admin", "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE000000001", "userName": "admin"},
        "eventTime": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": "cognito-identity.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.20",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"identityPoolId": POOL, "allowUnauthenticatedIdentities": true},
        "responseElements": null,
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

/// `{"Records":[…]}`, gzipped, as CloudTrail delivers it.
pub fn trail_file(records: &[Value]) -> Vec<u8> {
    let body = json!({ "Records": records }).to_string();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// A config file's text for `lake` and an emulator `endpoint`, plus `sources`.
pub fn config(lake: &Path, endpoint: &str, sources: &str) -> Config {
    let text = format!(
        "lake = {:?}\n[aws]\nregion = \"us-east-1\"\nendpoint_url = {endpoint:?}\n[collect]\nmax_attempts = 8\n{sources}",
        lake.display().to_string()
    );
    Config::parse(&text, Path::new("/test/poolsight.toml")).expect("test config is valid")
}

/// One `poolsight collect` run in-process.
pub async fn collect(config: &Config, window: Window) -> (Vec<SourceReport>, IngestSummary) {
    poolsight_testkit::aws_test_env();
    let mut options = CollectOptions::from_config(config);
    options.window = window;
    let collector = Collector::new(config, options).expect("sources");
    let lake = config.lake.clone().expect("lake");
    let pipeline =
        tokio::task::spawn_blocking(move || Pipeline::open(&lake, IngestOptions::default()))
            .await
            .unwrap()
            .expect("lake opens");
    let reports = collector.run(Arc::clone(&pipeline)).await;
    let summary = pipeline.finish(&[]).expect("finish");
    for report in &reports {
        assert_eq!(report.status, "ok", "{report:?}");
    }
    (reports, summary)
}

/// event_id → how many rows carry it, over every Parquet file of the lake.
pub fn event_ids(lake: &Path) -> HashMap<String, usize> {
    table_ids(&lake.join("events"))
}

/// event_id → how many rows carry it, over every Parquet file under `table`.
pub fn table_ids(table: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for file in poolsight_lake::parquet_files_under(table).unwrap() {
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap()).unwrap();
        let index = builder
            .schema()
            .index_of("event_id")
            .expect("event_id column");
        let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
        for batch in builder.with_projection(mask).build().unwrap() {
            let batch = batch.unwrap();
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            for i in 0..ids.len() {
                *counts.entry(ids.value(i).to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Asserts every id in `expected` is in the lake exactly once and nothing else is.
pub fn assert_exactly_once(lake: &Path, expected: &[String]) {
    let counts = event_ids(lake);
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(
        repeated.is_empty(),
        "events written more than once: {repeated:?}"
    );
    let missing: Vec<_> = expected
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "events missing from the lake ({} of {}): {missing:?}",
        expected
            .iter()
            .filter(|id| !counts.contains_key(*id))
            .count(),
        expected.len()
    );
    assert_eq!(
        counts.len(),
        expected.len(),
        "the lake holds events nobody put there"
    );
}

/// `(reason_kind, source_uri, reason)` of every quarantine row of the lake.
pub fn quarantine_rows(lake: &Path) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for file in poolsight_lake::parquet_files_under(&lake.join("quarantine")).unwrap() {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap()).unwrap();
        for batch in reader.build().unwrap() {
            let batch = batch.unwrap();
            let column = |name: &str| {
                batch
                    .column_by_name(name)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap()
                    .clone()
            };
            let (kinds, uris, reasons) = (
                column("reason_kind"),
                column("source_uri"),
                column("reason"),
            );
            for i in 0..batch.num_rows() {
                rows.push((
                    kinds.value(i).to_string(),
                    uris.value(i).to_string(),
                    reasons.value(i).to_string(),
                ));
            }
        }
    }
    rows
}

/// Every file under `dir`, recursively, as paths relative to it.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}
