//! The S3 source against moto's server with the real SDK: the delivery
//! layout (several accounts, regions and days, an organization path, a
//! digest file, an Insights file), incremental runs, a late delivery, a
//! no-op re-run and a backfill window.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use chrono::{Duration, TimeZone, Utc};
use common::*;
use poolsight_collect::Window;
use poolsight_testkit::{aws_test_env, MotoServer};

async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    aws_test_env();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

struct Layout {
    client: aws_sdk_s3::Client,
    bucket: String,
    expected: Vec<String>,
}

impl Layout {
    async fn put(&self, key: &str, body: Vec<u8>) {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
    }

    /// One trail file of `n` records delivered at `delivered`.
    async fn deliver(
        &mut self,
        base: &str,
        account: &str,
        region: &str,
        delivered: chrono::DateTime<Utc>,
        suffix: &str,
        n: usize,
    ) -> String {
        let key = format!(
            "{base}{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{suffix}.json.gz",
            delivered.format("%Y/%m/%d"),
            delivered.format("%Y%m%dT%H%MZ")
        );
        let records: Vec<_> = (0..n)
            .map(|i| {
                let id = format!(
                    "{account}-{region}-{}-{suffix}-{i}",
                    delivered.format("%Y%m%dT%H%M")
                );
                self.expected.push(id.clone());
                record(
                    &id,
                    delivered - Duration::minutes(5) + Duration::seconds(i as i64),
                    account,
                    region,
                )
            })
            .collect();
        self.put(&key, trail_file(&records)).await;
        key
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_files_are_collected_incrementally_and_exactly_once() {
    let moto = MotoServer::start();
    let client = s3_client(&moto.endpoint()).await;
    let bucket = "org-trail".to_string();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut layout = Layout {
        client,
        bucket: bucket.clone(),
        expected: Vec::new(),
    };
    let day = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let plain = "logs/AWSLogs/";
    let org = "logs/AWSLogs/o-abc123def4/";
    // Two accounts (one under the organization path), two regions, three
    // days, files every 5 minutes around midnight.
    for (base, account) in [(plain, "111122223333"), (org, "444455556666")] {
        for region in ["us-east-1", "eu-west-1"] {
            for d in 0..3 {
                for slot in 0..4 {
                    let at = day + Duration::days(d) + Duration::minutes(5 * slot);
                    layout
                        .deliver(base, account, region, at, &format!("F{slot}"), 25)
                        .await;
                }
            }
        }
    }
    // Not events: a digest file and an Insights file.
    layout.put("logs/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261120T0100Z.json.gz", trail_file(&[])).await;
    let insight_key = "logs/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/20/111122223333_CloudTrail-Insight_us-east-1_20261120T0100Z_i1.json.gz";
    layout.put(insight_key, trail_file(&[serde_json::json!({"eventVersion":"1.08","eventTime":"2026-11-20T00:55:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventType":"AwsCloudTrailInsight","eventCategory":"Insight","eventID":"insight-1","insightDetails":{"state":"Start"}})])).await;

    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &moto.endpoint(),
        &format!("[[source.s3]]\nbucket = \"{bucket}\"\nprefix = \"logs\"\n"),
    );

    let (reports, _) = collect(&config, Window::default()).await;
    let first = &reports[0];
    assert_eq!(
        first.streams, 5,
        "2 accounts × 2 regions + 1 Insights prefix: {first:?}"
    );
    assert_eq!(
        first.written as usize,
        layout.expected.len() + 1,
        "every event, and the Insights event (in its own table): {first:?}"
    );
    assert_eq!(
        first.objects,
        2 * 2 * 3 * 4 + 1,
        "every trail file and the Insights file, no digest"
    );
    assert_exactly_once(&lake, &layout.expected);
    assert!(
        !poolsight_lake::parquet_files_under(&lake.join("insights"))
            .unwrap()
            .is_empty(),
        "Insights routed to their own table"
    );
    let _ = insight_key;
    assert!(
        !common::event_ids(&lake).contains_key("insight-1"),
        "Insights are not API calls"
    );

    // New deliveries, and a late one whose key sorts before the last key.
    let last_day = day + Duration::days(2);
    layout
        .deliver(
            plain,
            "111122223333",
            "us-east-1",
            last_day + Duration::minutes(30),
            "G1",
            10,
        )
        .await;
    layout
        .deliver(
            org,
            "444455556666",
            "eu-west-1",
            last_day + Duration::minutes(35),
            "G2",
            10,
        )
        .await;
    layout
        .deliver(
            plain,
            "111122223333",
            "us-east-1",
            last_day + Duration::minutes(15),
            "A0late",
            10,
        )
        .await;
    let (reports, _) = collect(&config, Window::default()).await;
    let second = &reports[0];
    assert_eq!(second.written, 30, "only the new files: {second:?}");
    assert_eq!(
        second.objects, 3,
        "nothing collected before is downloaded again: {second:?}"
    );
    assert!(
        second.already_collected > 0,
        "the lookback re-lists recent keys and skips them by name"
    );
    assert_exactly_once(&lake, &layout.expected);

    // Nothing new: lists, downloads nothing, writes nothing.
    let started = std::time::Instant::now();
    let (reports, summary) = collect(&config, Window::default()).await;
    let third = &reports[0];
    assert_eq!(
        (third.objects, third.written, summary.parquet_files),
        (0, 0, 0),
        "{third:?}"
    );
    eprintln!(
        "s3: first run {} events in {:.2}s ({:.0}/s, {} requests); no-op re-run {:.3}s, {} requests",
        first.written, first.seconds, first.written as f64 / first.seconds, first.requests,
        started.elapsed().as_secs_f64(), third.requests
    );
    assert_exactly_once(&lake, &layout.expected);

    // A backfill window on a fresh lake reads only the files delivered in it
    // and writes no checkpoint.
    let backfill_lake = dir.path().join("backfill");
    let backfill_config = common::config(
        &backfill_lake,
        &moto.endpoint(),
        &format!(
            "[[source.s3]]\nbucket = \"{bucket}\"\nprefix = \"logs\"\nregions = [\"us-east-1\"]\n"
        ),
    );
    let window = Window {
        from: Some(day + Duration::days(1)),
        to: Some(day + Duration::days(1) + Duration::minutes(10)),
    };
    let (reports, _) = collect(&backfill_config, window).await;
    // Day 2, us-east-1, both accounts, the files of 00:00, 00:05, 00:10 (and
    // 00:15, within the hour after `to`).
    assert_eq!(reports[0].written, 2 * 4 * 25, "{:?}", reports[0]);
    assert!(
        !backfill_lake.join("_state/checkpoints").exists(),
        "a backfill leaves the checkpoints alone"
    );
}

/// Hardening #1: Insights objects whose keys climb out with `..` segments
/// (aimed at the source's own checkpoint, and beside the lake) are read as
/// data like every object: no path is built from a key, nothing is written
/// outside the lake's folders, the checkpoint stays the source's own, and
/// the Insights events they hold land in the `insights` table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal_from_s3_keys_stays_under_insights() {
    let moto = MotoServer::start();
    let client = s3_client(&moto.endpoint()).await;
    let bucket = "traversal-trail".to_string();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut layout = Layout {
        client,
        bucket: bucket.clone(),
        expected: Vec::new(),
    };
    let at = Utc.with_ymd_and_hms(2026, 11, 20, 0, 5, 0).unwrap();
    layout
        .deliver("AWSLogs/", "111122223333", "us-east-1", at, "F0", 5)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &moto.endpoint(),
        &format!("[[source.s3]]\nname = \"trail\"\nbucket = \"{bucket}\"\n"),
    );
    collect(&config, Window::default()).await;
    let checkpoints = lake.join("_state/checkpoints");
    let checkpoint_files = files_under(&checkpoints);
    assert_eq!(checkpoint_files.len(), 1, "{checkpoint_files:?}");
    let checkpoint = checkpoints.join(&checkpoint_files[0]);
    let checkpoint_before = std::fs::read(&checkpoint).unwrap();

    let insight = "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/";
    let up_to_lake = "../".repeat(6);
    let hostile = [
        format!(
            "{insight}{up_to_lake}_state/checkpoints/{}",
            checkpoint_files[0]
        ),
        format!("{insight}{up_to_lake}../pwned.json"),
    ];
    let insight_record = |id: &str| serde_json::json!({"eventVersion":"1.08","eventTime":"2026-11-20T00:55:00Z","eventSource":"cognito-identity.amazonaws.com","eventName":"GetId","eventType":"AwsCloudTrailInsight","eventCategory":"Insight","eventID":id,"insightDetails":{"state":"Start","insightType":"ApiCallRateInsight"}});
    for (n, key) in hostile.iter().enumerate() {
        layout
            .put(key, trail_file(&[insight_record(&format!("hostile-{n}"))]))
            .await;
    }
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].objects, 2, "{:?}", reports[0]);
    // The checkpoint is still the source's own JSON, and still holds where
    // the trail prefix stopped.
    let after: serde_json::Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap())
        .expect("the checkpoint was overwritten through an Insights key");
    let before: serde_json::Value = serde_json::from_slice(&checkpoint_before).unwrap();
    let trail_prefix = "AWSLogs/111122223333/CloudTrail/us-east-1/";
    assert_eq!(
        after["state"]["prefixes"][trail_prefix],
        before["state"]["prefixes"][trail_prefix]
    );
    assert!(!dir.path().join("pwned.json").exists());
    let outside: Vec<String> = files_under(&lake)
        .into_iter()
        .filter(|f| {
            !(f.starts_with("events/")
                || f.starts_with("insights/event_date=")
                || f.starts_with("quarantine/")
                || f.starts_with("_state/"))
        })
        .collect();
    assert!(
        outside.is_empty(),
        "files outside the lake's tables: {outside:?}"
    );
    let ids: std::collections::BTreeSet<String> =
        table_ids(&lake.join("insights")).into_keys().collect();
    assert_eq!(
        ids,
        std::collections::BTreeSet::from(["hostile-0".to_string(), "hostile-1".to_string()])
    );
    assert!(
        !common::event_ids(&lake).contains_key("hostile-0"),
        "Insights are not API calls"
    );
}

