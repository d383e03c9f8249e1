//! Ingest end to end into a real lake on disk: dedup within a run, across
//! runs and across sources; bad input quarantined with file, position and
//! reason while the good records of the same file are kept; crash leftovers.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use flate2::write::GzEncoder;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use poolsight_ingest::{ingest_paths, IngestOptions, IngestSummary};
use serde_json::json;

fn record(id: &str, time: &str, name: &str) -> serde_json::Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLEEXAMPLE01", "sessionContext": {"webIdFederationData": {"federatedProvider": "cognito-identity.amazonaws.com", "attributes": {"cognito-identity.amazonaws.com:aud": "us-east-1:11111111-2222-4333-8444-555555555555", "cognito-identity.amazonaws.com:sub": "us-east-1:aaaaaaaa-1111-4222-8333-444444444444", "cognito-identity.amazonaws.com:amr": "[\"unauthenticated\"]"}}}},
        "eventTime": time,
        "eventSource": "s3.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-amplify/6.0",
        "requestParameters": {"bucketName": "media", "key": format!("public/{id}.jpg")},
        "responseElements": null,
        "eventID": id,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
}

fn records_file(records: &[serde_json::Value]) -> String {
    json!({"Records": records}).to_string()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

fn ingest(paths: &[PathBuf], lake: &Path) -> IngestSummary {
    ingest_paths(
        paths,
        lake,
        IngestOptions {
            workers: 2,
            ..Default::default()
        },
        &|_, _| {},
    )
    .expect("ingest runs")
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    poolsight_lake::parquet_files_under(dir).unwrap()
}

/// Every batch of every Parquet file under `dir`, with the file's partition folder.
fn batches(dir: &Path) -> Vec<(String, arrow::record_batch::RecordBatch)> {
    let mut out = Vec::new();
    for file in parquet_files(dir) {
        let partition = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            out.push((partition.clone(), batch.unwrap()));
        }
    }
    out
}

/// (event_key, partition folder) of every row of the events table.
fn lake_rows(lake: &Path) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (partition, batch) in batches(&lake.join("events")) {
        let keys = batch
            .column_by_name("event_key")
            .unwrap()
            .as_string::<i32>()
            .clone();
        for i in 0..keys.len() {
            rows.push((keys.value(i).to_string(), partition.clone()));
        }
    }
    rows.sort();
    rows
}

#[derive(Debug)]
struct Quarantined {
    kind: String,
    reason: String,
    source: String,
    position: String,
    line: Option<i64>,
    raw: Option<String>,
}

fn quarantine_rows(lake: &Path) -> Vec<Quarantined> {
    let mut rows = Vec::new();
    for (_, batch) in batches(&lake.join("quarantine")) {
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_string::<i32>()
                .clone()
        };
        let (kind, reason, source, position, raw) = (
            text("reason_kind"),
            text("reason"),
            text("source_uri"),
            text("position"),
            text("raw"),
        );
        let line = batch
            .column_by_name("line")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int64Type>()
            .clone();
        for i in 0..batch.num_rows() {
            rows.push(Quarantined {
                kind: kind.value(i).into(),
                reason: reason.value(i).into(),
                source: source.value(i).into(),
                position: position.value(i).into(),
                line: line.is_valid(i).then(|| line.value(i)),
                raw: raw.is_valid(i).then(|| raw.value(i).to_string()),
            });
        }
    }
    rows
}

