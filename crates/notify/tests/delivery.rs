//! Delivery end to end against real servers: webhooks to the testkit's
//! receiver (failures, slow answers, 500s, a dead target), SNS on moto
//! (an HTTP subscription receives what was published), Security Hub on
//! moto behind the testkit's shim (moto lacks `BatchUpdateFindings`).
//! Each test stores its own findings in a fresh lake and calls
//! `poolsight_notify::notify` as `poolsight notify` does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use poolsight_config::Config;
use poolsight_detect::findings::{store_findings, Finding};
use poolsight_lake::Lake;
use poolsight_notify::{notify, NotifyOptions, NotifyReport, TargetReport};
use poolsight_testkit::{aws_test_env, MotoServer, ReceiverPlan, SecurityHubShim, WebhookReceiver};
use serde_json::Value;

const NOW: &str = "2026-11-20T12:00:00Z";

fn finding(n: usize, severity: &str, category: &str) -> Finding {
    Finding {
        detection: format!("{category}_test"),
        category: category.into(),
        severity: severity.into(),
        title: format!("test finding {n}"),
        summary: format!("Identity us-east-1:0000-{n} did something {n} time(s)"),
        identity_id: Some(format!("us-east-1:00000000-0000-4000-8000-{n:012}")),
        identity_pool_id: Some("us-east-1:11111111-1111-4111-8111-111111111111".into()),
        access_key_id: Some(format!("ASIATEST{n:012}")),
        source_ips: vec![format!("198.51.100.{}", n % 250)],
        first_seen: "2026-11-20T10:00:00Z".into(),
        last_seen: "2026-11-20T11:00:00Z".into(),
        event_count: 2,
        event_ids: vec![format!("event-{n}-a"), format!("event-{n}-b")],
        finding_id: format!("{category}_test-{n:016x}"),
        finding_key: String::new(),
        group_key: None,
        status: "open".into(),
        detected_at: NOW.into(),
        updated_at: NOW.into(),
    }
}

fn lake_with(dir: &Path, findings: &[Finding]) -> Lake {
    let lake = Lake::create(dir.join("lake")).expect("lake");
    let lock = lake.lock().expect("lock");
    store_findings(&lake, findings, NOW, &lock).expect("store");
    lake
}

fn config(dir: &Path, toml: &str) -> Config {
    let path = dir.join("poolsight.toml");
    std::fs::write(&path, toml).expect("config");
    Config::load(&path).expect("valid config")
}

async fn run(config: &Config, lake: &Lake) -> NotifyReport {
    let lock = lake.lock().expect("lock");
    notify(config, lake, Some(&lock), &NotifyOptions::default())
        .await
        .expect("notify")
}

fn target<'a>(report: &'a NotifyReport, name: &str) -> &'a TargetReport {
    report
        .targets
        .iter()
        .find(|t| t.target == name)
        .unwrap_or_else(|| panic!("no target {name} in {report:?}"))
}

fn sent_ids(lake: &Lake, target: &str) -> BTreeSet<String> {
    let outbox = poolsight_notify::outbox::Outbox::load(lake).expect("outbox");
    outbox
        .entries()
        .iter()
        .filter(|e| e.target == target && e.state == "sent")
        .map(|e| e.delivery_id.clone())
        .collect()
}

