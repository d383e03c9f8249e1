//! The `poolsight` binary end to end: sample data, demo, ingest exit codes,
//! SQL output formats, and the lake read back by DuckDB and pyarrow.

mod common;

use common::poolsight;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().unwrap() != "README.md" {
                files.insert(
                    path.strip_prefix(root).unwrap().display().to_string(),
                    fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

#[test]
fn sample_data_is_exactly_what_the_documented_command_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sample");
    let output = poolsight(
        &[
            "sample",
            "--out",
            out.to_str().unwrap(),
            "--events",
            "5000",
            "--days",
            "2",
            "--seed",
            "7",
            "--other-sources",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let expected = tree(&repo_root().join("sample-data"));
    let actual = tree(&out);
    assert_eq!(
        expected.len(),
        actual.len(),
        "file count differs: regenerate sample-data (see its README)"
    );
    assert!(
        expected == actual,
        "sample-data is stale: regenerate it with the command in sample-data/README.md"
    );
}

#[test]
fn demo_ingests_the_sample_and_reports_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("demo-lake");
    let output = poolsight(&["demo", "--lake", lake.to_str().unwrap()], &repo_root());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("records: 5121 | written: 5000 | duplicates skipped: 121 | quarantined: 0"),
        "{stdout}"
    );
    for section in [
        "== Events per source ==",
        "== Identities by pool and auth type ==",
        "== Denials by identity ==",
    ] {
        assert!(stdout.contains(section), "{section} missing:\n{stdout}");
    }
    assert!(stdout.contains("unauthenticated") && stdout.contains("authenticated"));
    let again = poolsight(&["demo", "--lake", lake.to_str().unwrap()], &repo_root());
    let (stdout, _) = text(&again);
    assert!(
        stdout.contains("written: 0 | duplicates skipped: 5121"),
        "{stdout}"
    );
}

#[test]
fn ingest_exit_codes_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    fs::create_dir_all(dir.path().join("empty")).unwrap();
    let output = poolsight(
        &["ingest", "empty", "--lake", lake.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("no input files found"),
        "{:?}",
        text(&output)
    );

    fs::write(dir.path().join("garbage.json"), b"this is not json").unwrap();
    let output = poolsight(
        &["ingest", "garbage.json", "--lake", lake.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2), "{:?}", text(&output));
    assert!(text(&output).1.contains("nothing could be read"));

    let output = poolsight(&["sql", "--lake", "no-such-lake", "SELECT 1"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("does not exist"),
        "{:?}",
        text(&output)
    );
}

/// A lake written from a fresh sample, with poolsight's own counts.
fn sample_lake(dir: &Path) -> PathBuf {
    let sample = dir.join("sample");
    let lake = dir.join("lake");
    let output = poolsight(
        &[
            "sample",
            "--out",
            sample.to_str().unwrap(),
            "--events",
            "3000",
            "--days",
            "3",
            "--seed",
            "11",
        ],
        dir,
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let output = poolsight(
        &[
            "ingest",
            sample.to_str().unwrap(),
            "--lake",
            lake.to_str().unwrap(),
            "--json",
        ],
        dir,
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let summary: serde_json::Value = serde_json::from_str(text(&output).0.trim()).unwrap();
    assert_eq!(summary["written"], 3000);
    lake
}

#[test]
fn sql_output_formats() {
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let lake = lake.to_str().unwrap();
    let query =
        "SELECT event_date, count(*) AS events FROM events GROUP BY event_date ORDER BY event_date";
    let output = poolsight(
        &["sql", "--lake", lake, query, "--format", "jsonl"],
        dir.path(),
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let rows: Vec<serde_json::Value> = text(&output)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.len() >= 3, "{rows:?}");
    assert_eq!(
        rows.iter()
            .map(|r| r["events"].as_i64().unwrap())
            .sum::<i64>(),
        3000
    );
    let output = poolsight(
        &["sql", "--lake", lake, query, "--format", "csv"],
        dir.path(),
    );
    assert!(
        text(&output).0.starts_with("event_date,events\n"),
        "{:?}",
        text(&output)
    );
    let output = poolsight(
        &["sql", "--lake", lake, "SELECT nope FROM events"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("nope"),
        "the error names the problem: {:?}",
        text(&output)
    );
}

#[test]
fn a_second_engine_reads_the_lake_unchanged() {
    let python = std::env::var("POOLSIGHT_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let ours = poolsight(
        &["sql", "--lake", lake.to_str().unwrap(), "SELECT count(*) AS n, count(DISTINCT event_id) AS ids, count(DISTINCT event_date) AS days FROM events", "--format", "jsonl"],
        dir.path(),
    );
    let ours: serde_json::Value = serde_json::from_str(text(&ours).0.trim()).unwrap();
    let script = r#"
import json, sys
import duckdb, pyarrow.dataset as ds
lake = sys.argv[1]
con = duckdb.connect()
n, ids, days, typed = con.execute(
    "SELECT count(*), count(DISTINCT event_id), count(DISTINCT event_date), "
    "count(*) FILTER (WHERE typeof(event_time) LIKE 'TIMESTAMP%') "
    f"FROM read_parquet('{lake}/events/*/*.parquet', hive_partitioning = true)").fetchone()
table = ds.dataset(f"{lake}/events", format="parquet", partitioning="hive").to_table()
print(json.dumps({"duckdb": {"n": n, "ids": ids, "days": days, "typed": typed},
                  "pyarrow": {"n": table.num_rows, "ids": len(set(table.column("event_id").to_pylist())),
                              "days": len(set(table.column("event_date").to_pylist())),
                              "columns": table.column_names}}))
"#;
    let output = Command::new(&python).arg("-c").arg(script).arg(&lake).output().unwrap_or_else(|e| {
        panic!("cannot run {python} ({e}): run the tests through scripts/test, which installs duckdb and pyarrow")
    });
    assert!(
        output.status.success(),
        "the second engine failed (run the tests through scripts/test, which installs duckdb and pyarrow): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for engine in ["duckdb", "pyarrow"] {
        assert_eq!(theirs[engine]["n"], ours["n"], "{engine} row count");
        assert_eq!(
            theirs[engine]["ids"], ours["ids"],
            "{engine} distinct eventIDs"
        );
        assert_eq!(
            theirs[engine]["days"], ours["days"],
            "{engine} sees the event_date partition column"
        );
    }
    assert_eq!(
        theirs["duckdb"]["typed"], ours["n"],
        "event_time is a timestamp to DuckDB"
    );
    assert_eq!(ours["n"], 3000);
    let columns = theirs["pyarrow"]["columns"].as_array().unwrap();
    assert!(
        columns.iter().any(|c| c == "identity_id") && columns.iter().any(|c| c == "event_date")
    );
}

#[test]
fn the_config_file_names_the_lake_and_typos_are_errors_with_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf_dir = dir.path().join("conf");
    fs::create_dir_all(&conf_dir).unwrap();
    fs::write(
        conf_dir.join("poolsight.toml"),
        "lake = \"../configured-lake\"\n[ingest]\nworkers = 1\n",
    )
    .unwrap();
    let fixture = repo_root().join("crates/model/tests/fixtures/real/cognito_identity.jsonl");
    let output = poolsight(
        &[
            "--config",
            "conf/poolsight.toml",
            "ingest",
            fixture.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{:?}", text(&output));
    assert!(
        dir.path().join("configured-lake/events").is_dir(),
        "the lake is relative to the config file"
    );
    // ./poolsight.toml is read when --config is absent.
    let output = poolsight(
        &["sql", "SELECT count(*) AS n FROM events", "--format", "csv"],
        &conf_dir,
    );
    assert_eq!(text(&output).1, "", "{:?}", text(&output));
    assert_eq!(text(&output).0, "n\n6\n");

    fs::write(
        dir.path().join("bad.toml"),
        "lake = \"x\"\n[ingest]\nworker = 2\n",
    )
    .unwrap();
    let output = poolsight(&["--config", "bad.toml", "sql", "SELECT 1"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output).1;
    assert!(
        stderr.contains("bad.toml, line 3, column 1") && stderr.contains("worker"),
        "{stderr}"
    );
}

#[test]
fn detect_formats_exit_codes_windows_and_lint() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let output = poolsight(
        &[
            "ingest",
            repo_root().join("sample-data").to_str().unwrap(),
            "--lake",
            lake.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let lake = lake.to_str().unwrap();

    // --fail-on: exit 1 when a new finding is at or above; --only narrows; --output writes a file.
    let out_file = dir.path().join("findings.json");
    let output = poolsight(
        &[
            "detect",
            "--lake",
            lake,
            "--only",
            "foreign_pool",
            "--fail-on",
            "critical",
            "--format",
            "json",
            "--output",
            out_file.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1), "{:?}", text(&output));
    let written: Vec<serde_json::Value> =
        serde_json::from_str(&fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(written.len(), 2);
    assert!(written.iter().all(|f| f["category"] == "foreign_pool"));

    // JSON Lines: one object per finding in the design's shape. The rest
    // of the sample's findings are new; --all prints every open one.
    let output = poolsight(
        &["detect", "--lake", lake, "--format", "jsonl", "--all"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let findings: Vec<serde_json::Value> = text(&output)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // No [geoip] here: credential_reuse uses its coarse rule (and says so),
    // which also flags the sample's same-ASN mover.
    assert_eq!(findings.len(), 29);
    let coarse: Vec<_> = findings
        .iter()
        .filter(|f| f["category"] == "credential_reuse")
        .collect();
    assert_eq!(coarse.len(), 2);
    assert!(coarse.iter().all(|f| f["summary"]
        .as_str()
        .unwrap()
        .contains("no GeoIP databases")));
    for finding in &findings {
        for key in [
            "detection",
            "category",
            "severity",
            "title",
            "summary",
            "identity_id",
            "identity_pool_id",
            "access_key_id",
            "source_ips",
            "first_seen",
            "last_seen",
            "event_count",
            "event_ids",
            "status",
            "detected_at",
            "updated_at",
        ] {
            assert!(finding.get(key).is_some(), "{key} missing in {finding}");
        }
        assert_eq!(
            finding["event_count"].as_u64().unwrap() as usize,
            finding["event_ids"].as_array().unwrap().len()
        );
        assert_eq!(finding["status"], "open");
    }
    // Nothing arrived since: the next run prints no finding and fails on none.
    let output = poolsight(&["detect", "--lake", lake, "--fail-on", "info"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    assert_eq!(text(&output).0.trim(), "no findings");

    // A window: after 02:30 on the second day, the pool changes and later attacks.
    let output = poolsight(
        &[
            "detect",
            "--lake",
            lake,
            "--since",
            "2026-11-21T02:30:00Z",
            "--format",
            "jsonl",
            "--no-store",
        ],
        dir.path(),
    );
    let recent: Vec<serde_json::Value> = text(&output)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The pool changes and the attacks staged after them; nothing that ended before.
    assert!(
        recent
            .iter()
            .all(|f| f["last_seen"].as_str().unwrap() >= "2026-11-21T02:30:00Z"),
        "{recent:#?}"
    );
    assert_eq!(
        recent
            .iter()
            .filter(|f| f["detection"] == "pool_access_widened")
            .count(),
        4,
        "{recent:#?}"
    );
    // Relative spans count back from the newest event, not from now: the
    // sample is days old, and the last day still holds findings.
    let output = poolsight(
        &[
            "detect",
            "--lake",
            lake,
            "--since",
            "24h",
            "--format",
            "jsonl",
            "--no-store",
        ],
        dir.path(),
    );
    assert!(!text(&output).0.is_empty(), "{:?}", text(&output));

    // Re-running stores nothing twice.
    let output = poolsight(
        &[
            "sql",
            "--lake",
            lake,
            "SELECT count(*) AS n, count(DISTINCT finding_id) AS d FROM findings",
            "--format",
            "csv",
        ],
        dir.path(),
    );
    assert_eq!(text(&output).0, "n,d\n29,29\n");

    // A name that is neither a detection nor a category is an error naming the real ones.
    let output = poolsight(&["detect", "--lake", lake, "--only", "nope"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("access_denial"),
        "{:?}",
        text(&output)
    );

    // A tunable the detection does not have is an error too.
    fs::write(
        dir.path().join("poolsight.toml"),
        "[detect.tunables.access_denial]\nwindow_minute = 5\n",
    )
    .unwrap();
    let output = poolsight(&["detect", "--lake", lake], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).1.contains("window_minute"),
        "{:?}",
        text(&output)
    );
    fs::remove_file(dir.path().join("poolsight.toml")).unwrap();

    let output = poolsight(&["lint"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    assert!(text(&output).0.contains("0 failed"));
    assert!(text(&output)
        .0
        .contains("ok      dashboard identity: Timeline"));

    // A layout whose panel does not plan fails lint, naming the panel.
    let layouts = dir.path().join("layouts");
    fs::create_dir_all(&layouts).unwrap();
    fs::write(
        layouts.join("mine.toml"),
        "title = \"Mine\"\n[[row]]\n[[row.panel]]\ntitle = \"Over time\"\nkind = \"sparkline\"\nsql = \"SELECT event_name, count(*) FROM events GROUP BY 1\"\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("poolsight.toml"),
        format!(
            "[dash]\ndashboards_dir = {:?}\n",
            layouts.display().to_string()
        ),
    )
    .unwrap();
    let output = poolsight(&["lint"], dir.path());
    assert_eq!(output.status.code(), Some(2), "{:?}", text(&output));
    assert!(
        text(&output).0.contains(
            "FAILED  dashboard mine: Over time: a sparkline's first column must be a time"
        ),
        "{:?}",
        text(&output)
    );
    fs::remove_file(dir.path().join("poolsight.toml")).unwrap();
}

#[test]
fn sql_reads_statements_and_helpers_from_stdin() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_poolsight"))
        .args(["sql", "--lake", lake.to_str().unwrap(), "--format", "csv"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b".schema pools\nSELECT count(*) AS n\n  FROM events;\nSELECT nope FROM events;\n.format jsonl\nSELECT 'a;b' AS x;\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a failed statement makes the exit code 2"
    );
    assert!(stdout.contains("identity_pool_id"), "{stdout}");
    assert!(
        stdout.contains("n\n3000\n"),
        "a statement over two lines: {stdout}"
    );
    assert!(stdout.contains("{\"x\":\"a;b\"}"), "{stdout}");
    assert!(
        stderr.contains("nope"),
        "the error names the bad column: {stderr}"
    );
}

/// Hardening #13: text from records (a user agent with an OSC 52 clipboard
/// write, an S3 key that clears the screen) is escaped in table output and
/// exact in JSON.
#[test]
fn terminal_escape_injection_in_human_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let agent = "aws-cli/2.0 \u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{9b}31m";
    let record = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventID": "esc-1",
        "userAgent": agent, "errorCode": "AccessDenied",
        "requestParameters": {"bucketName": "b", "key": "private/\u{1b}[8mhidden"}
    });
    fs::write(
        dir.path().join("esc.jsonl"),
        format!("{record}\n{record}\n"),
    )
    .unwrap();
    let output = poolsight(&["ingest", "esc.jsonl", "--lake", "lake"], dir.path());
    assert!(output.status.success(), "{:?}", text(&output));
    let output = poolsight(
        &[
            "sql",
            "--lake",
            "lake",
            "SELECT user_agent, s3_key FROM events",
        ],
        dir.path(),
    );
    let (stdout, _) = text(&output);
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{9b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("\\u{1b}]52;c;ZXZpbA=="), "{stdout}");
    let output = poolsight(
        &[
            "sql",
            "--lake",
            "lake",
            "--format",
            "jsonl",
            "SELECT user_agent FROM events",
        ],
        dir.path(),
    );
    let row: serde_json::Value = serde_json::from_str(text(&output).0.trim()).unwrap();
    assert_eq!(row["user_agent"], agent, "JSON stays exact");
    let output = poolsight(&["detect", "--lake", "lake", "--no-store"], dir.path());
    assert!(!text(&output).0.contains('\u{1b}'));
}

/// Hardening #10: findings are stored under the lake's lock (a second
/// writer makes `detect` exit 4 without storing; `--no-store` still
/// prints), and a damaged findings file is an error naming it, never read
/// as empty and overwritten.
#[test]
fn findings_store_is_locked_and_a_damaged_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let lake_arg = lake.to_str().unwrap();
    let findings = lake.join("findings/findings.parquet");

    let handle = poolsight_lake::Lake::open(&lake).unwrap();
    let held = handle.lock().unwrap();
    let output = poolsight(&["detect", "--lake", lake_arg], dir.path());
    assert_eq!(output.status.code(), Some(4), "{:?}", text(&output));
    assert!(
        text(&output).1.contains("findings were not stored"),
        "{:?}",
        text(&output)
    );
    assert!(!findings.exists());
    let output = poolsight(&["detect", "--lake", lake_arg, "--no-store"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    drop(held);

    let output = poolsight(&["detect", "--lake", lake_arg], dir.path());
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    assert!(findings.is_file());
    fs::write(&findings, b"PAR1 this is not a findings file").unwrap();
    let output = poolsight(&["detect", "--lake", lake_arg], dir.path());
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("findings.parquet") && stderr.contains("move the file aside"),
        "{stderr}"
    );
    assert_eq!(
        fs::read(&findings).unwrap(),
        b"PAR1 this is not a findings file",
        "not overwritten"
    );
}

/// Hardening #11: the lake holds identity ids, addresses and request
/// parameters: what poolsight creates is private (folders 0700, files 0600);
/// a lake made before (other modes) keeps working.
#[test]
fn permissions_of_a_new_lake_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let output = poolsight(&["detect", "--lake", lake.to_str().unwrap()], dir.path());
    assert!(
        output.status.code().is_some_and(|c| c <= 1),
        "{:?}",
        text(&output)
    );
    let mut stack = vec![lake.clone()];
    let mut files = 0;
    while let Some(current) = stack.pop() {
        let mode = fs::metadata(&current).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", current.display());
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
            }
        }
    }
    assert!(files > 5);
    // An older lake with open modes still takes new data.
    fs::set_permissions(lake.join("events"), fs::Permissions::from_mode(0o755)).unwrap();
    let output = poolsight(
        &["ingest", "sample", "--lake", lake.to_str().unwrap()],
        dir.path(),
    );
    assert!(output.status.success(), "{:?}", text(&output));
}

/// Hardening #16: a lake whose path holds `[`, `*`, `?`, spaces or
/// non-ASCII is read as that path (not a glob): every event is counted and
/// the detections find what they find elsewhere.
#[test]
fn lake_paths_with_glob_characters_are_paths() {
    let dir = tempfile::tempdir().unwrap();
    let plain = sample_lake(dir.path());
    let odd = dir.path().join("a [1] * ? é").join("lake");
    fs::create_dir_all(odd.parent().unwrap()).unwrap();
    let output = poolsight(
        &["ingest", "sample", "--lake", odd.to_str().unwrap()],
        dir.path(),
    );
    assert!(output.status.success(), "{:?}", text(&output));
    let count = |lake: &Path| {
        let output = poolsight(
            &[
                "sql",
                "--lake",
                lake.to_str().unwrap(),
                "--format",
                "csv",
                "SELECT count(*) AS n FROM events",
            ],
            dir.path(),
        );
        assert!(output.status.success(), "{:?}", text(&output));
        text(&output).0
    };
    assert_eq!(count(&odd), count(&plain));
    assert_ne!(count(&odd), "n\n0\n");
    let findings = |lake: &Path| {
        let output = poolsight(
            &[
                "detect",
                "--lake",
                lake.to_str().unwrap(),
                "--no-store",
                "--format",
                "jsonl",
            ],
            dir.path(),
        );
        assert!(
            output.status.code().is_some_and(|c| c <= 1),
            "{:?}",
            text(&output)
        );
        text(&output).0.lines().count()
    };
    let found = findings(&odd);
    assert!(found > 0);
    assert_eq!(found, findings(&plain));
}

/// Hardening #17: `lint --lake` with a path that does not exist is an error
/// and creates nothing; lint's own scratch lake is gone afterwards.
#[test]
fn lint_with_a_mistyped_lake_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("laek");
    let output = poolsight(&["lint", "--lake", typo.to_str().unwrap()], dir.path());
    assert_eq!(output.status.code(), Some(2), "{:?}", text(&output));
    assert!(
        text(&output).1.contains("does not exist"),
        "{:?}",
        text(&output)
    );
    assert!(!typo.exists(), "lint created the mistyped lake");
    // Its own temporary folder, to see what lint leaves there.
    let tmp = dir.path().join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_poolsight"))
        .arg("lint")
        .current_dir(dir.path())
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    let left: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "lint left {left:?}");
}

/// Hardening #21: `ingest` of a path that does not exist is a usage error
/// (exit 2, one line naming it) and creates no lake.
#[test]
fn ingest_of_a_missing_path_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = poolsight(&["ingest", "/no/such/path", "--lake", "x"], dir.path());
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("/no/such/path") && stderr.contains("no such file"),
        "{stderr}"
    );
    assert!(!dir.path().join("x").exists(), "a lake was created");
}

/// Hardening #20: an installed binary, run where there is no
/// `sample-data/`, still has its demo: the same trail, generated, with the
/// same findings as from the repository.
#[test]
fn demo_works_without_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let findings = |stdout: &str| {
        stdout
            .split("== Findings ==")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    let elsewhere = poolsight(&["demo", "--lake", "demo-lake"], dir.path());
    let (stdout, stderr) = text(&elsewhere);
    assert!(elsewhere.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("records: 5121 | written: 5000"), "{stdout}");
    let lake = dir.path().join("repo-lake");
    let from_repo = poolsight(&["demo", "--lake", lake.to_str().unwrap()], &repo_root());
    let found = findings(&stdout);
    assert!(found.lines().count() > 5, "{stdout}");
    assert_eq!(found, findings(&text(&from_repo).0));
    assert!(!dir.path().join("sample-data").exists());
}

/// Hardening #22: an unknown column in `sql` is one line with the closest
/// names, not DataFusion's list of all seventy columns.
#[test]
fn an_unknown_column_in_sql_is_one_line_with_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let lake = sample_lake(dir.path());
    let output = poolsight(
        &[
            "sql",
            "--lake",
            lake.to_str().unwrap(),
            "SELECT identiy_id FROM events",
        ],
        dir.path(),
    );
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no column named identiy_id; did you mean identity_id"),
        "{stderr}"
    );
    assert!(!stderr.contains("user_agent"), "{stderr}");
}

/// Hardening #14: a day of 15-minute runs leaves 96 files in a partition;
/// `compact` merges them into one with every event once; killed (abort) at
/// each step of its protocol, the next run finishes it: the exact set, one
/// file, DuckDB agrees.
#[test]
fn compaction_merges_a_day_of_runs_and_survives_a_crash_at_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    let mut run = 0;
    let mut ingest_runs = |count: usize| {
        for _ in 0..count {
            let records: Vec<String> = (0..10)
                .map(|i| {
                    serde_json::json!({
                        "eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                        "eventTime": format!("2026-11-20T{:02}:{:02}:{:02}Z", run / 4 % 24, run % 4 * 15, i),
                        "eventID": format!("run-{run}-{i}"), "awsRegion": "us-east-1"
                    })
                    .to_string()
                })
                .collect();
            let file = dir.path().join(format!("run-{run}.jsonl"));
            fs::write(&file, records.join("\n") + "\n").unwrap();
            let output = poolsight(
                &[
                    "-q",
                    "ingest",
                    file.to_str().unwrap(),
                    "--lake",
                    lake_arg,
                    "--workers",
                    "1",
                ],
                dir.path(),
            );
            assert!(output.status.success(), "{:?}", text(&output));
            run += 1;
        }
    };
    let partition = lake.join("events/event_date=2026-11-20");
    let files = || {
        fs::read_dir(&partition)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".parquet")
            })
            .count()
    };
    let check = |expected_events: usize| {
        let output = poolsight(
            &[
                "sql",
                "--lake",
                lake_arg,
                "--format",
                "csv",
                "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events",
            ],
            dir.path(),
        );
        assert_eq!(
            text(&output).0,
            format!("n,d\n{expected_events},{expected_events}\n")
        );
        let python = std::env::var("POOLSIGHT_PYTHON").unwrap_or_else(|_| "python3".into());
        let duckdb = Command::new(&python)
            .arg("-c")
            .arg("import duckdb, sys; print(duckdb.sql(f\"SELECT count(*) FROM read_parquet('{sys.argv[1]}/events/*/*.parquet')\").fetchone()[0])")
            .arg(&lake)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&duckdb.stdout).trim(),
            expected_events.to_string(),
            "{}",
            String::from_utf8_lossy(&duckdb.stderr)
        );
    };

    ingest_runs(96);
    let before = files();
    assert_eq!(before, 96);
    let output = poolsight(&["compact", "--lake", lake_arg, "--json"], dir.path());
    assert!(output.status.success(), "{:?}", text(&output));
    let summary: serde_json::Value = serde_json::from_str(text(&output).0.trim()).unwrap();
    assert_eq!(
        (
            summary["files_before"].as_u64(),
            summary["files_after"].as_u64()
        ),
        (Some(96), Some(1)),
        "{summary}"
    );
    assert_eq!(files(), 1);
    check(960);
    eprintln!(
        "a day of 15-minute runs: {before} files in the partition before compaction, {} after",
        files()
    );

    let mut events = 960;
    for step in [
        "compact:intent_written",
        "compact:renamed",
        "compact:inputs_removed",
    ] {
        ingest_runs(20);
        events += 200;
        let crashed = Command::new(env!("CARGO_BIN_EXE_poolsight"))
            .args(["compact", "--lake", lake_arg, "--min-files", "2"])
            .current_dir(dir.path())
            .env("POOLSIGHT_FAILPOINT", step)
            .output()
            .unwrap();
        assert!(!crashed.status.success(), "{step}: the failpoint aborts");
        // The next writer finishes (or discards) what the crash left.
        let output = poolsight(
            &["compact", "--lake", lake_arg, "--min-files", "2"],
            dir.path(),
        );
        assert!(output.status.success(), "{step}: {:?}", text(&output));
        check(events);
        assert_eq!(files(), 1, "{step}");
        assert!(!lake
            .join("_state/compaction/event_date=2026-11-20.json")
            .exists());
    }
    // The dedup index agrees: re-ingesting everything writes nothing.
    let output = poolsight(
        &[
            "ingest",
            dir.path().to_str().unwrap(),
            "--lake",
            lake_arg,
            "--json",
        ],
        dir.path(),
    );
    let summary: serde_json::Value = serde_json::from_str(text(&output).0.trim()).unwrap();
    assert_eq!(summary["written"], 0, "{summary}");
}