/// Hardening #6: an object that can never be read (here archived to
/// GLACIER: `InvalidObjectState`) is quarantined with its key and reason,
/// the source moves past it, and the files after it and in other prefixes
/// are collected; the next run does not try it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unreadable_s3_object_does_not_stall_the_source() {
    let moto = MotoServer::start();
    let client = s3_client(&moto.endpoint()).await;
    let bucket = "archived-trail".to_string();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut layout = Layout {
        client: client.clone(),
        bucket: bucket.clone(),
        expected: Vec::new(),
    };
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
    let account = "111122223333";
    layout
        .deliver("AWSLogs/", account, "us-east-1", at, "A", 4)
        .await;
    let archived_key = format!(
        "AWSLogs/{account}/CloudTrail/us-east-1/2026/11/21/{account}_CloudTrail_us-east-1_20261121T0305Z_B.json.gz"
    );
    client
        .put_object()
        .bucket(&bucket)
        .key(&archived_key)
        .storage_class(aws_sdk_s3::types::StorageClass::Glacier)
        .body(ByteStream::from(trail_file(&[record(
            "archived-1",
            at,
            account,
            "us-east-1",
        )])))
        .send()
        .await
        .unwrap();
    layout
        .deliver(
            "AWSLogs/",
            account,
            "us-east-1",
            at + Duration::minutes(10),
            "C",
            4,
        )
        .await;
    layout
        .deliver("AWSLogs/", account, "eu-west-1", at, "D", 4)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &moto.endpoint(),
        &format!("[[source.s3]]\nbucket = \"{bucket}\"\n"),
    );
    let (reports, summary) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].objects_failed, 1, "{:?}", reports[0]);
    assert_eq!(summary.files_failed, 1, "{summary:?}");
    assert_exactly_once(&lake, &layout.expected);
    let rows: Vec<_> = quarantine_rows(&lake)
        .into_iter()
        .filter(|(kind, _, _)| kind == "unreadable_object")
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, format!("s3://{bucket}/{archived_key}"));
    assert!(rows[0].2.contains("InvalidObjectState"), "{}", rows[0].2);

    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(
        (reports[0].objects, reports[0].objects_failed),
        (0, 0),
        "the archived object is not tried again: {:?}",
        reports[0]
    );
}