#[test]
fn same_file_twice_is_stored_once_and_partitioned_by_event_date() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir.path().join("in/trail.json.gz"),
        &gzip(
            records_file(&[
                record("e1", "2024-03-01T10:00:00Z", "GetObject"),
                record("e2", "2024-03-01T23:59:59Z", "GetObject"),
                record("e3", "2024-03-02T00:00:00Z", "PutObject"),
            ])
            .as_bytes(),
        ),
    );
    let lake = dir.path().join("lake");
    let first = ingest(std::slice::from_ref(&file), &lake);
    assert_eq!(
        (
            first.files,
            first.records,
            first.written,
            first.duplicates,
            first.quarantined
        ),
        (1, 3, 3, 0, 0)
    );
    let second = ingest(&[file], &lake);
    assert_eq!(
        (second.records, second.written, second.duplicates),
        (3, 0, 3)
    );
    assert_eq!(
        lake_rows(&lake),
        vec![
            ("e1".to_string(), "event_date=2024-03-01".to_string()),
            ("e2".to_string(), "event_date=2024-03-01".to_string()),
            ("e3".to_string(), "event_date=2024-03-02".to_string()),
        ]
    );
}

#[test]
fn the_same_event_through_every_source_shape_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = record("shared-a", "2024-03-01T10:00:00Z", "GetObject");
    let b = record("shared-b", "2024-03-01T10:01:00Z", "GetObject");
    let c = record("only-in-cloudwatch", "2024-03-01T10:02:00Z", "GetObject");
    let s3 = dir
        .path()
        .join("in/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01");
    write(
        &s3.join("111122223333_CloudTrail_us-east-1_20240301T1005Z_abc.json.gz"),
        &gzip(records_file(&[a.clone(), b.clone()]).as_bytes()),
    );
    write(
        &dir.path()
            .join("in/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/digest.json.gz"),
        &gzip(br#"{"digestStartTime":"x","logFiles":[]}"#),
    );
    // CloudWatch Logs export: one record per line, with the export's timestamp prefix.
    write(
        &dir.path().join("in/cloudwatch/export.jsonl"),
        format!("2024-03-01T10:00:05.000Z {a}\n{c}\n").as_bytes(),
    );
    // EventBridge envelope.
    let envelope = json!({"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": b});
    write(
        &dir.path().join("in/eventbridge/rule.jsonl"),
        format!("{envelope}\n").as_bytes(),
    );
    // `aws logs filter-log-events` and `aws cloudtrail lookup-events` output.
    let filter = json!({"events": [{"logStreamName": "111122223333_CloudTrail_us-east-1", "timestamp": 1, "message": a.to_string(), "eventId": "1"}], "searchedLogStreams": []});
    write(
        &dir.path().join("in/cli/filter.json"),
        filter.to_string().as_bytes(),
    );
    let lookup = json!({"Events": [{"EventId": "shared-b", "EventName": "GetObject", "CloudTrailEvent": b.to_string()}]});
    write(
        &dir.path().join("in/cli/lookup.json"),
        lookup.to_string().as_bytes(),
    );

    let lake = dir.path().join("lake");
    let summary = ingest(&[dir.path().join("in")], &lake);
    assert_eq!(summary.files_skipped, 1, "the digest file is skipped");
    assert_eq!(summary.records, 7);
    assert_eq!(summary.written, 3);
    assert_eq!(summary.duplicates, 4);
    let keys: BTreeSet<String> = lake_rows(&lake).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "only-in-cloudwatch".into(),
            "shared-a".into(),
            "shared-b".into()
        ])
    );
}

/// The AWS documentation's DynamoDB examples reuse one `eventID` for two
/// records 20 months apart. Dedup is per event day (a replayed record keeps
/// its `eventTime`, so its copy is always in the same day): both are kept,
/// and the same file ingested again adds nothing.
#[test]
fn the_real_dynamodb_records_that_share_an_event_id_on_different_days_are_both_kept_once() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../model/tests/fixtures/real/data_events_dynamodb.jsonl");
    let summary = ingest(std::slice::from_ref(&fixture), &dir.path().join("lake"));
    assert_eq!(
        (summary.records, summary.written, summary.duplicates),
        (9, 9, 0)
    );
    let again = ingest(&[fixture], &dir.path().join("lake"));
    assert_eq!((again.records, again.written, again.duplicates), (9, 0, 9));
    let rows = lake_rows(&dir.path().join("lake"));
    assert_eq!(rows.len(), 9);
    assert_eq!(
        rows.iter()
            .filter(|(k, _)| k == "a954451c-c2fc-4561-8aea-7a30ba1fdf52")
            .count(),
        2
    );
}

