//! `cargo bench --bench notify`: the outbox and the sinks at volume.
//! 5000 findings in a fresh lake are delivered to a webhook (the testkit's
//! receiver) at 1000 requests per second, then `notify` runs again with
//! nothing changed, then with 500 findings grown; the same 5000 go to
//! Security Hub on moto (behind the testkit's shim) in batches of 100.
//! Prints seconds, deliveries per second and the outbox's size. Needs
//! `POOLSIGHT_PYTHON` (a venv with moto[server], as scripts/test makes).

use std::path::Path;
use std::time::Instant;

use poolsight_config::Config;
use poolsight_detect::findings::{store_findings, Finding};
use poolsight_lake::Lake;
use poolsight_notify::{notify, NotifyOptions, NotifyReport};
use poolsight_testkit::{aws_test_env, MotoServer, ReceiverPlan, SecurityHubShim, WebhookReceiver};

const FINDINGS: usize = 5000;
const NOW: &str = "2026-11-20T12:00:00Z";

fn finding(n: usize, events: usize) -> Finding {
    Finding {
        detection: "bench_detection".into(),
        category: ["identity_abuse", "posture", "access_denial"][n % 3].into(),
        severity: ["medium", "high", "critical"][n % 3].into(),
        title: format!("bench finding {n}"),
        summary: format!("Identity {n} did something {events} time(s)"),
        identity_id: Some(format!("us-east-1:00000000-0000-4000-8000-{n:012}")),
        identity_pool_id: Some("us-east-1:11111111-1111-4111-8111-111111111111".into()),
        access_key_id: Some(format!("ASIABENCH{n:011}")),
        source_ips: vec![format!("198.51.100.{}", n % 250)],
        first_seen: "2026-11-20T10:00:00Z".into(),
        last_seen: "2026-11-20T11:00:00Z".into(),
        event_count: events as u64,
        event_ids: (0..events).map(|e| format!("event-{n}-{e}")).collect(),
        finding_id: format!("bench_detection-{n:016x}"),
        finding_key: String::new(),
        group_key: None,
        status: "open".into(),
        detected_at: NOW.into(),
        updated_at: NOW.into(),
    }
}

fn config(dir: &Path, text: &str) -> Config {
    let path = dir.join("poolsight.toml");
    std::fs::write(&path, text).expect("config");
    Config::load(&path).expect("config")
}

fn timed(runtime: &tokio::runtime::Runtime, config: &Config, lake: &Lake) -> (f64, NotifyReport) {
    let lock = lake.lock().expect("lock");
    let started = Instant::now();
    let report = runtime
        .block_on(notify(config, lake, Some(&lock), &NotifyOptions::default()))
        .expect("notify");
    (started.elapsed().as_secs_f64(), report)
}

fn main() {
    aws_test_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::create(dir.path().join("lake")).expect("lake");
    let findings: Vec<Finding> = (0..FINDINGS).map(|n| finding(n, 20)).collect();
    {
        let lock = lake.lock().expect("lock");
        store_findings(&lake, &findings, NOW, &lock).expect("store");
    }
    let receiver = WebhookReceiver::start(ReceiverPlan::default());
    let moto = MotoServer::start();
    let shim = SecurityHubShim::start(&moto.endpoint());
    let webhook = config(
        dir.path(),
        &format!(
            "[[notify.webhook]]\nname = \"bench\"\nurl = \"{}\"\nper_second = 1000\nmin_severity = \"info\"\n",
            receiver.url()
        ),
    );
    println!("| step | findings | deliveries | seconds | deliveries/s |");
    println!("|---|---|---|---|---|");
    let row = |step: &str, seconds: f64, report: &NotifyReport| {
        let sent: usize = report.targets.iter().map(|t| t.sent).sum();
        println!(
            "| {step} | {FINDINGS} | {sent} | {seconds:.2} | {:.0} |",
            sent as f64 / seconds.max(1e-9)
        );
    };
    let (seconds, report) = timed(&runtime, &webhook, &lake);
    row("webhook, first run (all new)", seconds, &report);
    let (seconds, report) = timed(&runtime, &webhook, &lake);
    row("webhook, nothing changed", seconds, &report);
    {
        let grown: Vec<Finding> = (0..500).map(|n| finding(n * 10, 21)).collect();
        let lock = lake.lock().expect("lock");
        store_findings(&lake, &grown, "2026-11-20T13:00:00Z", &lock).expect("store");
    }
    let (seconds, report) = timed(&runtime, &webhook, &lake);
    row("webhook, 500 grown", seconds, &report);
    let hub = config(
        dir.path(),
        &format!(
            "[aws]\nregion = \"eu-north-1\"\nendpoint_url = \"{}\"\n[aws.endpoint_urls]\nsecurityhub = \"{}\"\n[[notify.securityhub]]\nper_second = 100\n",
            moto.endpoint(),
            shim.endpoint()
        ),
    );
    let (seconds, report) = timed(&runtime, &hub, &lake);
    row("Security Hub (moto), all new", seconds, &report);
    let outbox = lake.notify_dir().join("outbox.parquet");
    println!(
        "\nBatchImportFindings calls: {}; webhook requests: {}; outbox: {} entries, {} bytes",
        shim.imports().len(),
        receiver.deliveries().len(),
        poolsight_notify::outbox::Outbox::load(&lake)
            .expect("outbox")
            .entries()
            .len(),
        std::fs::metadata(&outbox).map(|m| m.len()).unwrap_or(0)
    );
}
