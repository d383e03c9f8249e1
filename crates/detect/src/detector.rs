//! The one entry point for running detections: [`Detector`].
//!
//! `Detector::from_config` gathers what a run needs (the catalog of
//! `queries/` or `[detect] queries_dir`, the GeoIP databases, the pools and
//! tunables); [`Detector::run`] judges the lake and stores the findings.
//!
//! By default a run is incremental. For each detection it looks up, in
//! [`Progress`], up to which arrival time (`ingested_at`) the lake was
//! judged; the rows that arrived since touch some hours of event time;
//! the detection judges those hours widened to whole bins of its `window`,
//! and by its `lookback` (the bins whose reading reaches a new event), and
//! reads them widened by `lookback` ([`crate::plan`]; a `history` is read
//! from the state tables, not from raw events). It
//! keeps the findings whose time span reaches into what it judged (a bin
//! of the margins was read only in part, and is judged when its own
//! events arrive); detections with a `history` keep to the judged events
//! with `is_judged(event_time)`. A
//! detection that has never run, or whose SQL, tunables, timing or views
//! changed, judges the whole lake; so does [`Mode::Full`]. Findings are
//! folded into the stored ones ([`crate::merge`]), so a sequence of
//! incremental runs stores the findings one full run would.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use chrono::{DateTime, Utc};
use poolsight_config::{Config, SuppressRule};
use poolsight_lake::{Lake, LakeLock};
use serde::Serialize;

use crate::catalog::{Catalog, Detection, CATEGORIES};
use crate::findings::{load_findings, run_detection, store_findings, Finding, StoreSummary};
use crate::geoip::GeoIp;
use crate::lifecycle::{append_audit, AuditEntry, Suppressor};
use crate::plan::{self, Span};
use crate::progress::{DetectionProgress, Progress};
use crate::{DetectError, LakeSession, SessionOptions};

/// Judge what arrived since the last run, or everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Incremental,
    Full,
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct DetectRequest {
    pub mode: Mode,
    /// Detection ids or categories; empty: all.
    pub only: Vec<String>,
    /// Judge (again) the event times at or after this (`15m`, `24h`, `2w`
    /// back from the newest event, or RFC 3339), whatever was judged
    /// before. Progress is not moved.
    pub since: Option<String>,
    /// Judge only event times before this.
    pub until: Option<String>,
    /// Store the findings and the progress (`--no-store`: neither).
    pub store: bool,
}

/// How one detection ran.
#[derive(Debug, Clone, Serialize)]
pub struct DetectionRun {
    pub id: String,
    pub category: String,
    /// `full`, `incremental`, or `up_to_date` (nothing arrived since its last run).
    pub mode: String,
    /// The event-time spans it judged (RFC 3339 pairs); empty for `full`
    /// without `--since/--until`.
    pub judged: Vec<(String, String)>,
    /// Findings (after folding pieces together) this run produced.
    pub findings: usize,
    pub seconds: f64,
    pub error: Option<String>,
}