#[test]
fn bad_input_is_quarantined_with_position_and_reason_and_good_records_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    // JSON Lines with every kind of bad line between good ones.
    let huge = {
        let mut r = record("huge", "2024-03-01T10:00:00Z", "PutObject");
        r["requestParameters"]["padding"] = json!("x".repeat(10 * 1024 * 1024));
        r.to_string()
    };
    let mut lines: Vec<u8> = Vec::new();
    lines.extend(
        format!(
            "{}\n",
            record("good-1", "2024-03-01T10:00:00Z", "GetObject")
        )
        .as_bytes(),
    );
    lines.extend(b"{\"eventID\": \"broken\", \"eventTime\": \n");
    lines.extend(b"\"a record that is a string\"\n");
    lines.extend(br#"{"eventID":"bad-time","eventName":"GetObject","eventTime":{"t":1}}"#);
    lines.push(b'\n');
    lines.extend(huge.as_bytes());
    lines.push(b'\n');
    lines.extend(b"{\"eventID\":\"latin1\",\"eventName\":\"Get\xe9\",\"eventTime\":\"2024-03-01T10:00:00Z\"}\n");
    lines.extend(br#"{"hello":"world","eventTime":"2024-03-01T10:00:00Z"}"#);
    lines.push(b'\n');
    lines.extend(
        format!(
            "{}\n",
            record("good-2", "2024-03-01T10:05:00Z", "GetObject")
        )
        .as_bytes(),
    );
    write(&input.join("mixed.jsonl"), &lines);

    // A trail file cut short inside its third record: everything up to the
    // third record is sync-flushed, so the cut leaves the first two whole.
    let text = records_file(&[
        record("gz-1", "2024-03-01T11:00:00Z", "GetObject"),
        record("gz-2", "2024-03-01T11:00:01Z", "GetObject"),
        record("gz-3", "2024-03-01T11:00:02Z", "GetObject"),
    ]);
    let third = text.find("gz-3").unwrap();
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&text.as_bytes()[..third + 30]).unwrap();
    encoder.flush().unwrap();
    let cut_at = encoder.get_ref().len();
    encoder.write_all(&text.as_bytes()[third + 30..]).unwrap();
    let full = encoder.finish().unwrap();
    write(&input.join("cut.json.gz"), &full[..cut_at]);
    // An empty trail file and a file that is not JSON at all.
    write(&input.join("empty.json"), br#"{"Records":[]}"#);
    write(&input.join("notes.txt"), b"hello, this is not CloudTrail\n");

    let lake = dir.path().join("lake");
    let summary = ingest(std::slice::from_ref(&input), &lake);
    let keys: BTreeSet<String> = lake_rows(&lake).into_iter().map(|(k, _)| k).collect();
    assert!(
        keys.contains("good-1") && keys.contains("good-2"),
        "{keys:?}"
    );
    assert!(
        keys.contains("gz-1") && keys.contains("gz-2"),
        "records before the cut are kept: {keys:?}"
    );
    assert_eq!(summary.written as usize, keys.len());

    let quarantine = quarantine_rows(&lake);
    let find = |kind: &str, source: &str| {
        quarantine
            .iter()
            .find(|q| q.kind == kind && q.source.ends_with(source))
            .unwrap_or_else(|| panic!("no {kind} entry for {source}: {quarantine:#?}"))
    };
    let broken = find("invalid_json", "mixed.jsonl");
    assert_eq!((broken.line, broken.position.as_str()), (Some(2), "line 2"));
    let string = find("not_an_object", "mixed.jsonl");
    assert_eq!(string.line, Some(3));
    assert!(string.reason.contains("string"), "{}", string.reason);
    let bad_time = find("bad_event_time", "mixed.jsonl");
    assert_eq!(bad_time.line, Some(4));
    let huge = find("too_large", "mixed.jsonl");
    assert_eq!(huge.line, Some(5));
    assert!(huge.reason.contains("max_record_bytes"), "{}", huge.reason);
    assert!(huge.raw.as_ref().unwrap().len() <= poolsight_lake::quarantine::MAX_RAW_BYTES);
    let latin1 = find("invalid_utf8", "mixed.jsonl");
    assert!(latin1.raw.is_some() || latin1.position.starts_with("byte"));
    let unknown = find("unknown_shape", "mixed.jsonl");
    assert_eq!(unknown.line, Some(7));
    assert!(unknown.reason.contains("hello"), "{}", unknown.reason);
    find("truncated_gzip", "cut.json.gz");
    let cut = find("truncated", "cut.json.gz");
    assert!(
        cut.reason.contains("2 record(s) before it were kept"),
        "{}",
        cut.reason
    );
    find("unknown_file_shape", "notes.txt");
    assert!(
        quarantine.iter().all(|q| !q.source.ends_with("empty.json")),
        "an empty Records file is not a problem"
    );
    assert_eq!(summary.quarantined as usize, quarantine.len());
}

#[test]
fn crash_leftovers_and_a_lost_dedup_index_are_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir.path().join("in/a.json"),
        records_file(&[
            record("k1", "2024-03-01T10:00:00Z", "GetObject"),
            record("k2", "2024-03-01T10:00:01Z", "GetObject"),
        ])
        .as_bytes(),
    );
    let lake = dir.path().join("lake");
    ingest(std::slice::from_ref(&file), &lake);
    // A run killed mid-write leaves a hidden temporary; the index is lost.
    let partition = lake.join("events/event_date=2024-03-01");
    fs::write(partition.join(".part-killed.parquet.tmp"), b"half a file").unwrap();
    fs::remove_dir_all(lake.join("_state/event_keys")).unwrap();
    let again = ingest(&[file], &lake);
    assert_eq!(
        (again.written, again.duplicates),
        (0, 2),
        "dedup index rebuilt from Parquet"
    );
    assert!(!partition.join(".part-killed.parquet.tmp").exists());
    assert_eq!(lake_rows(&lake).len(), 2);
}