/// Hardening #19: CloudTrail Insights events (in JSON Lines, in trail
/// files) go to their own queryable `insights` table, not the quarantine
/// and not `events`.
#[test]
fn insights_events_are_a_table_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let insight = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-20T10:00:00Z", "eventSource": "cognito-identity.amazonaws.com",
        "eventName": "GetCredentialsForIdentity", "eventType": "AwsCloudTrailInsight", "eventCategory": "Insight",
        "eventID": "insight-1", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "insightDetails": {"state": "Start", "eventSource": "cognito-identity.amazonaws.com", "eventName": "GetCredentialsForIdentity", "insightType": "ApiCallRateInsight",
            "insightContext": {"statistics": {"baseline": {"average": 0.1}, "insight": {"average": 42.0}}}}
    });
    let call = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-20T10:00:00Z", "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject", "eventID": "call-1", "awsRegion": "us-east-1"
    });
    fs::write(
        dir.path().join("mixed.jsonl"),
        format!("{insight}\n{call}\n"),
    )
    .unwrap();
    let output = poolsight(
        &["ingest", "mixed.jsonl", "--lake", "lake", "--json"],
        dir.path(),
    );
    let summary: serde_json::Value = serde_json::from_str(text(&output).0.trim()).unwrap();
    assert_eq!(
        (summary["written"].as_u64(), summary["quarantined"].as_u64()),
        (Some(2), Some(0)),
        "{summary}"
    );
    let query = |sql: &str| {
        text(&poolsight(
            &["sql", "--lake", "lake", "--format", "csv", sql],
            dir.path(),
        ))
        .0
    };
    assert_eq!(query("SELECT event_id FROM events"), "event_id\ncall-1\n");
    assert_eq!(
        query("SELECT event_id, json_get_str(extra, 'insightDetails', 'insightType') AS kind FROM insights"),
        "event_id,kind\ninsight-1,ApiCallRateInsight\n"
    );
}
