//! `poolsight collect` / `run` end to end against moto's server: the
//! sample trail uploaded in its S3 layout, JSON summary and JSON logs, the
//! lock against overlapping runs, exit codes.

mod common;

use common::poolsight;
use std::path::{Path, PathBuf};
use std::process::Command;

use poolsight_testkit::{aws_env_vars, aws_test_env, MotoServer};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

async fn upload_sample(endpoint: &str, bucket: &str) -> usize {
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
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let root = repo_root().join("sample-data");
    let files = files_under(&root.join("AWSLogs"));
    for file in &files {
        let key = file.strip_prefix(&root).unwrap().display().to_string();
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(std::fs::read(file).unwrap().into())
            .send()
            .await
            .unwrap();
    }
    files.len()
}

#[test]
fn collect_and_run_against_the_emulator() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let uploaded = runtime.block_on(upload_sample(&moto.endpoint(), "sample-trail"));
    assert!(uploaded > 100, "the sample has its trail files");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("poolsight.toml"),
        format!(
            "lake = \"lake\"\n{}[[source.s3]]\nname = \"trail\"\nbucket = \"sample-trail\"\n[[source.s3]]\nname = \"missing\"\nbucket = \"no-such-bucket\"\n[collect]\nmax_attempts = 2\n",
            moto.aws_toml()
        ),
    )
    .unwrap();

    // One source works, one cannot: the run goes on and exits 3.
    let output = poolsight(&["--log-format", "json", "collect", "--json"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON summary");
    let trail = &summary["sources"][0];
    assert_eq!(trail["status"], "ok", "{summary}");
    assert_eq!(
        trail["written"], 5000,
        "the sample's 5,000 events: {summary}"
    );
    assert_eq!(summary["sources"][1]["status"], "failed");
    assert!(
        summary["sources"][1]["error"]
            .as_str()
            .unwrap()
            .contains("no-such-bucket")
            || summary["sources"][1]["error"]
                .as_str()
                .unwrap()
                .contains("NoSuchBucket"),
        "{summary}"
    );
    for line in stderr.lines().filter(|l| !l.starts_with("error:")) {
        let log: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert!(log.get("level").is_some(), "{line}");
    }
    assert!(!stderr.contains("testing\""), "no credentials in logs");

    // Only the good source: nothing new, exit 0, no events written.
    let output = poolsight(&["collect", "--source", "trail"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("total: 0 records, 0 new events"),
        "{stdout}"
    );
    let output = poolsight(
        &[
            "sql",
            "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events",
            "--format",
            "csv",
        ],
        dir.path(),
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "n,d\n5000,5000\n");

    // `run` = collect, then detect: the sample's attacks are findings at or
    // above the default `fail_on = "high"`, so it exits 1 and says so.
    let output = poolsight(&["run", "--source", "trail"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("at or above high"), "{stdout}");
    assert!(
        dir.path().join("lake/findings/findings.parquet").is_file(),
        "findings are stored"
    );

    // A second run while one holds the lock exits 4 and says why.
    let lake = poolsight_lake::Lake::open(dir.path().join("lake")).unwrap();
    let lock = lake.lock().unwrap();
    let output = poolsight(&["run", "--source", "trail"], dir.path());
    assert_eq!(output.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&output.stderr).contains("in use by another poolsight run"));
    drop(lock);

    // A source name that is not configured is an error (exit 2) naming the real ones.
    let output = poolsight(&["collect", "--source", "nope"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("trail, missing"));
    // A bad --from is an error too.
    let output = poolsight(&["collect", "--from", "last tuesday"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("RFC 3339"));
}

/// Hardening #22: without credentials, the error is one readable line that
/// names the sources tried and the fix.
#[test]
fn missing_aws_credentials_are_one_readable_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("poolsight.toml"),
        "lake = \"lake\"\n[aws]\nregion = \"us-east-1\"\nendpoint_url = \"http://127.0.0.1:9\"\n[[source.s3]]\nname = \"trail\"\nbucket = \"b\"\n[collect]\nmax_attempts = 1\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_poolsight"))
        .args(["collect", "--json"])
        .current_dir(dir.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let error = summary["sources"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("no AWS credentials found (tried: Environment, Profile"),
        "{error}"
    );
    assert!(error.contains("[aws] profile"), "{error}");
    assert!(!error.contains('\n') && error.len() < 500, "{error}");
}

/// Crash test: `poolsight collect` killed with SIGKILL at several points of
/// a run, then run to the end: the lake holds every event of the trail
/// exactly once, and DuckDB reads it.
#[test]
fn collect_killed_at_random_points_then_rerun_holds_every_event_once() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(upload_sample(&moto.endpoint(), "crash-trail"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("poolsight.toml"),
        format!(
            "lake = \"lake\"\n{}[[source.s3]]\nname = \"trail\"\nbucket = \"crash-trail\"\n[collect]\nconcurrency = 2\ncheckpoint_every_records = 400\n",
            moto.aws_toml()
        ),
    )
    .unwrap();
    // Kill points spread over a run (a whole run takes a few seconds here);
    // a small pseudo-random jitter from the test's own clock.
    let jitter = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis()
        % 97) as u64;
    for delay in [150, 400, 800, 1300, 2000, 3000] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_poolsight"));
        command.args(["-q", "collect"]).current_dir(dir.path());
        for (key, value) in aws_env_vars() {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay + jitter));
        let _ = child.kill();
        let _ = child.wait();
        let output = poolsight(
            &["sql", "--format", "csv", "SELECT count(*) AS n FROM events"],
            dir.path(),
        );
        eprintln!(
            "killed after {} ms: {}",
            delay + jitter,
            String::from_utf8_lossy(&output.stdout).replace('\n', " ")
        );
    }
    let output = poolsight(&["collect", "--json"], dir.path());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = poolsight(
        &[
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n, count(DISTINCT event_key) AS k FROM events",
        ],
        dir.path(),
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "n,k\n5000,5000\n");
    let python = std::env::var("POOLSIGHT_PYTHON").unwrap_or_else(|_| "python3".into());
    let duckdb = Command::new(&python)
        .arg("-c")
        .arg("import duckdb, sys; print(duckdb.sql(f\"SELECT count(*), count(DISTINCT event_key) FROM read_parquet('{sys.argv[1]}/events/*/*.parquet', hive_partitioning = true)\").fetchone())")
        .arg(dir.path().join("lake"))
        .output()
        .expect("python with duckdb (scripts/test installs it)");
    assert!(
        duckdb.status.success(),
        "{}",
        String::from_utf8_lossy(&duckdb.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&duckdb.stdout).trim(),
        "(5000, 5000)"
    );
}

