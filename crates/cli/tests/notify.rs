//! Findings out, through the binary: OCSF output and the Security Lake
//! export checked against the OCSF JSON Schema (package
//! `ocsf-json-schema`) and read back by DuckDB; the export to S3 on moto;
//! `notify --dry-run`; a `notify` killed with SIGKILL between a target's
//! acknowledgement and its record, then run again; `run` with a target
//! that is down.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    command, demo_lake, files_under, poolsight, poolsight_with, python, scripts, stdout, text,
};
use poolsight_testkit::{aws_test_env, MotoServer, ReceiverPlan, WebhookReceiver};
use serde_json::Value;

/// Runs scripts/validate_ocsf.py over `paths`: (exit success, its report).
fn validate(paths: &[&Path]) -> (bool, Value) {
    let mut command = Command::new(python());
    command
        .arg(scripts().join("validate_ocsf.py"))
        .arg("1.1.0")
        .args(paths);
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} ({e}): run the tests through scripts/test",
            python()
        )
    });
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "the OCSF validator failed (scripts/test installs ocsf-json-schema): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), report)
}

fn stored_findings(cwd: &Path) -> Vec<Value> {
    stdout(&poolsight(
        &[
            "findings", "list", "--lake", "lake", "--format", "jsonl", "--status", "all",
        ],
        cwd,
    ))
    .lines()
    .map(|l| serde_json::from_str(l).expect("JSON line"))
    .collect()
}

