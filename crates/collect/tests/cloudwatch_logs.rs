//! The CloudWatch Logs source against moto's server with the real SDK: a
//! group with many streams and more events than one page, holding
//! CloudTrail records, EventBridge envelopes and API Gateway access log
//! lines; events sharing a millisecond across runs; a no-op re-run.

mod common;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use chrono::Utc;
use common::*;
use poolsight_collect::Window;
use poolsight_testkit::{aws_test_env, MotoServer};
use serde_json::json;

async fn logs_client(endpoint: &str) -> aws_sdk_cloudwatchlogs::Client {
    aws_test_env();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .load()
        .await;
    aws_sdk_cloudwatchlogs::Client::new(&config)
}

/// The three message shapes a group can hold; returns (message, event id or key).
fn message(kind: usize, id: &str, time: chrono::DateTime<Utc>) -> (String, String) {
    match kind % 3 {
        0 => (
            record(id, time, "111122223333", "us-east-1").to_string(),
            id.to_string(),
        ),
        1 => (
            json!({
                "version": "0",
                "id": format!("eb-{id}"),
                "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.s3",
                "account": "111122223333",
                "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "region": "us-east-1",
                "resources": [],
                "detail": record(id, time, "111122223333", "us-east-1")
            })
            .to_string(),
            id.to_string(),
        ),
        _ => (
            json!({
                "requestId": id,
                "ip": "203.0.113.50",
                "requestTimeEpoch": time.timestamp_millis(),
                "httpMethod": "GET",
                "resourcePath": "/photos/{id}",
                "path": "/prod/photos/1",
                "status": "200",
                "cognitoIdentityId": identity(9),
                "cognitoIdentityPoolId": POOL,
                "cognitoAuthenticationType": "unauthenticated"
            })
            .to_string(),
            id.to_string(),
        ),
    }
}

