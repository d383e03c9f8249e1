//! Incremental detection equals one full run.
//!
//! The sample trail is ingested one hour of delivery files at a time, with
//! an incremental `detect` after each hour; another lake gets the whole
//! trail and one full run. The stored findings — ids, evidence sets,
//! severities, first and last seen — must be the same, and a detection
//! run with nothing new must judge nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use poolsight_detect::catalog::Catalog;
use poolsight_detect::detector::{DetectRequest, Detector, Mode};
use poolsight_detect::findings::{load_findings, Finding};
use poolsight_detect::geoip::GeoIp;
use poolsight_detect::{LakeSession, SessionOptions};
use poolsight_ingest::{ingest_paths, IngestOptions};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn catalog() -> Catalog {
    Catalog::from_dir(&repository().join("queries")).unwrap()
}

fn detector(lake: &Path) -> Detector {
    Detector::new(lake, catalog(), Arc::new(GeoIp::test_databases().unwrap()))
}

/// The sample's trail files by delivery hour (`…_20261120T1805Z_…`), in order.
fn delivery_hours() -> BTreeMap<String, Vec<PathBuf>> {
    let mut hours: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut stack = vec![repository().join("sample-data/AWSLogs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !name.contains("_CloudTrail_") {
                continue;
            }
            let stamp = name
                .split('_')
                .find(|part| part.len() == 14 && part.ends_with('Z'))
                .unwrap_or_else(|| panic!("no delivery time in {name}"));
            hours.entry(stamp[..11].to_string()).or_default().push(path);
        }
    }
    hours
}

/// What must be equal: id, evidence, severity, first and last seen.
fn essence(findings: Vec<Finding>) -> BTreeMap<String, (Vec<String>, String, String, String)> {
    findings
        .into_iter()
        .map(|f| {
            (
                f.finding_id,
                (f.event_ids, f.severity, f.first_seen, f.last_seen),
            )
        })
        .collect()
}

fn ingest(paths: &[PathBuf], lake: &Path) {
    let summary = ingest_paths(paths, lake, IngestOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(summary.quarantined, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hour_by_hour_incremental_runs_store_what_one_full_run_stores() {
    let dir = tempfile::tempdir().unwrap();
    let incremental_lake = dir.path().join("incremental");
    let full_lake = dir.path().join("full");
    let hours = delivery_hours();
    assert!(
        hours.len() > 40,
        "the sample spans two days: {} hours",
        hours.len()
    );
    let others = [
        repository().join("sample-data/cloudwatch-logs"),
        repository().join("sample-data/eventbridge"),
    ];

    let incremental = detector(&incremental_lake);
    let request = DetectRequest {
        store: true,
        ..Default::default()
    };
    let mut modes = BTreeMap::new();
    for (index, files) in hours.values().enumerate() {
        ingest(files, &incremental_lake);
        let outcome = incremental.run(&request, None).await.unwrap();
        assert_eq!(outcome.failed().count(), 0);
        for run in &outcome.runs {
            *modes.entry(run.mode.clone()).or_insert(0) += 1;
            let reads_inventory = incremental
                .catalog()
                .detection(&run.id)
                .is_some_and(|d| d.reads_inventory());
            if reads_inventory {
                // Posture and drift judge the inventory whole, every run.
                assert_eq!(run.mode, "inventory", "{}", run.id);
                assert!(run.judged.is_empty(), "{}: {:?}", run.id, run.judged);
            } else if index > 0 {
                assert_eq!(run.mode, "incremental", "{}: after the first run", run.id);
                assert!(
                    run.judged.len() <= 2,
                    "{}: one hour arrived, it judged {:?}",
                    run.id,
                    run.judged
                );
            }
        }
    }
    // The copies in CloudWatch Logs and EventBridge are duplicates: nothing new.
    ingest(&others, &incremental_lake);
    let quiet = incremental.run(&request, None).await.unwrap();
    assert!(
        quiet
            .runs
            .iter()
            .all(|r| r.mode == "up_to_date" || r.mode == "inventory"),
        "{:?}",
        quiet.runs
    );
    assert!(quiet.findings.is_empty());

    let mut everything: Vec<PathBuf> = hours.values().flatten().cloned().collect();
    everything.extend(others.iter().cloned());
    ingest(&everything, &full_lake);
    let full = detector(&full_lake)
        .run(
            &DetectRequest {
                mode: Mode::Full,
                store: true,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(full.failed().count(), 0);

    let stepwise =
        essence(load_findings(&poolsight_lake::Lake::open(&incremental_lake).unwrap()).unwrap());
    let at_once = essence(load_findings(&poolsight_lake::Lake::open(&full_lake).unwrap()).unwrap());
    assert!(
        at_once.len() >= 15,
        "the sample's attacks: {}",
        at_once.len()
    );
    for (id, found) in &at_once {
        assert_eq!(
            stepwise.get(id),
            Some(found),
            "finding {id}: hour by hour vs. at once"
        );
    }
    for id in stepwise.keys() {
        assert!(at_once.contains_key(id), "finding {id} only hour by hour");
    }

    // The state tables too: updated hour by hour, or built at once.
    for (table, order) in [
        ("identity_hourly", "hour, identity_id"),
        ("pool_hourly", "hour, identity_pool_id"),
        ("identity_agents_hourly", "hour, identity_id, user_agent"),
        ("activity_hourly", "hour, identity_id, source_ip, role_arn"),
        ("pool_minutely", "minute, identity_pool_id"),
        ("pool_changes", "event_time, event_id"),
        (
            "role_actions",
            "identity_pool_id, role_arn, auth_type, action",
        ),
        ("identity_profile", "identity_id, attribute, value"),
    ] {
        let mut seen = Vec::new();
        for lake in [&incremental_lake, &full_lake] {
            let session = LakeSession::open_with(lake, &SessionOptions::default(), &catalog())
                .await
                .unwrap();
            let sql = format!("SELECT * FROM {table} ORDER BY {order}");
            let batches = session.query(&sql).await.unwrap();
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            assert!(rows > 0, "{table} is empty");
            seen.push(
                arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string(),
            );
        }
        assert!(
            seen[0] == seen[1],
            "{table}: hour by hour\n{}\nat once\n{}",
            &seen[0][..seen[0].len().min(3000)],
            &seen[1][..seen[1].len().min(3000)]
        );
    }
}
