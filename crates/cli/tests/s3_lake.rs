//! `lake = "s3://bucket/prefix"` end to end, against moto's S3: the
//! sample ingested into S3 gives the same events and the same findings
//! (ids and evidence) as a local lake; a second writer exits 4 while
//! readers go on; a run killed with SIGKILL at each step of its upload
//! leaves, after a rerun, exactly the sample's events.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::{command, finding_evidence, poolsight, sample, stdout, text};
use poolsight_testkit::MotoServer;
use serde_json::Value;

/// moto, with one bucket.
fn moto_with_bucket(bucket: &str) -> (MotoServer, tokio::runtime::Runtime, aws_sdk_s3::Client) {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let s3 = runtime.block_on(moto.s3_with_bucket(bucket));
    (moto, runtime, s3)
}

/// A folder whose poolsight.toml points at `lake` through moto.
fn workspace(moto: &MotoServer, lake: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("poolsight.toml"),
        format!(
            "lake = \"{lake}\"\n\n{}\n[s3_lake]\nlease = \"3s\"\n",
            moto.aws_toml()
        ),
    )
    .expect("config");
    dir
}

fn keys_under(
    runtime: &tokio::runtime::Runtime,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Vec<String> {
    runtime.block_on(async {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .expect("list");
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match page.next_continuation_token() {
                Some(next) => token = Some(next.to_string()),
                None => break,
            }
        }
        keys.sort();
        keys
    })
}

/// `(rows, distinct event keys)` of `events`.
fn event_counts(cwd: &Path, lake: &[&str]) -> (u64, u64) {
    let mut args = vec![
        "sql",
        "--format",
        "json",
        "SELECT count(*) AS n, count(DISTINCT event_key) AS k FROM events",
    ];
    args.extend_from_slice(lake);
    let rows: Value = serde_json::from_str(&stdout(&poolsight(&args, cwd))).expect("json");
    let row = &rows[0];
    (row["n"].as_u64().expect("n"), row["k"].as_u64().expect("k"))
}

fn sample_arg() -> String {
    sample().to_str().expect("utf-8").to_string()
}

#[test]
fn an_s3_lake_holds_the_same_events_and_findings_as_a_local_one() {
    let (moto, runtime, s3) = moto_with_bucket("lake-same");
    let work = workspace(&moto, "s3://lake-same/poolsight");
    let cwd = work.path();
    let sample = sample_arg();

    let first = poolsight(&["ingest", &sample], cwd);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("written: 5000"), "{}", text(&first));
    // The same files again: every record is a duplicate, found through
    // the sidecars in S3 (the working folder starts empty every time).
    let again = text(&poolsight(&["ingest", &sample], cwd));
    assert!(
        again.contains("written: 0 | duplicates skipped: 5121"),
        "{again}"
    );
    assert!(stdout(&poolsight(&["detect"], cwd)).contains("findings"));

    // The same sample in a local lake.
    let local = cwd.join("local-lake");
    let local_arg = local.to_str().expect("utf-8");
    stdout(&poolsight(&["ingest", &sample, "--lake", local_arg], cwd));
    stdout(&poolsight(&["detect", "--lake", local_arg], cwd));

    assert_eq!(event_counts(cwd, &[]), (5000, 5000));
    assert_eq!(event_counts(cwd, &["--lake", local_arg]), (5000, 5000));
    let in_s3 = finding_evidence(cwd, &[]);
    let on_disk = finding_evidence(cwd, &["--lake", local_arg]);
    assert!(in_s3.len() > 20, "{in_s3:?}");
    assert_eq!(in_s3, on_disk, "same finding ids and evidence");

    // What is in the bucket: every event file is whole (no hidden
    // temporaries), has its sidecar, and the state came back.
    let keys = keys_under(&runtime, &s3, "lake-same", "poolsight/");
    let events: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("poolsight/events/event_date="))
        .collect();
    assert!(!events.is_empty());
    for key in &events {
        assert!(key.ends_with(".parquet") && !key.contains("/."), "{key}");
        let sidecar = format!(
            "poolsight/_state/event_keys/{}.keys",
            key.trim_start_matches("poolsight/events/")
        );
        assert!(keys.contains(&sidecar), "no sidecar for {key}");
    }
    for expected in [
        "poolsight/findings/findings.parquet",
        "poolsight/_state/detect_progress.json",
    ] {
        assert!(keys.iter().any(|k| k == expected), "{expected} in {keys:?}");
    }
    assert!(
        keys.iter()
            .all(|k| !k.starts_with("poolsight/_state/lock/")),
        "the lock is released: {keys:?}"
    );
    assert!(keys
        .iter()
        .any(|k| k.starts_with("poolsight/state/identity_hourly/")));

    // Every detection reads the events again; the read cache makes that
    // one request per event file (the sample's files are below a block),
    // where the bucket was asked 511 times before it.
    let full = text(&poolsight(&["detect", "--full", "--no-store"], cwd));
    let field = |name: &str| -> u64 {
        let line = full
            .lines()
            .find(|line| line.contains("read cache of the S3 lake"))
            .unwrap_or_else(|| panic!("no read cache report in {full}"));
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")))
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {line}"))
    };
    let (reads, from_cache, requests) = (field("reads"), field("from_cache"), field("requests"));
    assert!(requests >= 1 && requests <= events.len() as u64, "{full}");
    assert!(
        from_cache + requests >= reads && from_cache > 10 * requests,
        "{full}"
    );

    // A second engine reads the bucket's events: pyarrow over moto.
    let script = format!(
        "import pyarrow.dataset as ds, pyarrow.fs as pafs\n\
         fs = pafs.S3FileSystem(endpoint_override='{}', scheme='http', access_key='testing', secret_key='testing', region='us-east-1')\n\
         d = ds.dataset('lake-same/poolsight/events', filesystem=fs, format='parquet', partitioning='hive')\n\
         t = d.to_table(columns=['event_key', 'event_date'])\n\
         print(t.num_rows, len(set(t.column('event_key').to_pylist())))\n",
        moto.endpoint().trim_start_matches("http://")
    );
    let read = std::process::Command::new(common::python())
        .args(["-c", &script])
        .output()
        .expect("python");
    assert!(read.status.success(), "{}", text(&read));
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "5000 5000");
}