async fn put(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    events: Vec<(i64, String)>,
) {
    for chunk in events.chunks(5000) {
        client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(
                chunk
                    .iter()
                    .map(|(t, m)| {
                        InputLogEvent::builder()
                            .timestamp(*t)
                            .message(m)
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_with_many_streams_is_collected_exactly_once() {
    let moto = MotoServer::start();
    let client = logs_client(&moto.endpoint()).await;
    let group = "aws-cloudtrail-logs-111122223333";
    client
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let streams: Vec<String> = (0..12)
        .map(|n| format!("111122223333_CloudTrail_us-east-1_{n}"))
        .collect();
    for stream in &streams {
        client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
    }
    // A stream the config's prefix leaves out.
    client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name("other-app")
        .send()
        .await
        .unwrap();
    put(
        &client,
        group,
        "other-app",
        vec![(Utc::now().timestamp_millis(), "not for us".into())],
    )
    .await;

    // 12 streams × 1,000 events = 12,000 (a page holds 10,000); 10 events
    // share each millisecond.
    let base = Utc::now() - chrono::Duration::minutes(30);
    let mut expected = Vec::new();
    let mut newest = 0;
    for (s, stream) in streams.iter().enumerate() {
        let mut events = Vec::new();
        for i in 0..1000usize {
            let time = base + chrono::Duration::milliseconds((i / 10) as i64);
            let (text, id) = message(s * 1000 + i, &format!("cw-{s}-{i}"), time);
            newest = newest.max(time.timestamp_millis());
            events.push((time.timestamp_millis(), text));
            expected.push(id);
        }
        put(&client, group, stream, events).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &moto.endpoint(),
        &format!("[[source.cloudwatch_logs]]\nlog_group = \"{group}\"\nlog_stream_prefix = \"111122223333_CloudTrail_\"\n"),
    );
    let (reports, summary) = collect(&config, Window::default()).await;
    let first = reports[0].clone();
    assert_eq!(first.written as usize, expected.len(), "{first:?}");
    assert_eq!(summary.quarantined, 0, "the other stream is not read");
    assert_exactly_once(&lake, &expected);

    // More events, some in the very millisecond the first run ended on, in
    // streams that already had events there.
    for (s, stream) in streams.iter().enumerate().take(4) {
        let time = chrono::DateTime::from_timestamp_millis(newest).unwrap();
        let mut events = Vec::new();
        for i in 0..5usize {
            let (text, id) = message(i, &format!("cw-late-{s}-{i}"), time);
            events.push((newest, text));
            expected.push(id);
        }
        let later = time + chrono::Duration::seconds(1);
        let (text, id) = message(2, &format!("cw-next-{s}"), later);
        events.push((later.timestamp_millis(), text));
        expected.push(id);
        put(&client, group, stream, events).await;
    }
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].written, 24, "{:?}", reports[0]);
    assert!(
        reports[0].already_collected >= 100,
        "the overlap is read again and skipped by id: {:?}",
        reports[0]
    );
    assert_exactly_once(&lake, &expected);

    let started = std::time::Instant::now();
    let (reports, summary) = collect(&config, Window::default()).await;
    assert_eq!(
        (reports[0].written, summary.parquet_files),
        (0, 0),
        "{:?}",
        reports[0]
    );
    eprintln!(
        "cloudwatch: first run {} events in {:.2}s ({:.0}/s, {} requests); no-op re-run {:.3}s, {} requests",
        first.written, first.seconds, first.written as f64 / first.seconds, first.requests,
        started.elapsed().as_secs_f64(), reports[0].requests
    );
    assert_exactly_once(&lake, &expected);

    // API Gateway lines are attributed events of their own.
    let rows = event_ids(&lake);
    assert!(
        rows.contains_key("cw-0-2"),
        "an access log line's requestId is its event id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_globs_and_unknown_messages() {
    let moto = MotoServer::start();
    let client = logs_client(&moto.endpoint()).await;
    let group = "api-gateway-access";
    client
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let now = Utc::now() - chrono::Duration::minutes(10);
    let mut expected = Vec::new();
    for stream in ["prod-a", "prod-b", "staging-a"] {
        client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
        let (text, id) = message(2, &format!("gw-{stream}"), now);
        if stream.starts_with("prod") {
            expected.push(id);
        }
        put(
            &client,
            group,
            stream,
            vec![
                (now.timestamp_millis(), text),
                (now.timestamp_millis() + 1, "{\"level\":\"info\"}".into()),
            ],
        )
        .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &moto.endpoint(),
        &format!(
            "[[source.cloudwatch_logs]]\nlog_group = \"{group}\"\nlog_streams = [\"prod-*\"]\n"
        ),
    );
    let (reports, summary) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].streams, 2);
    assert_eq!(
        summary.quarantined, 2,
        "the two unknown messages of prod-* are quarantined"
    );
    assert_exactly_once(&lake, &expected);

    // A missing group fails that source with a clear message.
    let config = common::config(
        &dir.path().join("lake2"),
        &moto.endpoint(),
        "[[source.cloudwatch_logs]]\nlog_group = \"no-such-group\"\n",
    );
    let mut options = poolsight_collect::CollectOptions::from_config(&config);
    options.aws.max_attempts = 2;
    let collector = poolsight_collect::Collector::new(&config, options).unwrap();
    let pipeline =
        poolsight_ingest::Pipeline::open(config.lake.as_ref().unwrap(), Default::default())
            .unwrap();
    let reports = collector.run(pipeline).await;
    assert_eq!(reports[0].status, "failed");
    assert!(
        reports[0]
            .error
            .as_deref()
            .unwrap()
            .contains("no-such-group"),
        "{:?}",
        reports[0]
    );
}

/// Hardening #7: events that reach the group after a run, stamped 30
/// minutes before its high-water mark, are collected by the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_events_behind_the_high_water_mark_are_collected() {
    let moto = MotoServer::start();
    let client = logs_client(&moto.endpoint()).await;
    let group = "late-delivery-group";
    client
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    for stream in ["on-time", "late"] {
        client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
    }
    let high_water = Utc::now() - chrono::Duration::minutes(5);
    let on_time: Vec<(i64, String)> = (0..20)
        .map(|i| {
            let time = high_water - chrono::Duration::seconds(19 - i);
            (
                time.timestamp_millis(),
                message(0, &format!("on-time-{i}"), time).0,
            )
        })
        .collect();
    put(&client, group, "on-time", on_time).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &moto.endpoint(),
        &format!("[[source.cloudwatch_logs]]\nlog_group = \"{group}\"\n"),
    );
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].written, 20, "{:?}", reports[0]);

    let late_time = high_water - chrono::Duration::minutes(30);
    let late: Vec<(i64, String)> = (0..10)
        .map(|i| {
            let time = late_time + chrono::Duration::seconds(i);
            (
                time.timestamp_millis(),
                message(0, &format!("late-{i}"), time).0,
            )
        })
        .collect();
    put(&client, group, "late", late).await;
    let (reports, _) = collect(&config, Window::default()).await;
    assert_eq!(reports[0].written, 10, "the late events: {:?}", reports[0]);
    let mut expected: Vec<String> = (0..20).map(|i| format!("on-time-{i}")).collect();
    expected.extend((0..10).map(|i| format!("late-{i}")));
    assert_exactly_once(&lake, &expected);
}

/// Hardening #18: `collect --from 2020-01-01` on a group created today reads
/// from where its data can start, and lets empty time pass in a few
/// doubling slices: a handful of requests, not one per day since 2020.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_from_years_ago_costs_a_handful_of_requests() {
    let moto = MotoServer::start();
    let client = logs_client(&moto.endpoint()).await;
    let group = "recent-group";
    client
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    let now = Utc::now();
    let events: Vec<(i64, String)> = (0..30)
        .map(|i| {
            let time = now - chrono::Duration::minutes(30 - i);
            (
                time.timestamp_millis(),
                message(0, &format!("recent-{i}"), time).0,
            )
        })
        .collect();
    put(&client, group, "s", events).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let config = config(
        &lake,
        &moto.endpoint(),
        &format!("[[source.cloudwatch_logs]]\nlog_group = \"{group}\"\n"),
    );
    let from = chrono::TimeZone::with_ymd_and_hms(&Utc, 2020, 1, 1, 0, 0, 0).unwrap();
    let (reports, _) = collect(
        &config,
        Window {
            from: Some(from),
            to: None,
        },
    )
    .await;
    assert_eq!(reports[0].written, 30, "{:?}", reports[0]);
    assert!(
        reports[0].requests <= 10,
        "{} requests for six years of nothing and an hour of data",
        reports[0].requests
    );
}
