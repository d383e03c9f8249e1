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

/// What a detection's positive events must raise (`<id>.expect.toml`).
fn expect_of(detection: &Detection) -> Expect {
    let path = queries_dir().join(detection.path.replace(".sql", ".expect.toml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} has no .expect.toml", detection.id));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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

/// A lake holding inventory snapshots (a posture detection's test: one
/// snapshot, or an array of them) and no events.
fn lake_of_inventory(snapshots: &str, dir: &Path) -> PathBuf {
    let lake = dir.join("lake");
    let handle = poolsight_lake::Lake::create(&lake).unwrap();
    let value: serde_json::Value =
        serde_json::from_str(snapshots).unwrap_or_else(|e| panic!("test inventory: {e}"));
    let list = match value {
        serde_json::Value::Array(list) => list,
        single => vec![single],
    };
    for item in list {
        let mut snapshot: poolsight_inventory::Snapshot =
            serde_json::from_value(item).unwrap_or_else(|e| panic!("test inventory: {e}"));
        snapshot.check_documents();
        poolsight_inventory::write_snapshot(&handle, &snapshot).unwrap();
    }
    lake
}

/// The inventory a detection that reads events is tested with, beside them.
fn inventory_beside(detection: &Detection, events: &str) -> Option<String> {
    if detection.reads_inventory() {
        return None;
    }
    if detection.negative_events.as_deref() == Some(events) {
        detection.negative_inventory.clone()
    } else {
        detection.positive_inventory.clone()
    }
}

async fn findings_for(detection: &Detection, events: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    let lake = if detection.reads_inventory() {
        lake_of_inventory(events, dir.path())
    } else {
        let lake = lake_of(events, dir.path());
        if let Some(inventory) = inventory_beside(detection, events) {
            let handle = poolsight_lake::Lake::open(&lake).unwrap();
            let mut snapshot: poolsight_inventory::Snapshot =
                serde_json::from_str(&inventory).unwrap();
            snapshot.check_documents();
            poolsight_inventory::write_snapshot(&handle, &snapshot).unwrap();
        }
        lake
    };
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
    // Every detection is checked, so that one run lists every one that fails.
    let mut failures = Vec::new();
    for detection in &catalog.detections {
        failures.extend(fixture_failures(detection).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What a detection's positive and negative events do wrong (nothing: empty).
async fn fixture_failures(detection: &Detection) -> Vec<String> {
    let id = &detection.id;
    let (positive, negative) = if detection.reads_inventory() {
        (
            detection
                .positive_inventory
                .as_deref()
                .unwrap_or_else(|| panic!("{id} has no .positive.inventory.json")),
            detection
                .negative_inventory
                .as_deref()
                .unwrap_or_else(|| panic!("{id} has no .negative.inventory.json")),
        )
    } else {
        (
            detection
                .positive_events
                .as_deref()
                .unwrap_or_else(|| panic!("{id} has no .positive.jsonl")),
            detection
                .negative_events
                .as_deref()
                .unwrap_or_else(|| panic!("{id} has no .negative.jsonl")),
        )
    };
    let expect = expect_of(detection);
    let mut failures = Vec::new();

    let found = findings_for(detection, positive).await;
    if found.len() != expect.findings {
        failures.push(format!(
            "{id}: {} finding(s), expected {}: {found:#?}",
            found.len(),
            expect.findings
        ));
    }
    let mut severities: Vec<String> = found.iter().map(|f| f.severity.clone()).collect();
    severities.sort();
    let mut expected_severities = expect.severities.clone();
    expected_severities.sort();
    if severities != expected_severities {
        failures.push(format!(
            "{id}: severities {severities:?}, expected {expected_severities:?}"
        ));
    }
    let known = ids_in(positive);
    let evidence: HashSet<&String> = found.iter().flat_map(|f| &f.event_ids).collect();
    for event in &expect.evidence {
        if !evidence.contains(event) {
            failures.push(format!("{id}: {event} is not evidence in {found:#?}"));
        }
    }
    for finding in &found {
        assert!(
            finding.event_ids.iter().all(|e| known.contains(e)),
            "{id}: evidence from nowhere"
        );
        assert_eq!(finding.event_count as usize, finding.event_ids.len());
        assert!(!finding.summary.is_empty() && !finding.first_seen.is_empty());
        assert_eq!(finding.category, detection.category);
    }

    let quiet = findings_for(detection, negative).await;
    if !quiet.is_empty() {
        failures.push(format!("{id} fired on its negative events: {quiet:#?}"));
    }
    failures
}

#[test]
fn every_detection_names_its_attack_techniques_false_positives_and_references() {
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    for detection in &catalog.detections {
        assert!(
            !detection.attack.is_empty(),
            "{}: no attack ids",
            detection.id
        );
        assert!(
            detection
                .false_positives
                .as_deref()
                .is_some_and(|text| text.len() > 40),
            "{}: no false-positives paragraph",
            detection.id
        );
        assert!(
            !detection.references.is_empty(),
            "{}: no references",
            detection.id
        );
    }
}

/// The test events with every `eventTime` moved by `seconds`.
fn shifted(events: &str, seconds: i64) -> String {
    let mut out = String::new();
    for line in events.lines().filter(|l| !l.trim().is_empty()) {
        let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(time) = record["eventTime"].as_str() {
            let moved = chrono::DateTime::parse_from_rfc3339(time).unwrap()
                + chrono::Duration::seconds(seconds);
            record["eventTime"] = moved
                .with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
                .into();
        }
        out.push_str(&record.to_string());
        out.push('\n');
    }
    out
}

/// Seconds since the epoch of a finding time.
fn seconds_of(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time)
        .or_else(|_| {
            chrono::DateTime::parse_from_str(&format!("{time}+0000"), "%Y-%m-%d %H:%M:%S%.f%z")
        })
        .unwrap_or_else(|e| panic!("{time}: {e}"))
        .timestamp()
}

#[tokio::test]
async fn windowed_detections_see_a_burst_that_straddles_a_bin_edge() {
    // Each detection built from time bins gets its positive events moved so
    // that the middle of its first finding sits exactly on a bin edge, and
    // at a quarter and three quarters of a bin: the same identities must be
    // flagged, each with the same worst severity, and the expected evidence
    // must come out. A detection that counted in fixed bins only would see
    // each half of the burst alone, below its thresholds.
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    let mut checked = Vec::new();
    for detection in &catalog.detections {
        let Some(window) = detection.timing.window else {
            continue;
        };
        let positive = detection.positive_events.as_deref().unwrap();
        let expect = expect_of(detection);
        let found = findings_for(detection, positive).await;
        let first = found
            .iter()
            .min_by_key(|f| seconds_of(&f.first_seen))
            .unwrap_or_else(|| panic!("{}: no finding", detection.id));
        let middle = (seconds_of(&first.first_seen) + seconds_of(&first.last_seen)) / 2;
        let edge = middle.div_euclid(window) * window + window;
        let worst = |findings: &[Finding]| {
            let rank = |s: &str| {
                ["info", "low", "medium", "high", "critical"]
                    .iter()
                    .position(|r| *r == s)
            };
            let mut by_identity: BTreeMap<String, &str> = BTreeMap::new();
            for f in findings {
                let key = f.identity_id.clone().unwrap_or_default();
                let entry = by_identity.entry(key).or_insert(f.severity.as_str());
                if rank(&f.severity) > rank(entry) {
                    *entry = f.severity.as_str();
                }
            }
            by_identity
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect::<Vec<_>>()
        };
        for offset in [0, window / 4, 3 * window / 4] {
            let moved = shifted(positive, edge + offset - middle);
            let again = findings_for(detection, &moved).await;
            assert_eq!(
                worst(&again),
                worst(&found),
                "{}: burst moved to {offset} s past a bin edge (identity, worst severity): {again:#?}",
                detection.id
            );
            let evidence: HashSet<&String> = again.iter().flat_map(|f| &f.event_ids).collect();
            for id in &expect.evidence {
                assert!(
                    evidence.contains(id),
                    "{}: {id} lost at offset {offset}",
                    detection.id
                );
            }
        }
        checked.push(detection.id.clone());
    }
    assert!(
        checked.len() >= 4,
        "windowed detections checked: {checked:?}"
    );
}

#[tokio::test]
async fn baselines_cannot_be_poisoned_by_a_crowd_in_the_judged_hour() {
    // Each detection with a `history` baseline gets its positive events
    // plus five copies of its first finding's evidence, each made by
    // another identity with other credentials, in the same hour. A
    // baseline taken from the hour judged would rise with the crowd (or
    // its shares would fall) and hide all six; one taken from the hours
    // before flags the original and every copy, as badly as before.
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    let mut checked = Vec::new();
    for detection in &catalog.detections {
        if detection.timing.history == 0 {
            continue;
        }
        let positive = detection.positive_events.as_deref().unwrap();
        let found = findings_for(detection, positive).await;
        let first = found
            .first()
            .unwrap_or_else(|| panic!("{}: no finding", detection.id));
        let identity = first.identity_id.clone().expect("an identity");
        let key = first.access_key_id.clone().expect("an access key");
        let evidence: HashSet<&String> = first.event_ids.iter().collect();
        let mut crowd = positive.to_string();
        for copy in 0..5 {
            let other_identity = format!("{}{copy}", &identity[..identity.len() - 1]);
            let other_key = format!("{}{copy}", &key[..key.len() - 1]);
            for line in positive.lines() {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                let id = record["eventID"].as_str().unwrap_or_default().to_string();
                if !evidence.contains(&id) {
                    continue;
                }
                let cloned = line
                    .replace(&identity, &other_identity)
                    .replace(&key, &other_key)
                    .replace(&format!("\"{id}\""), &format!("\"{id}-crowd-{copy}\""));
                crowd.push_str(&cloned);
                crowd.push('\n');
            }
        }
        let again = findings_for(detection, &crowd).await;
        let flagged: HashSet<String> = again.iter().filter_map(|f| f.identity_id.clone()).collect();
        assert!(
            flagged.contains(&identity),
            "{}: the crowd hid {identity}: {again:#?}",
            detection.id
        );
        for copy in 0..5 {
            let other = format!("{}{copy}", &identity[..identity.len() - 1]);
            assert!(
                flagged.contains(&other),
                "{}: copy {other} not flagged: {again:#?}",
                detection.id
            );
        }
        let original = again
            .iter()
            .find(|f| f.identity_id.as_deref() == Some(identity.as_str()))
            .unwrap();
        assert_eq!(original.severity, first.severity, "{}", detection.id);
        checked.push(detection.id.clone());
    }
    assert!(
        checked.len() >= 2,
        "baseline detections checked: {checked:?}"
    );
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

/// The sample trail holds the attacks of every category and the benign
/// look-alikes that tempt each detection (`crates/sample/src/attacks/`); this
/// is the exact set, and every labelled attack is found.
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
        ("basic_flow_role_escalation", 1),
        ("bulk_data_read", 1),
        ("credential_reuse", 1),
        ("cross_identity_access", 2),
        ("excessive_permission", 1),
        ("foreign_pool_web_identity", 2),
        ("guest_generic_tooling", 1),
        ("guest_identity_flood", 1),
        ("guest_identity_takeover", 1),
        ("guest_permission_enumeration", 1),
        ("guest_volume_spike", 1),
        ("guest_writes", 1),
        ("identity_id_enumeration", 1),
        ("issuance_storm", 1),
        ("pool_access_widened", 4),
        ("pool_identity_sweep", 1),
        ("pool_role_chaining", 1),
        ("role_mapping_abuse", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_detection, expected, "{found:#?}");
    // Every staged attack is found by a detection of each of its categories, and no trap sets
    // off the categories it imitates (the labels of the very run that wrote sample-data/).
    let labelled = poolsight_sample::generate(
        &dir.path().join("regenerated"),
        &poolsight_sample::sample_data_options(),
    )
    .unwrap()
    .labels;
    assert!(labelled.len() >= 20, "{labelled:?}");
    for label in &labelled {
        let ids: HashSet<&str> = label.event_ids.iter().map(String::as_str).collect();
        for category in label.categories {
            let hit = found.iter().any(|f| {
                f.category == *category && f.event_ids.iter().any(|id| ids.contains(id.as_str()))
            });
            match label.kind {
                poolsight_sample::attacks::Kind::Attack => {
                    assert!(hit, "attack {} not found as {category}", label.scenario)
                }
                poolsight_sample::attacks::Kind::Trap => {
                    assert!(!hit, "trap {} set off {category}", label.scenario)
                }
            }
        }
    }
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
        .find(|f| f.category == "cross_identity" && !f.summary.contains("DeleteIdentities"))
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
    // The IPv4 key moved to another /16, the IPv6 one to another /64.
    assert_eq!(found.len(), 2, "{found:#?}");
    for finding in &found {
        assert!(
            finding.summary.contains("no GeoIP databases"),
            "{}",
            finding.summary
        );
        assert_eq!(finding.severity, "medium", "no country known: not high");
    }
}

#[tokio::test]
async fn posture_findings_resolve_when_a_whole_snapshot_shows_the_fix() {
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    let fixture = catalog
        .detection("token_check_off")
        .and_then(|d| d.positive_inventory.clone())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_of_inventory(&fixture, dir.path());
    let handle = poolsight_lake::Lake::open(&lake).unwrap();
    let detector = Detector::new(&lake, catalog, Arc::new(GeoIp::test_databases().unwrap()));
    let request = DetectRequest {
        store: true,
        only: vec!["posture".into()],
        ..Default::default()
    };
    let status = || {
        poolsight_detect::findings::load_findings(&handle)
            .unwrap()
            .into_iter()
            .find(|f| f.detection == "token_check_off")
            .map(|f| f.status)
    };
    detector.run(&request, None).await.unwrap();
    assert_eq!(status().as_deref(), Some("open"));
    // The fix, seen by a snapshot whose GetIdentityPoolRoles failed: it
    // could be hiding the problem, so the finding stays open.
    let mut snapshot: poolsight_inventory::Snapshot = serde_json::from_str(&fixture).unwrap();
    for pool in &mut snapshot.accounts[0].regions[0].pools {
        for provider in &mut pool.cognito_identity_providers {
            provider.server_side_token_check = Some(true);
        }
    }
    snapshot.taken_at += chrono::Duration::hours(1);
    snapshot.accounts[0]
        .errors
        .push(poolsight_inventory::CallError {
            operation: "cognito-identity:GetIdentityPoolRoles".into(),
            code: "NotAuthorizedException".into(),
            message: "not authorized".into(),
            ..Default::default()
        });
    poolsight_inventory::write_snapshot(&handle, &snapshot).unwrap();
    detector.run(&request, None).await.unwrap();
    assert_eq!(
        status().as_deref(),
        Some("open"),
        "a partial snapshot resolves nothing"
    );
    // A whole snapshot with the fix resolves it; the problem back reopens it.
    snapshot.taken_at += chrono::Duration::hours(1);
    snapshot.accounts[0].errors.clear();
    poolsight_inventory::write_snapshot(&handle, &snapshot).unwrap();
    detector.run(&request, None).await.unwrap();
    assert_eq!(status().as_deref(), Some("resolved"));
    let audit = poolsight_detect::lifecycle::load_audit(&handle).unwrap();
    assert!(audit
        .iter()
        .any(|a| a.by == "inventory" && a.to_status == "resolved"));
    let mut broken: poolsight_inventory::Snapshot = serde_json::from_str(&fixture).unwrap();
    broken.taken_at = snapshot.taken_at + chrono::Duration::hours(1);
    poolsight_inventory::write_snapshot(&handle, &broken).unwrap();
    detector.run(&request, None).await.unwrap();
    assert_eq!(status().as_deref(), Some("open"), "shown again: open again");
}
