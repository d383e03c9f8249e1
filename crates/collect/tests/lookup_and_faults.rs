//! LookupEvents through the test server that speaks CloudTrail's JSON
//! protocol, and S3 + CloudWatch Logs collection through a proxy that
//! injects throttling, 500s and connections dropped mid-response.

mod common;

use std::sync::atomic::Ordering;

use aws_sdk_s3::primitives::ByteStream;
use chrono::{Duration, Utc};
use common::*;
use poolsight_collect::Window;
use poolsight_testkit::{
    aws_test_env, FaultPlan, FaultProxy, LookupServer, LookupServerOptions, MotoServer,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_events_pages_throttling_and_overlap() {
    let now = Utc::now();
    let mut expected = Vec::new();
    let mut records = Vec::new();
    // 130 management events over the last 3 days, and data events the
    // service never returns from LookupEvents.
    for i in 0..130 {
        let id = format!("mgmt-{i:04}");
        let name = if i % 2 == 0 {
            "UpdateIdentityPool"
        } else {
            "DescribeIdentityPool"
        };
        records.push(management_record(&id, now - Duration::minutes(30 * i), name).to_string());
        expected.push(id);
    }
    for i in 0..10 {
        records.push(
            record(
                &format!("data-{i}"),
                now - Duration::minutes(i),
                "111122223333",
                "us-east-1",
            )
            .to_string(),
        );
    }
    let server = LookupServer::start(
        &records,
        LookupServerOptions {
            max_tps: Some(2.0),
            throttle_first: 2,
            default_page_size: 50,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &server.endpoint(),
        "[[source.cloudtrail_lookup]]\nregions = [\"us-east-1\"]\n",
    );
    let (reports, _) = collect(&config, Window::default()).await;
    let first = reports[0].clone();
    assert_eq!(first.written, 130, "{first:?}");
    assert_exactly_once(&lake, &expected);
    let stats = server.stats();
    assert!(
        stats.throttled.load(Ordering::Relaxed) >= 2,
        "the first two requests were throttled and retried"
    );
    assert_eq!(
        stats.bad_requests.load(Ordering::Relaxed),
        0,
        "every request was well-formed"
    );
    assert!(
        stats.pages.load(Ordering::Relaxed) >= 3,
        "130 events take at least three pages of 50"
    );

    // New events, some inside the overlap window; re-run reads the overlap
    // and skips what it has.
    let mut more = Vec::new();
    for i in 0..7 {
        let id = format!("mgmt-new-{i}");
        more.push(
            management_record(
                &id,
                Utc::now() - Duration::seconds(i),
                "SetIdentityPoolRoles",
            )
            .to_string(),
        );
        expected.push(id);
    }
    server.add_records(&more);
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].written, 7, "{:?}", reports[0]);
    assert!(
        reports[0].already_collected >= 1,
        "the overlap is skipped by id: {:?}",
        reports[0]
    );
    assert_exactly_once(&lake, &expected);
    let started = std::time::Instant::now();
    let (reports, summary) = collect(&config, Window::default()).await;
    assert_eq!((reports[0].written, summary.parquet_files), (0, 0));
    eprintln!(
        "lookup: first run {} events in {:.2}s, {} requests ({} throttled by the server); no-op re-run {:.2}s, {} requests",
        first.written, first.seconds, first.requests, stats.throttled.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(), reports[0].requests
    );

    // One lookup attribute is sent and honoured.
    let filtered_lake = dir.path().join("filtered");
    let config = common::config(
        &filtered_lake,
        &server.endpoint(),
        "[[source.cloudtrail_lookup]]\nregions = [\"us-east-1\"]\nlookup_attribute = { key = \"EventName\", value = \"SetIdentityPoolRoles\" }\n",
    );
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].written, 7, "{:?}", reports[0]);
}