#[test]
fn a_second_writer_is_refused_while_the_lake_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir.path().join("in/a.json"),
        records_file(&[record("k1", "2024-03-01T10:00:00Z", "GetObject")]).as_bytes(),
    );
    let lake = poolsight_lake::Lake::create(dir.path().join("lake")).unwrap();
    let _held = lake.lock().unwrap();
    let error = ingest_paths(&[file], lake.root(), IngestOptions::default(), &|_, _| {})
        .expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("in use by another poolsight process"),
        "{error}"
    );
}

#[test]
fn json_lines_larger_than_a_chunk_stream_with_exact_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let mut expected = BTreeSet::new();
    // ~14 MB: more than one 8 MiB chunk.
    for index in 1..=12_000 {
        if index == 10_000 {
            text.push_str("{\"eventID\": \"cut\n");
            continue;
        }
        let mut r = record(
            &format!("line-{index}"),
            "2024-03-01T10:00:00Z",
            "GetObject",
        );
        r["requestParameters"]["padding"] = json!("p".repeat(900));
        text.push_str(&r.to_string());
        text.push('\n');
        expected.insert(format!("line-{index}"));
    }
    // A 10 MB line: longer than the record limit (1 MiB here) plus a chunk; skipped, and the next line read.
    text.push_str(&"x".repeat(10 * 1024 * 1024));
    text.push('\n');
    text.push_str(&record("after-the-giant", "2024-03-01T10:00:00Z", "GetObject").to_string());
    text.push('\n');
    expected.insert("after-the-giant".into());
    let file = write(&dir.path().join("big.jsonl"), text.as_bytes());
    let lake = dir.path().join("lake");
    let options = IngestOptions {
        workers: 1,
        max_record_bytes: 1024 * 1024,
        ..Default::default()
    };
    let summary = ingest_paths(&[file], &lake, options, &|_, _| {}).unwrap();
    let keys: BTreeSet<String> = lake_rows(&lake).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, expected);
    let quarantine = quarantine_rows(&lake);
    let cut = quarantine
        .iter()
        .find(|q| q.kind == "invalid_json")
        .expect("the cut line");
    assert_eq!(
        cut.line,
        Some(10_000),
        "line numbers continue across chunks"
    );
    let giant = quarantine
        .iter()
        .find(|q| q.kind == "too_large")
        .expect("the giant line");
    assert_eq!(giant.line, Some(12_001));
    assert_eq!(summary.quarantined, 2);
}