/// Hardening #9: the order of durable operations of a collection run. A
/// checkpoint is renamed into place only after every events file written
/// before it was fsynced, renamed and its folder fsynced (new `event_date=`
/// folders included), so no crash can leave a checkpoint past data that is
/// not on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_a_checkpoint_is_never_durable_before_its_data() {
    poolsight_lake::fsio::journal::start();
    let moto = MotoServer::start();
    let client = s3_client(&moto.endpoint()).await;
    let bucket = "durable-trail".to_string();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let mut layout = Layout {
        client,
        bucket: bucket.clone(),
        expected: Vec::new(),
    };
    let day = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    for d in 0..3 {
        for region in ["us-east-1", "eu-west-1"] {
            layout
                .deliver(
                    "AWSLogs/",
                    "111122223333",
                    region,
                    day + Duration::days(d),
                    "F",
                    10,
                )
                .await;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &moto.endpoint(),
        &format!("[[source.s3]]\nbucket = \"{bucket}\"\n"),
    );
    collect(&config, Window::default()).await;
    assert_exactly_once(&lake, &layout.expected);

    let journal = poolsight_lake::fsio::journal::under(&lake);
    let position = |operation: &str, path: &std::path::Path, after: usize| {
        journal
            .iter()
            .enumerate()
            .skip(after)
            .find(|(_, (op, p))| *op == operation && p == path)
            .map(|(index, _)| index)
    };
    let checkpoints: Vec<usize> = journal
        .iter()
        .enumerate()
        .filter(|(_, (op, p))| *op == "rename" && p.starts_with(lake.join("_state/checkpoints")))
        .map(|(index, _)| index)
        .collect();
    assert!(!checkpoints.is_empty(), "checkpoints were saved");
    let data: Vec<(usize, &std::path::PathBuf)> = journal
        .iter()
        .enumerate()
        .filter(|(_, (op, p))| *op == "rename" && p.starts_with(lake.join("events")))
        .map(|(index, (_, p))| (index, p))
        .collect();
    assert!(data.len() >= 3, "a file per day at least: {journal:#?}");
    for &(renamed, file) in &data {
        let partition = file.parent().unwrap();
        let synced = position("fsync_dir", partition, renamed)
            .unwrap_or_else(|| panic!("{} renamed but its folder never fsynced", file.display()));
        let created = position("mkdir", partition, 0).expect("the partition was created");
        let listed = position("fsync_dir", &lake.join("events"), created)
            .expect("the new partition's parent was fsynced");
        for &checkpoint in checkpoints.iter().filter(|&&c| c > renamed) {
            assert!(
                synced < checkpoint && listed < checkpoint,
                "checkpoint at {checkpoint} before the data of {} was durable ({synced}, {listed})",
                file.display()
            );
        }
        assert!(
            checkpoints.iter().any(|&c| c > synced),
            "{} is covered by a later checkpoint",
            file.display()
        );
        let temporary_synced = journal[..renamed]
            .iter()
            .any(|(op, p)| *op == "fsync" && p.parent() == Some(partition));
        assert!(
            temporary_synced,
            "the file's bytes were fsynced before its rename"
        );
    }
}