/// A port nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/hook")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_get_each_finding_version_once_through_failures_and_a_dead_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 12 findings: 4 high, 4 medium, 2 low, 2 info; one summary is hostile.
    let mut findings = Vec::new();
    for n in 0..12 {
        let severity = ["high", "medium", "low", "info"][[0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3][n]];
        findings.push(finding(n, severity, "identity_abuse"));
    }
    findings[0].summary = "ua <!channel> <https://evil.example|click> \u{1b}[31mred".into();
    let lake = lake_with(dir.path(), &findings);
    // The JSON receiver fails the first 3 requests, answers request 6
    // only after the sender's 1 s timeout, and fails every 9th.
    let json_hook = WebhookReceiver::start(ReceiverPlan {
        fail_first: 3,
        hang: vec![6],
        hang_for: Duration::from_millis(2500),
        error_every: 9,
    });
    let chat_hook = WebhookReceiver::start(ReceiverPlan::default());
    let secret = "s3cr3t-from-the-environment";
    std::env::set_var("POOLSIGHT_TEST_HOOK_SECRET", secret);
    let config = config(
        dir.path(),
        &format!(
            r#"
[notify]
retry_base = "0s"

[[notify.webhook]]
name = "siem"
url = "{}"
min_severity = "low"
secret_env = "POOLSIGHT_TEST_HOOK_SECRET"
timeout_seconds = 1
per_second = 100

[[notify.webhook]]
name = "chat"
url = "{}"
format = "slack"
min_severity = "high"
per_second = 100

[[notify.webhook]]
name = "down"
url = "{}"
timeout_seconds = 1
per_second = 100
"#,
            json_hook.url(),
            chat_hook.url(),
            dead_url()
        ),
    );

    let first = run(&config, &lake).await;
    let siem = target(&first, "siem");
    assert_eq!(siem.enqueued, 10, "low and above: {siem:?}");
    assert!(
        siem.failed >= 1,
        "the first requests were refused: {siem:?}"
    );
    let down = target(&first, "down");
    assert_eq!(down.enqueued, 8, "medium and above (the default)");
    assert_eq!(down.sent, 0);
    assert_eq!(
        down.failed, 3,
        "three failures in a row stop a target for the run: {down:?}"
    );
    assert_eq!(down.not_attempted, 5);
    assert!(
        down.error
            .as_deref()
            .unwrap_or("")
            .contains("connection failed"),
        "{down:?}"
    );
    // The dead target delayed nobody: the chat target got everything.
    assert_eq!(target(&first, "chat").sent, 4);
    assert!(!first.warnings().is_empty());

    let mut runs = 1;
    while target(&run(&config, &lake).await, "siem").pending > 0 {
        runs += 1;
        assert!(runs < 6, "deliveries never finished");
    }

    // Every finding version the JSON receiver should have, it processed;
    // the outbox's sent entries are exactly the keys it processed.
    let processed = json_hook.processed_keys();
    assert_eq!(processed, sent_ids(&lake, "siem"));
    assert_eq!(processed.len(), 10);
    let deliveries = json_hook.deliveries();
    let mut processed_per_key: BTreeMap<String, usize> = BTreeMap::new();
    for delivery in &deliveries {
        // Every request is signed over "<timestamp>.<body>".
        let timestamp = delivery.timestamp.as_deref().expect("timestamp header");
        let expected =
            poolsight_notify::webhook::sign(secret.as_bytes(), timestamp, &delivery.body);
        assert_eq!(
            delivery.signature.as_deref(),
            Some(format!("sha256={expected}").as_str())
        );
        let body = delivery.json();
        assert_eq!(body["schema"], "poolsight.finding.v1");
        assert_eq!(
            body["delivery_id"].as_str(),
            delivery.idempotency_key.as_deref(),
            "the body and the header carry one key"
        );
        if delivery.processed() {
            *processed_per_key
                .entry(delivery.idempotency_key.clone().expect("key"))
                .or_default() += 1;
        }
    }
    // The slow answer: processed by the receiver, not acknowledged in time,
    // so sent again with the same key (a deduping receiver keeps one).
    let twice: Vec<_> = processed_per_key.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(twice.len(), 1, "{processed_per_key:?}");
    assert_eq!(*twice[0].1, 2);
    // Distinct finding versions arrived once each (after dedupe).
    let versions: BTreeSet<(String, String)> = deliveries
        .iter()
        .filter(|d| d.processed())
        .map(|d| {
            let body = d.json();
            (
                body["finding"]["finding_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                body["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(versions.len(), 10);

    // Chat: `{"text": …}`, hostile text inert.
    let chat = chat_hook.deliveries();
    assert_eq!(chat.len(), 4);
    for delivery in &chat {
        let text = delivery.json()["text"].as_str().expect("text").to_string();
        assert!(text.starts_with("*[HIGH]"), "{text}");
        assert!(!text.contains('<') && !text.contains('\u{1b}'), "{text}");
    }
    assert!(chat.iter().any(|d| d.json()["text"]
        .as_str()
        .unwrap_or("")
        .contains("&lt;!channel&gt;")));

    // Nothing changed: nothing is sent again.
    let before = (json_hook.deliveries().len(), chat_hook.deliveries().len());
    let again = run(&config, &lake).await;
    assert_eq!(target(&again, "siem").enqueued, 0);
    assert_eq!(
        (json_hook.deliveries().len(), chat_hook.deliveries().len()),
        before
    );

    // New evidence on one finding, another resolved: one delivery each.
    let mut grown = findings[1].clone();
    grown.event_ids.push("event-1-c".into());
    {
        let lock = lake.lock().expect("lock");
        store_findings(&lake, &[grown], "2026-11-20T13:00:00Z", &lock).expect("store");
        poolsight_detect::lifecycle::set_status(
            &lake,
            &lock,
            &findings[2].finding_id,
            "resolved",
            "fixed",
            "test",
            "2026-11-20T13:00:00Z",
        )
        .expect("resolve");
    }
    let changed = run(&config, &lake).await;
    assert_eq!(target(&changed, "siem").sent, 2, "{changed:?}");
    let new: Vec<Value> = json_hook.deliveries()[before.0..]
        .iter()
        .filter(|d| d.processed())
        .map(|d| d.json())
        .collect();
    let changes: BTreeMap<String, (String, String)> = new
        .iter()
        .map(|b| {
            (
                b["finding"]["finding_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                (
                    b["change"].as_str().unwrap_or_default().to_string(),
                    b["finding"]["status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(
        changes.get(&findings[1].finding_id),
        Some(&("updated".to_string(), "open".to_string()))
    );
    assert_eq!(
        changes.get(&findings[2].finding_id),
        Some(&("status".to_string(), "resolved".to_string()))
    );
    // The dead target still holds its findings for a later run, but not
    // the resolved one: it never got it, so there is no news to send.
    assert_eq!(target(&changed, "down").pending, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_hub_imports_batches_of_100_and_updates_workflows() {
    aws_test_env();
    let moto = MotoServer::start();
    let shim = SecurityHubShim::start(&moto.endpoint());
    let dir = tempfile::tempdir().expect("tempdir");
    let categories = [
        "identity_abuse",
        "posture",
        "data_exfiltration",
        "access_denial",
    ];
    let severities = ["info", "low", "medium", "high", "critical"];
    let findings: Vec<Finding> = (0..250)
        .map(|n| finding(n, severities[n % 5], categories[n % 4]))
        .collect();
    let lake = lake_with(dir.path(), &findings);
    // A region of its own: moto keeps findings per region for the server's life.
    let region = "ap-southeast-2";
    let config = config(
        dir.path(),
        &format!(
            r#"
[aws]
region = "{region}"
endpoint_url = "{}"

[aws.endpoint_urls]
securityhub = "{}"

[[notify.securityhub]]
per_second = 50
"#,
            moto.endpoint(),
            shim.endpoint()
        ),
    );
    let report = run(&config, &lake).await;
    let hub = &report.targets[0];
    assert_eq!(hub.target, format!("securityhub:{region}"));
    assert_eq!(
        (hub.enqueued, hub.sent, hub.failed),
        (250, 250, 0),
        "{hub:?}"
    );
    assert_eq!(shim.imports(), vec![100, 100, 50]);

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .endpoint_url(moto.endpoint())
        .load()
        .await;
    let client = aws_sdk_securityhub::Client::new(&sdk);
    let get = || async {
        let mut all = BTreeMap::new();
        let mut token = None;
        loop {
            let output = client
                .get_findings()
                .set_next_token(token)
                .send()
                .await
                .expect("GetFindings");
            for f in output.findings() {
                all.insert(f.id().unwrap_or_default().to_string(), f.clone());
            }
            token = output
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        all
    };
    let stored = get().await;
    assert_eq!(stored.len(), 250);
    let high = &stored[&findings[3].finding_id];
    assert_eq!(
        high.product_arn(),
        Some("arn:aws:securityhub:ap-southeast-2:123456789012:product/123456789012/default")
    );
    assert_eq!(high.aws_account_id(), Some("123456789012"));
    assert_eq!(
        high.severity().and_then(|s| s.label()).map(|l| l.as_str()),
        Some("HIGH")
    );
    assert_eq!(
        high.types(),
        ["TTPs/Discovery/poolsight-access_denial_test"]
    );
    assert_eq!(high.generator_id(), Some("poolsight/access_denial_test"));
    assert!(high.resources().iter().any(|r| r.id().is_some_and(
        |id| id.ends_with("identitypool/us-east-1:11111111-1111-4111-8111-111111111111")
    )));
    assert_eq!(high.record_state().map(|s| s.as_str()), Some("ACTIVE"));

    // Two resolved, one suppressed: re-imported archived, and one
    // workflow update per status.
    {
        let lock = lake.lock().expect("lock");
        for (i, status) in [(3, "resolved"), (8, "resolved"), (13, "suppressed")] {
            poolsight_detect::lifecycle::set_status(
                &lake,
                &lock,
                &findings[i].finding_id,
                status,
                "triaged",
                "test",
                "2026-11-20T13:00:00Z",
            )
            .expect("status");
        }
    }
    let report = run(&config, &lake).await;
    assert_eq!(report.targets[0].sent, 3, "{report:?}");
    assert_eq!(shim.workflow_updates(), 2);
    let stored = get().await;
    for (i, workflow) in [(3, "RESOLVED"), (8, "RESOLVED"), (13, "SUPPRESSED")] {
        let f = &stored[&findings[i].finding_id];
        assert_eq!(
            f.workflow().and_then(|w| w.status()).map(|s| s.as_str()),
            Some(workflow)
        );
        assert_eq!(f.record_state().map(|s| s.as_str()), Some("ARCHIVED"));
        assert_eq!(f.updated_at(), Some("2026-11-20T13:00:00Z"));
    }
    assert_eq!(
        stored[&findings[4].finding_id]
            .record_state()
            .map(|s| s.as_str()),
        Some("ACTIVE")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_publishes_one_message_per_finding_version() {
    aws_test_env();
    let moto = MotoServer::start();
    // moto delivers to HTTP subscriptions: the receiver is the subscriber.
    let subscriber = WebhookReceiver::start(ReceiverPlan::default());
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .load()
        .await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name("poolsight-findings")
        .send()
        .await
        .expect("topic");
    let topic_arn = topic.topic_arn().expect("arn").to_string();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("http")
        .endpoint(subscriber.url())
        .send()
        .await
        .expect("subscribe");
    let fifo = sns
        .create_topic()
        .name("poolsight-findings.fifo")
        .attributes("FifoTopic", "true")
        .send()
        .await
        .expect("fifo topic");
    let fifo_arn = fifo.topic_arn().expect("arn").to_string();

    let dir = tempfile::tempdir().expect("tempdir");
    let mut findings = Vec::new();
    for n in 0..6 {
        findings.push(finding(
            n,
            ["high", "medium", "low"][n % 3],
            "identity_abuse",
        ));
    }
    // Far more evidence than an SNS message can quote.
    findings[0].event_ids = (0..5000).map(|i| format!("event-0-{i:05}")).collect();
    findings[0].event_count = 5000;
    let lake = lake_with(dir.path(), &findings);
    let config = config(
        dir.path(),
        &format!(
            r#"
[aws]
region = "us-east-1"
endpoint_url = "{}"

[[notify.sns]]
topic_arn = "{topic_arn}"

[[notify.sns]]
topic_arn = "{fifo_arn}"
min_severity = "high"
"#,
            moto.endpoint()
        ),
    );
    let report = run(&config, &lake).await;
    let standard = target(&report, "sns:poolsight-findings");
    assert_eq!((standard.sent, standard.failed), (4, 0), "{report:?}");
    let fifo = target(&report, "sns:poolsight-findings.fifo");
    assert_eq!((fifo.sent, fifo.failed), (2, 0), "{report:?}");

    let notifications: Vec<Value> = subscriber
        .deliveries()
        .iter()
        .map(|d| d.json())
        .filter(|b| b["Type"] == "Notification")
        .collect();
    assert_eq!(notifications.len(), 4);
    let mut seen = BTreeSet::new();
    for notification in &notifications {
        let subject = notification["Subject"].as_str().expect("subject");
        assert!(
            subject.starts_with("poolsight ") && subject.len() <= 100,
            "{subject}"
        );
        let message: Value =
            serde_json::from_str(notification["Message"].as_str().expect("message"))
                .expect("JSON message");
        assert_eq!(message["schema"], "poolsight.finding.v1");
        let finding_id = message["finding"]["finding_id"]
            .as_str()
            .expect("id")
            .to_string();
        if finding_id == findings[0].finding_id {
            assert_eq!(
                message["finding"]["event_ids"].as_array().map(Vec::len),
                Some(100)
            );
            assert_eq!(message["finding"]["event_ids_truncated"], true);
            assert_eq!(message["finding"]["event_count"], 5000);
        }
        seen.insert(finding_id);
    }
    assert_eq!(seen.len(), 4, "one message per finding");
    // Nothing new: nothing published.
    let again = run(&config, &lake).await;
    assert!(again.targets.iter().all(|t| t.sent == 0 && t.enqueued == 0));
}

fn parquet_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(parquet_files(&path));
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// scripts/validate_ocsf.py over a folder: the number of valid events.
fn valid_ocsf_events(folder: &Path) -> u64 {
    let python = std::env::var("POOLSIGHT_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate_ocsf.py");
    let output = std::process::Command::new(&python)
        .arg(script)
        .arg("1.1.0")
        .arg(folder)
        .output()
        .expect("python");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("validator: {}", String::from_utf8_lossy(&output.stderr)));
    assert!(output.status.success(), "{report}");
    report["checked"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_lake_gets_each_finding_version_once_as_ocsf_parquet() {
    aws_test_env();
    let moto = MotoServer::start();
    let s3 = moto.s3_with_bucket("aws-security-data-lake-test").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let findings: Vec<Finding> = (0..12)
        .map(|n| finding(n, ["info", "medium", "high"][n % 3], "identity_abuse"))
        .collect();
    let lake = lake_with(dir.path(), &findings);
    let folder = dir.path().join("custom-source");
    let config = config(
        dir.path(),
        &format!(
            r#"
[aws]
region = "us-east-1"
endpoint_url = "{}"

[[notify.securitylake]]
name = "folder"
out = "{}"
account = "111122223333"
region = "us-east-1"

[[notify.securitylake]]
name = "s3"
out = "s3://aws-security-data-lake-test/ext/poolsight/1.0"
account = "111122223333"
"#,
            moto.endpoint(),
            folder.display()
        ),
    );
    let s3_keys = || async {
        s3.list_objects_v2()
            .bucket("aws-security-data-lake-test")
            .prefix("ext/poolsight/1.0/")
            .send()
            .await
            .expect("list")
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let first = run(&config, &lake).await;
    for name in ["folder", "s3"] {
        let t = target(&first, name);
        assert_eq!((t.enqueued, t.sent, t.failed), (12, 12, 0), "{t:?}");
    }
    let files = parquet_files(&folder);
    assert_eq!(files.len(), 1, "one partition: {files:?}");
    let relative = files[0]
        .strip_prefix(&folder)
        .expect("under")
        .to_string_lossy()
        .to_string();
    assert!(
        relative.starts_with("region=us-east-1/accountId=111122223333/eventDay="),
        "{relative}"
    );
    assert_eq!(valid_ocsf_events(&folder), 12);
    let keys = s3_keys().await;
    assert_eq!(keys, vec![format!("ext/poolsight/1.0/{relative}")]);

    // Nothing changed: no new file.
    let again = run(&config, &lake).await;
    assert!(again.targets.iter().all(|t| t.sent == 0));
    assert_eq!(parquet_files(&folder).len(), 1);

    // One finding grows: one more row, in a file of its own.
    let mut grown = findings[4].clone();
    grown.event_ids.push("event-4-c".into());
    {
        let lock = lake.lock().expect("lock");
        store_findings(&lake, &[grown], "2026-11-20T13:00:00Z", &lock).expect("store");
    }
    let changed = run(&config, &lake).await;
    assert!(changed.targets.iter().all(|t| t.sent == 1), "{changed:?}");
    assert_eq!(parquet_files(&folder).len(), 2);
    assert_eq!(valid_ocsf_events(&folder), 13);
    assert_eq!(s3_keys().await.len(), 2);
}