/// Hardening #8: the shape is judged on several lines, so a JSON Lines file
/// whose first line is damaged keeps every good line after it, and the bad
/// line is quarantined on its own.
#[test]
fn a_json_lines_file_with_a_bad_first_line_is_not_lost_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("{\"eventID\":\"cut-short\",\"eventTime\":\"2024-03\n");
    for n in 0..5 {
        text.push_str(
            &record(&format!("after-{n}"), "2024-03-01T10:00:00Z", "GetObject").to_string(),
        );
        text.push('\n');
    }
    let file = write(&dir.path().join("in/export.jsonl"), text.as_bytes());
    // The same with a first line that is not JSON at all.
    let other = write(
        &dir.path().join("in/noisy.jsonl"),
        format!(
            "# exported by a script\n{}\n{}\n",
            record("noisy-1", "2024-03-01T10:00:00Z", "GetObject"),
            record("noisy-2", "2024-03-01T10:00:00Z", "GetObject")
        )
        .as_bytes(),
    );
    let lake = dir.path().join("lake");
    let summary = ingest(&[file, other], &lake);
    assert_eq!(summary.written, 7, "{summary:?}");
    let quarantine = quarantine_rows(&lake);
    assert_eq!(quarantine.len(), 2, "{quarantine:#?}");
    for entry in &quarantine {
        assert_eq!(
            (entry.kind.as_str(), entry.line),
            ("invalid_json", Some(1)),
            "{entry:?}"
        );
    }
}

/// Hardening #2, in process: a document far larger than memory would allow
/// if read whole (here 64 MiB of whitespace between records, and one record
/// of 12 MiB) is split as a stream; records around the junk are kept.
#[test]
fn whole_document_reads_are_streamed_element_by_element() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("{\"Records\":[");
    text.push_str(&record("before", "2024-03-01T10:00:00Z", "GetObject").to_string());
    text.push(',');
    text.push_str(&" ".repeat(64 << 20));
    let mut huge = record("huge", "2024-03-01T10:00:00Z", "PutObject");
    huge["requestParameters"]["padding"] = json!("x".repeat(12 << 20));
    text.push_str(&huge.to_string());
    text.push(',');
    text.push_str(&record("after", "2024-03-01T10:00:00Z", "GetObject").to_string());
    text.push_str("]}");
    let file = write(&dir.path().join("in/big.json.gz"), &gzip(text.as_bytes()));
    let lake = dir.path().join("lake");
    let summary = ingest(&[file], &lake);
    let keys: BTreeSet<String> = lake_rows(&lake).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["before".to_string(), "after".to_string()])
    );
    let quarantine = quarantine_rows(&lake);
    assert_eq!(quarantine.len(), 1, "{quarantine:#?}");
    assert_eq!(quarantine[0].kind, "too_large");
    assert_eq!(quarantine[0].position, "Records[1]");
    assert_eq!(summary.quarantined, 1);

    // Past ingest.max_inflated_bytes the object is cut and reported; what
    // came before the cap is kept.
    let capped_lake = dir.path().join("capped");
    let summary = ingest_paths(
        &[dir.path().join("in/big.json.gz")],
        &capped_lake,
        IngestOptions {
            workers: 1,
            max_inflated_bytes: 32 << 20,
            ..Default::default()
        },
        &|_, _| {},
    )
    .unwrap();
    let keys: BTreeSet<String> = lake_rows(&capped_lake)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, BTreeSet::from(["before".to_string()]));
    let quarantine = quarantine_rows(&capped_lake);
    assert_eq!(quarantine.len(), 1, "{quarantine:#?}");
    assert_eq!(quarantine[0].kind, "too_large");
    assert!(
        quarantine[0].reason.contains("max_inflated_bytes"),
        "{}",
        quarantine[0].reason
    );
    assert!(quarantine[0].source.ends_with("big.json.gz"));
    assert_eq!(summary.files_failed, 1);
}