/// Hardening #10: `run` holds the lake's lock from collection until its
/// findings are stored: paused at the start of detection, another writer is
/// refused.
#[test]
fn run_holds_the_lock_through_detection() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(upload_sample(&moto.endpoint(), "lock-trail"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("poolsight.toml"),
        format!(
            "lake = \"lake\"\n{}[[source.s3]]\nname = \"trail\"\nbucket = \"lock-trail\"\n",
            moto.aws_toml()
        ),
    )
    .unwrap();
    let marker = dir.path().join("paused");
    let mut command = Command::new(env!("CARGO_BIN_EXE_poolsight"));
    command
        .args(["-q", "run"])
        .current_dir(dir.path())
        .env("POOLSIGHT_PAUSEPOINT", "run:detect")
        .env("POOLSIGHT_PAUSE_MARKER", &marker)
        .stdout(std::process::Stdio::null());
    for (key, value) in aws_env_vars() {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let started = std::time::Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed().as_secs() < 120,
            "run never reached detection"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before detection"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let lake = poolsight_lake::Lake::open(dir.path().join("lake")).unwrap();
    let held = lake.lock();
    assert!(
        matches!(held, Err(poolsight_lake::LakeError::Locked { .. })),
        "the lock was free between collect and detect"
    );
    let other = poolsight(&["ingest", "lake", "--lake", "lake"], dir.path());
    assert_eq!(other.status.code(), Some(4), "a second writer is refused");
    std::fs::remove_file(&marker).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "the sample's findings");
    assert!(dir.path().join("lake/findings/findings.parquet").is_file());
}