#[test]
fn ocsf_output_and_the_security_lake_export_validate_against_the_ocsf_schema() {
    aws_test_env();
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path();
    demo_lake(cwd);
    let findings = stored_findings(cwd);
    assert!(findings.len() >= 20, "the demo has findings of every kind");
    let by_id: BTreeMap<&str, &Value> = findings
        .iter()
        .map(|f| (f["finding_id"].as_str().expect("id"), f))
        .collect();

    // --format ocsf of findings list and detect.
    let listed = stdout(&poolsight(
        &[
            "findings", "list", "--lake", "lake", "--format", "ocsf", "--status", "all",
        ],
        cwd,
    ));
    std::fs::write(cwd.join("listed.jsonl"), &listed).expect("write");
    let detected = stdout(&poolsight(
        &[
            "detect",
            "--lake",
            "lake",
            "--format",
            "ocsf",
            "--full",
            "--no-store",
        ],
        cwd,
    ));
    std::fs::write(cwd.join("detected.jsonl"), &detected).expect("write");
    let (ok, report) = validate(&[&cwd.join("listed.jsonl"), &cwd.join("detected.jsonl")]);
    assert!(ok, "{report}");
    assert_eq!(
        report["checked"].as_u64(),
        Some((listed.lines().count() + detected.lines().count()) as u64)
    );
    assert_eq!(listed.lines().count(), findings.len());
    assert!(detected.lines().count() > 0);

    // What each event says is the stored finding's.
    let mut with_attacks = 0;
    for line in listed.lines() {
        let event: Value = serde_json::from_str(line).expect("JSON");
        let id = event["finding_info"]["uid"].as_str().expect("uid");
        let finding = by_id[id];
        assert_eq!(event["class_uid"], 2004);
        assert_eq!(
            event["finding_info"]["analytic"]["uid"],
            finding["detection"]
        );
        assert_eq!(
            event["evidences"][0]["data"]["event_ids"], finding["event_ids"],
            "every evidence id"
        );
        let severity_id = ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|s| *s == finding["severity"])
            .expect("severity") as u64
            + 1;
        assert_eq!(event["severity_id"].as_u64(), Some(severity_id));
        if let Some(identity) = finding["identity_id"].as_str() {
            assert_eq!(event["evidences"][0]["actor"]["user"]["uid"], identity);
        }
        assert_eq!(event["cloud"]["provider"], "AWS");
        if event["finding_info"]["attacks"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            with_attacks += 1;
        }
    }
    assert_eq!(
        with_attacks,
        findings.len(),
        "every detection names its ATT&CK techniques"
    );

    // The validator is real: a broken event fails it.
    let mut broken: Value =
        serde_json::from_str(listed.lines().next().expect("line")).expect("JSON");
    broken["severity_id"] = Value::from(9);
    broken["finding_info"]
        .as_object_mut()
        .expect("object")
        .remove("uid");
    std::fs::write(cwd.join("broken.jsonl"), broken.to_string()).expect("write");
    let (ok, report) = validate(&[&cwd.join("broken.jsonl")]);
    assert!(!ok, "{report}");
    assert_eq!(
        report["invalid"][0]["errors"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );

    // The Security Lake layout, in a folder.
    let exported: Value = serde_json::from_str(&stdout(&poolsight(
        &["export", "ocsf", "--lake", "lake", "--out", "sl", "--json"],
        cwd,
    )))
    .expect("report");
    assert_eq!(exported["findings"].as_u64(), Some(findings.len() as u64));
    let keys: Vec<String> = exported["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["key"].as_str().expect("key").to_string())
        .collect();
    for key in &keys {
        assert!(
            key.starts_with("region=") && key.contains("/accountId=") && key.contains("/eventDay="),
            "{key}"
        );
    }
    let (ok, report) = validate(&[&cwd.join("sl")]);
    assert!(ok, "{report}");
    assert_eq!(report["checked"].as_u64(), Some(findings.len() as u64));
    // A second engine reads it, partitions and all.
    let script = r#"
import duckdb, json, sys
rows = duckdb.sql(f"""
  SELECT count(*), count(DISTINCT finding_info.uid),
         bool_and(region = cloud.region), bool_and(CAST(accountId AS VARCHAR) = cloud.account.uid),
         bool_and(strftime(to_timestamp(time / 1000), '%Y%m%d') = CAST(eventDay AS VARCHAR))
  FROM read_parquet('{sys.argv[1]}/**/*.parquet', hive_partitioning = true)
""").fetchone()
print(json.dumps(rows))
"#;
    let output = Command::new(python())
        .args(["-c", script, cwd.join("sl").to_str().expect("utf-8")])
        .output()
        .expect("python");
    let read: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("duckdb: {}", String::from_utf8_lossy(&output.stderr)));
    let n = findings.len() as u64;
    assert_eq!(read, serde_json::json!([n, n, true, true, true]));
    // Exporting again writes the same objects, not duplicates.
    let again: Value = serde_json::from_str(&stdout(&poolsight(
        &["export", "ocsf", "--lake", "lake", "--out", "sl", "--json"],
        cwd,
    )))
    .expect("report");
    let again_keys: Vec<&str> = again["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["key"].as_str().expect("key"))
        .collect();
    assert_eq!(
        again_keys,
        keys.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let parquet_files = files_under(&cwd.join("sl"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .count();
    assert_eq!(parquet_files, keys.len());

    // The same export to S3 (moto): whole objects under the prefix.
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let s3 = runtime.block_on(moto.s3_with_bucket("security-lake-ocsf"));
    std::fs::write(cwd.join("poolsight.toml"), moto.aws_toml()).expect("config");
    let to_s3: Value = serde_json::from_str(&stdout(&poolsight(
        &[
            "export",
            "ocsf",
            "--lake",
            "lake",
            "--out",
            "s3://security-lake-ocsf/ext/poolsight/1.0",
            "--json",
        ],
        cwd,
    )))
    .expect("report");
    let downloaded = cwd.join("from-s3");
    let listed_keys = runtime.block_on(async {
        let listed = s3
            .list_objects_v2()
            .bucket("security-lake-ocsf")
            .prefix("ext/poolsight/1.0/")
            .send()
            .await
            .expect("list");
        let mut keys = Vec::new();
        for object in listed.contents() {
            let key = object.key().expect("key").to_string();
            let body = s3
                .get_object()
                .bucket("security-lake-ocsf")
                .key(&key)
                .send()
                .await
                .expect("get")
                .body
                .collect()
                .await
                .expect("body")
                .into_bytes();
            let path = downloaded.join(&key);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, body).expect("write");
            keys.push(key);
        }
        keys
    });
    let expected: Vec<String> = keys
        .iter()
        .map(|k| format!("ext/poolsight/1.0/{k}"))
        .collect();
    assert_eq!(listed_keys, expected);
    assert_eq!(to_s3["files"].as_array().map(Vec::len), Some(keys.len()));
    let (ok, report) = validate(&[&downloaded]);
    assert!(ok, "{report}");
    assert_eq!(report["checked"].as_u64(), Some(findings.len() as u64));
}

fn webhook_config(cwd: &Path, url: &str, extra: &str) {
    std::fs::write(
        cwd.join("poolsight.toml"),
        format!(
            r#"lake = "lake"
{extra}
[notify]
retry_base = "0s"

[[notify.webhook]]
name = "siem"
url = "{url}"
min_severity = "low"
per_second = 50
"#
        ),
    )
    .expect("config");
}

fn outbox_sent(cwd: &Path) -> Vec<String> {
    let csv = stdout(&poolsight(
        &[
            "sql",
            "--lake",
            "lake",
            "SELECT delivery_id FROM notify_outbox WHERE state = 'sent' ORDER BY 1",
            "--format",
            "csv",
        ],
        cwd,
    ));
    csv.lines().skip(1).map(str::to_string).collect()
}

#[test]
fn a_notify_killed_between_acknowledgement_and_record_resends_once_with_the_same_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path();
    demo_lake(cwd);
    let expected = stored_findings(cwd)
        .iter()
        .filter(|f| {
            f["severity"] != "info" && (f["status"] == "open" || f["status"] == "acknowledged")
        })
        .count();
    let receiver = WebhookReceiver::start(ReceiverPlan::default());
    webhook_config(cwd, &receiver.url(), "");

    // --dry-run: every body shown, nothing sent, nothing recorded.
    let dry: Value =
        serde_json::from_str(&stdout(&poolsight(&["notify", "--dry-run", "--json"], cwd)))
            .expect("report");
    let preview = dry["targets"][0]["preview"].as_array().expect("preview");
    assert_eq!(preview.len(), expected);
    assert_eq!(preview[0]["body"]["schema"], "poolsight.finding.v1");
    assert!(receiver.deliveries().is_empty());
    assert!(
        !cwd.join("lake/notify").exists(),
        "a dry run changes nothing"
    );

    // Paused right after the receiver acknowledged the first delivery,
    // before the outbox recorded it — then killed with SIGKILL.
    let marker = cwd.join("paused");
    let mut child = command(
        &["notify"],
        cwd,
        &[
            ("POOLSIGHT_PAUSEPOINT", "notify:acknowledged"),
            ("POOLSIGHT_PAUSE_MARKER", marker.to_str().expect("utf-8")),
        ],
    )
    .spawn()
    .expect("spawn");
    let started = Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "notify never paused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let first = receiver.deliveries();
    assert_eq!(
        first.len(),
        1,
        "one delivery reached the receiver before the kill"
    );

    // Run again: everything arrives; the killed one once more, same key.
    let output = poolsight(&["notify", "--json"], cwd);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let deliveries = receiver.deliveries();
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for delivery in &deliveries {
        *per_key
            .entry(delivery.idempotency_key.clone().expect("key"))
            .or_default() += 1;
    }
    assert_eq!(
        per_key.len(),
        expected,
        "each finding version once after dedupe"
    );
    assert_eq!(deliveries.len(), expected + 1);
    assert_eq!(
        per_key[first[0].idempotency_key.as_deref().expect("key")],
        2,
        "the unrecorded one was sent again with its key"
    );
    assert_eq!(
        outbox_sent(cwd),
        per_key.keys().cloned().collect::<Vec<_>>()
    );

    // And nothing more after that.
    stdout(&poolsight(&["notify"], cwd));
    assert_eq!(receiver.deliveries().len(), expected + 1);
    // `findings show` says where a finding went.
    let body = first[0].json();
    let id = body["finding"]["finding_id"].as_str().expect("id");
    let shown: Value = serde_json::from_str(&stdout(&poolsight(
        &["findings", "show", "--lake", "lake", id],
        cwd,
    )))
    .expect("JSON");
    assert_eq!(shown["deliveries"][0]["target"], "siem");
    assert_eq!(shown["deliveries"][0]["state"], "sent");
    assert_eq!(shown["deliveries"][0]["delivery_id"], body["delivery_id"]);

    // A damaged outbox stops notify with the file and what to do.
    std::fs::write(cwd.join("lake/notify/outbox.parquet"), b"PAR1 not really").expect("damage");
    let output = poolsight(&["notify"], cwd);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let said = text(&output);
    assert!(
        said.contains("outbox.parquet") && said.contains("move it aside"),
        "{said}"
    );
    assert_eq!(receiver.deliveries().len(), expected + 1, "nothing sent");
}

#[test]
fn a_target_that_is_down_is_a_warning_not_the_exit_code_of_run() {
    aws_test_env();
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path();
    demo_lake(cwd);
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(moto.s3_with_bucket("empty-trail-bucket"));
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        format!("http://127.0.0.1:{port}/hook")
    };
    webhook_config(
        cwd,
        &dead,
        &format!(
            "{}\n[[source.s3]]\nbucket = \"empty-trail-bucket\"\n",
            moto.aws_toml()
        ),
    );
    let output = poolsight_with(&["run"], cwd, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let all = text(&output);
    assert!(all.contains("notifications: 0 delivered"), "{all}");
    assert!(
        all.contains("notify: not everything was delivered"),
        "{all}"
    );
    // `notify` alone says so with its exit code.
    let output = poolsight(&["notify", "--json"], cwd);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("report");
    assert_eq!(report["targets"][0]["sent"], 0);
    assert!(report["targets"][0]["pending"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn webhook_secrets_and_url_tokens_never_leave_the_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path();
    demo_lake(cwd);
    let receiver = WebhookReceiver::start(ReceiverPlan {
        fail_first: 2,
        ..Default::default()
    });
    let token = "TOKEN-IN-THE-URL-4f9a";
    let secret = "HMAC-SECRET-VALUE-77c1";
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    std::fs::write(
        cwd.join("poolsight.toml"),
        format!(
            r#"lake = "lake"
[[notify.webhook]]
url = "{}?token={token}"
secret_env = "HOOK_SECRET"
min_severity = "high"

[[notify.webhook]]
url_env = "DEAD_HOOK_URL"
min_severity = "high"
timeout_seconds = 1
"#,
            receiver.url()
        ),
    )
    .expect("config");
    let dead_url = format!("http://127.0.0.1:{dead}/services/{token}");
    let env = [
        ("HOOK_SECRET", secret),
        ("DEAD_HOOK_URL", dead_url.as_str()),
    ];
    let mut seen = String::new();
    for args in [
        &["-v", "notify", "--dry-run"][..],
        &["-v", "notify", "--json"][..],
        &["-vv", "notify"][..],
    ] {
        seen.push_str(&text(&poolsight_with(args, cwd, &env)));
    }
    assert!(
        seen.contains("webhook:http://127.0.0.1"),
        "targets are named by host: {seen}"
    );
    assert!(!seen.contains(token), "the URL's token leaked: {seen}");
    assert!(!seen.contains(secret), "the signing secret leaked");
    for entry in files_under(&cwd.join("lake/notify")) {
        let bytes = std::fs::read(&entry).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(token) && !text.contains(secret),
            "{}",
            entry.display()
        );
    }
    // The requests were signed all the same.
    assert!(receiver.deliveries().iter().all(|d| d
        .signature
        .as_deref()
        .is_some_and(|s| s.starts_with("sha256="))));
    assert!(!receiver.processed_keys().is_empty());
}