fn wait_for(marker: &Path, what: &str) {
    let started = Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} never paused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn paused_ingest(cwd: &Path, step: &str, marker: &Path) -> std::process::Child {
    let sample = sample_arg();
    command(
        &["ingest", &sample],
        cwd,
        &[
            ("POOLSIGHT_PAUSEPOINT", step),
            ("POOLSIGHT_PAUSE_MARKER", marker.to_str().expect("utf-8")),
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("spawn")
}

fn status_of(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

#[test]
fn a_second_writer_exits_4_while_readers_go_on() {
    let (moto, _runtime, _s3) = moto_with_bucket("lake-busy");
    let work = workspace(&moto, "s3://lake-busy/shared");
    let cwd = work.path();
    let sample = sample_arg();
    let marker = cwd.join("paused");
    // The first writer holds the lock, paused with its events uploaded.
    let mut first = paused_ingest(cwd, "s3:pushed:events", &marker);
    wait_for(&marker, "the first ingest");
    // Longer than the lease: the holder keeps renewing it.
    std::thread::sleep(Duration::from_secs(4));
    let second = poolsight(&["ingest", &sample], cwd);
    assert_eq!(status_of(&second), 4, "{}", text(&second));
    let message = text(&second);
    assert!(
        message.contains("is in use by") && message.contains("s3://lake-busy/shared"),
        "{message}"
    );
    let detect = poolsight(&["detect"], cwd);
    assert_eq!(status_of(&detect), 4, "{}", text(&detect));
    // A reader needs no lock.
    let read = poolsight(&["sql", "SELECT count(*) FROM events"], cwd);
    assert!(read.status.success(), "{}", text(&read));

    std::fs::remove_file(&marker).expect("resume");
    let finished = first.wait().expect("first ends");
    assert!(finished.success());
    let third = poolsight(&["ingest", &sample], cwd);
    assert!(
        text(&third).contains("written: 0 | duplicates skipped: 5121"),
        "{}",
        text(&third)
    );
}

#[test]
fn an_ingest_killed_during_its_upload_leaves_exactly_the_sample_after_a_rerun() {
    let (moto, runtime, s3) = moto_with_bucket("lake-crash");
    for (index, step) in ["s3:pushed:events", "s3:pushed:sidecars", "s3:pushed:state"]
        .into_iter()
        .enumerate()
    {
        let prefix = format!("crash{index}");
        let work = workspace(&moto, &format!("s3://lake-crash/{prefix}"));
        let cwd = work.path();
        let marker = cwd.join("paused");
        let mut child = paused_ingest(cwd, step, &marker);
        wait_for(&marker, step);
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let before = keys_under(&runtime, &s3, "lake-crash", &format!("{prefix}/"));
        assert!(
            before.iter().any(|k| k.contains("/events/")),
            "{step}: event files were uploaded before the kill"
        );
        assert!(
            before.iter().any(|k| k.contains("/_state/lock/")),
            "{step}: the killed run's lock is still there"
        );
        let sidecars_before = before
            .iter()
            .filter(|k| k.contains("/_state/event_keys/"))
            .count();
        if step == "s3:pushed:events" {
            assert_eq!(sidecars_before, 0, "killed before any sidecar went up");
        } else {
            assert!(sidecars_before > 0, "{step}");
        }
        // The killed run's lease (3 s) runs out; the rerun takes over.
        let started = Instant::now();
        let rerun = loop {
            let output = poolsight(&["ingest", &sample_arg()], cwd);
            if status_of(&output) != 4 {
                break output;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{}",
                text(&output)
            );
            std::thread::sleep(Duration::from_millis(500));
        };
        assert!(rerun.status.success(), "{step}: {}", text(&rerun));
        assert_eq!(
            event_counts(cwd, &[]),
            (5000, 5000),
            "{step}: exactly the sample's events"
        );
        let after = keys_under(&runtime, &s3, "lake-crash", &format!("{prefix}/"));
        for key in after.iter().filter(|k| k.contains("/events/")) {
            let sidecar = key.replacen("/events/", "/_state/event_keys/", 1) + ".keys";
            assert!(after.contains(&sidecar), "{step}: no sidecar for {key}");
        }
    }
}