/// Hardening #12: an event dated 2099 (or before 2013) is quarantined as
/// `implausible_time` instead of becoming the lake's newest event (which
/// every relative window counts back from); no `event_date=invalid` folder.
#[test]
fn event_times_that_cannot_be_real_are_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        record("good", "2024-03-01T10:00:00Z", "GetObject"),
        record("future", "2099-12-31T00:00:00Z", "GetObject"),
        record("ancient", "1999-01-01T00:00:00Z", "GetObject"),
    ]
    .map(|r| r.to_string())
    .join("\n");
    let file = write(&dir.path().join("in/times.jsonl"), lines.as_bytes());
    let lake = dir.path().join("lake");
    let summary = ingest(&[file], &lake);
    assert_eq!(
        (summary.written, summary.quarantined),
        (1, 2),
        "{summary:?}"
    );
    let quarantine = quarantine_rows(&lake);
    assert!(
        quarantine.iter().all(|q| q.kind == "implausible_time"),
        "{quarantine:#?}"
    );
    let partitions: Vec<String> = fs::read_dir(lake.join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(partitions, vec!["event_date=2024-03-01"]);
}

/// Hardening #15: a damaged or foreign Parquet file in `events/` is moved
/// aside (named in a warning and the quarantine) instead of failing every
/// later ingest at the dedup index.
#[test]
fn a_corrupt_or_foreign_parquet_file_in_events_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let first = write(
        &dir.path().join("in/a.jsonl"),
        record("kept-1", "2024-03-01T10:00:00Z", "GetObject")
            .to_string()
            .as_bytes(),
    );
    ingest(&[first], &lake);
    let partition = lake.join("events/event_date=2024-03-01");
    write(
        &partition.join("part-garbage.parquet"),
        b"PAR1 not really parquet PAR1",
    );
    // A valid Parquet file that is not ours (no event_key column).
    let foreign = {
        let batch = arrow::record_batch::RecordBatch::try_from_iter(vec![(
            "x",
            std::sync::Arc::new(arrow::array::Int64Array::from(vec![1, 2]))
                as arrow::array::ArrayRef,
        )])
        .unwrap();
        let mut bytes = Vec::new();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        bytes
    };
    write(&partition.join("part-foreign.parquet"), &foreign);
    let second = write(
        &dir.path().join("in/b.jsonl"),
        record("kept-2", "2024-03-01T11:00:00Z", "GetObject")
            .to_string()
            .as_bytes(),
    );
    let summary = ingest(&[second], &lake);
    assert_eq!(summary.written, 1, "{summary:?}");
    let keys: BTreeSet<String> = lake_rows(&lake).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["kept-1".to_string(), "kept-2".to_string()])
    );
    let damaged: Vec<_> = quarantine_rows(&lake)
        .into_iter()
        .filter(|q| q.kind == "damaged_parquet")
        .collect();
    assert_eq!(damaged.len(), 2, "{damaged:#?}");
    assert!(!partition.join("part-garbage.parquet").exists());
    assert!(lake
        .join("_state/damaged/events/event_date=2024-03-01")
        .is_dir());
}
