//! Hardening #2 end to end: gzip bombs inside a valid records array, fed to
//! `poolsight ingest` (a local file) and `poolsight collect` (an S3 object in
//! moto), with peak memory measured on the process itself. A bomb is cut at
//! `ingest.max_inflated_bytes` (1 GiB) and quarantined as `too_large` with
//! its key; the record before it is kept; the source moves on (the next run
//! does not meet it again).
//!
//! The peak is `ru_maxrss` of the child from `wait4`. Linux carries the
//! spawning process's high-water mark into a child across `exec`, so the
//! number is an upper bound that includes this test's own footprint (kept
//! small: the bomb is built in 1 MiB steps).

mod common;

use common::command;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use flate2::write::GzEncoder;
use poolsight_testkit::{aws_test_env, run_measured, MotoServer};

const GIB: u64 = 1 << 30;
const BLOCK: usize = 256 << 20;

fn gzip_member(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn record(id: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-21T03:00:00Z",
        "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
        "awsRegion": "us-east-1", "eventID": id, "recipientAccountId": "111122223333"
    })
    .to_string()
}

/// `{"Records":[<before>,{"eventID":"bomb","pad":"AAAA…(blocks × 256 MiB)…"},<after>]}`
/// as concatenated gzip members: valid JSON, valid gzip, a few MB on disk.
fn bomb(blocks: usize) -> Vec<u8> {
    let mut out = gzip_member(
        format!(
            r#"{{"Records":[{},{{"eventID":"bomb","eventTime":"2026-11-21T03:00:00Z","pad":""#,
            record("before-bomb")
        )
        .as_bytes(),
    );
    // Compressed in 1 MiB steps: the test process itself stays small (a
    // spawned child's peak memory starts from its parent's, see below).
    let block = {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
        let step = vec![b'A'; 1 << 20];
        for _ in 0..BLOCK / step.len() {
            encoder.write_all(&step).unwrap();
        }
        encoder.finish().unwrap()
    };
    for _ in 0..blocks {
        out.extend_from_slice(&block);
    }
    out.extend(gzip_member(
        format!(r#""}},{}]}}"#, record("after-bomb")).as_bytes(),
    ));
    out
}

fn poolsight(args: &[&str], cwd: &Path) -> Command {
    command(args, cwd, &[])
}

fn sql(cwd: &Path, lake: &str, query: &str) -> String {
    let output = poolsight(&["sql", "--lake", lake, "--format", "csv", query], cwd)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn put_object(endpoint: &str, bucket: &str, key: &str, body: Vec<u8>) {
    aws_test_env();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let _ = s3.create_bucket().bucket(bucket).send().await;
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

/// Ingests and collects one bomb; returns the peak memory of each run.
fn feed_bomb(blocks: usize, limit: Option<u64>) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let body = bomb(blocks);
    let inflated = blocks as u64 * BLOCK as u64;
    eprintln!(
        "bomb: {} bytes of gzip inflating to {:.1} GiB",
        body.len(),
        inflated as f64 / GIB as f64
    );

    // ingest: a local file.
    std::fs::write(cwd.join("bomb.json.gz"), &body).unwrap();
    let ingest = run_measured(
        poolsight(
            &["ingest", "bomb.json.gz", "--lake", "ingested", "--json"],
            cwd,
        ),
        limit,
        cwd,
    );
    assert_eq!(ingest.code, Some(0), "{}\n{}", ingest.stdout, ingest.stderr);
    let summary: serde_json::Value = serde_json::from_str(ingest.stdout.trim()).unwrap();
    assert_eq!(summary["written"], 1, "{summary}");
    assert_eq!(
        sql(cwd, "ingested", "SELECT event_id FROM events"),
        "event_id\nbefore-bomb\n"
    );
    let quarantine = sql(
        cwd,
        "ingested",
        "SELECT reason_kind, source_uri, reason FROM quarantine",
    );
    assert!(
        quarantine.contains("too_large") && quarantine.contains("bomb.json.gz"),
        "{quarantine}"
    );
    assert!(quarantine.contains("max_inflated_bytes"), "{quarantine}");

    // collect: the same bytes as a trail file in S3.
    let moto = MotoServer::start();
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/21/111122223333_CloudTrail_us-east-1_20261121T0305Z_bomb.json.gz";
    tokio::runtime::Runtime::new().unwrap().block_on(put_object(
        &moto.endpoint(),
        "bombed",
        key,
        body,
    ));
    std::fs::write(
        cwd.join("poolsight.toml"),
        format!(
            "lake = \"collected\"\n{}[[source.s3]]\nname = \"trail\"\nbucket = \"bombed\"\n",
            moto.aws_toml()
        ),
    )
    .unwrap();
    let collect = run_measured(poolsight(&["collect", "--json"], cwd), limit, cwd);
    assert_eq!(
        collect.code,
        Some(0),
        "{}\n{}",
        collect.stdout,
        collect.stderr
    );
    let summary: serde_json::Value = serde_json::from_str(collect.stdout.trim()).unwrap();
    assert_eq!(summary["sources"][0]["written"], 1, "{summary}");
    assert_eq!(summary["total"]["quarantined"], 1, "{summary}");
    let quarantine = sql(
        cwd,
        "collected",
        "SELECT source_uri FROM quarantine WHERE reason_kind = 'too_large'",
    );
    assert!(
        quarantine.contains(&format!("s3://bombed/{key}")),
        "{quarantine}"
    );
    // The checkpoint passed the bomb: the next run does not die on it again.
    let again = run_measured(poolsight(&["collect", "--json"], cwd), limit, cwd);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let summary: serde_json::Value = serde_json::from_str(again.stdout.trim()).unwrap();
    assert_eq!(summary["sources"][0]["objects"], 0, "{summary}");
    (ingest.max_rss_bytes, collect.max_rss_bytes)
}

#[test]
fn a_2_gib_gzip_bomb_is_cut_and_quarantined_in_bounded_memory() {
    let (ingest, collect) = feed_bomb(8, None);
    eprintln!(
        "2 GiB bomb: peak memory ingest {} MiB, collect {} MiB",
        ingest >> 20,
        collect >> 20
    );
    assert!(
        ingest < GIB && collect < GIB,
        "ingest {ingest} B, collect {collect} B"
    );
}

#[test]
fn a_10_gib_gzip_bomb_under_a_4_gib_address_space_limit() {
    let (ingest, collect) = feed_bomb(40, Some(4 * GIB));
    eprintln!(
        "10 GiB bomb under ulimit -v 4 GiB: peak memory ingest {} MiB, collect {} MiB",
        ingest >> 20,
        collect >> 20
    );
    assert!(
        ingest < GIB && collect < GIB,
        "ingest {ingest} B, collect {collect} B"
    );
}