/// Hardening #7: events that become visible after a run, stamped 30
/// minutes before its high-water mark, are collected by the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_lookup_events_behind_the_high_water_mark_are_collected() {
    let high_water = Utc::now() - Duration::minutes(2);
    let on_time: Vec<String> = (0..5)
        .map(|i| {
            management_record(
                &format!("on-time-{i}"),
                high_water - Duration::seconds(i),
                "UpdateIdentityPool",
            )
            .to_string()
        })
        .collect();
    let server = LookupServer::start(&on_time, LookupServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &server.endpoint(),
        "[[source.cloudtrail_lookup]]\nregions = [\"us-east-1\"]\n",
    );
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].written, 5, "{:?}", reports[0]);
    let late: Vec<String> = (0..3)
        .map(|i| {
            management_record(
                &format!("late-{i}"),
                high_water - Duration::minutes(30) + Duration::seconds(i),
                "SetIdentityPoolRoles",
            )
            .to_string()
        })
        .collect();
    server.add_records(&late);
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].written, 3, "the late events: {:?}", reports[0]);
    let mut expected: Vec<String> = (0..5).map(|i| format!("on-time-{i}")).collect();
    expected.extend((0..3).map(|i| format!("late-{i}")));
    assert_exactly_once(&lake, &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_between_the_sdk_and_the_emulator_lose_and_repeat_nothing() {
    let moto = MotoServer::start();
    aws_test_env();
    let sdk = moto.sdk_config("us-east-1").await;
    let s3 = moto.s3_client().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let mut expected = Vec::new();
    s3.create_bucket().bucket("faulty").send().await.unwrap();
    let day = Utc::now() - Duration::days(1);
    for f in 0..40 {
        let at = day + Duration::minutes(5 * f);
        let records: Vec<_> = (0..20)
            .map(|i| {
                let id = format!("s3-{f}-{i}");
                expected.push(id.clone());
                record(&id, at, "111122223333", "us-east-1")
            })
            .collect();
        let key = format!(
            "AWSLogs/111122223333/CloudTrail/us-east-1/{}/111122223333_CloudTrail_us-east-1_{}_f{f}.json.gz",
            at.format("%Y/%m/%d"),
            at.format("%Y%m%dT%H%MZ")
        );
        s3.put_object()
            .bucket("faulty")
            .key(key)
            .body(ByteStream::from(trail_file(&records)))
            .send()
            .await
            .unwrap();
    }
    logs.create_log_group()
        .log_group_name("faulty-group")
        .send()
        .await
        .unwrap();
    for s in 0..3 {
        let stream = format!("stream-{s}");
        logs.create_log_stream()
            .log_group_name("faulty-group")
            .log_stream_name(&stream)
            .send()
            .await
            .unwrap();
        let base = Utc::now() - Duration::minutes(20);
        let events = (0..4000)
            .map(|i| {
                let id = format!("cw-{s}-{i}");
                expected.push(id.clone());
                let time = base + Duration::milliseconds(i);
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(time.timestamp_millis())
                    .message(record(&id, time, "111122223333", "us-east-1").to_string())
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        for chunk in events.chunks(2000) {
            logs.put_log_events()
                .log_group_name("faulty-group")
                .log_stream_name(&stream)
                .set_log_events(Some(chunk.to_vec()))
                .send()
                .await
                .unwrap();
        }
    }

    let proxy = FaultProxy::start(
        &moto.endpoint(),
        FaultPlan {
            throttle_every: 5,
            error_every: 7,
            drop_every: 4,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // Half the requests fail: 24 attempts make a lost request (0.49^24)
    // practically impossible, as a scheduled run's outage budget would.
    let text = format!(
        "lake = {:?}\n[aws]\nregion = \"us-east-1\"\nendpoint_url = {:?}\n[collect]\nmax_attempts = 24\n[[source.s3]]\nbucket = \"faulty\"\n[[source.cloudwatch_logs]]\nlog_group = \"faulty-group\"\n",
        lake.display().to_string(),
        proxy.endpoint()
    );
    let config =
        poolsight_config::Config::parse(&text, std::path::Path::new("/test/poolsight.toml"))
            .unwrap();
    let (reports, _) = collect(&config, Window::default()).await;
    let (first_s3, first_logs) = (reports[0].written, reports[1].written);
    assert_eq!(first_s3 + first_logs, expected.len() as u64, "{reports:?}");
    // Again through the faults: nothing new, nothing repeated.
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(
        reports.iter().map(|r| r.written).sum::<u64>(),
        0,
        "{reports:?}"
    );
    assert_exactly_once(&lake, &expected);
    let stats = proxy.stats();
    let (throttled, errors, dropped) = (
        stats.throttled.load(Ordering::Relaxed),
        stats.server_errors.load(Ordering::Relaxed),
        stats.dropped.load(Ordering::Relaxed),
    );
    eprintln!(
        "faults: {} requests, {throttled} throttled, {errors} server errors, {dropped} dropped mid-response",
        stats.requests.load(Ordering::Relaxed)
    );
    assert!(
        throttled > 0 && errors > 0 && dropped > 0,
        "every kind of fault happened"
    );
}

/// Hardening #17: the SDK's retries and poolsight's own do not multiply: a
/// request that keeps failing is sent `max_attempts` times in all (here 3),
/// not 3 × 3, and the source reports the failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_retries_do_not_multiply_with_the_outer_retry() {
    let server = LookupServer::start(&[], LookupServerOptions::default());
    let proxy = FaultProxy::start(
        &server.endpoint(),
        FaultPlan {
            error_every: 1,
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "lake = {:?}\n[aws]\nregion = \"us-east-1\"\nendpoint_url = {:?}\n[collect]\nmax_attempts = 3\n[[source.cloudtrail_lookup]]\nregions = [\"us-east-1\"]\n",
        dir.path().join("lake").display().to_string(),
        proxy.endpoint()
    );
    let config =
        poolsight_config::Config::parse(&text, std::path::Path::new("/test/poolsight.toml"))
            .unwrap();
    aws_test_env();
    let options = poolsight_collect::CollectOptions::from_config(&config);
    let collector = poolsight_collect::Collector::new(&config, options).unwrap();
    let lake = dir.path().join("lake");
    let pipeline = tokio::task::spawn_blocking(move || {
        poolsight_ingest::Pipeline::open(&lake, poolsight_ingest::IngestOptions::default())
    })
    .await
    .unwrap()
    .unwrap();
    let reports = collector.run(std::sync::Arc::clone(&pipeline)).await;
    assert_eq!(reports[0].status, "failed", "{:?}", reports[0]);
    let sent = proxy.stats().requests.load(Ordering::Relaxed);
    assert_eq!(sent, 3, "attempts of the one failing request");
}