/// Whether the newest inventory of some account recorded failed calls.
async fn inventory_is_partial(session: &LakeSession) -> Result<bool, DetectError> {
    let batches = session
        .query("SELECT count(*) AS failed FROM inventory_errors_latest")
        .await?;
    Ok(batches.first().is_some_and(|b| {
        b.column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .is_some_and(|a| a.value(0) > 0)
    }))
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct DetectOutcome {
    /// The findings that are new or changed, as stored (when storing), or
    /// every finding the run produced (with `store: false`).
    pub findings: Vec<Finding>,
    /// New or changed findings a `[[detect.suppress]]` rule suppressed (not in `findings`).
    pub suppressed: usize,
    pub runs: Vec<DetectionRun>,
    pub stored: Option<StoreSummary>,
    /// What updating the state tables did (when storing).
    pub state: Option<crate::state::StateReport>,
}

impl DetectOutcome {
    pub fn failed(&self) -> impl Iterator<Item = &DetectionRun> {
        self.runs.iter().filter(|r| r.error.is_some())
    }

    /// An error naming the first failed detection, if any failed (the
    /// others ran and their findings were stored).
    pub fn check(&self) -> Result<(), DetectError> {
        match self.failed().next() {
            None => Ok(()),
            Some(first) => Err(DetectError::Request(format!(
                "{} detection(s) failed; first: {}: {}",
                self.failed().count(),
                first.id,
                first.error.as_deref().unwrap_or_default()
            ))),
        }
    }
}

/// Runs the detections of a catalog over one lake.
pub struct Detector {
    lake_dir: PathBuf,
    catalog: Catalog,
    options: SessionOptions,
    tunables: BTreeMap<String, BTreeMap<String, toml::Value>>,
    suppress: Vec<SuppressRule>,
}

fn rfc3339(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

impl Detector {
    /// The catalog (`[detect] queries_dir`, else built in), GeoIP
    /// databases (`[geoip]`), pools and tunables of `config`.
    pub fn from_config(config: &Config, lake_dir: &Path) -> Result<Self, DetectError> {
        let catalog = Catalog::from_config(config)?;
        let geoip = GeoIp::from_config(config)?;
        Ok(Self::new(lake_dir, catalog, Arc::new(geoip))
            .with_pools(config.detect.own_pools.clone())
            .with_tunables(config.detect.tunables.clone())
            .with_suppression(config.detect.suppress.clone()))
    }

    /// Runs the detections on `engine` (a Ballista cluster) instead of in
    /// this process; state tables are still built here.
    pub fn with_engine(mut self, engine: Arc<dyn crate::Engine>) -> Self {
        self.options.engine = Some(engine);
        self
    }

    pub fn new(lake_dir: &Path, catalog: Catalog, geoip: Arc<GeoIp>) -> Self {
        Detector {
            lake_dir: lake_dir.to_path_buf(),
            catalog,
            options: SessionOptions {
                geoip: Some(geoip),
                ..Default::default()
            },
            tunables: BTreeMap::new(),
            suppress: Vec::new(),
        }
    }

    /// `[[detect.suppress]]` rules, applied to what each run finds.
    pub fn with_suppression(mut self, rules: Vec<SuppressRule>) -> Self {
        self.suppress = rules;
        self
    }

    pub fn with_pools(mut self, own_pools: Vec<String>) -> Self {
        self.options.own_pools = own_pools;
        self
    }

    pub fn with_tunables(
        mut self,
        tunables: BTreeMap<String, BTreeMap<String, toml::Value>>,
    ) -> Self {
        self.tunables = tunables;
        self
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn selected(&self, only: &[String]) -> Result<Vec<&Detection>, DetectError> {
        for wanted in only {
            if self.catalog.detection(wanted).is_none() && !CATEGORIES.contains(&wanted.as_str()) {
                return Err(DetectError::Catalog {
                    path: "detections/".into(),
                    reason: format!(
                        "no detection or category is named {wanted:?} (detections: {})",
                        self.catalog
                            .detections
                            .iter()
                            .map(|d| d.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        for id in self.tunables.keys() {
            if self.catalog.detection(id).is_none() {
                return Err(DetectError::Catalog {
                    path: "detections/".into(),
                    reason: format!("[detect.tunables.{id}] names no detection"),
                });
            }
        }
        Ok(self
            .catalog
            .detections
            .iter()
            .filter(|d| only.is_empty() || only.iter().any(|o| o == &d.id || o == &d.category))
            .collect())
    }

    /// What judged the lake: SQL with tunables, timing and every view.
    fn fingerprint(&self, detection: &Detection) -> Result<String, DetectError> {
        let tunables = self
            .tunables
            .get(&detection.id)
            .cloned()
            .unwrap_or_default();
        let mut text = detection.sql(&tunables)?;
        text.push_str(&format!("\u{1f}{:?}", detection.timing(&tunables)?));
        for view in &self.catalog.views {
            text.push('\u{1f}');
            text.push_str(&view.sql);
        }
        Ok(format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64(text.as_bytes())
        ))
    }

    /// Judges the lake as `request` says; stores findings and progress
    /// under the writer lock (`lock` when the caller holds it, else taken
    /// here: another writer holding it is `LakeError::Locked`).
    pub async fn run(
        &self,
        request: &DetectRequest,
        lock: Option<&LakeLock>,
    ) -> Result<DetectOutcome, DetectError> {
        let lake = Lake::open(&self.lake_dir)?;
        // A damaged findings file is reported by name before anything runs.
        load_findings(&lake)?;
        let detections = self.selected(&request.only)?;
        let taken;
        let lock = match (request.store, lock) {
            (false, _) => None,
            (true, Some(lock)) => Some(lock),
            (true, None) => {
                taken = lake.lock()?;
                Some(&taken)
            }
        };
        // State tables first: detections read their history from them.
        let state = match lock {
            Some(lock) => Some(
                crate::state::update(&self.lake_dir, &self.options, &self.catalog, lock).await?,
            ),
            None => None,
        };
        if let Some(state) = &state {
            tracing::debug!(mode = %state.mode, hours = state.hours, seconds = state.seconds, "state tables");
        }
        // On a cluster over a lake in S3, executors read the state tables
        // in the bucket: this run's updates go there first.
        if let (Some(engine), Some(remote), Some(_)) = (&self.options.engine, lake.remote(), lock) {
            tracing::debug!(
                engine = engine.name(),
                "publishing the state tables for the cluster"
            );
            remote.publisher.publish()?;
        }
        let whole = LakeSession::open_with(&self.lake_dir, &self.options, &self.catalog).await?;
        let newest_arrival = newest_arrival(&whole).await?;
        let limit = self.limit(&whole, request).await?;
        let mut progress = Progress::load(&lake)?;
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut arrivals: HashMap<i64, Vec<Span>> = HashMap::new();
        let mut sessions: HashMap<(Vec<Span>, Vec<Span>), LakeSession> = HashMap::new();
        let mut found = Vec::new();
        let mut runs = Vec::new();
        let mut posture_ran: Vec<String> = Vec::new();
        let mut sighted: std::collections::HashSet<String> = std::collections::HashSet::new();
        let empty = BTreeMap::new();
        for detection in detections {
            let started = std::time::Instant::now();
            let tunables = self.tunables.get(&detection.id).unwrap_or(&empty);
            let fingerprint = self.fingerprint(detection)?;
            let timing = detection.timing(tunables)?;
            // `--since/--until` re-judge their span, whatever arrived when.
            let since = match (request.mode, limit) {
                _ if detection.reads_inventory() => None,
                (Mode::Full, _) | (_, Some(_)) => None,
                (Mode::Incremental, None) => progress.judged_through(&detection.id, &fingerprint),
            };
            let mut run = DetectionRun {
                id: detection.id.clone(),
                category: detection.category.clone(),
                mode: if detection.reads_inventory() {
                    "inventory"
                } else if since.is_some() {
                    "incremental"
                } else {
                    "full"
                }
                .into(),
                judged: Vec::new(),
                findings: 0,
                seconds: 0.0,
                error: None,
            };
            // What to judge: everything, or the bins new rows touched (the
            // inventory has no event time: posture judges its newest snapshot).
            let judged = match since {
                None if detection.reads_inventory() => None,
                None => limit.map(|l| plan::whole_bins(&[l], &timing)),
                Some(since) => {
                    if newest_arrival.is_none_or(|newest| newest <= since) {
                        run.mode = "up_to_date".into();
                        runs.push(run);
                        continue;
                    }
                    let touched = match arrivals.entry(since) {
                        std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                        std::collections::hash_map::Entry::Vacant(entry) => {
                            entry.insert(arrivals_since(&whole, since).await?)
                        }
                    };
                    Some(plan::judged(touched, &timing))
                }
            };
            run.judged = judged
                .iter()
                .flatten()
                .map(|s| (rfc3339(s.from), rfc3339(s.to)))
                .collect();
            let result = async {
                let mut findings = match &judged {
                    None => run_detection(&whole, detection, tunables, &now).await?,
                    Some(judged) if judged.is_empty() => Vec::new(),
                    Some(judged) => {
                        // Detections that read the same spans share a session.
                        let evaluated = plan::evaluated(judged, &timing);
                        let key = (evaluated.clone(), judged.clone());
                        let session = match sessions.entry(key) {
                            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                            std::collections::hash_map::Entry::Vacant(entry) => {
                                let options = SessionOptions {
                                    spans: Some(evaluated),
                                    judged: Some(judged.clone()),
                                    ..self.options.clone()
                                };
                                entry.insert(
                                    LakeSession::open_with(&self.lake_dir, &options, &self.catalog)
                                        .await?,
                                )
                            }
                        };
                        run_detection(session, detection, tunables, &now).await?
                    }
                };
                // Bins read only in part (the margins) are judged elsewhere.
                if let Some(judged) = &judged {
                    findings.retain(|f| touches(f, judged));
                }
                Ok::<_, DetectError>(findings)
            }
            .await;
            run.seconds = started.elapsed().as_secs_f64();
            match result {
                Ok(findings) => {
                    run.findings = findings.len();
                    if detection.follows_inventory() {
                        posture_ran.push(detection.id.clone());
                        sighted.extend(findings.iter().map(|f| f.finding_id.clone()));
                    }
                    found.extend(findings);
                    if limit.is_none() && !detection.reads_inventory() {
                        if let Some(newest) = newest_arrival {
                            progress.detections.insert(
                                detection.id.clone(),
                                DetectionProgress {
                                    fingerprint,
                                    judged_through: newest,
                                    last_run: now.clone(),
                                },
                            );
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(detection = %detection.id, error = %error, "detection failed");
                    run.error = Some(error.to_string());
                }
            }
            tracing::debug!(detection = %run.id, mode = %run.mode, findings = run.findings, seconds = run.seconds, "detection finished");
            runs.push(run);
        }
        let reasons = Suppressor::new(&self.suppress)?
            .apply(&mut found, Utc::now())
            .await?;
        let (findings, stored) = match lock {
            Some(lock) => {
                let stored = store_findings(&lake, &found, &now, lock)?;
                tracing::info!(
                    new = stored.summary.new,
                    updated = stored.summary.updated,
                    unchanged = stored.summary.unchanged,
                    total = stored.summary.total,
                    "findings stored"
                );
                let audit: Vec<AuditEntry> = stored
                    .transitions
                    .iter()
                    .map(|t| AuditEntry {
                        finding_id: t.finding_id.clone(),
                        at: now.clone(),
                        by: if t.to == "suppressed" {
                            "config"
                        } else {
                            "poolsight"
                        }
                        .into(),
                        from_status: t.from.clone(),
                        to_status: t.to.clone(),
                        reason: if t.to == "suppressed" {
                            reasons
                                .get(&t.finding_id)
                                .cloned()
                                .unwrap_or_else(|| "a [[detect.suppress]] rule matched".into())
                        } else {
                            "found again with new evidence".into()
                        },
                    })
                    .collect();
                append_audit(&lake, &audit, lock)?;
                let partial = !posture_ran.is_empty() && inventory_is_partial(&whole).await?;
                if partial {
                    tracing::warn!("the newest inventory is partial (some calls failed): posture findings it does not show stay open");
                }
                let followed = crate::lifecycle::follow_inventory(
                    &lake,
                    lock,
                    &posture_ran,
                    &sighted,
                    partial,
                    &now,
                )?;
                if !followed.is_empty() {
                    tracing::info!(
                        changed = followed.len(),
                        "posture findings follow the newest inventory"
                    );
                }
                progress.save(&lake, lock)?;
                (stored.changed, Some(stored.summary))
            }
            None => (found, None),
        };
        // Suppressed findings are stored, not shown.
        let suppressed = findings.iter().filter(|f| f.status == "suppressed").count();
        let mut findings: Vec<Finding> = findings
            .into_iter()
            .filter(|f| f.status != "suppressed")
            .collect();
        findings.sort_by(Finding::by_priority);
        Ok(DetectOutcome {
            findings,
            suppressed,
            runs,
            stored,
            state,
        })
    }

    /// Builds the state tables again from every event (`poolsight state
    /// rebuild`), under the writer lock (taken here when not given).
    pub async fn rebuild_state(
        &self,
        lock: Option<&LakeLock>,
    ) -> Result<crate::state::StateReport, DetectError> {
        let lake = Lake::open(&self.lake_dir)?;
        let taken;
        let lock = match lock {
            Some(lock) => lock,
            None => {
                taken = lake.lock()?;
                &taken
            }
        };
        crate::state::rebuild(&self.lake_dir, &self.options, &self.catalog, lock).await
    }

    /// `--since/--until` as a span, relative spans counted back from the newest event.
    async fn limit(
        &self,
        whole: &LakeSession,
        request: &DetectRequest,
    ) -> Result<Option<Span>, DetectError> {
        if request.since.is_none() && request.until.is_none() {
            return Ok(None);
        }
        let newest = whole.newest_event_time().await?.unwrap_or_else(Utc::now);
        let parse = |flag: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| {
                    poolsight_model::time::parse_time_expression(t, newest)
                        .map_err(|reason| DetectError::Request(format!("{flag}: {reason}")))
                })
                .transpose()
        };
        let since = parse("--since", &request.since)?;
        let until = parse("--until", &request.until)?;
        if let (Some(since), Some(until)) = (since, until) {
            if since >= until {
                return Err(DetectError::Request(format!(
                    "--since {since} is not before --until {until}"
                )));
            }
        }
        Ok(Some(Span::new(
            since.map_or(plan::EARLIEST, |t| t.timestamp_micros()),
            until.map_or(plan::LATEST, |t| t.timestamp_micros()),
        )))
    }
}

/// Whether a finding's time span reaches into the judged spans.
fn touches(finding: &Finding, judged: &[Span]) -> bool {
    let micros = |t: &str| poolsight_model::time::parse_event_time(t);
    let (Some(first), Some(last)) = (micros(&finding.first_seen), micros(&finding.last_seen))
    else {
        return true;
    };
    judged.iter().any(|s| first < s.to && last >= s.from)
}

/// The latest arrival time in the lake (µs).
pub(crate) async fn newest_arrival(session: &LakeSession) -> Result<Option<i64>, DetectError> {
    let batches = session
        .query("SELECT CAST(max(ingested_at) AS BIGINT) FROM lake_events")
        .await?;
    Ok(batches.first().and_then(|b| {
        b.column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .filter(|a| a.len() == 1 && !a.is_null(0))
            .map(|a| a.value(0))
    }))
}

/// The hours touched by the rows that arrived after `since`, merged.
pub(crate) async fn arrivals_since(
    session: &LakeSession,
    since: i64,
) -> Result<Vec<Span>, DetectError> {
    let batches = session
        .query(&format!(
            "SELECT DISTINCT CAST(event_time AS BIGINT) / 3600000000 AS hour \
             FROM lake_events WHERE ingested_at > to_timestamp_micros({since})"
        ))
        .await?;
    let mut touched = Vec::new();
    for batch in &batches {
        if let Some(hours) = batch.column(0).as_any().downcast_ref::<Int64Array>() {
            touched.extend(
                hours
                    .iter()
                    .flatten()
                    .map(|hour| Span::hour_of(hour * 3_600_000_000)),
            );
        }
    }
    Ok(plan::merge(touched))
}
