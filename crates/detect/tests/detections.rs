//! Every detection in `queries/` against its own test events: the positive
//! events raise the findings its `<id>.expect.toml` names (count,
//! severities, evidence), the negative events (the benign look-alikes) raise
//! none. Plus: every detection plans against the lake schema and returns
//! the finding columns; findings are stored once however often detect runs.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use poolsight_detect::catalog::{Catalog, Detection};
use poolsight_detect::detector::{DetectRequest, Detector, Mode};
use poolsight_detect::findings::{run_detection, store_findings, Finding};
use poolsight_detect::geoip::GeoIp;
use poolsight_detect::{lint, LakeSession, SessionOptions};

/// Sessions of these tests enrich with MaxMind's test databases (the
/// networks the test events and the sample trail use).
fn options() -> SessionOptions {
    SessionOptions {
        geoip: Some(std::sync::Arc::new(GeoIp::test_databases().unwrap())),
        ..Default::default()
    }
}
use poolsight_ingest::{ingest_paths, IngestOptions};

fn queries_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries")
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    findings: usize,
    severities: Vec<String>,
    evidence: Vec<String>,
}

fn lake_of(events: &str, dir: &Path) -> PathBuf {
    let file = dir.join("events.jsonl");
    std::fs::write(&file, events).unwrap();
    let lake = dir.join("lake");
    let summary = ingest_paths(&[file], &lake, IngestOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(
        summary.quarantined, 0,
        "test events must all be valid records"
    );
    lake
}

async fn findings_for(detection: &Detection, events: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_of(events, dir.path());
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    // Baselines come from the state tables: build them as detect does.
    let handle = poolsight_lake::Lake::open(&lake).unwrap();
    poolsight_detect::state::update(&lake, &options(), &catalog, &handle.lock().unwrap())
        .await
        .unwrap();
    let session = LakeSession::open_with(&lake, &options(), &catalog)
        .await
        .unwrap();
    run_detection(
        &session,
        detection,
        &BTreeMap::new(),
        "2026-11-27T00:00:00Z",
    )
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", detection.id))
}

fn ids_in(events: &str) -> HashSet<String> {
    events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["eventID"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn each_detection_fires_on_its_positive_events_and_not_on_its_negative_ones() {
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    assert!(!catalog.detections.is_empty());
    for detection in &catalog.detections {
        let positive = detection
            .positive_events
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no .positive.jsonl", detection.id));
        let negative = detection
            .negative_events
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no .negative.jsonl", detection.id));
        let expect_path = queries_dir().join(detection.path.replace(".sql", ".expect.toml"));
        let expect: Expect = toml::from_str(
            &std::fs::read_to_string(&expect_path)
                .unwrap_or_else(|_| panic!("{} has no .expect.toml", detection.id)),
        )
        .unwrap();

        let found = findings_for(detection, positive).await;
        assert_eq!(found.len(), expect.findings, "{}: {found:#?}", detection.id);
        let mut severities: Vec<String> = found.iter().map(|f| f.severity.clone()).collect();
        severities.sort();
        let mut expected_severities = expect.severities.clone();
        expected_severities.sort();
        assert_eq!(severities, expected_severities, "{}", detection.id);
        let known = ids_in(positive);
        let evidence: HashSet<&String> = found.iter().flat_map(|f| &f.event_ids).collect();
        for id in &expect.evidence {
            assert!(
                evidence.contains(id),
                "{}: {id} is not evidence in {found:#?}",
                detection.id
            );
        }
        for finding in &found {
            assert!(
                finding.event_ids.iter().all(|id| known.contains(id)),
                "{}: evidence from nowhere",
                detection.id
            );
            assert_eq!(finding.event_count as usize, finding.event_ids.len());
            assert!(!finding.summary.is_empty() && !finding.first_seen.is_empty());
            assert_eq!(finding.category, detection.category);
        }

        let quiet = findings_for(detection, negative).await;
        assert!(
            quiet.is_empty(),
            "{} fired on its negative events: {quiet:#?}",
            detection.id
        );
    }
}

#[tokio::test]
async fn every_detection_plans_against_the_schema_and_findings_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    let embedded = Catalog::embedded().unwrap();
    assert_eq!(
        embedded.detections.len(),
        catalog.detections.len(),
        "the binary embeds every detection of queries/"
    );
    // All positive events in one lake.
    let events: String = catalog
        .detections
        .iter()
        .filter_map(|d| d.positive_events.clone())
        .collect();
    let lake = lake_of(&events, dir.path());
    let session = LakeSession::open_with(&lake, &options(), &catalog)
        .await
        .unwrap();
    for (id, result) in lint(&session, &catalog, &BTreeMap::new()).await {
        result.unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    let detector = Detector::new(
        &lake,
        catalog.clone(),
        Arc::new(GeoIp::test_databases().unwrap()),
    );
    let full = DetectRequest {
        mode: Mode::Full,
        store: false,
        ..Default::default()
    };
    let outcome = detector.run(&full, None).await.unwrap();
    assert_eq!(outcome.failed().count(), 0, "{:?}", outcome.runs);
    let found = outcome.findings;
    assert!(!found.is_empty());
    let lake_handle = session.lake().clone();
    let first = store_findings(&lake_handle, &found, "T1", &lake_handle.lock().unwrap())
        .unwrap()
        .summary;
    assert_eq!((first.new, first.total), (found.len(), found.len()));
    let again = detector.run(&full, None).await.unwrap().findings;
    let second = store_findings(&lake_handle, &again, "T2", &lake_handle.lock().unwrap())
        .unwrap()
        .summary;
    assert_eq!(
        (second.new, second.updated, second.total),
        (0, 0, found.len()),
        "re-running never duplicates a finding"
    );
    let reopened = LakeSession::open(&lake).await.unwrap();
    let batches = reopened
        .query("SELECT count(*) AS n FROM findings")
        .await
        .unwrap();
    let n = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(n as usize, found.len(), "the findings table is queryable");
}

/// The sample trail holds one true finding of each attack and the benign
/// look-alikes that tempt each detection; this is the exact set.
#[tokio::test]
async fn the_sample_trail_raises_exactly_its_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample-data");
    ingest_paths(&[sample], &lake, IngestOptions::default(), &|_, _| {}).unwrap();
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    let outcome = Detector::new(&lake, catalog, Arc::new(GeoIp::test_databases().unwrap()))
        .run(
            &DetectRequest {
                store: true,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(outcome.failed().count(), 0, "{:?}", outcome.runs);
    let found = outcome.findings;
    let mut by_detection: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in &found {
        *by_detection.entry(finding.detection.as_str()).or_insert(0) += 1;
    }
    let expected: BTreeMap<&str, usize> = [
        ("access_denial", 5),
        ("credential_reuse", 1),
        ("cross_identity_access", 1),
        ("foreign_pool_web_identity", 2),
        ("guest_generic_tooling", 1),
        ("guest_identity_flood", 1),
        ("guest_permission_enumeration", 1),
        ("guest_volume_spike", 1),
        ("guest_writes", 1),
        ("pool_access_widened", 4),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_detection, expected, "{found:#?}");
    // The traps stay silent: guests behind one NAT address, the reporting
    // job and auditors (backend roles), reads of shared folders.
    for finding in &found {
        assert!(
            !finding.source_ips.iter().any(|ip| ip == "198.51.100.77"),
            "NAT guests: {finding:#?}"
        );
        assert!(
            !finding.summary.contains("protected/"),
            "shared folder read: {finding:#?}"
        );
    }
    let cross = found
        .iter()
        .find(|f| f.category == "cross_identity")
        .unwrap();
    assert_eq!(
        (cross.severity.as_str(), cross.event_count),
        ("critical", 8),
        "the succeeded UpdateItem makes it critical"
    );
}

#[tokio::test]
async fn credential_reuse_without_geoip_falls_back_to_networks_and_says_so() {
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    let detection = catalog.detection("credential_reuse").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_of(detection.positive_events.as_deref().unwrap(), dir.path());
    let session = LakeSession::open_with(&lake, &SessionOptions::default(), &catalog)
        .await
        .unwrap();
    let found = run_detection(
        &session,
        detection,
        &BTreeMap::new(),
        "2026-11-27T00:00:00Z",
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        found[0].summary.contains("no GeoIP databases"),
        "{}",
        found[0].summary
    );
    assert_eq!(found[0].severity, "medium", "no country known: not high");
}
